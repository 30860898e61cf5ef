// KubeVirt's VirtualMachineSnapshot controller (v1.9): lock the VM, cut a VirtualMachineSnapshotContent,
// follow it to Succeeded/readyToUse, fail at the deadline, and clean up per deletionPolicy.
import { PersistentVolumeClaim } from "../../emulator/kinds/core";
import { KubeVirtVirtualMachineSnapshot, VirtualMachineSnapshotContent } from "../../emulator/kinds/kubevirt";
import { parseGoDuration } from "../../emulator/kinds/duration";
import { StatusError, type KubeObject, type ObjectMeta, type ObjectStore } from "../../emulator/store";
import { knobsOf } from "../knobs";
import type { ControllerContext } from "./context";
import { addFinalizer, Finalizer, removeFinalizer } from "./finalizers";
import { lockSource, snapshotSourceOf, unlockSource, type SnapshotSource } from "./snapshotSource";
import { setCondition, writeStatus } from "./status";
import { claimNameOf, hasVolumeSnapshotClass, isSnapshottable, volumesOf } from "./volumes";

const VMS = KubeVirtVirtualMachineSnapshot;
const VMSC = VirtualMachineSnapshotContent;

export const DefaultFailureDeadlineMs = 5 * 60_000;

export const IndicationMessage: Record<string, string> = {
  Online: "Snapshot taken while the VM was running. Consistency depends on guest-agent quiescing.",
  GuestAgent: "Guest agent was active and attempted to quiesce the filesystem for application consistency.",
  NoGuestAgent:
    "Guest agent was not available. Snapshot is crash-consistent and may not be application-consistent.",
  PartialSnapshot:
    "Not all snapshotable volumes were included in the snapshot. Check status.snapshotVolumes for excluded " +
    "volumes and VM VolumeSnapshotStatus for details.",
};

export const contentNameOf = (vms: KubeObject): string =>
  vms.status?.virtualMachineSnapshotContentName ?? `vmsnapshot-content-${vms.metadata.uid}`;

/** `spec.failureDeadline` in ms (0: no deadline); the webhook rejects what Go cannot parse, so should we. */
export function failureDeadlineOf(vms: KubeObject): number {
  const text: string | undefined = vms.spec?.failureDeadline;
  if (text === undefined) return DefaultFailureDeadlineMs;
  try {
    return Number(parseGoDuration(text) / 1_000_000n);
  } catch (e) {
    const where = `VirtualMachineSnapshot ${vms.metadata.namespace}/${vms.metadata.name}: spec.failureDeadline`;
    throw new Error(`${where}: ${(e as Error).message}`);
  }
}

/** Milliseconds left before the deadline (measured from creationTimestamp); undefined without one. */
function timeUntilDeadline(vms: KubeObject): number | undefined {
  const deadline = failureDeadlineOf(vms);
  if (!deadline) return undefined;
  return Date.parse(vms.metadata.creationTimestamp!) + deadline - Date.now();
}

const failed = (vms: KubeObject) => vms.status?.phase === "Failed";
const succeeded = (vms: KubeObject) => vms.status?.phase === "Succeeded";
const progressing = (vms: KubeObject) => !failed(vms) && !succeeded(vms);
const deleting = (vms: KubeObject) => Boolean(vms.metadata.deletionTimestamp);

/** Failed is terminal, and a Succeeded snapshot never fails afterwards. */
function deadlineExceeded(vms: KubeObject): boolean {
  if (failed(vms)) return true;
  if (!progressing(vms)) return false;
  const left = timeUntilDeadline(vms);
  return left !== undefined && left < 0;
}

export const terminating = (vms: KubeObject) => deleting(vms) || deadlineExceeded(vms);

/** No point keeping content that never became ready, whatever the policy (`nil` policy means Delete). */
export const shouldDeleteContent = (vms: KubeObject, content: KubeObject) =>
  (vms.spec?.deletionPolicy ?? "Delete") === "Delete" || content.status?.readyToUse !== true;

/** The source may be unlocked once the snapshot is done, or once it is terminating and its content handled. */
const canUnlock = (vms: KubeObject, content: KubeObject | undefined) =>
  !progressing(vms) || (terminating(vms) && (!content || !shouldDeleteContent(vms, content)));

const withoutManagedFields = ({ managedFields: _m, ...meta }: ObjectMeta): ObjectMeta =>
  structuredClone(meta);

function createContent(store: ObjectStore, vms: KubeObject, source: SnapshotSource): void {
  const vm = source.vm;
  const namespace = vms.metadata.namespace!;
  const volumeBackups = [];
  for (const volume of volumesOf(vm)) {
    const claim = claimNameOf(volume);
    const pvc = claim && store.get(PersistentVolumeClaim, namespace, claim);
    // Unbound claims and claims without a VolumeSnapshotClass are left out silently.
    if (!pvc || pvc.status?.phase !== "Bound" || !hasVolumeSnapshotClass(pvc)) continue;
    volumeBackups.push({
      volumeName: volume.name,
      persistentVolumeClaim: { metadata: withoutManagedFields(pvc.metadata), spec: pvc.spec },
      volumeSnapshotName: `vmsnapshot-${vms.metadata.uid}-volume-${volume.name}`,
    });
  }
  const content: KubeObject = {
    metadata: { name: contentNameOf(vms), finalizers: [Finalizer.VirtualMachineSnapshotContent] },
    spec: {
      virtualMachineSnapshotName: vms.metadata.name,
      source: { virtualMachine: { metadata: withoutManagedFields(vm.metadata), spec: vm.spec, status: {} } },
      ...(volumeBackups.length ? { volumeBackups } : {}),
    },
  };
  try {
    store.create(VMSC, content, namespace);
  } catch (e) {
    if (!(e instanceof StatusError && e.reason === "AlreadyExists")) throw e;
  }
}

/** Online/GuestAgent/NoGuestAgent while in progress; none for an offline VM. Kept as a sorted set. */
function withSourceIndications(status: Record<string, any>, source: SnapshotSource): void {
  if (!source.online) {
    delete status.indications;
    delete status.sourceIndications;
    return;
  }
  const set = new Set<string>(status.indications ?? []);
  set.add("Online");
  set.add(source.guestAgent ? "GuestAgent" : "NoGuestAgent");
  const indications = [...set].sort();
  status.indications = indications;
  status.sourceIndications = indications.map((indication) => ({
    indication,
    message: IndicationMessage[indication] ?? "Unknown indication",
  }));
}

/** snapshotVolumes (every VM volume, included or not) and PartialSnapshot when a claim was left out. */
function withSnapshotVolumes(status: Record<string, any>, content: KubeObject | undefined): void {
  const vm = content?.spec?.source?.virtualMachine;
  if (!vm?.spec?.template) return;
  const backedUp = new Set(
    (content!.spec.volumeBackups ?? []).map((b: { volumeName: string }) => b.volumeName),
  );
  const volumes = volumesOf(vm);
  const includedVolumes = volumes.filter((v) => backedUp.has(v.name)).map((v) => v.name);
  const excluded = volumes.filter((v) => !backedUp.has(v.name));
  const excludedVolumes = excluded.map((v) => v.name);
  status.snapshotVolumes = {
    ...(includedVolumes.length ? { includedVolumes } : {}),
    ...(excludedVolumes.length ? { excludedVolumes } : {}),
  };
  if (!excluded.some(isSnapshottable)) return;
  if (
    !(status.sourceIndications ?? []).some((i: { indication: string }) => i.indication === "PartialSnapshot")
  ) {
    status.sourceIndications = [
      ...(status.sourceIndications ?? []),
      { indication: "PartialSnapshot", message: IndicationMessage.PartialSnapshot },
    ];
  }
  if (!(status.indications ?? []).includes("PartialSnapshot")) {
    status.indications = [...(status.indications ?? []), "PartialSnapshot"];
  }
}

function updateSnapshotStatus(
  store: ObjectStore,
  vms: KubeObject,
  source: SnapshotSource | undefined,
  content: KubeObject | undefined,
): KubeObject {
  const status: Record<string, any> = structuredClone(vms.status ?? { readyToUse: false });
  if (source) status.sourceUID = source.vm.metadata.uid;
  if (content?.status) {
    status.virtualMachineSnapshotContentName = content.metadata.name;
    for (const field of ["creationTime", "readyToUse", "error"]) {
      if (content.status[field] === undefined) delete status[field];
      else status[field] = content.status[field];
    }
  }
  const condition = (type: "Ready" | "Progressing" | "Failure", value: boolean, reason: string) =>
    (status.conditions = setCondition(status.conditions, type, value, reason));

  if (deadlineExceeded({ ...vms, status })) {
    status.phase = "Failed";
    condition("Failure", true, "snapshot deadline exceeded");
    condition("Progressing", false, "Operation failed");
  } else if (status.phase === "Succeeded" || status.creationTime) {
    status.phase = "Succeeded";
    condition("Progressing", false, "Operation complete");
    withSnapshotVolumes(status, content);
  } else {
    status.phase = "InProgress";
    if (source) {
      condition("Progressing", source.locked, source.lockMessage);
      withSourceIndications(status, source);
    } else {
      condition("Progressing", false, "Source does not exist");
    }
    if (deleting(vms)) {
      status.phase = "Deleting";
      condition("Progressing", false, "VM snapshot is deleting");
    }
  }
  if (status.readyToUse === true) condition("Ready", true, "Ready");
  else condition("Ready", false, "Not ready");
  if (status.error) condition("Progressing", false, "In error state");
  return writeStatus(store, VMS, vms, status);
}

/** Knobs on a snapshot: see the content controller (they pace or stop its volumes) and `hold-deletion`. */
export function reconcileVirtualMachineSnapshot(ctx: ControllerContext) {
  const { store, reconciler } = ctx;
  return (namespace: string, name: string) => {
    let vms = store.get(VMS, namespace, name);
    if (!vms) return;
    let source = snapshotSourceOf(store, vms);
    const content = store.get(VMSC, namespace, contentNameOf(vms));
    const isTerminating = terminating(vms);
    if (!isTerminating) vms = addFinalizer(store, VMS, vms, Finalizer.VirtualMachineSnapshot);

    let canRemoveFinalizer = true;
    if (vms.status && source) {
      if (progressing(vms) && !isTerminating) {
        if (!source.locked) source = lockSource(store, source, vms);
        else if (!content) createContent(store, vms, source);
        canRemoveFinalizer = false;
      } else {
        if (canUnlock(vms, content)) unlockSource(store, source, vms);
        // As in KubeVirt, the finalizer goes on the pass after the unlock (the VM's update brings it).
        canRemoveFinalizer = !source.locked;
      }
    }

    if (
      isTerminating &&
      content &&
      shouldDeleteContent(vms, content) &&
      !content.metadata.deletionTimestamp
    ) {
      store.delete(VMSC, namespace, content.metadata.name!);
    }

    vms = updateSnapshotStatus(store, vms, source, content);

    if (deleting(vms)) {
      if (canRemoveFinalizer && !knobsOf(vms).holdDeletion) {
        removeFinalizer(store, VMS, vms, Finalizer.VirtualMachineSnapshot);
      }
      return;
    }
    const left = progressing(vms) ? timeUntilDeadline(vms) : undefined;
    if (left !== undefined) reconciler.enqueue(VMS, namespace, name, Math.max(0, left) + 1);
  };
}
