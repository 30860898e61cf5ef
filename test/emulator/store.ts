// The emulator's object store: the part of kube-apiserver + etcd semantics the provider depends on.
// The HTTP layer (server.ts) and the controller simulators both go through it, so every write
// bumps resourceVersion, emits a watch event and honours finalizers the same way.
import { randomUUID } from "node:crypto";

export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: any;
  status?: any;
  [key: string]: any;
};

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  [key: string]: any;
}

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

/** What admission returns when it rejects an object (the platform's webhook or the CRD schema). */
export interface AdmissionRejection {
  code?: number; // default 422
  reason?: string; // default "Invalid"
  message: string;
  causes?: StatusCause[];
}

/** A kind the emulator serves: what a CRD (plus its webhooks) tells the apiserver. */
export interface ResourceType {
  group: string; // "" for the core group
  version: string;
  kind: string;
  plural: string;
  singular?: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** The status subresource is enabled: the main endpoint ignores status, /status ignores the rest. */
  statusSubresource: boolean;
  /** Applies schema defaults in place (as a structural CRD's defaults would). */
  default?(obj: KubeObject): void;
  /** Schema validation and admission webhooks; undefined means admitted. */
  admit?(
    obj: KubeObject,
    old: KubeObject | undefined,
    op: "CREATE" | "UPDATE",
  ): AdmissionRejection | undefined;
}

export const apiVersionOf = (t: ResourceType) => (t.group ? `${t.group}/${t.version}` : t.version);
/** Group + plural identify a stored collection; versions of one group share storage (conversion: None). */
export const collectionOf = (t: Pick<ResourceType, "group" | "plural">) => `${t.plural}.${t.group}`;

/** An error the HTTP layer turns into a Kubernetes Status body. */
export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: {
      name?: string;
      group?: string;
      kind?: string;
      causes?: StatusCause[];
      retryAfterSeconds?: number;
    },
  ) {
    super(message);
  }

  toStatus() {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoreEvent {
  type: WatchEventType;
  collection: string;
  object: KubeObject; // a private copy: listeners may keep it
  resourceVersion: number;
}

export type StoreListener = (event: StoreEvent) => void;

const clone = <T>(o: T): T => structuredClone(o);
const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
const gr = (t: ResourceType) => (t.group ? `${t.plural}.${t.group}` : t.plural);
const specOf = (o: KubeObject) => {
  // Everything but metadata and status is "spec" for generation purposes (as for CRDs).
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
};
const deepEqual = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export interface StoreOptions {
  /** How many events are kept for watch resumption; older resourceVersions get 410 Gone. */
  historyWindow?: number;
}

export class ObjectStore {
  private rv = 1000;
  private readonly objects = new Map<string, KubeObject>(); // collection/ns/name -> object
  private readonly types = new Map<string, ResourceType>(); // collection -> a served type
  private history: StoreEvent[] = [];
  private compactedThrough = 1000; // events with rv <= this are no longer available
  private readonly listeners = new Set<StoreListener>();
  private readonly historyWindow: number;

  constructor(opts: StoreOptions = {}) {
    this.historyWindow = opts.historyWindow ?? 100_000;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** Registers a kind so garbage collection can find owners and dependents across kinds. */
  register(type: ResourceType): void {
    this.types.set(collectionOf(type), type);
  }

  private key(type: ResourceType, ns: string | undefined, name: string) {
    return `${collectionOf(type)}/${type.namespaced ? (ns ?? "") : ""}/${name}`;
  }

  private notFound(type: ResourceType, name: string) {
    return new StatusError(404, "NotFound", `${gr(type)} "${name}" not found`, {
      name,
      group: type.group,
      kind: type.plural,
    });
  }

  private emit(type: WatchEventType, t: ResourceType, obj: KubeObject) {
    const event: StoreEvent = {
      type,
      collection: collectionOf(t),
      object: clone(obj),
      resourceVersion: Number(obj.metadata.resourceVersion),
    };
    this.history.push(event);
    if (this.history.length > this.historyWindow) {
      const dropped = this.history.splice(0, this.history.length - this.historyWindow);
      this.compactedThrough = dropped[dropped.length - 1].resourceVersion;
    }
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch {
        // a listener's failure must not break the write that triggered it
      }
    }
  }

  get(type: ResourceType, ns: string | undefined, name: string): KubeObject | undefined {
    const o = this.objects.get(this.key(type, ns, name));
    return o && clone(o);
  }

  mustGet(type: ResourceType, ns: string | undefined, name: string): KubeObject {
    const o = this.get(type, ns, name);
    if (!o) throw this.notFound(type, name);
    return o;
  }

  list(
    type: ResourceType,
    ns?: string,
    filter?: (o: KubeObject) => boolean,
  ): { items: KubeObject[]; resourceVersion: string } {
    const prefix = `${collectionOf(type)}/${type.namespaced && ns !== undefined ? ns + "/" : ""}`;
    const items: KubeObject[] = [];
    for (const [k, o] of this.objects) {
      if (k.startsWith(prefix) && (!filter || filter(o))) items.push(clone(o));
    }
    items.sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
    return { items, resourceVersion: String(this.rv) };
  }

  create(type: ResourceType, input: KubeObject, ns?: string): KubeObject {
    const obj = clone(input);
    obj.metadata = obj.metadata ?? {};
    if (type.namespaced) obj.metadata.namespace = ns ?? obj.metadata.namespace ?? "default";
    else delete obj.metadata.namespace;
    if (!obj.metadata.name && obj.metadata.generateName) {
      obj.metadata.name = obj.metadata.generateName + randomUUID().replace(/-/g, "").slice(0, 5);
    }
    const name = obj.metadata.name;
    if (!name) {
      throw new StatusError(
        422,
        "Invalid",
        `${type.kind}.${type.group} "" is invalid: metadata.name: Required value: name or generateName is required`,
        {
          kind: type.kind,
          group: type.group,
          causes: [
            {
              reason: "FieldValueRequired",
              message: "Required value: name or generateName is required",
              field: "metadata.name",
            },
          ],
        },
      );
    }
    obj.apiVersion = apiVersionOf(type);
    obj.kind = type.kind;
    if (type.statusSubresource) delete obj.status;
    type.default?.(obj);
    const rejected = type.admit?.(obj, undefined, "CREATE");
    if (rejected) throw this.rejection(type, name, rejected);
    const key = this.key(type, obj.metadata.namespace, name);
    if (this.objects.has(key)) {
      throw new StatusError(409, "AlreadyExists", `${gr(type)} "${name}" already exists`, {
        name,
        group: type.group,
        kind: type.plural,
      });
    }
    delete obj.metadata.deletionTimestamp;
    obj.metadata.uid = randomUUID();
    obj.metadata.generation = 1;
    obj.metadata.creationTimestamp = now();
    obj.metadata.resourceVersion = String(++this.rv);
    this.objects.set(key, obj);
    this.emit("ADDED", type, obj);
    return clone(obj);
  }

  private rejection(type: ResourceType, name: string, r: AdmissionRejection) {
    return new StatusError(r.code ?? 422, r.reason ?? "Invalid", r.message, {
      name,
      group: type.group,
      kind: type.kind,
      ...(r.causes ? { causes: r.causes } : {}),
    });
  }

  /**
   * Replaces an object (PUT semantics; PATCH is resolved to a full object by the HTTP layer first).
   * `subresource: "status"` changes only status; otherwise status is kept as stored when the
   * status subresource is enabled. A stale metadata.resourceVersion is a 409 Conflict.
   */
  update(type: ResourceType, input: KubeObject, opts: { subresource?: "status" } = {}): KubeObject {
    const name = input.metadata?.name ?? "";
    const ns = input.metadata?.namespace;
    const key = this.key(type, ns, name);
    const old = this.objects.get(key);
    if (!old) throw this.notFound(type, name);
    const wantRV = input.metadata?.resourceVersion;
    if (wantRV && wantRV !== old.metadata.resourceVersion) {
      throw new StatusError(
        409,
        "Conflict",
        `Operation cannot be fulfilled on ${gr(type)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name, group: type.group, kind: type.plural },
      );
    }
    let next: KubeObject;
    if (opts.subresource === "status") {
      next = clone(old);
      next.status = clone(input.status);
    } else {
      next = clone(input);
      next.apiVersion = apiVersionOf(type);
      next.kind = type.kind;
      if (type.statusSubresource) {
        if (old.status === undefined) delete next.status;
        else next.status = clone(old.status);
      }
      // Fields the server owns.
      for (const f of [
        "uid",
        "creationTimestamp",
        "generation",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
      ]) {
        if (old.metadata[f] === undefined) delete next.metadata[f];
        else next.metadata[f] = old.metadata[f];
      }
      next.metadata.namespace = old.metadata.namespace;
      if (old.metadata.deletionTimestamp) {
        const added = (next.metadata.finalizers ?? []).filter(
          (f) => !(old.metadata.finalizers ?? []).includes(f),
        );
        if (added.length) {
          throw new StatusError(
            422,
            "Invalid",
            `${type.kind}.${type.group} "${name}" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => `"${f}"`).join(", ")}}`,
            {
              name,
              group: type.group,
              kind: type.kind,
              causes: [
                {
                  reason: "FieldValueForbidden",
                  message: "no new finalizers can be added if the object is being deleted",
                  field: "metadata.finalizers",
                },
              ],
            },
          );
        }
      }
      type.default?.(next);
      const specChanged = !deepEqual(specOf(old), specOf(next));
      if (specChanged) next.metadata.generation = (old.metadata.generation ?? 1) + 1;
      const rejected = type.admit?.(next, clone(old), "UPDATE");
      if (rejected) throw this.rejection(type, name, rejected);
    }
    if (
      deepEqual(old, {
        ...next,
        metadata: { ...next.metadata, resourceVersion: old.metadata.resourceVersion },
      })
    ) {
      return clone(old); // a no-op write does not bump resourceVersion, as in the apiserver
    }
    next.metadata.resourceVersion = String(++this.rv);
    if (next.metadata.deletionTimestamp && !(next.metadata.finalizers ?? []).length) {
      this.objects.delete(key);
      this.emit("DELETED", type, next);
      this.collectDependents(next);
      return clone(next);
    }
    this.objects.set(key, next);
    this.emit("MODIFIED", type, next);
    return clone(next);
  }

  /**
   * Deletes an object: with finalizers it is only marked (deletionTimestamp), otherwise removed.
   * Dependents (ownerReferences) are garbage-collected in the background, unless the policy is Orphan.
   */
  delete(
    type: ResourceType,
    ns: string | undefined,
    name: string,
    opts: {
      propagationPolicy?: "Background" | "Foreground" | "Orphan";
      preconditions?: { uid?: string; resourceVersion?: string };
    } = {},
  ): KubeObject {
    const key = this.key(type, ns, name);
    const old = this.objects.get(key);
    if (!old) throw this.notFound(type, name);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== old.metadata.uid) {
      throw new StatusError(
        409,
        "Conflict",
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`,
        {
          name,
          group: type.group,
          kind: type.plural,
        },
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
      throw new StatusError(
        409,
        "Conflict",
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`,
        {
          name,
          group: type.group,
          kind: type.plural,
        },
      );
    }
    if ((old.metadata.finalizers ?? []).length) {
      if (old.metadata.deletionTimestamp) return clone(old);
      const next = clone(old);
      next.metadata.deletionTimestamp = now();
      next.metadata.deletionGracePeriodSeconds = 0;
      next.metadata.resourceVersion = String(++this.rv);
      this.objects.set(key, next);
      this.emit("MODIFIED", type, next);
      return clone(next);
    }
    const gone = clone(old);
    gone.metadata.deletionTimestamp = gone.metadata.deletionTimestamp ?? now();
    gone.metadata.resourceVersion = String(++this.rv);
    this.objects.delete(key);
    this.emit("DELETED", type, gone);
    if (opts.propagationPolicy !== "Orphan") this.collectDependents(gone);
    return clone(gone);
  }

  /** Background garbage collection: delete every object that names `owner` in its ownerReferences. */
  private collectDependents(owner: KubeObject) {
    const uid = owner.metadata.uid;
    const dependents: Array<[ResourceType, KubeObject]> = [];
    for (const [k, o] of this.objects) {
      if (!(o.metadata.ownerReferences ?? []).some((r) => r.uid === uid)) continue;
      const t = this.types.get(k.slice(0, k.indexOf("/")));
      if (t) dependents.push([t, o]);
    }
    if (!dependents.length) return;
    // The real garbage collector runs asynchronously, after the owner's DELETED event.
    setImmediate(() => {
      for (const [t, o] of dependents) {
        try {
          this.delete(t, o.metadata.namespace, o.metadata.name!);
        } catch {
          // already gone
        }
      }
    });
  }

  /** Every change, for controllers and watches. Returns an unsubscribe function. */
  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Events after `fromResourceVersion` still in the history window; throws 410 Gone when that
   * version is older than the window (the caller must relist).
   */
  eventsSince(fromResourceVersion: number): StoreEvent[] {
    if (fromResourceVersion < this.compactedThrough) {
      throw new StatusError(
        410,
        "Expired",
        `too old resource version: ${fromResourceVersion} (${this.compactedThrough + 1})`,
      );
    }
    return this.history.filter((e) => e.resourceVersion > fromResourceVersion).map(clone);
  }

  /** Forgets all history up to now, so every older resourceVersion answers 410 Gone (fault injection). */
  compact(): void {
    this.history = [];
    this.compactedThrough = this.rv;
  }
}
