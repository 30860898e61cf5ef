// Typed-enough CRUD on custom objects, and the one place API failures become messages a person can act on.
import type { Cluster } from "./cluster";
import { ApiError, request } from "./request";

export interface ApiKind {
  group: string; // "" for the core group
  version: string;
  plural: string;
  kind: string;
  /** What to enable when the cluster does not serve this kind. */
  enableHint?: string;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string }[];
  };
  spec?: any;
  status?: any;
}

export interface ObjectRef {
  api: ApiKind;
  namespace: string;
  name: string;
}

export const apiVersionOf = (api: ApiKind) => (api.group ? `${api.group}/${api.version}` : api.version);
export const resourceOf = (api: ApiKind) => (api.group ? `${api.plural}.${api.group}` : api.plural);
export const describe = (ref: ObjectRef) => `${ref.api.kind} ${ref.namespace}/${ref.name}`;

export function collectionPath(api: ApiKind, namespace: string): string {
  const root = api.group ? `/apis/${api.group}/${api.version}` : `/api/${api.version}`;
  return `${root}/namespaces/${encodeURIComponent(namespace)}/${api.plural}`;
}

export const objectPath = (ref: ObjectRef) =>
  `${collectionPath(ref.api, ref.namespace)}/${encodeURIComponent(ref.name)}`;

/** A failure that already reads as a sentence for the user: object, HTTP status, what to do. */
export class ClusterError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string,
  ) {
    super(message);
  }
}

export async function getObject(
  cluster: Cluster,
  ref: ObjectRef,
  signal?: AbortSignal,
): Promise<KubeObject | undefined> {
  try {
    return await request<KubeObject>(cluster, { method: "GET", path: objectPath(ref), signal });
  } catch (e) {
    if (isObjectNotFound(e)) return undefined;
    throw await explain(cluster, e, "get", ref);
  }
}

export async function createObject(
  cluster: Cluster,
  ref: ObjectRef,
  body: KubeObject,
  signal?: AbortSignal,
): Promise<KubeObject> {
  try {
    return await request<KubeObject>(cluster, {
      method: "POST",
      path: collectionPath(ref.api, ref.namespace),
      body,
      signal,
    });
  } catch (e) {
    throw await explain(cluster, e, "create", ref);
  }
}

export async function patchObject(
  cluster: Cluster,
  ref: ObjectRef,
  patch: unknown,
  signal?: AbortSignal,
): Promise<KubeObject> {
  try {
    return await request<KubeObject>(cluster, {
      method: "PATCH",
      path: objectPath(ref),
      body: patch,
      contentType: "application/merge-patch+json",
      signal,
    });
  } catch (e) {
    throw await explain(cluster, e, "patch", ref);
  }
}

/** Deletes an object: the object while finalizers still hold it, undefined once it is gone. */
export async function deleteObject(
  cluster: Cluster,
  ref: ObjectRef,
  signal?: AbortSignal,
): Promise<KubeObject | undefined> {
  try {
    // DeleteOptions as a query parameter (the API takes either): a request without a body is one frame.
    const res = await request<KubeObject & { kind?: string }>(cluster, {
      method: "DELETE",
      path: `${objectPath(ref)}?propagationPolicy=Background`,
      signal,
    });
    // Without finalizers the object is gone already (some servers answer with a Status instead of it).
    return res && res.kind !== "Status" && res.metadata?.finalizers?.length ? res : undefined;
  } catch (e) {
    if (isObjectNotFound(e)) return undefined;
    throw await explain(cluster, e, "delete", ref);
  }
}

export async function listObjects(cluster: Cluster, api: ApiKind, namespace: string, signal?: AbortSignal) {
  try {
    return await request<{ items: KubeObject[]; metadata: { resourceVersion: string } }>(cluster, {
      method: "GET",
      path: collectionPath(api, namespace),
      signal,
    });
  } catch (e) {
    throw await explain(cluster, e, "list", { api, namespace, name: "" });
  }
}

/** A 404 about the object itself, not about its kind being unknown to the server. */
export function isObjectNotFound(e: unknown): boolean {
  return e instanceof ApiError && e.status === 404 && !!e.body?.details?.name;
}

const servedCache = new Map<string, Promise<Set<string>>>();

/** Whether the cluster serves a kind (one discovery request per cluster and group/version). */
export async function serves(
  cluster: Cluster,
  api: ApiKind,
  signal?: AbortSignal,
  opts: { fresh?: boolean } = {},
): Promise<boolean> {
  const key = `${cluster.key}|${apiVersionOf(api)}`;
  let names = opts.fresh ? undefined : servedCache.get(key);
  if (!names) {
    const path = api.group ? `/apis/${api.group}/${api.version}` : `/api/${api.version}`;
    names = request<{ resources: { name: string }[] }>(cluster, {
      method: "GET",
      path,
      signal,
      attempts: 3,
    }).then(
      (doc) => new Set(doc.resources.map((r) => r.name)),
      (e) => {
        if (e instanceof ApiError && e.status === 404) return new Set<string>();
        throw e;
      },
    );
    servedCache.set(key, names);
    names.catch(() => servedCache.delete(key));
  }
  return (await names).has(api.plural);
}

/** Forgets discovery answers (a cluster upgrade in tests, or a new process). */
export function forgetDiscovery(): void {
  servedCache.clear();
}

const HINTS: Record<number, (verb: string, ref: ObjectRef) => string> = {
  401: () =>
    "The cluster rejected the credentials: check the kubeconfig's user (token or certificate may have expired).",
  403: (verb, ref) =>
    `Grant "${verb}" on ${resourceOf(ref.api)} in namespace "${ref.namespace}" to this user (see the README's RBAC section).`,
  409: () => "Another writer changed it at the same time; run the update again.",
  422: () => "The cluster rejected the object as invalid; fix the input named above.",
  429: () =>
    "The API server is throttling requests; retry later or lower the parallelism (pulumi up --parallel).",
};

/** Turns any failure into a ClusterError that names the object, the HTTP status and what to do. */
export async function explain(cluster: Cluster, e: unknown, verb: string, ref: ObjectRef): Promise<Error> {
  if (!(e instanceof ApiError)) return e as Error;
  const what = ref.name ? describe(ref) : `${ref.api.kind} objects in namespace ${ref.namespace}`;
  if (e.status === 0) {
    return new ClusterError(
      `Cannot ${verb} ${what}: the API server ${cluster.server} is unreachable (${e.reason}). Check the kubeconfig's server address and that the cluster is up.`,
      0,
      e.reason,
    );
  }
  if (e.status === 404 && !e.body?.details?.name) {
    // Ask again: the cluster may have been upgraded since the answer was cached.
    const served = await serves(cluster, ref.api, undefined, { fresh: true }).catch(() => true);
    if (!served) {
      return new ClusterError(
        `The cluster does not serve ${apiVersionOf(ref.api)} ${ref.api.kind} (resource ${resourceOf(ref.api)}): ${ref.api.enableHint ?? "install the CRD that defines it"}.`,
        404,
        "KindNotServed",
      );
    }
  }
  const hint = HINTS[e.status]?.(verb, ref);
  const causes = (e.body?.details?.causes ?? [])
    .filter((c) => c.message && !e.serverMessage.includes(c.message))
    .map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const detail = [e.serverMessage, ...causes].join("; ");
  return new ClusterError(
    `Cannot ${verb} ${what}: HTTP ${e.status} ${e.reason}: ${detail}${hint ? `. ${hint}` : ""}`,
    e.status,
    e.reason,
  );
}
