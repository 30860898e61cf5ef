// virt-handler's stand-in: a VMI is scheduled, then Running with a Ready condition and (unless the VM has
// no guest agent) AgentConnected. A deleted VMI shuts its guest down before it is gone, so a stopping VM is
// "Stopping" for a while, as in KubeVirt, where that takes seconds.
import { VirtualMachineInstance } from "../../emulator/kinds/kubevirt";
import { knobsOf, phaseDelayOf } from "../knobs";
import type { ControllerContext } from "./context";
import { Finalizer, removeFinalizer } from "./finalizers";
import { timestamp, writeStatus } from "./status";

/**
 * Knobs on a VMI (copied from its VM): `guest-agent: "false"` (no AgentConnected), `hang: Scheduling`
 * (never runs), `phase-delay-ms` (time to boot, and to shut down).
 */
export function reconcileVirtualMachineInstance(ctx: ControllerContext) {
  const { store, reconciler } = ctx;
  return (namespace: string, name: string) => {
    const vmi = store.get(VirtualMachineInstance, namespace, name);
    if (!vmi) return;
    if (vmi.metadata.deletionTimestamp) {
      if (!reconciler.due(VirtualMachineInstance, vmi, "shutdown", phaseDelayOf(vmi, ctx.phaseDelayMs)))
        return;
      removeFinalizer(store, VirtualMachineInstance, vmi, Finalizer.VirtualMachineInstance);
      return;
    }
    if (vmi.status?.phase === "Running") return;
    if (!vmi.status?.phase) {
      writeStatus(store, VirtualMachineInstance, vmi, { phase: "Scheduling" });
      return;
    }
    const knobs = knobsOf(vmi);
    if (knobs.hang === "Scheduling") return;
    if (!reconciler.due(VirtualMachineInstance, vmi, "run", phaseDelayOf(vmi, ctx.phaseDelayMs))) return;
    const now = timestamp();
    const condition = (type: string) => ({
      type,
      status: "True",
      lastProbeTime: null,
      lastTransitionTime: now,
    });
    writeStatus(store, VirtualMachineInstance, vmi, {
      phase: "Running",
      conditions: [condition("Ready"), ...(knobs.guestAgent ? [condition("AgentConnected")] : [])],
    });
  };
}
