// KubeVirt's VirtualMachineSnapshotContent controller: one VolumeSnapshot per backed-up volume, then
// creationTime once all are cut and readyToUse once all are ready; errors are reported, not terminal.
import { VolumeSnapshot } from "../../emulator/kinds/core";
import { KubeVirtVirtualMachineSnapshot, VirtualMachineSnapshotContent } from "../../emulator/kinds/kubevirt";
import type { KubeObject } from "../../emulator/store";
import { KnobAnnotation, knobsOf } from "../knobs";
import { controllerRef, type ControllerContext } from "./context";
import { Finalizer, removeFinalizer } from "./finalizers";
import { shouldDeleteContent, terminating } from "./snapshot";
import { timestamp, writeStatus } from "./status";

const VMSC = VirtualMachineSnapshotContent;

interface VolumeBackup {
  volumeName: string;
  persistentVolumeClaim: { metadata: { name: string } };
  volumeSnapshotName: string;
}

/**
 * The snapshot's knobs steer its volumes: `phase-delay-ms` and `fail` are passed to its VolumeSnapshots (the
 * CSI stand-in paces them or sets their error); `hang: InProgress` never cuts them (as a guest freeze that
 * never returns); `hang` with any other phase lets them be cut but never become ready.
 */
function knobAnnotationsFor(vms: KubeObject): Record<string, string> | undefined {
  const own = vms.metadata.annotations ?? {};
  const passed: Record<string, string> = {};
  for (const knob of [KnobAnnotation.PhaseDelayMs, KnobAnnotation.Fail, KnobAnnotation.Hang]) {
    if (own[knob] !== undefined) passed[knob] = own[knob];
  }
  return Object.keys(passed).length ? passed : undefined;
}

function newVolumeSnapshot(content: KubeObject, vms: KubeObject, backup: VolumeBackup): KubeObject {
  const vm = content.spec.source.virtualMachine;
  return {
    metadata: {
      name: backup.volumeSnapshotName,
      labels: {
        "snapshot.kubevirt.io/source-vm-name": vm.metadata.name,
        "snapshot.kubevirt.io/source-vm-namespace": vm.metadata.namespace,
      },
      annotations: knobAnnotationsFor(vms),
      ownerReferences: [controllerRef(content)],
    },
    // The emulator serves no VolumeSnapshotClass, and the CSI stand-in needs none.
    spec: { source: { persistentVolumeClaimName: backup.persistentVolumeClaim.metadata.name } },
  };
}

export function reconcileVirtualMachineSnapshotContent(ctx: ControllerContext) {
  const { store } = ctx;
  return (namespace: string, name: string) => {
    let content = store.get(VMSC, namespace, name);
    if (!content) return;
    const vms = store.get(
      KubeVirtVirtualMachineSnapshot,
      namespace,
      content.spec?.virtualMachineSnapshotName,
    );

    if (!vms || terminating(vms)) {
      if (!knobsOf(content).holdDeletion) {
        content = removeFinalizer(store, VMSC, content, Finalizer.VirtualMachineSnapshotContent);
      }
      if (vms && shouldDeleteContent(vms, content)) return;
    }
    if (content.metadata.deletionTimestamp) return;

    const created = Boolean(content.status?.creationTime);
    const statuses: Array<Record<string, unknown>> = [];
    const missing: string[] = [];
    const skipped: string[] = [];
    for (const backup of (content.spec.volumeBackups ?? []) as VolumeBackup[]) {
      let vs = store.get(VolumeSnapshot, namespace, backup.volumeSnapshotName);
      if (!vs) {
        if (created) {
          missing.push(backup.volumeSnapshotName);
          continue;
        }
        if (!vms || vms.metadata.deletionTimestamp) {
          skipped.push(backup.volumeSnapshotName);
          continue;
        }
        if (knobsOf(vms).hang === "InProgress") return;
        vs = store.create(VolumeSnapshot, newVolumeSnapshot(content, vms, backup), namespace);
      }
      statuses.push({
        volumeSnapshotName: vs.metadata.name,
        ...(vs.status?.creationTime ? { creationTime: vs.status.creationTime } : {}),
        ...(vs.status?.readyToUse !== undefined ? { readyToUse: vs.status.readyToUse } : {}),
        ...(vs.status?.error
          ? { error: { message: vs.status.error.message, time: vs.status.error.time } }
          : {}),
      });
    }

    let allCreated = true;
    let ready = true;
    let errorMessage = "";
    if (missing.length) {
      allCreated = ready = false;
      errorMessage = `VolumeSnapshots (${missing.join(",")}) missing`;
    } else if (skipped.length) {
      allCreated = ready = false;
      errorMessage = `VolumeSnapshots (${skipped.join(",")}) skipped because vm snapshot is deleted`;
    } else {
      for (const s of statuses) {
        if (!s.creationTime) allCreated = false;
        if (s.readyToUse !== true) ready = false;
        const error = s.error as { message?: string } | undefined;
        if (error?.message) {
          errorMessage = `VolumeSnapshot ${s.volumeSnapshotName} error: ${error.message}`;
          break;
        }
      }
    }

    const status: Record<string, unknown> = { ...content.status };
    if (allCreated && !status.creationTime) status.creationTime = timestamp();
    const previousError = status.error as { message?: string } | undefined;
    if (errorMessage && !ready) {
      if (previousError?.message !== errorMessage)
        status.error = { message: errorMessage, time: timestamp() };
    } else if (!errorMessage) {
      delete status.error;
    }
    status.readyToUse = ready;
    if (statuses.length) status.volumeSnapshotStatus = statuses;
    else delete status.volumeSnapshotStatus;
    writeStatus(store, VMSC, content, status);
  };
}
