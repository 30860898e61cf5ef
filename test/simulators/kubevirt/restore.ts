// KubeVirt's VirtualMachineRestore controller (v1.9): wait for the target to be powered off (per
// targetReadinessPolicy), restore the claims, rewrite or create the VM, complete. Every other error is
// shown as the condition reason and retried forever with back-off.
import {
  DataVolume,
  KubeVirtVirtualMachine,
  KubeVirtVirtualMachineRestore,
  KubeVirtVirtualMachineSnapshot,
  VirtualMachineInstance,
  VirtualMachineSnapshotContent,
} from "../../emulator/kinds/kubevirt";
import { StatusError, type KubeObject, type ObjectStore } from "../../emulator/store";
import { knobsOf, phaseDelayOf } from "../knobs";
import { controllerRef, type ControllerContext } from "./context";
import { addFinalizer, Finalizer, hasFinalizer, removeFinalizer } from "./finalizers";
import { formatGoDuration } from "./goDuration";
import { reconcileRestoredClaims, restoredBy } from "./restoredClaims";
import { reconcileRestoreTarget } from "./restoreTarget";
import { setCondition, timestamp, writeStatus } from "./status";
import { stopVirtualMachine } from "./virtualMachine";

const VMR = KubeVirtVirtualMachineRestore;

export const DefaultTargetGracePeriodMs = 5 * 60_000;

export const RestoreMessage = {
  waitEventually:
    "Waiting for target VM to be powered off. Please stop the restore target to proceed with restore",
  waitGracePeriod: (graceMs: number) =>
    "Waiting for target VM to be powered off. Please stop the restore target to proceed with restore, " +
    `or the operation will fail after ${formatGoDuration(graceMs)}`,
  gracePeriodExceeded: (graceMs: number) =>
    `Restore target failed to be ready within ${formatGoDuration(graceMs)}. ` +
    "Please power off the target VM before attempting restore",
  stopTarget: "Automatically stopping restore target for restore operation",
  failImmediate: "Restore target VMI must be powered off before restore operation",
  differentTargetExists: "restore source and restore target are different but restore target already exists",
} as const;

const complete = (vmr: KubeObject) => vmr.status?.complete === true;
const failed = (vmr: KubeObject) =>
  (vmr.status?.conditions ?? []).some((c: { type: string }) => c.type === "Failure");

type Status = Record<string, any>;

/** Progressing and Ready share the reason; Failure=True makes it terminal. */
function withReason(status: Status, progressing: boolean, reason: string, failure = false): Status {
  let conditions = setCondition(status.conditions, "Progressing", progressing, reason);
  conditions = setCondition(conditions, "Ready", false, reason);
  if (failure) conditions = setCondition(conditions, "Failure", true, reason);
  return { ...status, conditions };
}

/** A step under way: Progressing=True, Ready=False, each with its own reason. */
function withStep(status: Status, progressing: string, ready: string): Status {
  let conditions = setCondition(status.conditions, "Progressing", true, progressing);
  conditions = setCondition(conditions, "Ready", false, ready);
  return { ...status, conditions };
}

function snapshotOf(store: ObjectStore, vmr: KubeObject): KubeObject {
  const key = `${vmr.metadata.namespace}/${vmr.spec?.virtualMachineSnapshotName}`;
  const vms = store.get(
    KubeVirtVirtualMachineSnapshot,
    vmr.metadata.namespace,
    vmr.spec?.virtualMachineSnapshotName,
  );
  if (!vms) throw new Error(`VMSnapshot ${key} does not exist`);
  if (vms.status?.phase === "Failed") throw new Error(`VMSnapshot ${key} failed and is invalid to use`);
  if (vms.status?.readyToUse !== true) throw new Error(`VMSnapshot ${key} not ready`);
  if (!vms.status.virtualMachineSnapshotContentName) throw new Error(`no snapshot content name in ${key}`);
  return vms;
}

function contentOf(store: ObjectStore, vms: KubeObject): KubeObject {
  const name = vms.status.virtualMachineSnapshotContentName;
  const key = `${vms.metadata.namespace}/${name}`;
  const content = store.get(VirtualMachineSnapshotContent, vms.metadata.namespace, name);
  if (!content) throw new Error(`VMSnapshotContent ${key} does not exist`);
  if (content.status?.readyToUse !== true) throw new Error(`VMSnapshotContent ${key} not ready`);
  return content;
}

function targetOf(store: ObjectStore, vmr: KubeObject): KubeObject | undefined {
  const target = vmr.spec?.target ?? {};
  if (target.kind !== "VirtualMachine") throw new Error(`unknown source ${JSON.stringify(target)}`);
  return store.get(KubeVirtVirtualMachine, vmr.metadata.namespace, target.name);
}

/** vm.status.restoreInProgress names the restore that owns the VM until it is done. */
function markRestoreInProgress(store: ObjectStore, vmr: KubeObject, target: KubeObject | undefined) {
  if (!target || restoredBy(vmr, target)) return target;
  const holder = target.status?.restoreInProgress;
  if (holder && holder !== vmr.metadata.name) throw new Error(`vm restore ${holder} in progress`);
  if (holder) return target;
  return writeStatus(store, KubeVirtVirtualMachine, target, {
    ...target.status,
    restoreInProgress: vmr.metadata.name,
  });
}

function clearRestoreInProgress(store: ObjectStore, vmr: KubeObject, target: KubeObject | undefined) {
  if (!target) throw new Error("At this point target should exist");
  if (target.status?.restoreInProgress !== vmr.metadata.name) return;
  const { restoreInProgress: _done, memoryDumpRequest: _dropped, ...status } = target.status;
  writeStatus(store, KubeVirtVirtualMachine, target, status);
}

export function reconcileVirtualMachineRestore(ctx: ControllerContext) {
  const { store, reconciler } = ctx;
  const attempts = new Map<string, number>(); // failed passes in a row, per restore uid, for the back-off

  /** The target still has a VMI: what targetReadinessPolicy says to do about it. */
  function targetNotReady(vmr: KubeObject, target: KubeObject): void {
    const policy: string = vmr.spec?.targetReadinessPolicy ?? "WaitGracePeriod";
    const grace = ctx.targetGracePeriodMs;
    const status = vmr.status;
    switch (policy) {
      case "WaitEventually":
        writeStatus(store, VMR, vmr, withReason(status, false, RestoreMessage.waitEventually));
        return;
      case "StopTarget":
        writeStatus(store, VMR, vmr, withReason(status, false, RestoreMessage.stopTarget));
        stopVirtualMachine(store, target);
        return;
      case "WaitGracePeriod": {
        const left = Date.parse(vmr.metadata.creationTimestamp!) + grace - Date.now();
        if (left < 0) {
          writeStatus(
            store,
            VMR,
            vmr,
            withReason(status, false, RestoreMessage.gracePeriodExceeded(grace), true),
          );
          return;
        }
        writeStatus(store, VMR, vmr, withReason(status, false, RestoreMessage.waitGracePeriod(grace)));
        reconciler.enqueue(VMR, vmr.metadata.namespace!, vmr.metadata.name!, left + 1);
        return;
      }
      case "FailImmediate":
        writeStatus(store, VMR, vmr, withReason(status, false, RestoreMessage.failImmediate, true));
        return;
      default:
        throw new Error(`unknown targetReadinessPolicy: ${policy}`);
    }
  }

  function deleted(vmr: KubeObject, target: KubeObject | undefined): void {
    if (!hasFinalizer(vmr, Finalizer.VirtualMachineRestore)) return;
    if (target) clearRestoreInProgress(store, vmr, target);
    const status = withReason(vmr.status, false, "VM restore is deleting");
    if (JSON.stringify(status) !== JSON.stringify(vmr.status)) {
      writeStatus(store, VMR, vmr, status);
      return;
    }
    if (!knobsOf(vmr).holdDeletion) removeFinalizer(store, VMR, vmr, Finalizer.VirtualMachineRestore);
  }

  function pass(vmr: KubeObject): void {
    if (!vmr.status) {
      const reason = "Initializing VirtualMachineRestore";
      writeStatus(store, VMR, vmr, withReason({ complete: false }, true, reason));
      return;
    }
    const target = targetOf(store, vmr);
    if (vmr.metadata.deletionTimestamp) return deleted(vmr, target);
    if (complete(vmr) || failed(vmr)) return;

    // Owned by the target VM, so deleting the VM garbage-collects the restore (kubevirt#13956).
    if (!vmr.metadata.ownerReferences?.length && target) {
      vmr = store.update(VMR, {
        ...vmr,
        metadata: { ...vmr.metadata, ownerReferences: [controllerRef(target)] },
      });
    }
    vmr = addFinalizer(store, VMR, vmr, Finalizer.VirtualMachineRestore);

    if (target && store.get(VirtualMachineInstance, target.metadata.namespace, target.metadata.name!)) {
      return targetNotReady(vmr, target);
    }
    const vms = snapshotOf(store, vmr);
    if (
      target &&
      !restoredBy(vmr, target) &&
      vms.status.sourceUID &&
      vms.status.sourceUID !== target.metadata.uid
    ) {
      throw new Error(RestoreMessage.differentTargetExists);
    }
    const locked = markRestoreInProgress(store, vmr, target);
    const content = contentOf(store, vms);

    const status: Status = structuredClone(vmr.status);
    if (reconcileRestoredClaims(store, vmr, status, locked, content)) {
      writeStatus(store, VMR, vmr, withStep(status, "Creating new PVCs", "Waiting for new PVCs"));
      return;
    }
    if (reconcileRestoreTarget(store, vmr, status, locked, content)) {
      writeStatus(store, VMR, vmr, withStep(status, "Updating target spec", "Waiting for target update"));
      return;
    }
    for (const name of status.deletedDataVolumes ?? []) {
      if (store.get(DataVolume, vmr.metadata.namespace, name))
        store.delete(DataVolume, vmr.metadata.namespace, name);
    }
    if (!reconciler.due(VMR, vmr, "complete", phaseDelayOf(vmr, ctx.phaseDelayMs))) return;
    clearRestoreInProgress(store, vmr, targetOf(store, vmr));
    status.complete = true;
    status.restoreTime = timestamp();
    let conditions = setCondition(status.conditions, "Progressing", false, "Operation complete");
    conditions = setCondition(conditions, "Ready", true, "Operation complete");
    writeStatus(store, VMR, vmr, { ...status, conditions });
  }

  return (namespace: string, name: string) => {
    const vmr = store.get(VMR, namespace, name);
    if (!vmr) return;
    try {
      pass(vmr);
      attempts.delete(vmr.metadata.uid!);
    } catch (error) {
      if (error instanceof StatusError && error.code === 409) throw error; // the loop re-reads and retries
      const latest = store.get(VMR, namespace, name);
      if (latest?.status)
        writeStatus(store, VMR, latest, withReason(latest.status, false, (error as Error).message));
      const attempt = (attempts.get(vmr.metadata.uid!) ?? 0) + 1;
      attempts.set(vmr.metadata.uid!, attempt);
      reconciler.enqueue(VMR, namespace, name, Math.min(1000, 25 * 2 ** attempt));
    }
  };
}
