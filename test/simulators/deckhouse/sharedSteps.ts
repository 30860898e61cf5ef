// Steps both snapshot-based operations (Restore, Clone) take.
import { VirtualDisk, VirtualMachineSnapshot } from "../../emulator/kinds/deckhouse";
import { conditionIn, isTrue, setCondition } from "./conditions";
import type { OperationRun, Step, StepOutcome } from "./operationSteps";

export const inProgressReason = (run: OperationRun) =>
  run.op.spec?.type === "Clone" ? "CloneInProgress" : "RestoreInProgress";

export const modeOf = (run: OperationRun): string =>
  (run.op.spec?.type === "Clone" ? run.op.spec?.clone?.mode : run.op.spec?.restore?.mode) ?? "Strict";

/** The snapshot must exist and be ready: a Restore fails at once instead of waiting for it. */
export const snapshotReady =
  (nameOf: (run: OperationRun) => string | undefined): Step =>
  (run) => {
    if (conditionIn(run.status, "SnapshotReady")?.reason === "SnapshotCleanedUp") return "done";
    const name = nameOf(run);
    if (!name) return { error: "the virtual machine snapshot name is empty" };
    const snapshot = run.ctx.store.get(VirtualMachineSnapshot, run.op.metadata.namespace, name);
    if (!snapshot) return { error: `virtual machine snapshot "${name}" is not found` };
    if (!isTrue(snapshot, "VirtualMachineSnapshotReady")) {
      return { error: `virtual machine snapshot "${name}" is not ready to use` };
    }
    if (!snapshot.status?.virtualMachineSnapshotSecretName) return { error: "snapshot secret name is empty" };
    return "done";
  };

export const waitingDisksReady: Step = (run) => {
  if (modeOf(run) === "DryRun") return "done";
  const progress = (message: string): StepOutcome => {
    setCondition(
      run.status,
      { type: "Completed", status: "False", reason: inProgressReason(run), message },
      run.op.metadata.generation,
    );
    return "wait";
  };
  for (const resource of run.status.resources ?? []) {
    if (resource.kind !== "VirtualDisk") continue;
    const disk = run.ctx.store.get(VirtualDisk, run.op.metadata.namespace, resource.name);
    if (disk?.status?.phase === "Failed")
      return { error: `virtual disk "${resource.name}" is in failed phase` };
    if (disk?.status?.phase !== "Ready") return progress("Waiting for the virtual disks to become ready.");
  }
  setCondition(
    run.status,
    {
      type: "Completed",
      status: "False",
      reason: inProgressReason(run),
      message: "Resources are ready. Waiting for cleanup.",
    },
    run.op.metadata.generation,
  );
  return "done";
};

export const completed: Step = (run) => {
  run.status.phase = "Completed";
  setCondition(
    run.status,
    { type: "Completed", status: "True", reason: "OperationCompleted" },
    run.op.metadata.generation,
  );
  return "done";
};
