// VirtualMachineSnapshotOperation CreateVirtualMachine (reference §5.5): a new VM and disks from a snapshot under
// new names. As the platform does, it goes from Pending straight to Completed or Failed, so its vmsop-cleanup
// finalizer (held only while InProgress) never appears.
import { Secret } from "../../emulator/kinds/core";
import { VirtualMachineSnapshot, VirtualMachineSnapshotOperation } from "../../emulator/kinds/deckhouse";
import { cloneObjects, processClone, validateClone } from "./cloning";
import { conditionIn, setCondition } from "./conditions";
import { due, forcedFailure, hangs, refOf, writeStatus, type DeckhouseContext } from "./context";
import { createdBefore } from "./operationSteps";

export function watchVmSnapshotOperations(ctx: DeckhouseContext): void {
  const { store, reconciler } = ctx;
  reconciler.watch(VirtualMachineSnapshotOperation, (namespace, name) => reconcile(ctx, namespace, name));
  reconciler.watchRelated(VirtualMachineSnapshot, (s) =>
    store
      .list(VirtualMachineSnapshotOperation, s.metadata.namespace, (op) => op.status?.phase === "Pending")
      .items.map((op) => refOf(VirtualMachineSnapshotOperation, op)),
  );
}

function reconcile(ctx: DeckhouseContext, namespace: string, name: string) {
  const { store } = ctx;
  const op = store.get(VirtualMachineSnapshotOperation, namespace, name);
  if (!op) return;
  const status: Record<string, any> = structuredClone(op.status ?? {});
  const generation = op.metadata.generation;
  if (op.metadata.deletionTimestamp) {
    writeStatus(ctx, VirtualMachineSnapshotOperation, op, { ...status, phase: "Terminating" });
    return;
  }
  if (["OperationCompleted", "OperationFailed"].includes(conditionIn(status, "Completed")?.reason ?? ""))
    return;
  const finish = (phase: "Completed" | "Failed", reason: string, message: string) => {
    status.phase = phase;
    setCondition(
      status,
      { type: "Completed", status: phase === "Completed" ? "True" : "False", reason, message },
      generation,
    );
  };
  const spec = op.spec?.createVirtualMachine;
  const snapshotName: string = op.spec?.virtualMachineSnapshotName ?? "";
  if (!spec) {
    finish(
      "Failed",
      "OperationFailed",
      "Cannot start the clone: no parameters for the new virtual machine are specified.",
    );
  } else if (!status.phase) {
    status.phase = "Pending";
    setCondition(status, { type: "Completed", status: "Unknown", reason: "Unknown" }, generation);
  } else if (!hangs(op) && due(ctx, VirtualMachineSnapshotOperation, op, "execute")) {
    const forced = forcedFailure(op, "OperationFailed");
    const snapshot = store.get(VirtualMachineSnapshot, namespace, snapshotName);
    const secretName = snapshot?.status?.virtualMachineSnapshotSecretName;
    const earlier = store.list(
      VirtualMachineSnapshotOperation,
      namespace,
      (other) =>
        other.metadata.uid !== op.metadata.uid &&
        other.spec?.virtualMachineSnapshotName === snapshotName &&
        !["Completed", "Failed"].includes(other.status?.phase) &&
        createdBefore(other, op),
    ).items;
    if (forced) finish("Failed", forced.reason, forced.message);
    else if (!snapshot) {
      finish(
        "Failed",
        "VirtualMachineSnapshotNotFound",
        `The VirtualMachineSnapshot "${snapshotName}" was not found.`,
      );
    } else if (snapshot.status?.phase !== "Ready") {
      finish(
        "Failed",
        "NotReadyToBeExecuted",
        `The VirtualMachineSnapshot "${snapshotName}" is not ready yet.`,
      );
    } else if (!secretName || !store.get(Secret, namespace, secretName)) {
      finish("Failed", "NotReadyToBeExecuted", "The VirtualMachineSnapshot is not ready to be used yet.");
    } else if (earlier.length) {
      finish(
        "Failed",
        "NotReadyToBeExecuted",
        "The operation cannot start yet: another operation must finish first.",
      );
    } else {
      const failed = (err: string) =>
        finish("Failed", "OperationFailed", `CreateVirtualMachine is failed: ${err}`);
      const read = cloneObjects(ctx, snapshot, spec, op.metadata.uid!);
      if ("missing" in read) failed(read.missing);
      else {
        const validated = validateClone(ctx, read.objects, op.metadata.uid!);
        status.resources = validated.results;
        if (validated.failed) failed("fail to validate the resources: check the status");
        else if (spec.mode === "DryRun") {
          finish(
            "Completed",
            "OperationCompleted",
            "VirtualMachineSnapshotOperation completed. The virtual machine can be cloned from the snapshot",
          );
        } else {
          status.resources = processClone(ctx, read.objects);
          finish("Completed", "OperationCompleted", "VirtualMachineSnapshotOperation completed");
        }
      }
    }
  }
  writeStatus(ctx, VirtualMachineSnapshotOperation, op, status);
}
