// Test helper: resolves when an object reaches a state, driven by store events (no polling).
import {
  collectionOf,
  copyJson,
  type KubeObject,
  type ObjectStore,
  type ResourceType,
} from "../emulator/store";

/**
 * Resolves with the object once `predicate` holds for it (it receives `undefined` while the object does
 * not exist, so `(o) => !o` waits for deletion). Rejects after `timeoutMs` with the last state seen.
 */
export function waitFor(
  store: ObjectStore,
  type: ResourceType,
  namespace: string,
  name: string,
  predicate: (obj: KubeObject | undefined) => boolean,
  timeoutMs = 2000,
): Promise<KubeObject | undefined> {
  let last = store.get(type, namespace, name);
  if (predicate(last)) return Promise.resolve(last);
  return new Promise((resolve, reject) => {
    const collection = collectionOf(type);
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      unsubscribe();
      settle();
    };
    const unsubscribe = store.subscribe((event) => {
      const { metadata } = event.object;
      if (event.collection !== collection || metadata.name !== name) return;
      if (type.namespaced && metadata.namespace !== namespace) return;
      last = event.type === "DELETED" ? undefined : event.object;
      if (predicate(last)) finish(() => resolve(last && copyJson(last))); // the caller's own copy
    });
    const timer = setTimeout(() => {
      const seen = last ? JSON.stringify({ phase: last.status?.phase, status: last.status }) : "absent";
      finish(() =>
        reject(
          new Error(
            `${type.kind} ${namespace}/${name}: condition not met within ${timeoutMs} ms; last seen ${seen}`,
          ),
        ),
      );
    }, timeoutMs);
  });
}

/** A predicate: the object exists and is in one of these phases. */
export const inPhase =
  (...phases: string[]) =>
  (obj: KubeObject | undefined) =>
    obj !== undefined && phases.includes(obj.status?.phase);

/** A predicate: the object is gone. */
export const gone = (obj: KubeObject | undefined) => obj === undefined;

/**
 * Records every distinct phase an object goes through, from now on; `stop()` ends the recording.
 * Useful to assert the order of transitions without sleeping.
 */
export function recordPhases(
  store: ObjectStore,
  type: ResourceType,
  namespace: string,
  name: string,
): { phases: string[]; stop(): void } {
  const phases: string[] = [];
  const collection = collectionOf(type);
  const note = (obj: KubeObject | undefined) => {
    const phase = obj?.status?.phase;
    if (phase !== undefined && phases[phases.length - 1] !== phase) phases.push(phase);
  };
  note(store.get(type, namespace, name));
  const stop = store.subscribe((event) => {
    const { metadata } = event.object;
    if (event.collection !== collection || metadata.name !== name || metadata.namespace !== namespace) return;
    if (event.type !== "DELETED") note(event.object);
  });
  return { phases, stop };
}
