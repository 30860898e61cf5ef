// Finalizers KubeVirt's controllers put on their objects and on the VM they lock.
import type { KubeObject, ObjectStore, ResourceType } from "../../emulator/store";

export const Finalizer = {
  VirtualMachineSnapshot: "snapshot.kubevirt.io/vmsnapshot-protection",
  VirtualMachineSnapshotContent: "snapshot.kubevirt.io/vmsnapshotcontent-protection",
  /** On the VM while a snapshot holds its lock. */
  SnapshotSource: "snapshot.kubevirt.io/snapshot-source-protection",
  VirtualMachineRestore: "snapshot.kubevirt.io/vmrestore-protection",
  /** On every VMI: virt-handler removes it once the guest has shut down. */
  VirtualMachineInstance: "foregroundDeleteVirtualMachine",
} as const;

export const hasFinalizer = (obj: KubeObject, finalizer: string) =>
  (obj.metadata.finalizers ?? []).includes(finalizer);

/** Adds a finalizer with the object's resourceVersion (a stale copy is a 409 to retry). */
export function addFinalizer(store: ObjectStore, type: ResourceType, obj: KubeObject, finalizer: string) {
  if (hasFinalizer(obj, finalizer)) return obj;
  const finalizers = [...(obj.metadata.finalizers ?? []), finalizer];
  return store.update(type, { ...obj, metadata: { ...obj.metadata, finalizers } });
}

/** Removes a finalizer; the returned object is gone from the store if it was the last one on a deleted object. */
export function removeFinalizer(store: ObjectStore, type: ResourceType, obj: KubeObject, finalizer: string) {
  if (!hasFinalizer(obj, finalizer)) return obj;
  const { finalizers: all = [], ...metadata } = obj.metadata;
  const finalizers = all.filter((f) => f !== finalizer);
  return store.update(type, { ...obj, metadata: finalizers.length ? { ...metadata, finalizers } : metadata });
}
