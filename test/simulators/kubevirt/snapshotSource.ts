// The VM side of a snapshot: its online/guest-agent state, and the lock that freezes its disks and run state.
import { PersistentVolumeClaim } from "../../emulator/kinds/core";
import { DataVolume, KubeVirtVirtualMachine, VirtualMachineInstance } from "../../emulator/kinds/kubevirt";
import type { KubeObject, ObjectStore } from "../../emulator/store";
import { addFinalizer, Finalizer, hasFinalizer, removeFinalizer } from "./finalizers";
import { claimNameOf, volumesOf } from "./volumes";

export interface SnapshotSource {
  vm: KubeObject;
  /** A VMI exists: the snapshot is taken while the VM runs. */
  online: boolean;
  /** The VMI reports AgentConnected. */
  guestAgent: boolean;
  locked: boolean;
  /** The Progressing reason while the snapshot is in progress. */
  lockMessage: string;
}

export function snapshotSourceOf(store: ObjectStore, vms: KubeObject): SnapshotSource | undefined {
  if (vms.spec?.source?.kind !== "VirtualMachine") return undefined;
  const vm = store.get(KubeVirtVirtualMachine, vms.metadata.namespace, vms.spec.source.name);
  if (!vm) return undefined;
  const vmi = store.get(VirtualMachineInstance, vm.metadata.namespace, vm.metadata.name!);
  const conditions: Array<{ type: string; status: string }> = vmi?.status?.conditions ?? [];
  const locked =
    vm.status?.snapshotInProgress === vms.metadata.name && hasFinalizer(vm, Finalizer.SnapshotSource);
  return {
    vm,
    online: Boolean(vmi),
    guestAgent: conditions.some((c) => c.type === "AgentConnected"),
    locked,
    lockMessage: locked ? "Source locked and operation in progress" : "Source not locked",
  };
}

/** Why the VM's claims cannot be snapshotted yet, worded as KubeVirt's lock message suffix. */
function volumeProblem(store: ObjectStore, vm: KubeObject): string | undefined {
  const namespace = vm.metadata.namespace!;
  for (const volume of volumesOf(vm)) {
    const claim = claimNameOf(volume);
    if (!claim) continue;
    const pvc = store.get(PersistentVolumeClaim, namespace, claim);
    if (!pvc) return `volume doesnt exist: ${claim}`;
    if (pvc.metadata.deletionTimestamp) return `volume is being deleted: ${claim}`;
    if (pvc.status?.phase !== "Bound") return `volume not bound: ${claim}`;
    const owner = (pvc.metadata.ownerReferences ?? []).find((r) => r.controller && r.kind === "DataVolume");
    if (owner && store.get(DataVolume, namespace, owner.name)?.status?.phase !== "Succeeded") {
      return `volume not populated: ${claim}`;
    }
  }
  return undefined;
}

/** Takes the lock (status.snapshotInProgress + finalizer) or says in lockMessage why it cannot yet. */
export function lockSource(store: ObjectStore, source: SnapshotSource, vms: KubeObject): SnapshotSource {
  if (source.locked) return source;
  const vm = source.vm;
  const prefix = `${source.lockMessage} source ${vm.metadata.namespace}/${vm.metadata.name}`;
  const problem = volumeProblem(store, vm);
  if (problem) return { ...source, lockMessage: `${prefix} ${problem}` };
  const holder = vm.status?.snapshotInProgress;
  if (holder && holder !== vms.metadata.name) {
    return { ...source, lockMessage: `${source.lockMessage} snapshot ${JSON.stringify(holder)} in progress` };
  }
  let locked = vm;
  if (!holder) {
    locked = store.update(
      KubeVirtVirtualMachine,
      { ...locked, status: { ...locked.status, snapshotInProgress: vms.metadata.name } },
      { subresource: "status" },
    );
  }
  locked = addFinalizer(store, KubeVirtVirtualMachine, locked, Finalizer.SnapshotSource);
  return { ...source, vm: locked, locked: true, lockMessage: "Source locked and operation in progress" };
}

/** Releases the lock this snapshot holds; the VM may vanish here if it was deleted meanwhile. */
export function unlockSource(store: ObjectStore, source: SnapshotSource, vms: KubeObject): void {
  let vm = source.vm;
  if (vm.status?.snapshotInProgress !== vms.metadata.name) return;
  vm = removeFinalizer(store, KubeVirtVirtualMachine, vm, Finalizer.SnapshotSource);
  if (!store.get(KubeVirtVirtualMachine, vm.metadata.namespace, vm.metadata.name!)) return;
  const { snapshotInProgress: _released, ...status } = vm.status ?? {};
  store.update(KubeVirtVirtualMachine, { ...vm, status }, { subresource: "status" });
}
