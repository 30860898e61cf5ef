// A small reconcile loop shared by the controller simulators: store events enqueue objects, a timer per
// object runs the kind's handler, and a write conflict simply runs it again (as controller-runtime does).
import {
  collectionOf,
  StatusError,
  type KubeObject,
  type ObjectStore,
  type ResourceType,
} from "../emulator/store";

/** Reconciles one object, read fresh from the store by the handler (it may be gone). */
export type ReconcileHandler = (namespace: string, name: string) => void;

export interface ObjectRef {
  type: ResourceType;
  namespace: string;
  name: string;
}

export interface ReconcilerOptions {
  /** Called once by stop(), e.g. to stop a controller started alongside. */
  onStop?: () => void;
  /** A handler failed with something other than a conflict; it is retried with back-off either way. */
  onError?: (error: unknown, ref: ObjectRef) => void;
}

interface Scheduled {
  timer: NodeJS.Timeout;
  at: number;
}

const maxBackoffMs = 1000;

/** A Kubernetes timestamp (RFC 3339, whole seconds), as controllers write into status. */
export const timestamp = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

export class Reconciler {
  private readonly handlers = new Map<string, { type: ResourceType; handler: ReconcileHandler }>();
  private readonly related = new Map<string, Array<(obj: KubeObject) => ObjectRef[]>>();
  private readonly scheduled = new Map<string, Scheduled>();
  private readonly failures = new Map<string, number>();
  private readonly paces = new Map<string, { step: string; dueAt: number }>();
  private readonly unsubscribe: () => void;
  private stopped = false;

  constructor(
    readonly store: ObjectStore,
    private readonly opts: ReconcilerOptions = {},
  ) {
    this.unsubscribe = store.subscribe((event) => {
      const { namespace = "", name = "", uid = "" } = event.object.metadata;
      const own = this.handlers.get(event.collection);
      if (own) {
        if (event.type === "DELETED") {
          this.paces.delete(`${this.key(own.type, namespace, name)}/${uid}`);
          this.failures.delete(this.key(own.type, namespace, name));
        }
        this.enqueue(own.type, namespace, name);
      }
      for (const map of this.related.get(event.collection) ?? []) {
        for (const ref of map(event.object)) this.enqueue(ref.type, ref.namespace, ref.name);
      }
    });
  }

  /** Registers the reconcile handler of a kind; every event of that kind enqueues the object. */
  watch(type: ResourceType, handler: ReconcileHandler): this {
    this.store.register(type);
    this.handlers.set(collectionOf(type), { type, handler });
    return this;
  }

  /** Events of `type` also enqueue the objects `map` names (an owner, a referencing snapshot...). */
  watchRelated(type: ResourceType, map: (obj: KubeObject) => ObjectRef[]): this {
    this.store.register(type);
    const list = this.related.get(collectionOf(type)) ?? [];
    list.push(map);
    this.related.set(collectionOf(type), list);
    return this;
  }

  /** Schedules a reconcile; an earlier pending one for the same object wins (one timer per object). */
  enqueue(type: ResourceType, namespace: string, name: string, afterMs = 0): void {
    if (this.stopped || !this.handlers.has(collectionOf(type))) return;
    const key = this.key(type, namespace, name);
    const at = Date.now() + afterMs;
    const pending = this.scheduled.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => this.run(type, namespace, name, key), afterMs);
    this.scheduled.set(key, { timer, at });
  }

  /**
   * Paces a phase transition: false (and a reconcile is scheduled) until `delayMs` has passed since the
   * object first asked for this `step`. One step is tracked per object, so the next step starts a new wait.
   */
  due(type: ResourceType, obj: KubeObject, step: string, delayMs: number): boolean {
    const { namespace = "", name = "", uid = "" } = obj.metadata;
    const key = `${this.key(type, namespace, name)}/${uid}`;
    let pace = this.paces.get(key);
    if (pace?.step !== step) {
      pace = { step, dueAt: Date.now() + delayMs };
      this.paces.set(key, pace);
    }
    const left = pace.dueAt - Date.now();
    if (left <= 0) return true;
    this.enqueue(type, namespace, name, left);
    return false;
  }

  /** Clears every timer and stops listening; nothing runs afterwards. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe();
    for (const { timer } of this.scheduled.values()) clearTimeout(timer);
    this.scheduled.clear();
    this.opts.onStop?.();
  }

  private key(type: ResourceType, namespace: string, name: string) {
    return `${collectionOf(type)}/${namespace}/${name}`;
  }

  private run(type: ResourceType, namespace: string, name: string, key: string) {
    this.scheduled.delete(key);
    if (this.stopped) return;
    const entry = this.handlers.get(collectionOf(type));
    if (!entry) return;
    try {
      entry.handler(namespace, name);
      this.failures.delete(key);
    } catch (error) {
      if (error instanceof StatusError && error.code === 409) {
        this.enqueue(type, namespace, name); // someone wrote first: re-read and try again
        return;
      }
      const attempt = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, attempt);
      this.opts.onError?.(error, { type, namespace, name });
      this.enqueue(type, namespace, name, Math.min(maxBackoffMs, 10 * 2 ** attempt));
    }
  }
}
