// VirtualMachineOperation type Clone (reference §5.4): takes a temporary snapshot of the VM, creates the copy
// under new names from it, waits for the new disks, then deletes the temporary snapshot.
import { VirtualMachineOperation, VirtualMachineSnapshot } from "../../emulator/kinds/deckhouse";
import { cloneObjects, processClone, validateClone } from "./cloning";
import { conditionIn, conditionOf, setCondition, type ConditionInput } from "./conditions";
import { Annotation, ownerReference } from "./names";
import type { OperationKind, OperationRun, Step } from "./operationSteps";
import { completed, modeOf, snapshotReady, waitingDisksReady } from "./sharedSteps";

const snapshotNameOf = (run: OperationRun): string | undefined =>
  run.op.metadata.annotations?.[Annotation.OperationSnapshotName];

const setSnapshotReady = (run: OperationRun, c: Omit<ConditionInput, "type">) =>
  setCondition(run.status, { type: "SnapshotReady", ...c }, run.op.metadata.generation);

const snapshotDone = (run: OperationRun) => {
  const c = conditionIn(run.status, "SnapshotReady");
  return c?.status === "True" || c?.reason === "SnapshotCleanedUp";
};

const createSnapshot: Step = (run) => {
  if (snapshotDone(run)) return "done";
  const { store } = run.ctx;
  const { namespace } = run.op.metadata;
  const vmName: string = run.op.spec.virtualMachineName;
  const name = snapshotNameOf(run);
  const snapshot = name && store.get(VirtualMachineSnapshot, namespace, name);
  if (snapshot) {
    if (snapshot.status?.phase === "Failed") {
      setSnapshotReady(run, {
        status: "False",
        reason: "SnapshotFailed",
        message: "Snapshot creation failed.",
      });
      const cause = conditionOf(snapshot, "VirtualMachineSnapshotReady")?.message ?? "";
      return {
        error: `virtual machine snapshot "${name}" is in failed phase: virtual machine "${vmName}" have invalid state: ${cause}. Try again with new VMOP Clone operation`,
      };
    }
    if (snapshot.status?.phase === "Ready") {
      setSnapshotReady(run, {
        status: "True",
        reason: "SnapshotReady",
        message: "Snapshot is ready for clone operation.",
      });
      return "done";
    }
    setSnapshotReady(run, {
      status: "False",
      reason: "SnapshotInProgress",
      message: "Snapshot creation is in progress.",
    });
    return "wait";
  }
  const created = store.create(VirtualMachineSnapshot, {
    metadata: { generateName: "vmop-clone-", namespace, ownerReferences: [ownerReference(run.op)] },
    spec: { virtualMachineName: vmName, keepIPAddress: "Never", requiredConsistency: true },
  });
  run.op = store.update(VirtualMachineOperation, {
    ...run.op,
    metadata: {
      ...run.op.metadata,
      annotations: {
        ...run.op.metadata.annotations,
        [Annotation.OperationSnapshotName]: created.metadata.name!,
      },
    },
  });
  setSnapshotReady(run, {
    status: "False",
    reason: "SnapshotInProgress",
    message: "Snapshot creation is in progress.",
  });
  return "wait";
};

const processCloneStep: Step = (run) => {
  const { ctx, op } = run;
  const snapshot = ctx.store.get(VirtualMachineSnapshot, op.metadata.namespace, snapshotNameOf(run) ?? "");
  if (!snapshot) {
    // Already cleaned up: the copy was made on an earlier pass.
    return run.status.resources ? "done" : { error: "snapshot is not found" };
  }
  const read = cloneObjects(ctx, snapshot, op.spec?.clone ?? {}, op.metadata.uid!);
  if ("missing" in read) return { error: read.missing };
  const { results, failed } = validateClone(ctx, read.objects, op.metadata.uid!);
  run.status.resources = results;
  if (failed) return { error: "fail to validate the resources: check the status" };
  if (modeOf(run) === "DryRun") return "done";
  run.status.resources = processClone(ctx, read.objects);
  return "done";
};

const cleanupSnapshot: Step = (run) => {
  if (conditionIn(run.status, "SnapshotReady")?.reason === "SnapshotCleanedUp") return "done";
  const name = snapshotNameOf(run);
  const { store } = run.ctx;
  if (name && store.get(VirtualMachineSnapshot, run.op.metadata.namespace, name)) {
    store.delete(VirtualMachineSnapshot, run.op.metadata.namespace, name);
  }
  setSnapshotReady(run, {
    status: "False",
    reason: "SnapshotCleanedUp",
    message: "Snapshot cleanup completed.",
  });
  return "done";
};

export const cloneOperation: OperationKind = {
  inProgressReason: "CloneInProgress",
  phases: ["Stopped", "Running"],
  steps: [
    createSnapshot,
    snapshotReady(snapshotNameOf),
    processCloneStep,
    waitingDisksReady,
    cleanupSnapshot,
    completed,
  ],
};
