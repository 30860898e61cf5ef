// The emulator's object store: the part of kube-apiserver + etcd semantics the provider depends on.
// The HTTP layer (server.ts) and the controller simulators both go through it, so every write
// bumps resourceVersion, emits a watch event and honours finalizers the same way.
import { randomUUID } from "node:crypto";
import { recordUpdate } from "./apply";

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
  /** The stored version, shared with the store and every listener: keep it, never modify it. */
  object: KubeObject;
  /** The state before a MODIFIED or DELETED write, so label-filtered watches see objects leave and enter. */
  previous?: KubeObject;
  resourceVersion: number;
}

export type StoreListener = (event: StoreEvent) => void;

/**
 * A copy of a JSON value. Stored objects are JSON (from request bodies or the simulators), so this is all a
 * copy needs, and several times cheaper than structuredClone: every write copies the object a few times.
 */
const clone = <T>(o: T): T => copyJson(o);
export function copyJson(v: any): any {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(copyJson);
  const copy: Record<string, unknown> = {};
  for (const k in v) if (v[k] !== undefined) copy[k] = copyJson(v[k]);
  return copy;
}
/** A timestamp as the apiserver writes one: RFC 3339 in whole seconds. */
export const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
const gr = (t: ResourceType) => (t.group ? `${t.plural}.${t.group}` : t.plural);
const specOf = (o: KubeObject) => {
  // Everything but metadata and status is "spec" for generation purposes (as for CRDs).
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
};
/** Equal as JSON documents: key order does not matter and an undefined field is an absent one. */
export function deepEqual(a: any, b: any): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  let count = 0;
  for (const k in a) {
    if (a[k] === undefined) continue;
    if (!deepEqual(a[k], b[k])) return false;
    count++;
  }
  for (const k in b) if (b[k] !== undefined) count--;
  return count === 0;
}

/** `dryRun` validates and answers as the write would, without storing or emitting anything. */
export interface WriteOptions {
  dryRun?: boolean;
  /** Who writes, for metadata.managedFields (default: ObjectStore.controllers, the simulated controllers). */
  manager?: string;
  /**
   * The caller gives `input` up: the store may keep its values instead of copying them (they must not change
   * afterwards), and answers with the stored version itself, which must not be modified. For a controller
   * in this process that builds each write from `peek` and fresh values.
   */
  handOver?: boolean;
}

export interface StoreOptions {
  /** How many events are kept for watch resumption; older resourceVersions get 410 Gone. */
  historyWindow?: number;
}

/**
 * A custom resource as the apiserver writes it: it is stored without a schema (a map), and Go writes a map's
 * keys sorted, at every level. Built-in kinds keep their fields' order. What is sorted already is returned as it
 * is, and what a write took unchanged from the version before (`before`, sorted) is not looked at again.
 */
function sorted(v: any, before?: any): any {
  if (v === before || v === null || typeof v !== "object") return v;
  // No closures here: it runs for every node of every write, and the test runner names each closure it makes.
  const prior = before !== null && typeof before === "object" ? before : undefined;
  if (Array.isArray(v)) {
    let copy: any[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const item = sorted(v[i], prior?.[i]);
      if (item !== v[i]) (copy ??= v.slice())[i] = item;
    }
    return copy ?? v;
  }
  const keys = Object.keys(v);
  let inOrder = true;
  for (let i = 0; i < keys.length; i++) {
    if ((i > 0 && keys[i - 1] > keys[i]) || v[keys[i]] === undefined) inOrder = false;
  }
  let copy: Record<string, unknown> | undefined;
  if (!inOrder) {
    copy = {};
    for (const k of keys.sort()) if (v[k] !== undefined) copy[k] = v[k];
  }
  for (const k in copy ?? v) {
    const value = (copy ?? v)[k];
    const laid = sorted(value, prior?.[k]);
    if (laid !== value) (copy ??= { ...v })[k] = laid;
  }
  return copy ?? v;
}

/**
 * Stored versions are never modified: every write stores a new object, which shares what it did not change with
 * the version before. What leaves the store for a caller (get, list, the result of a write, a watch's replay) is
 * a copy; listeners and `peek` see the stored version itself.
 */
export class ObjectStore {
  private rv = 1000;
  private readonly collections = new Map<string, Map<string, KubeObject>>(); // collection -> ns/name -> object
  private readonly dependents = new Map<string, Set<string>>(); // owner uid -> keys of objects naming it
  private readonly types = new Map<string, ResourceType>(); // collection -> a served type
  private history: StoreEvent[] = []; // sorted by resourceVersion; entries before historyStart are dropped
  private historyStart = 0;
  private compactedThrough = 1000; // events with rv <= this are no longer available
  private readonly listeners = new Set<StoreListener>();
  private readonly historyWindow: number;
  /**
   * The field manager of writes made in this process (the simulated platform's controllers), as a controller's
   * client names itself; undefined: such writes are not recorded in managedFields.
   */
  controllers?: string;

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

  private collection(collection: string) {
    let objects = this.collections.get(collection);
    if (!objects) this.collections.set(collection, (objects = new Map()));
    return objects;
  }

  /** A key's collection and its ns/name within it. */
  private static split(key: string): [string, string] {
    const slash = key.indexOf("/");
    return [key.slice(0, slash), key.slice(slash + 1)];
  }

  private find(key: string): KubeObject | undefined {
    const [collection, rest] = ObjectStore.split(key);
    return this.collections.get(collection)?.get(rest);
  }

  /** Keeps the owner uid -> dependents index in step with what is stored. */
  private indexOwners(key: string, obj: KubeObject | undefined, stored: boolean) {
    for (const { uid } of obj?.metadata.ownerReferences ?? []) {
      let keys = this.dependents.get(uid);
      if (stored) {
        if (!keys) this.dependents.set(uid, (keys = new Set()));
        keys.add(key);
      } else if (keys) {
        keys.delete(key);
        if (!keys.size) this.dependents.delete(uid);
      }
    }
  }

  private put(key: string, obj: KubeObject) {
    const [collection, rest] = ObjectStore.split(key);
    const objects = this.collection(collection);
    this.indexOwners(key, objects.get(rest), false);
    objects.set(rest, obj);
    this.indexOwners(key, obj, true);
  }

  private remove(key: string) {
    const [collection, rest] = ObjectStore.split(key);
    const objects = this.collections.get(collection);
    this.indexOwners(key, objects?.get(rest), false);
    objects?.delete(rest);
  }

  private notFound(type: ResourceType, name: string) {
    return new StatusError(404, "NotFound", `${gr(type)} "${name}" not found`, {
      name,
      group: type.group,
      kind: type.plural,
    });
  }

  private emit(type: WatchEventType, t: ResourceType, obj: KubeObject, previous?: KubeObject) {
    const event: StoreEvent = {
      type,
      collection: collectionOf(t),
      object: obj,
      ...(previous ? { previous } : {}),
      resourceVersion: Number(obj.metadata.resourceVersion),
    };
    this.history.push(event);
    if (this.history.length - this.historyStart > this.historyWindow) {
      this.compactedThrough = this.history[this.historyStart++].resourceVersion;
      // Drop the forgotten prefix in batches, so a full window costs O(1) per write.
      if (this.historyStart >= Math.max(1024, this.historyWindow)) {
        this.history = this.history.slice(this.historyStart);
        this.historyStart = 0;
      }
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
    const o = this.find(this.key(type, ns, name));
    return o && clone(o);
  }

  /** The stored object itself, without a copy, for a reader on a hot path; it must not be modified. */
  peek(type: ResourceType, ns: string | undefined, name: string): Readonly<KubeObject> | undefined {
    return this.find(this.key(type, ns, name));
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
    const prefix = type.namespaced && ns !== undefined ? ns + "/" : "";
    const items: KubeObject[] = [];
    for (const [k, o] of this.collections.get(collectionOf(type)) ?? []) {
      if (k.startsWith(prefix) && (!filter || filter(o))) items.push(clone(o));
    }
    items.sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
    return { items, resourceVersion: String(this.rv) };
  }

  create(type: ResourceType, input: KubeObject, ns?: string, opts: WriteOptions = {}): KubeObject {
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
    if (this.find(key)) {
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
    const manager = opts.manager ?? this.controllers;
    // A create that brings its managedFields (an apply) keeps them, as the apiserver does.
    if (manager !== undefined && input.metadata?.managedFields === undefined) {
      const entries = recordUpdate(undefined, obj, manager, apiVersionOf(type));
      if (entries.length) obj.metadata.managedFields = entries;
    }
    if (opts.dryRun) {
      delete obj.metadata.resourceVersion; // nothing was stored, so there is no version yet
      return this.laidOut(type, obj);
    }
    obj.metadata.resourceVersion = String(++this.rv);
    const stored = this.laidOut(type, obj);
    this.put(key, stored);
    this.emit("ADDED", type, stored);
    return clone(stored);
  }

  /** What is stored: a custom resource's keys sorted, as the apiserver writes them; `before` is its last version. */
  private laidOut(type: ResourceType, obj: KubeObject, before?: KubeObject): KubeObject {
    return type.group ? sorted(obj, before) : obj;
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
  update(
    type: ResourceType,
    input: KubeObject,
    opts: { subresource?: "status" } & WriteOptions = {},
  ): KubeObject {
    const name = input.metadata?.name ?? "";
    const ns = input.metadata?.namespace;
    const key = this.key(type, ns, name);
    const old = this.find(key);
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
    const given = input.metadata?.managedFields;
    let next: KubeObject;
    if (opts.subresource === "status") {
      // The stored version is kept as it is but for its status (in its place among the keys) and the metadata
      // the write sets; stored versions are never modified, so the new one shares the rest with it.
      const status = opts.handOver ? input.status : clone(input.status);
      next = { ...old, metadata: { ...old.metadata }, status };
      if (given) next.metadata.managedFields = opts.handOver ? given : clone(given);
    } else {
      next = opts.handOver ? { ...input, metadata: { ...input.metadata } } : clone(input);
      // A write that leaves managedFields out keeps them, as the apiserver does (stored versions are never
      // modified, so the new one may share them).
      if (next.metadata.managedFields === undefined && old.metadata.managedFields !== undefined) {
        next.metadata.managedFields = old.metadata.managedFields;
      }
      next.apiVersion = apiVersionOf(type);
      next.kind = type.kind;
      if (type.statusSubresource) {
        if (old.status === undefined) delete next.status;
        else next.status = old.status;
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
      // A no-op write does not bump resourceVersion, as in the apiserver.
      return opts.handOver ? old : clone(old);
    }
    const manager = opts.manager ?? this.controllers;
    // Managed fields the write sends back as it read them are kept up to date; others it sets replace them.
    if (manager !== undefined && (given === undefined || deepEqual(given, old.metadata.managedFields))) {
      const entries = recordUpdate(old, next, manager, apiVersionOf(type), opts.subresource);
      if (entries.length) next.metadata.managedFields = entries;
      else delete next.metadata.managedFields;
    }
    if (opts.dryRun) return clone(this.laidOut(type, next, old));
    next.metadata.resourceVersion = String(++this.rv);
    const stored = this.laidOut(type, next, old);
    if (stored.metadata.deletionTimestamp && !(stored.metadata.finalizers ?? []).length) {
      this.remove(key);
      this.emit("DELETED", type, stored, old);
      this.collectDependents(stored);
      return opts.handOver ? stored : clone(stored);
    }
    this.put(key, stored);
    this.emit("MODIFIED", type, stored, old);
    return opts.handOver ? stored : clone(stored);
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
    } & WriteOptions = {},
  ): KubeObject {
    const key = this.key(type, ns, name);
    const old = this.find(key);
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
      const next = {
        ...old,
        metadata: { ...old.metadata, deletionTimestamp: now(), deletionGracePeriodSeconds: 0 },
      };
      if (opts.dryRun) return clone(this.laidOut(type, next, old));
      next.metadata.resourceVersion = String(++this.rv);
      const stored = this.laidOut(type, next, old);
      this.put(key, stored);
      this.emit("MODIFIED", type, stored, old);
      return clone(stored);
    }
    const gone = {
      ...old,
      metadata: { ...old.metadata, deletionTimestamp: old.metadata.deletionTimestamp ?? now() },
    };
    if (opts.dryRun) return clone(this.laidOut(type, gone, old));
    gone.metadata.resourceVersion = String(++this.rv);
    const last = this.laidOut(type, gone, old);
    this.remove(key);
    this.emit("DELETED", type, last, old);
    if (opts.propagationPolicy !== "Orphan") this.collectDependents(last);
    return clone(last);
  }

  /** Background garbage collection: delete every object that names `owner` in its ownerReferences. */
  private collectDependents(owner: KubeObject) {
    const dependents: Array<[ResourceType, KubeObject]> = [];
    for (const k of this.dependents.get(owner.metadata.uid ?? "") ?? []) {
      const t = this.types.get(ObjectStore.split(k)[0]);
      const o = this.find(k);
      if (t && o) dependents.push([t, o]);
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
   * Events after `fromResourceVersion` still in the history window (copies of those `filter` keeps);
   * throws 410 Gone when that version is older than the window (the caller must relist).
   */
  eventsSince(fromResourceVersion: number, filter?: (event: StoreEvent) => boolean): StoreEvent[] {
    if (fromResourceVersion < this.compactedThrough) {
      throw new StatusError(
        410,
        "Expired",
        `too old resource version: ${fromResourceVersion} (${this.compactedThrough + 1})`,
      );
    }
    let lo = this.historyStart;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.history[mid].resourceVersion <= fromResourceVersion) lo = mid + 1;
      else hi = mid;
    }
    const events: StoreEvent[] = [];
    for (let i = lo; i < this.history.length; i++) {
      if (!filter || filter(this.history[i])) events.push(clone(this.history[i]));
    }
    return events;
  }

  /** Forgets all history up to now, so every older resourceVersion answers 410 Gone (fault injection). */
  compact(): void {
    this.history = [];
    this.historyStart = 0;
    this.compactedThrough = this.rv;
  }
}
