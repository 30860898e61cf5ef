// VirtualMachineOperation types Start and Stop: ask the hypervisor, complete when the VM reaches the phase.
import { VirtualMachine } from "../../emulator/kinds/deckhouse";
import type { PowerRequest } from "./hypervisor";
import type { OperationKind, Step } from "./operationSteps";
import { completed } from "./sharedSteps";

const power =
  (request: PowerRequest, target: string): Step =>
  (run) => {
    const vm = run.ctx.store.get(VirtualMachine, run.op.metadata.namespace, run.op.spec.virtualMachineName);
    if (!vm) return { error: `virtual machine "${run.op.spec.virtualMachineName}" not found` };
    run.ctx.hypervisor.requestPower(vm, request);
    return vm.status?.phase === target ? "done" : "wait";
  };

const userControlled = ["Manual", "AlwaysOnUnlessStoppedManually"];

export const startOperation: OperationKind = {
  inProgressReason: "StartInProgress",
  phases: ["Stopped", "Stopping"],
  runPolicies: userControlled,
  steps: [power("Start", "Running"), completed],
};

export const stopOperation: OperationKind = {
  inProgressReason: "StopInProgress",
  phases: ["Running", "Starting", "Pending"],
  runPolicies: userControlled,
  steps: [power("Stop", "Stopped"), completed],
};
