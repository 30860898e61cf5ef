// The bench's controller: the status writes the Deckhouse simulator makes for one snapshot of a running VM,
// recorded once, then replayed on every snapshot the bench creates, instantly or paced. The simulator itself
// re-reads its namespace on every change (seconds of CPU for a thousand snapshots), which would measure the
// simulator instead of the provider; a replay costs one write per step and keeps the platform's statuses.
import { collectionOf, ObjectStore, type KubeObject, type ResourceType } from "../emulator/store";
import { profile } from "../emulator/kinds/profiles";
import { VirtualMachine } from "../emulator/kinds/deckhouse";
import { startDeckhouseController } from "../simulators/deckhouse";
import { createVirtualMachine } from "../simulators/deckhouse/fixtures";
import { waitFor } from "../simulators/waitFor";

/** One write the controller made: new finalizers (metadata) or a new status (the status subresource). */
export type Step = { finalizers: string[] } | { status: Record<string, any> };

export interface Recording {
  type: ResourceType;
  /** Writes from the first one after creation up to the first terminal phase. */
  create: Step[];
  /** Writes after the object was marked for deletion, up to its removal. */
  delete: Step[];
  /** The recorded object's name and uid, which its status mentions (child and volume snapshot names). */
  name: string;
  uid: string;
}

export interface RecordedSnapshot {
  type: ResourceType;
  /** The spec of a snapshot of the recording's VM (or of its disk). */
  spec: Record<string, unknown>;
}

const terminalPhases = new Set(["Ready", "Failed"]);
export const isTerminal = (o: KubeObject | undefined) => terminalPhases.has(o?.status?.phase);

const recordingNamespace = "recording";

/**
 * Runs the Deckhouse simulator (no delays) on a private store: one running VM with one disk and a guest
 * agent, then each snapshot in turn, created and deleted, recording the controller's writes.
 */
export async function recordSimulator(
  snapshots: (vm: { name: string; disk: string }) => RecordedSnapshot[],
): Promise<Recording[]> {
  const store = new ObjectStore();
  profile("deckhouse-v1.10").forEach((t) => store.register(t));
  const controller = startDeckhouseController(store);
  try {
    const vm = { name: "recorded-vm", disk: "recorded-vm-root" };
    createVirtualMachine(store, { namespace: recordingNamespace, name: vm.name, disks: [vm.disk] });
    await waitFor(store, VirtualMachine, recordingNamespace, vm.name, isRunningWithAgent, 10_000);
    const recordings: Recording[] = [];
    for (const { type, spec } of snapshots(vm)) recordings.push(await recordOne(store, type, spec));
    return recordings;
  } finally {
    controller.stop();
  }
}

const isRunningWithAgent = (vm: KubeObject | undefined) =>
  vm?.status?.phase === "Running" &&
  (vm.status.conditions ?? []).some((c: any) => c.type === "AgentReady" && c.status === "True");

async function recordOne(store: ObjectStore, type: ResourceType, spec: Record<string, unknown>) {
  const name = `recorded-${type.plural}`;
  const events: { type: string; object: KubeObject }[] = [];
  const stop = store.subscribe((e) => {
    if (e.collection === collectionOf(type) && e.object.metadata.name === name) events.push(e);
  });
  try {
    const created = store.create(type, { metadata: { name, namespace: recordingNamespace }, spec });
    await waitFor(store, type, recordingNamespace, name, isTerminal, 10_000);
    const creation = events.splice(0).map((e) => e.object);
    // Writes after the terminal phase (a later reconcile rewording a condition) are not replayed.
    const beforeDeletion = store.get(type, recordingNamespace, name)!;
    store.delete(type, recordingNamespace, name);
    await waitFor(store, type, recordingNamespace, name, (o) => !o, 10_000);
    return {
      type,
      name,
      uid: created.metadata.uid!,
      create: stepsBetween(created, creation.slice(0, creation.findIndex(isTerminal) + 1)),
      delete: stepsBetween(
        beforeDeletion,
        events.map((e) => e.object),
      ),
    };
  } finally {
    stop();
  }
}

/** The controller's writes that turned `from` into each object in turn (the client's own deletion mark is skipped). */
function stepsBetween(from: KubeObject, objects: KubeObject[]): Step[] {
  const steps: Step[] = [];
  let before = from;
  for (const after of objects) {
    const finalizers = after.metadata.finalizers ?? [];
    if (JSON.stringify(finalizers) !== JSON.stringify(before.metadata.finalizers ?? [])) {
      steps.push({ finalizers });
    }
    if (JSON.stringify(after.status) !== JSON.stringify(before.status)) steps.push({ status: after.status });
    before = after;
  }
  return steps;
}

/**
 * A recorded status as it reads for another object: the recorded object's uid and name replaced by its own
 * wherever they appear (child and volume snapshot names). What mentions neither is shared with the recording,
 * as the store never modifies what it keeps.
 */
function rename(value: any, from: { uid: string; name: string }, to: { uid: string; name: string }): any {
  if (typeof value === "string") {
    return value.includes(from.uid) || value.includes(from.name)
      ? value.replaceAll(from.uid, to.uid).replaceAll(from.name, to.name)
      : value;
  }
  if (value === null || typeof value !== "object") return value;
  let copy: any;
  for (const key in value) {
    const item = rename(value[key], from, to);
    if (item !== value[key]) (copy ??= Array.isArray(value) ? [...value] : { ...value })[key] = item;
  }
  return copy ?? value;
}

/** How long a replayed snapshot takes to its terminal phase: at once, or a random time in a range. */
export type Pace = "instant" | { minMs: number; maxMs: number };

/**
 * Replays the recordings on every object of their kinds created in `store` (any namespace): creation steps
 * at `pace`, deletion steps at once (the platform removes its finalizers as soon as it has cleaned up).
 */
export function startReplay(store: ObjectStore, recordings: Recording[], pace: Pace): { stop(): void } {
  const byCollection = new Map(recordings.map((r) => [collectionOf(r.type), r]));
  const timers = new Set<NodeJS.Timeout | NodeJS.Immediate>();
  const later = (ms: number, run: () => void) => {
    const timer: NodeJS.Timeout | NodeJS.Immediate =
      ms > 0
        ? setTimeout(() => (timers.delete(timer), run()), ms)
        : setImmediate(() => (timers.delete(timer), run()));
    timers.add(timer);
  };
  const play = (recording: Recording, object: KubeObject, stage: "create" | "delete", totalMs: number) => {
    const { namespace, name, uid } = object.metadata;
    const steps = recording[stage];
    const renamed = (status: Record<string, any>) => rename(status, recording, { uid: uid!, name: name! });
    const apply = (i: number) => {
      const current = store.peek(recording.type, namespace, name!);
      if (!current || current.metadata.uid !== uid || i >= steps.length) return;
      if (stage === "create" && current.metadata.deletionTimestamp) return; // deleted before it was ready
      const step = steps[i];
      if ("finalizers" in step) {
        store.update(
          recording.type,
          { ...current, metadata: { ...current.metadata, finalizers: step.finalizers } },
          { handOver: true },
        );
      } else {
        store.update(
          recording.type,
          { ...current, status: renamed(step.status) },
          { subresource: "status", handOver: true },
        );
      }
      // Steps are spread evenly, so the terminal phase is written `totalMs` after creation.
      later(totalMs / steps.length, () => apply(i + 1));
    };
    later(totalMs / steps.length, () => apply(0));
  };
  const unsubscribe = store.subscribe((e) => {
    const recording = byCollection.get(e.collection);
    if (!recording) return;
    if (e.type === "ADDED") {
      const ms = pace === "instant" ? 0 : pace.minMs + Math.random() * (pace.maxMs - pace.minMs);
      play(recording, e.object, "create", ms);
    } else if (
      e.type === "MODIFIED" &&
      e.object.metadata.deletionTimestamp &&
      !e.previous?.metadata.deletionTimestamp
    ) {
      play(recording, e.object, "delete", 0);
    }
  });
  return {
    stop() {
      unsubscribe();
      for (const t of timers) {
        clearTimeout(t as NodeJS.Timeout);
        clearImmediate(t as NodeJS.Immediate);
      }
      timers.clear();
    },
  };
}
