// VirtualMachineOperation lifecycle shared by every type: Pending → InProgress → Completed / Failed (Superseded
// from v1.10), the one-operation-at-a-time rule, applicability checks and the vmop-cleanup finalizer.
import {
  VirtualDisk,
  VirtualMachine,
  VirtualMachineOperation,
  VirtualMachineSnapshot,
} from "../../emulator/kinds/deckhouse";
import type { KubeObject } from "../../emulator/store";
import { knobsOf } from "../knobs";
import { cloneOperation } from "./cloneOperation";
import { setCondition } from "./conditions";
import { due, forcedFailure, hangs, refOf, writeStatus, type DeckhouseContext } from "./context";
import { Finalizer } from "./names";
import { createdBefore, runSteps, type OperationKind, type OperationRun } from "./operationSteps";
import { startOperation, stopOperation } from "./powerOperation";
import { inRestoreMaintenance, restoreOperation, setVmMaintenance } from "./restoreOperation";

// Restart, Migrate and Evict are not simulated: such operations are left untouched.
const kinds: Record<string, OperationKind> = {
  Restore: restoreOperation,
  Clone: cloneOperation,
  Start: startOperation,
  Stop: stopOperation,
};

export const finishedPhases = ["Completed", "Failed", "Superseded"];

export function watchVmOperations(ctx: DeckhouseContext): void {
  const { store, reconciler } = ctx;
  const activeIn = (namespace: string, match: (op: KubeObject) => boolean = () => true) =>
    store
      .list(
        VirtualMachineOperation,
        namespace,
        (op) => !finishedPhases.includes(op.status?.phase) && match(op),
      )
      .items.map((op) => refOf(VirtualMachineOperation, op));
  reconciler.watch(VirtualMachineOperation, (namespace, name) => reconcile(ctx, namespace, name));
  reconciler.watchRelated(VirtualMachine, (vm) =>
    activeIn(vm.metadata.namespace!, (op) => op.spec?.virtualMachineName === vm.metadata.name),
  );
  for (const type of [VirtualDisk, VirtualMachineSnapshot]) {
    reconciler.watchRelated(type, (obj) => activeIn(obj.metadata.namespace!));
  }
}

/** Whether a new operation may replace an older unfinished one on the same VM (Deckhouse >= v1.10). */
function canSupersede(older: KubeObject, newer: KubeObject): boolean {
  const olderForced = older.spec?.force === true;
  const newerForced = newer.spec?.force === true;
  switch (older.spec?.type) {
    case "Start":
      return newer.spec?.type === "Stop";
    case "Stop":
    case "Restart":
      return !olderForced && newerForced && ["Stop", "Restart"].includes(newer.spec?.type);
    case "Migrate":
    case "Evict":
      return ["Stop", "Restart"].includes(newer.spec?.type);
    default:
      return false;
  }
}

function reconcile(ctx: DeckhouseContext, namespace: string, name: string) {
  const { store } = ctx;
  const op = store.get(VirtualMachineOperation, namespace, name);
  if (!op) return;
  if (op.metadata.deletionTimestamp) return finalize(ctx, op);
  const kind = kinds[op.spec?.type];
  if (!kind || finishedPhases.includes(op.status?.phase)) return;
  const run: OperationRun = { ctx, op, status: structuredClone(op.status ?? {}) };
  const generation = op.metadata.generation;
  const complete = (status: "True" | "False" | "Unknown", reason: string, message = "") =>
    setCondition(run.status, { type: "Completed", status, reason, message }, generation);
  const fail = (reason: string, message: string) => {
    run.status.phase = "Failed";
    complete("False", reason, message);
  };

  if (!run.status.phase) {
    run.status.phase = "Pending";
    complete("Unknown", "Unknown");
  } else if (!hangs(op)) advance(run, kind, fail, complete);

  const written = writeStatus(ctx, VirtualMachineOperation, run.op, run.status);
  if (
    run.status.phase === "InProgress" &&
    !(written.metadata.finalizers ?? []).includes(Finalizer.OperationCleanup)
  ) {
    written.metadata.finalizers = [...(written.metadata.finalizers ?? []), Finalizer.OperationCleanup];
    store.update(VirtualMachineOperation, written);
  }
}

function advance(
  run: OperationRun,
  kind: OperationKind,
  fail: (reason: string, message: string) => void,
  complete: (status: "True" | "False", reason: string, message?: string) => void,
) {
  const { ctx, op, status } = run;
  const type: string = op.spec.type;
  const forced = forcedFailure(op, "OperationFailed");
  if (forced) return fail(forced.reason, forced.message);
  const vm = ctx.store.get(VirtualMachine, op.metadata.namespace, op.spec.virtualMachineName);
  if (!vm) return fail("VirtualMachineNotFound", "VirtualMachine not found");

  if (status.phase === "Pending") {
    if (!due(ctx, VirtualMachineOperation, op, "start")) return;
    const blockers = ctx.store
      .list(
        VirtualMachineOperation,
        op.metadata.namespace,
        (other) =>
          other.metadata.uid !== op.metadata.uid &&
          other.spec?.virtualMachineName === op.spec.virtualMachineName &&
          !finishedPhases.includes(other.status?.phase) &&
          createdBefore(other, op),
      )
      .items.sort((a, b) => (createdBefore(a, b) ? -1 : 1));
    if (blockers.length) {
      if (ctx.version !== "v1.10" || !blockers.every((b) => canSupersede(b, op))) {
        return fail(
          "NotReadyToBeExecuted",
          "VMOP cannot be executed now. Previously created operation should finish first.",
        );
      }
      for (const older of blockers) supersede(ctx, older, op);
    }
    const runPolicy = vm.spec?.runPolicy ?? "AlwaysOnUnlessStoppedManually";
    if (kind.runPolicies && !kind.runPolicies.includes(runPolicy)) {
      return fail(
        "NotApplicableForVirtualMachineRunPolicy",
        `Operation type ${type} is not applicable for VirtualMachine with runPolicy ${runPolicy}`,
      );
    }
    if (!kind.phases.includes(vm.status?.phase)) {
      return fail(
        "NotApplicableForVirtualMachinePhase",
        `Operation type ${type} is not applicable for VirtualMachine in phase ${vm.status?.phase ?? ""}`,
      );
    }
    status.phase = "InProgress";
    complete("False", kind.inProgressReason, "Waiting for the operation to complete.");
  }

  const outcome = runSteps(run, kind.steps);
  if (typeof outcome === "object") {
    kind.onFailure?.(run);
    fail("OperationFailed", `${type} is failed: ${outcome.error}`);
  }
}

function supersede(ctx: DeckhouseContext, older: KubeObject, newer: KubeObject) {
  const status = structuredClone(older.status ?? {});
  status.phase = "Superseded";
  setCondition(
    status,
    {
      type: "Completed",
      status: "True",
      reason: "Superseded",
      message: `Superseded by ${newer.metadata.name} with type ${newer.spec.type}`,
    },
    older.metadata.generation,
  );
  writeStatus(ctx, VirtualMachineOperation, older, status);
}

function finalize(ctx: DeckhouseContext, op: KubeObject) {
  const { store } = ctx;
  const written = writeStatus(ctx, VirtualMachineOperation, op, { ...op.status, phase: "Terminating" });
  if (
    knobsOf(written).holdDeletion ||
    !(written.metadata.finalizers ?? []).includes(Finalizer.OperationCleanup)
  )
    return;
  const vm = store.get(VirtualMachine, op.metadata.namespace, op.spec?.virtualMachineName);
  if (vm && inRestoreMaintenance(vm)) {
    setVmMaintenance({ ctx, op, status: {} }, vm, false, "VM exited maintenance mode due to vmop deletion.");
  }
  written.metadata.finalizers = (written.metadata.finalizers ?? []).filter(
    (f) => f !== Finalizer.OperationCleanup,
  );
  store.update(VirtualMachineOperation, written);
}
