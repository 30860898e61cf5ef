// Field ownership (metadata.managedFields), as the apiserver keeps it for every write.
// Server-side apply (PATCH with application/apply-patch+yaml), as `kubectl apply --server-side` and
// pulumi-kubernetes use it: each field manager owns the fields it applied, fields it applied before and leaves
// out now are removed, and a field another manager applied with a different value is a conflict unless the
// request forces it. Any other write (create, update, patch) is an "Update": its manager (the fieldManager
// parameter, else the User-Agent up to its first "/") takes the fields it set or changed, from whoever owned
// them, without conflicts. Lists are atomic, as they are for a custom resource without list-type markers.
import { isJsonObject } from "./patch";
import { copyJson, deepEqual, now, StatusError, type KubeObject } from "./store";

/** A path of field names from the object's root, e.g. ["spec", "size"]. */
type FieldPath = string[];

export interface ManagedFieldsEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion?: string;
  time?: string;
  fieldsType?: "FieldsV1";
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

/** Fields no manager owns: identity, and the bookkeeping the server writes. */
const UNOWNED: string[][] = [
  ["apiVersion"],
  ["kind"],
  ["metadata", "name"],
  ["metadata", "namespace"],
  ["metadata", "managedFields"],
  ["metadata", "resourceVersion"],
  ["metadata", "uid"],
  ["metadata", "generation"],
  ["metadata", "creationTimestamp"],
  ["metadata", "deletionTimestamp"],
  ["metadata", "deletionGracePeriodSeconds"],
];
const isUnowned = (path: FieldPath) =>
  UNOWNED.some((u) => u.length === path.length && u.every((k, i) => path[i] === k));

/** The leaf fields a configuration sets (a non-empty object is descended into; anything else is a leaf). */
function leavesOf(value: Record<string, unknown>, prefix: FieldPath = []): FieldPath[] {
  const leaves: FieldPath[] = [];
  for (const [key, v] of Object.entries(value)) {
    const path = [...prefix, key];
    if (isUnowned(path)) continue;
    if (isJsonObject(v) && Object.keys(v).length) leaves.push(...leavesOf(v, path));
    else leaves.push(path);
  }
  return leaves;
}

/** FieldsV1 as the apiserver writes it: {"f:spec": {"f:size": {}}}. */
function toFieldsV1(leaves: FieldPath[]): Record<string, unknown> {
  const root: Record<string, any> = {};
  for (const path of leaves) {
    let node = root;
    for (const key of path) node = node[`f:${key}`] ??= {};
  }
  return root;
}

function fromFieldsV1(fields: unknown, prefix: FieldPath = []): FieldPath[] {
  if (!isJsonObject(fields)) return [];
  const leaves: FieldPath[] = [];
  for (const [key, child] of Object.entries(fields)) {
    if (!key.startsWith("f:")) continue; // "." and k:/v: keys of map-lists are not produced here
    const path = [...prefix, key.slice(2)];
    const below = fromFieldsV1(child, path);
    leaves.push(...(below.length ? below : [path]));
  }
  return leaves;
}

const pathKey = (path: FieldPath) => path.join("\u0000");
const dotted = (path: FieldPath) => "." + path.join(".");

function valueAt(obj: unknown, path: FieldPath): unknown {
  let node = obj;
  for (const key of path) {
    if (!isJsonObject(node)) return undefined;
    node = node[key];
  }
  return node;
}

function removeAt(obj: Record<string, any>, path: FieldPath): void {
  const parents: Record<string, any>[] = [];
  let node = obj;
  for (const key of path.slice(0, -1)) {
    if (!isJsonObject(node[key])) return;
    parents.push(node);
    node = node[key];
  }
  delete node[path[path.length - 1]];
  // A map the manager emptied goes too, as its last field did.
  for (let i = parents.length - 1; i >= 0; i--) {
    const key = path[i];
    if (isJsonObject(parents[i][key]) && !Object.keys(parents[i][key]).length) delete parents[i][key];
    else break;
  }
}

/** Objects merge key by key; anything else (lists included) is replaced by the applied value. */
function merge(live: unknown, applied: unknown): unknown {
  if (!isJsonObject(applied) || !isJsonObject(live)) return copyJson(applied);
  const result: Record<string, unknown> = { ...live };
  for (const [key, value] of Object.entries(applied)) result[key] = merge(live[key], value);
  return result;
}

export interface ApplyRequest {
  /** The applied configuration (apiVersion, kind and metadata.name checked by the caller). */
  config: KubeObject;
  manager: string;
  force: boolean;
  apiVersion: string;
  /** "status" for an apply to the status subresource. */
  subresource?: string;
}

/**
 * The object after `request` is applied to `live` (undefined: the apply creates it), with its managedFields;
 * throws a 409 Conflict naming each field another manager owns with a different value.
 */
export function applyConfiguration(live: KubeObject | undefined, request: ApplyRequest): KubeObject {
  const { config, manager } = request;
  const leaves = leavesOf(config);
  const entries: ManagedFieldsEntry[] = copyJson(live?.metadata.managedFields ?? []);
  const next = merge(live ?? {}, config) as KubeObject;
  const sameEntry = (e: ManagedFieldsEntry) =>
    e.manager === manager && e.operation === "Apply" && (e.subresource ?? "") === (request.subresource ?? "");
  const mine = entries.find(sameEntry);
  const before = new Set(fromFieldsV1(mine?.fieldsV1).map(pathKey));
  const applying = new Set(leaves.map(pathKey));

  // Another manager's field under (or over) one this apply sets, with a different value, conflicts.
  const conflicts: { manager: string; path: FieldPath }[] = [];
  for (const other of entries) {
    if (sameEntry(other)) continue;
    const owned = fromFieldsV1(other.fieldsV1);
    for (const path of leaves) {
      const clash = owned.find((o) => overlaps(o, path));
      if (clash && !deepEqual(valueAt(live, clash), valueAt(next, clash))) {
        conflicts.push({ manager: other.manager, path: clash.length > path.length ? clash : path });
      }
    }
  }
  if (conflicts.length && !request.force) {
    const list = conflicts.map((c) => `conflict with "${c.manager}": ${dotted(c.path)}`);
    throw new StatusError(
      409,
      "Conflict",
      `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? "s" : ""}: ${list.join("\n")}`,
      {
        causes: conflicts.map((c) => ({
          reason: "FieldManagerConflict",
          message: `conflict with "${c.manager}"`,
          field: dotted(c.path),
        })),
      },
    );
  }

  // Fields this manager applied before and leaves out now go, unless another manager still owns them.
  const ownedByOthers = new Set(
    entries.filter((e) => !sameEntry(e)).flatMap((e) => fromFieldsV1(e.fieldsV1).map(pathKey)),
  );
  for (const key of before) {
    if (!applying.has(key) && !ownedByOthers.has(key)) removeAt(next, key.split("\u0000"));
  }

  // Forced fields change hands; managers left with nothing are dropped.
  const taken = new Set(conflicts.map((c) => pathKey(c.path)));
  const kept = entries
    .filter((e) => !sameEntry(e))
    .map((e) => {
      // A field applied with the same value stays shared; a forced one leaves its former manager.
      const remaining = fromFieldsV1(e.fieldsV1).filter((p) => !taken.has(pathKey(p)));
      return e.operation === "Apply" ? { ...e, fieldsV1: toFieldsV1(remaining) } : e;
    })
    .filter((e) => e.operation !== "Apply" || Object.keys(e.fieldsV1 ?? {}).length);
  const entry: ManagedFieldsEntry = {
    manager,
    operation: "Apply",
    apiVersion: request.apiVersion,
    time: now(),
    fieldsType: "FieldsV1",
    fieldsV1: toFieldsV1(leaves),
    ...(request.subresource ? { subresource: request.subresource } : {}),
  };
  next.metadata = { ...next.metadata, managedFields: [...kept, entry] };
  if (live) next.metadata.resourceVersion = live.metadata.resourceVersion;
  return next;
}

/** The manager of a write without a fieldManager parameter: its User-Agent up to the first "/", as the apiserver takes it. */
export const managerOfUserAgent = (userAgent: string | undefined) =>
  (userAgent ?? "").split("/", 1)[0].slice(0, 128);

/**
 * The managedFields after an Update (any write but an apply) by `manager` turned `old` (undefined: a create) into
 * `next`: the fields it set or changed become its own, taken from whoever owned them; fields gone from the object
 * leave every entry; an entry left with nothing is dropped. The entry's time moves only when it gained a field.
 */
export function recordUpdate(
  old: KubeObject | undefined,
  next: KubeObject,
  manager: string,
  apiVersion: string,
  subresource?: string,
): ManagedFieldsEntry[] {
  // A status write sets nothing else; any other write may set everything (status too, without the subresource).
  const written =
    subresource !== "status"
      ? leavesOf(next)
      : next.status === undefined
        ? []
        : leavesOf({ status: next.status });
  const changed = written.filter((p) => !deepEqual(valueAt(old, p), valueAt(next, p)));
  const entries: ManagedFieldsEntry[] = old?.metadata.managedFields ?? [];
  const result: ManagedFieldsEntry[] = [];
  let mine: FieldPath[] | undefined;
  for (const e of entries) {
    const same =
      e.manager === manager && e.operation === "Update" && (e.subresource ?? "") === (subresource ?? "");
    // A status write changes nothing an entry without status fields owns (a controller's many status writes).
    if (subresource === "status" && !same && !isJsonObject(e.fieldsV1?.["f:status"])) {
      result.push(e);
      continue;
    }
    const all = fromFieldsV1(e.fieldsV1);
    const owned = all.filter((p) => valueAt(next, p) !== undefined);
    if (same) mine = owned;
    // Its own entry is written anew below when this write set something.
    if (same && changed.length) continue;
    const kept = owned.filter((o) => !changed.some((c) => overlaps(o, c)));
    if (!kept.length) continue;
    result.push(kept.length === all.length ? e : { ...e, fieldsV1: toFieldsV1(kept) });
  }
  if (changed.length) {
    const fields = [...(mine ?? []).filter((o) => !changed.some((c) => overlaps(o, c))), ...changed];
    // Keys in the order the API server writes them (sorted), so the store need not copy the entry to sort it.
    result.push({
      apiVersion,
      fieldsType: "FieldsV1",
      fieldsV1: toFieldsV1(fields),
      manager,
      operation: "Update",
      ...(subresource ? { subresource } : {}),
      time: now(),
    });
  }
  return result;
}

/** Whether one path lies on the other (the same field, or one inside the other). */
function overlaps(a: FieldPath, b: FieldPath): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}
