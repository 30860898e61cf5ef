// virt-controller's stand-in for VirtualMachines: a VMI exists while the run strategy says so, DataVolumes
// come from dataVolumeTemplates, and status tells what a user sees (printableStatus, ready, snapshot support).
import { PersistentVolumeClaim } from "../../emulator/kinds/core";
import { DataVolume, KubeVirtVirtualMachine, VirtualMachineInstance } from "../../emulator/kinds/kubevirt";
import type { KubeObject, ObjectStore } from "../../emulator/store";
import { KnobAnnotation } from "../knobs";
import { controllerRef, type ControllerContext } from "./context";
import { Finalizer } from "./finalizers";
import { writeStatus } from "./status";
import { volumeSnapshotStatusOf, volumesOf } from "./volumes";

export type RunStrategy = "Always" | "Halted" | "Manual" | "RerunOnFailure" | "Once";

/** `spec.runStrategy`, or the legacy `spec.running` boolean. */
export function runStrategyOf(vm: KubeObject): RunStrategy {
  if (vm.spec?.runStrategy) return vm.spec.runStrategy;
  return vm.spec?.running === true ? "Always" : "Halted";
}

/** What the VM `stop` subresource does: Manual VMs lose their VMI, others become Halted (or `running: false`). */
export function stopVirtualMachine(store: ObjectStore, vm: KubeObject): void {
  const { namespace = "", name = "" } = vm.metadata;
  if (runStrategyOf(vm) === "Manual") {
    if (store.get(VirtualMachineInstance, namespace, name))
      store.delete(VirtualMachineInstance, namespace, name);
    return;
  }
  const spec = { ...vm.spec };
  if (spec.running !== undefined) spec.running = false;
  else spec.runStrategy = "Halted";
  store.update(KubeVirtVirtualMachine, { ...vm, spec });
}

/** Why the VM's disks cannot back a VMI yet, as a printableStatus; undefined when they can. */
function volumesNotReady(store: ObjectStore, vm: KubeObject): string | undefined {
  const namespace = vm.metadata.namespace!;
  for (const v of volumesOf(vm)) {
    if (v.dataVolume) {
      const dv = store.get(DataVolume, namespace, v.dataVolume.name);
      if (!dv) return "ErrorPvcNotFound";
      if (dv.status?.phase !== "Succeeded") return "Provisioning";
    } else if (v.persistentVolumeClaim) {
      const pvc = store.get(PersistentVolumeClaim, namespace, v.persistentVolumeClaim.claimName);
      if (!pvc) return "ErrorPvcNotFound";
      if (pvc.status?.phase !== "Bound") return "WaitingForVolumeBinding";
    }
  }
  return undefined;
}

function printableStatusOf(
  vm: KubeObject,
  vmi: KubeObject | undefined,
  waitingFor: string | undefined,
): string {
  if (vm.metadata.deletionTimestamp) return "Terminating";
  if (vmi?.metadata.deletionTimestamp) return "Stopping";
  if (vmi) return vmi.status?.phase === "Running" ? "Running" : "Starting";
  return waitingFor ?? "Stopped";
}

function newInstance(vm: KubeObject): KubeObject {
  const template = vm.spec?.template ?? {};
  const knobs = vm.metadata.annotations ?? {};
  const annotations: Record<string, string> = { ...template.metadata?.annotations };
  for (const knob of [KnobAnnotation.GuestAgent, KnobAnnotation.PhaseDelayMs]) {
    if (knobs[knob] !== undefined) annotations[knob] = knobs[knob];
  }
  if (knobs[KnobAnnotation.Hang] === "Starting") annotations[KnobAnnotation.Hang] = "Scheduling";
  return {
    metadata: {
      name: vm.metadata.name,
      labels: template.metadata?.labels,
      annotations,
      ownerReferences: [controllerRef(vm)],
      finalizers: [Finalizer.VirtualMachineInstance],
    },
    spec: structuredClone(template.spec ?? {}),
  };
}

/**
 * Knobs on a VM: `guest-agent: "false"` (its VMI reports no AgentConnected), `hang: Starting` (it never
 * runs), `phase-delay-ms` (its boot time).
 */
export function reconcileVirtualMachine(ctx: ControllerContext) {
  const { store } = ctx;
  const startedOnce = new Set<string>(); // uids of `Once` VMs that already had their run
  return (namespace: string, name: string) => {
    const vm = store.get(KubeVirtVirtualMachine, namespace, name);
    if (!vm) return;
    let vmi = store.get(VirtualMachineInstance, namespace, name);
    const deleting = Boolean(vm.metadata.deletionTimestamp);

    if (!deleting) {
      for (const template of vm.spec?.dataVolumeTemplates ?? []) {
        const dv = store.get(DataVolume, namespace, template.metadata.name);
        if (!dv) {
          const metadata = { ...template.metadata, ownerReferences: [controllerRef(vm)] };
          store.create(DataVolume, { metadata, spec: template.spec }, namespace);
        } else if (!(dv.metadata.ownerReferences ?? []).some((r) => r.controller)) {
          // A DataVolume made for the VM by someone else (a restore) is adopted.
          const ownerReferences = [...(dv.metadata.ownerReferences ?? []), controllerRef(vm)];
          store.update(DataVolume, { ...dv, metadata: { ...dv.metadata, ownerReferences } });
        }
      }
    }

    const strategy = runStrategyOf(vm);
    const uid = vm.metadata.uid!;
    const wantsInstance =
      !deleting &&
      (strategy === "Always" ||
        strategy === "RerunOnFailure" ||
        (strategy === "Once" && (!startedOnce.has(uid) || Boolean(vmi))) ||
        (strategy === "Manual" && Boolean(vmi)));
    const waitingFor = volumesNotReady(store, vm);
    if (wantsInstance && !vmi && !waitingFor && !vm.status?.restoreInProgress) {
      vmi = store.create(VirtualMachineInstance, newInstance(vm), namespace);
      if (strategy === "Once") startedOnce.add(uid);
    } else if (!wantsInstance && vmi && !vmi.metadata.deletionTimestamp) {
      store.delete(VirtualMachineInstance, namespace, name);
      vmi = undefined;
    }

    const ready = (vmi?.status?.conditions ?? []).some(
      (c: { type: string; status: string }) => c.type === "Ready" && c.status === "True",
    );
    const printableStatus = printableStatusOf(vm, vmi, wantsInstance ? waitingFor : undefined);
    const status: Record<string, unknown> = { ...vm.status, printableStatus };
    if (vmi) status.created = true;
    else delete status.created;
    if (ready) status.ready = true;
    else delete status.ready;
    status.volumeSnapshotStatuses = volumesOf(vm).map((v) => volumeSnapshotStatusOf(store, namespace, v));
    writeStatus(store, KubeVirtVirtualMachine, vm, status);
  };
}
