// Garbage collection of finished operations (reference §5.6: TTL 24 h, and at most 10 finished per VM or per
// snapshot), run on demand instead of at midnight.
import { VirtualMachineOperation, VirtualMachineSnapshotOperation } from "../../emulator/kinds/deckhouse";
import type { KubeObject, ObjectStore, ResourceType } from "../../emulator/store";
import { finishedPhases } from "./vmOperation";

const keptPerIndex = 10;

export interface CollectOptions {
  /** Finished operations older than this are deleted (default 0: all of them, as the run 24 h later would). */
  olderThanMs?: number;
}

export function collectFinishedOperations(store: ObjectStore, opts: CollectOptions = {}): void {
  const ttl = opts.olderThanMs ?? 0;
  const now = Date.now();
  const collections: Array<[ResourceType, (op: KubeObject) => string]> = [
    [VirtualMachineOperation, (op) => op.spec?.virtualMachineName],
    [VirtualMachineSnapshotOperation, (op) => op.spec?.virtualMachineSnapshotName],
  ];
  for (const [type, indexOf] of collections) {
    const age = (op: KubeObject) => now - Date.parse(op.metadata.creationTimestamp!);
    const finished = store.list(
      type,
      undefined,
      (op) => finishedPhases.includes(op.status?.phase) && !op.metadata.deletionTimestamp,
    ).items;
    const expired = finished.filter((op) => age(op) > ttl);
    const kept = new Map<string, number>();
    const excess = finished
      .filter((op) => age(op) <= ttl)
      .sort((a, b) => age(a) - age(b))
      .filter((op) => {
        const index = `${op.metadata.namespace}/${indexOf(op)}`;
        const count = kept.get(index) ?? 0;
        kept.set(index, count + 1);
        return count >= keptPerIndex;
      });
    for (const op of [...expired, ...excess]) store.delete(type, op.metadata.namespace, op.metadata.name!);
  }
}
