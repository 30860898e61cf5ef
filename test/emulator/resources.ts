// REST verbs on served kinds: the handler half of the apiserver, on top of ObjectStore.
import { load } from "js-yaml";
import { applyConfiguration, managerOfUserAgent } from "./apply";
import { applyJsonPatch, applyMergePatch, isJsonObject } from "./patch";
import type { ResourceRoute } from "./routes";
import { parseSelection, type Selection } from "./selectors";
import { apiVersionOf, StatusError, type KubeObject, type ObjectStore, type ResourceType } from "./store";

export interface ResourceCall {
  method: string;
  type: ResourceType;
  route: ResourceRoute;
  query: URLSearchParams;
  contentType: string;
  body: Buffer;
  /** The request's User-Agent: the field manager of a write that names none. */
  userAgent?: string;
}

export interface Reply {
  code: number;
  body: unknown;
}

const badRequest = (message: string) => new StatusError(400, "BadRequest", message);
export const notFoundPath = () =>
  new StatusError(404, "NotFound", "the server could not find the requested resource", {});
export const methodNotAllowed = () =>
  new StatusError(
    405,
    "MethodNotAllowed",
    "the server does not allow this method on the requested resource",
    {},
  );
const unsupportedMediaType = (accepted: string[]) =>
  new StatusError(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(", ")}`,
  );

const APPLY = "application/apply-patch+yaml";
const mediaTypeOf = (contentType: string) => contentType.split(";")[0].trim().toLowerCase();
const groupKind = (t: ResourceType) => (t.group ? `${t.kind}.${t.group}` : t.kind);

/** What a client gets back: every object carries the apiVersion of the URL it asked. */
export const asServed = (obj: KubeObject, type: ResourceType): KubeObject => ({
  ...obj,
  apiVersion: apiVersionOf(type),
  kind: type.kind,
});

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`the request body is not valid JSON: ${(e as Error).message}`);
  }
}

function decodeObject(call: ResourceCall): KubeObject {
  const text = call.body.toString("utf8");
  const mediaType = mediaTypeOf(call.contentType);
  let value: unknown;
  if (mediaType === "" || mediaType === "application/json") value = parseJson(text);
  else if (mediaType === "application/yaml") {
    try {
      value = load(text);
    } catch (e) {
      throw badRequest(`the request body is not valid YAML: ${(e as Error).message}`);
    }
  } else throw unsupportedMediaType(["application/json", "application/yaml"]);
  if (!isJsonObject(value)) {
    throw badRequest(`the request body must be a JSON object, got ${text.slice(0, 100)}`);
  }
  const { type } = call;
  // Custom resources are decoded without a scheme, so kind and apiVersion must be in the data.
  if (type.group && !value.kind) throw badRequest(`Object 'Kind' is missing in '${text.slice(0, 200)}'`);
  if (value.apiVersion !== undefined && value.apiVersion !== apiVersionOf(type)) {
    throw badRequest(
      `the API version in the data (${value.apiVersion}) does not match the expected API version (${apiVersionOf(type)})`,
    );
  }
  if (value.kind !== undefined && value.kind !== type.kind) {
    throw badRequest(`the kind in the data (${value.kind}) does not match the expected kind (${type.kind})`);
  }
  value.metadata = isJsonObject(value.metadata) ? value.metadata : {};
  return value as KubeObject;
}

function checkNamespace(obj: KubeObject, call: ResourceCall) {
  const ns = call.route.namespace;
  if (!call.type.namespaced) return;
  if (
    obj.metadata.namespace !== undefined &&
    obj.metadata.namespace !== "" &&
    obj.metadata.namespace !== ns
  ) {
    throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
  }
  obj.metadata.namespace = ns;
}

function checkName(obj: KubeObject, call: ResourceCall) {
  if (obj.metadata.name !== call.route.name) {
    throw badRequest(
      `the name of the object (${obj.metadata.name ?? ""}) does not match the name on the URL (${call.route.name})`,
    );
  }
}

/** Who makes a write other than an apply: the fieldManager parameter, else the client's User-Agent. */
const updateManagerOf = (call: ResourceCall) =>
  call.query.get("fieldManager") ?? managerOfUserAgent(call.userAgent);

function dryRunOf(query: URLSearchParams): boolean {
  const values = query.getAll("dryRun");
  for (const v of values) {
    if (v !== "All") throw badRequest(`dryRun: Unsupported value: "${v}": supported values: "All"`);
  }
  return values.length > 0;
}

type Propagation = "Background" | "Foreground" | "Orphan";

function deleteOptionsOf(call: ResourceCall) {
  const text = call.body.toString("utf8").trim();
  const body = text ? parseJson(text) : {};
  if (!isJsonObject(body)) throw badRequest("the DeleteOptions body must be a JSON object");
  const query = call.query;
  const policy =
    body.propagationPolicy ??
    query.get("propagationPolicy") ??
    (body.orphanDependents === true || query.get("orphanDependents") === "true" ? "Orphan" : undefined);
  if (policy !== undefined && !["Background", "Foreground", "Orphan"].includes(policy)) {
    throw badRequest(
      `DeleteOptions.propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`,
    );
  }
  const dryRun = Array.isArray(body.dryRun) ? body.dryRun.includes("All") : dryRunOf(query);
  return {
    propagationPolicy: policy as Propagation | undefined,
    preconditions: isJsonObject(body.preconditions) ? body.preconditions : undefined,
    dryRun,
  };
}

export class Resources {
  constructor(private readonly store: ObjectStore) {}

  /** Answers one non-watch request to a served kind; errors are thrown as StatusError. */
  handle(call: ResourceCall): Reply {
    const { route, method, type } = call;
    if (route.namespace === undefined && type.namespaced && route.name !== undefined) throw notFoundPath();
    if (route.namespace !== undefined && !type.namespaced) throw notFoundPath();
    if (route.subresource !== undefined) {
      if (route.subresource !== "status" || !type.statusSubresource || route.name === undefined) {
        throw notFoundPath();
      }
      if (method === "DELETE") throw methodNotAllowed(); // status takes get, update and patch
    }
    if (route.name === undefined) {
      if (method === "GET") return { code: 200, body: this.list(call) };
      if (method === "POST" && (route.namespace !== undefined || !type.namespaced)) return this.create(call);
      if (method === "DELETE") return this.deleteCollection(call);
      throw methodNotAllowed();
    }
    switch (method) {
      case "GET":
        return { code: 200, body: asServed(this.store.mustGet(type, route.namespace, route.name), type) };
      case "PUT":
        return this.replace(call);
      case "PATCH":
        return this.patch(call);
      case "DELETE":
        return this.delete(call);
      default:
        throw methodNotAllowed();
    }
  }

  /** The matching objects, and the store version they were read at. */
  select(type: ResourceType, selection: Selection): { items: KubeObject[]; resourceVersion: string } {
    const { namespace, name, matches } = selection;
    if (name !== undefined && (namespace !== undefined || !type.namespaced)) {
      // One object by name: a map lookup instead of a scan (watch waiters do this a thousand at a time).
      const obj = this.store.get(type, namespace, name);
      const items = obj && (!matches || matches(obj)) ? [obj] : [];
      return { items, resourceVersion: String(this.store.resourceVersion) };
    }
    return this.store.list(type, namespace, matches);
  }

  private list(call: ResourceCall) {
    const { type, route, query } = call;
    const { items, resourceVersion } = this.select(type, parseSelection(query, route.namespace));
    return {
      apiVersion: apiVersionOf(type),
      kind: `${type.kind}List`,
      metadata: { resourceVersion },
      items: items.map((o) => asServed(o, type)),
    };
  }

  private create(call: ResourceCall): Reply {
    const obj = decodeObject(call);
    checkNamespace(obj, call);
    const created = this.store.create(call.type, obj, call.route.namespace, {
      dryRun: dryRunOf(call.query),
      manager: updateManagerOf(call),
    });
    return { code: 201, body: asServed(created, call.type) };
  }

  private replace(call: ResourceCall): Reply {
    const { type, route } = call;
    const obj = decodeObject(call);
    checkName(obj, call);
    checkNamespace(obj, call);
    // CRDs do not allow unconditional updates: a PUT must say which version it replaces.
    if (type.group && !obj.metadata.resourceVersion && this.store.get(type, route.namespace, route.name!)) {
      const message = "Invalid value: 0x0: must be specified for an update";
      throw new StatusError(
        422,
        "Invalid",
        `${groupKind(type)} "${route.name}" is invalid: metadata.resourceVersion: ${message}`,
        {
          name: route.name,
          group: type.group,
          kind: type.kind,
          causes: [{ reason: "FieldValueInvalid", message, field: "metadata.resourceVersion" }],
        },
      );
    }
    return this.update(call, obj, updateManagerOf(call));
  }

  /** `manager` undefined: the object carries the managedFields the write computed (an apply). */
  private update(call: ResourceCall, obj: KubeObject, manager?: string): Reply {
    const updated = this.store.update(call.type, obj, {
      subresource: call.route.subresource === "status" ? "status" : undefined,
      dryRun: dryRunOf(call.query),
      manager,
    });
    return { code: 200, body: asServed(updated, call.type) };
  }

  private patch(call: ResourceCall): Reply {
    const { type, route } = call;
    const mediaType = mediaTypeOf(call.contentType);
    const accepted = ["application/json-patch+json", "application/merge-patch+json", APPLY];
    // Core kinds have strategic merge patch; without their schemas it merges as a JSON merge patch.
    if (!type.group) accepted.push("application/strategic-merge-patch+json");
    if (!accepted.includes(mediaType)) throw unsupportedMediaType(accepted);
    if (mediaType === APPLY) return this.apply(call);
    const patch = parseJson(call.body.toString("utf8"));
    const current = asServed(this.store.mustGet(type, route.namespace, route.name!), type);
    const patched =
      mediaType === "application/json-patch+json"
        ? applyJsonPatch(current, patch)
        : applyMergePatch(current, patch);
    if (!isJsonObject(patched) || !isJsonObject(patched.metadata)) {
      throw new StatusError(
        422,
        "Invalid",
        `the patched ${groupKind(type)} "${route.name}" is not an object with metadata`,
      );
    }
    const obj = patched as KubeObject;
    checkName(obj, call);
    checkNamespace(obj, call);
    return this.update(call, obj, updateManagerOf(call));
  }

  /** Server-side apply: creates the object when it does not exist yet. */
  private apply(call: ResourceCall): Reply {
    const { type, route, query } = call;
    const manager = query.get("fieldManager");
    if (!manager) {
      const message = "Required value: is required for apply patch";
      throw new StatusError(
        422,
        "Invalid",
        `PatchOptions.meta.k8s.io "" is invalid: fieldManager: ${message}`,
        {
          group: "meta.k8s.io",
          kind: "PatchOptions",
          causes: [{ reason: "FieldValueRequired", message, field: "fieldManager" }],
        },
      );
    }
    const force = query.get("force");
    if (force !== null && force !== "true" && force !== "false") {
      throw badRequest(`force: Invalid value: "${force}": must be true or false`);
    }
    const config = decodeObject({ ...call, contentType: "application/yaml" });
    if (!config.apiVersion || !config.kind)
      throw badRequest("apiVersion and kind must be set in an applied configuration");
    config.metadata.name ??= route.name;
    checkName(config, call);
    checkNamespace(config, call);
    const subresource = route.subresource;
    const live = this.store.get(type, route.namespace, route.name!);
    // Only the object itself can be created by an apply: its status answers 404 (mustGet throws it).
    if (!live && subresource) this.store.mustGet(type, route.namespace, route.name!);
    const next = applyConfiguration(live && asServed(live, type), {
      config,
      manager,
      force: force === "true",
      apiVersion: apiVersionOf(type),
      subresource,
    });
    if (!live) {
      const created = this.store.create(type, next, route.namespace, { dryRun: dryRunOf(query) });
      return { code: 201, body: asServed(created, type) };
    }
    return this.update(call, next);
  }

  private delete(call: ResourceCall): Reply {
    const { type, route } = call;
    const opts = deleteOptionsOf(call);
    const result = this.store.delete(type, route.namespace, route.name!, opts);
    const pending = (result.metadata.finalizers ?? []).length > 0;
    if (pending) return { code: 202, body: asServed(result, type) };
    if (type.group) return { code: 200, body: asServed(result, type) };
    // Built-in kinds answer an immediate delete with a Status instead of the object.
    return {
      code: 200,
      body: {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Success",
        details: { name: route.name, kind: type.plural, uid: result.metadata.uid },
      },
    };
  }

  private deleteCollection(call: ResourceCall): Reply {
    const { type, route, query } = call;
    const opts = deleteOptionsOf(call);
    const { items } = this.select(type, parseSelection(query, route.namespace));
    const deleted = items.map((o) =>
      asServed(this.store.delete(type, o.metadata.namespace, o.metadata.name!, opts), type),
    );
    return {
      code: 200,
      body: {
        apiVersion: apiVersionOf(type),
        kind: `${type.kind}List`,
        metadata: { resourceVersion: String(this.store.resourceVersion) },
        items: deleted,
      },
    };
  }
}
