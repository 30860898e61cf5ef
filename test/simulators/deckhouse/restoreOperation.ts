// VirtualMachineOperation type Restore (reference §5.3): restores a VM in place from a snapshot under maintenance;
// DryRun only validates. Strict and BestEffort differ only for images and USB devices, which are not simulated.
import { Secret } from "../../emulator/kinds/core";
import {
  VirtualDisk,
  VirtualMachine,
  VirtualMachineBlockDeviceAttachment,
  VirtualMachineIPAddress,
  VirtualMachineOperation,
  VirtualMachineSnapshot,
} from "../../emulator/kinds/deckhouse";
import type { KubeObject } from "../../emulator/store";
import { conditionIn, conditionOf, setCondition } from "./conditions";
import { due } from "./context";
import { Annotation } from "./names";
import type { OperationKind, OperationRun, Step } from "./operationSteps";
import { completed, modeOf, snapshotReady, waitingDisksReady } from "./sharedSteps";
import {
  addressesHolding,
  createdBy,
  createRestored,
  existingOf,
  markCreatedBy,
  objectsFromSnapshot,
  resultOf,
  restoredMachineName,
  sameData,
  type ResourceResult,
  type RestoredObject,
} from "./snapshotResources";

export const inRestoreMaintenance = (vm: KubeObject | undefined) => {
  const c = conditionOf(vm, "Maintenance");
  return c?.status === "True" && c.reason === "RestoreInProgress";
};

const maintenanceEnabled = (run: OperationRun) =>
  conditionIn(run.status, "MaintenanceMode")?.status === "True";

function setMaintenanceMode(run: OperationRun, on: boolean) {
  setCondition(
    run.status,
    on
      ? {
          type: "MaintenanceMode",
          status: "True",
          reason: "MaintenanceModeEnabled",
          message: "VMOP has enabled maintenance mode on VM for restore operation.",
        }
      : {
          type: "MaintenanceMode",
          status: "False",
          reason: "MaintenanceModeDisabled",
          message: "VMOP has disabled maintenance mode on VM.",
        },
    run.op.metadata.generation,
  );
}

/** Sets the VM's Maintenance condition as the operation controller does (it writes the VM's status itself). */
export function setVmMaintenance(
  run: OperationRun,
  vm: KubeObject,
  on: boolean,
  message: string,
): KubeObject {
  const status = structuredClone(vm.status ?? {});
  setCondition(
    status,
    { type: "Maintenance", status: on ? "True" : "False", reason: "RestoreInProgress", message },
    vm.metadata.generation,
  );
  return run.ctx.store.update(VirtualMachine, { ...vm, status }, { subresource: "status" });
}

const enterMaintenance: Step = (run) => {
  if (modeOf(run) === "DryRun" || run.status.resources) return "done";
  const { store } = run.ctx;
  const vm = store.get(VirtualMachine, run.op.metadata.namespace, run.op.spec.virtualMachineName);
  if (!vm)
    return { error: `failed to fetch the virtual machine "${run.op.spec.virtualMachineName}": not found` };
  if (inRestoreMaintenance(vm)) {
    if (vm.status?.phase !== "Stopped" && vm.status?.phase !== "Pending") return "wait";
    setMaintenanceMode(run, true);
    return "done";
  }
  if (!due(run.ctx, VirtualMachineOperation, run.op, "maintenance")) return "wait";
  const phase = vm.status?.phase;
  const powerState =
    phase === "Running" || phase === "Pending" ? "Running" : phase === "Stopped" ? "Stopped" : "";
  let current = vm;
  if (powerState && vm.metadata.annotations?.[Annotation.RestorePowerState] !== powerState) {
    current = store.update(VirtualMachine, {
      ...vm,
      metadata: {
        ...vm.metadata,
        annotations: { ...vm.metadata.annotations, [Annotation.RestorePowerState]: powerState },
      },
    });
  }
  setVmMaintenance(run, current, true, "VM is in maintenance mode for restore operation.");
  setMaintenanceMode(run, true);
  return vm.status?.phase === "Stopped" ? "done" : "wait";
};

/** Why an object of the snapshot cannot be restored in place, if it cannot. */
function restoreConflict(
  run: OperationRun,
  o: RestoredObject,
  uid: string,
  vmName: string,
): string | undefined {
  const existing = existingOf(run.ctx, o);
  if (createdBy(existing, Annotation.CreatedByOperation, uid)) return undefined;
  const name = o.object.metadata.name!;
  switch (o.type) {
    case VirtualDisk:
      return (existing?.status?.attachedToVirtualMachines ?? []).some(
        (a: any) => a.mounted && a.name !== vmName,
      )
        ? `the virtual disk "${name}" already in use`
        : undefined;
    case VirtualMachineBlockDeviceAttachment:
      return existing && existing.spec?.virtualMachineName !== o.object.spec?.virtualMachineName
        ? `the virtual machine block device attachment "${name}" already in use`
        : undefined;
    case Secret:
      return existing && !sameData(existing, o.object)
        ? `the provisioner secret "${name}" the secret has different data`
        : undefined;
    case VirtualMachineIPAddress: {
      const owner = o.object.status?.virtualMachineName;
      const ip: string | undefined = o.object.spec?.staticIP;
      const holder = ip
        ? addressesHolding(run.ctx, o.object.metadata.namespace!, ip, name).find(
            (a) => a.status?.virtualMachineName !== owner,
          )
        : undefined;
      if (holder) {
        return `the IP Address "${ip}" cannot be used for restore: it is taken by VirtualMachineIPAddress/${holder.metadata.name} and already in use by the different virtual machine`;
      }
      return existing?.status?.phase === "Attached" && existing.status.virtualMachineName !== owner
        ? `the virtual machine ip address "${name}" is already in use and cannot be used for the restored virtual machine`
        : undefined;
    }
    default:
      return undefined;
  }
}

/** Replaces one object; returns its result (InProgress while an old disk or attachment is being deleted). */
function restoreObject(run: OperationRun, o: RestoredObject, uid: string): ResourceResult {
  const { store } = run.ctx;
  const existing = existingOf(run.ctx, o);
  const name = o.object.metadata.name!;
  if (!existing) {
    createRestored(run.ctx, o);
    return resultOf(o, "Completed", "Successfully processed");
  }
  if (createdBy(existing, Annotation.CreatedByOperation, uid))
    return resultOf(o, "Completed", "Successfully processed");
  if (o.type === VirtualDisk || o.type === VirtualMachineBlockDeviceAttachment) {
    if (!existing.metadata.deletionTimestamp) {
      const marked = store.update(o.type, {
        ...existing,
        metadata: {
          ...existing.metadata,
          annotations: { ...existing.metadata.annotations, [Annotation.DeletedByOperation]: uid },
        },
      });
      store.delete(o.type, marked.metadata.namespace, name);
    }
    return resultOf(
      o,
      "InProgress",
      `waiting for deletion of ${o.type.kind} ${name} waiting for deletion to complete`,
    );
  }
  if (o.type === VirtualMachine) {
    const powerState = existing.metadata.annotations?.[Annotation.RestorePowerState];
    store.update(VirtualMachine, {
      ...existing,
      metadata: {
        ...existing.metadata,
        labels: o.object.metadata.labels,
        annotations: {
          ...o.object.metadata.annotations,
          ...(powerState ? { [Annotation.RestorePowerState]: powerState } : {}),
        },
      },
      spec: o.object.spec,
    });
  }
  return resultOf(o, "Completed", "Successfully processed");
}

const processRestore: Step = (run) => {
  const dryRun = modeOf(run) === "DryRun";
  if (!dryRun && !maintenanceEnabled(run)) return "wait";
  const { ctx, op } = run;
  const snapshot = ctx.store.get(
    VirtualMachineSnapshot,
    op.metadata.namespace,
    op.spec.restore.virtualMachineSnapshotName,
  );
  if (!snapshot) return { error: "snapshot is not found" };
  const read = objectsFromSnapshot(ctx, snapshot);
  if ("missing" in read) return { error: read.missing };
  const uid = op.metadata.uid!;
  markCreatedBy(read.objects, Annotation.CreatedByOperation, uid);
  const vmName = restoredMachineName(read.objects);
  const validated = read.objects.map((o) => {
    const conflict = restoreConflict(run, o, uid, vmName);
    return conflict
      ? resultOf(o, "Failed", conflict)
      : resultOf(o, "Completed", `${o.object.metadata.name} is valid for restore`);
  });
  run.status.resources = validated;
  if (validated.some((r) => r.status === "Failed"))
    return { error: "fail to validate the resources: check the status" };
  if (dryRun) return "done";

  const restoredAttachments = new Set(
    read.objects
      .filter((o) => o.type === VirtualMachineBlockDeviceAttachment)
      .map((o) => o.object.metadata.name),
  );
  for (const a of ctx.store.list(
    VirtualMachineBlockDeviceAttachment,
    op.metadata.namespace,
    (a) => a.spec?.virtualMachineName === vmName && !restoredAttachments.has(a.metadata.name),
  ).items) {
    ctx.store.delete(VirtualMachineBlockDeviceAttachment, op.metadata.namespace, a.metadata.name!);
  }
  run.status.resources = read.objects.map((o) => restoreObject(run, o, uid));
  return run.status.resources.every((r: ResourceResult) => r.status === "Completed") ? "done" : "wait";
};

function leaveMaintenance(run: OperationRun, message: string) {
  const { store, hypervisor } = run.ctx;
  let vm = store.get(VirtualMachine, run.op.metadata.namespace, run.op.spec.virtualMachineName);
  if (vm && inRestoreMaintenance(vm)) {
    const powerState = vm.metadata.annotations?.[Annotation.RestorePowerState];
    if (powerState) {
      const { [Annotation.RestorePowerState]: _kept, ...annotations } = vm.metadata.annotations ?? {};
      vm = store.update(VirtualMachine, { ...vm, metadata: { ...vm.metadata, annotations } });
      // Deckhouse >= v1.11 (PR #2577) starts the VM again if it ran before the restore.
      hypervisor.requestPower(vm, powerState === "Running" ? "Start" : "Stop");
    }
    setVmMaintenance(run, vm, false, message);
  }
  setMaintenanceMode(run, false);
}

const exitMaintenance: Step = (run) => {
  if (modeOf(run) === "DryRun" || !maintenanceEnabled(run)) return "done";
  leaveMaintenance(run, "VM exited maintenance mode after restore completion.");
  return "done";
};

export const restoreOperation: OperationKind = {
  inProgressReason: "RestoreInProgress",
  phases: ["Stopped", "Running", "Pending"],
  steps: [
    snapshotReady((run) => run.op.spec?.restore?.virtualMachineSnapshotName),
    enterMaintenance,
    processRestore,
    waitingDisksReady,
    exitMaintenance,
    completed,
  ],
  onFailure: (run) => {
    if (maintenanceEnabled(run)) leaveMaintenance(run, "VM exited maintenance mode after restore failure.");
  },
};
