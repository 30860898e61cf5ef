// VirtualDisk stand-in: Pending → Provisioning → Ready, backed by a PersistentVolumeClaim the simulator binds
// itself (no storage provisioner here), so the CSI stand-in can snapshot it like any Bound claim.
import { PersistentVolumeClaim, VolumeSnapshot } from "../../emulator/kinds/core";
import {
  VirtualDisk,
  VirtualDiskSnapshot,
  VirtualMachine,
  VirtualMachineBlockDeviceAttachment,
} from "../../emulator/kinds/deckhouse";
import type { KubeObject } from "../../emulator/store";
import { knobsOf } from "../knobs";
import { removeCondition, setCondition } from "./conditions";
import { due, forcedFailure, hangs, refOf, writeStatus, type DeckhouseContext } from "./context";
import { diskClaimName, ownerReference } from "./names";

const defaultSize = "1Gi";

/** The VirtualDiskSnapshot a disk is provisioned from, if any. */
export const sourceSnapshotName = (disk: KubeObject): string | undefined =>
  disk.spec?.dataSource?.type === "ObjectRef" &&
  disk.spec.dataSource.objectRef?.kind === "VirtualDiskSnapshot"
    ? disk.spec.dataSource.objectRef.name
    : undefined;

/** Names of the VMs using a disk: through `spec.blockDeviceRefs` or an attached VMBDA, oldest first. */
export function attachedMachines(ctx: DeckhouseContext, disk: KubeObject): string[] {
  const { namespace, name } = disk.metadata;
  const viaSpec = ctx.store
    .list(VirtualMachine, namespace, (vm) =>
      (vm.spec?.blockDeviceRefs ?? []).some((r: any) => r.kind === "VirtualDisk" && r.name === name),
    )
    .items.map((vm) => vm.metadata.name!);
  const viaAttachment = ctx.store
    .list(
      VirtualMachineBlockDeviceAttachment,
      namespace,
      (a) =>
        a.spec?.blockDeviceRef?.kind === "VirtualDisk" &&
        a.spec.blockDeviceRef.name === name &&
        a.status?.phase === "Attached",
    )
    .items.map((a) => a.spec.virtualMachineName as string);
  return [...new Set([...viaSpec, ...viaAttachment])];
}

export function watchVirtualDisks(ctx: DeckhouseContext): void {
  const { store, reconciler } = ctx;
  const disksIn = (namespace: string, match: (disk: KubeObject) => boolean) =>
    store.list(VirtualDisk, namespace, match).items.map((d) => refOf(VirtualDisk, d));

  reconciler.watch(VirtualDisk, (namespace, name) => reconcile(ctx, namespace, name));
  reconciler.watchRelated(PersistentVolumeClaim, (pvc) =>
    (pvc.metadata.ownerReferences ?? [])
      .filter((o) => o.kind === "VirtualDisk")
      .map((o) => ({ type: VirtualDisk, namespace: pvc.metadata.namespace!, name: o.name })),
  );
  reconciler.watchRelated(VirtualDiskSnapshot, (snapshot) =>
    disksIn(
      snapshot.metadata.namespace!,
      (d) =>
        d.metadata.name === snapshot.spec?.virtualDiskName ||
        sourceSnapshotName(d) === snapshot.metadata.name,
    ),
  );
  // Attachments are listed on the disk, so any VM or VMBDA change may touch any disk of the namespace.
  for (const type of [VirtualMachine, VirtualMachineBlockDeviceAttachment]) {
    reconciler.watchRelated(type, (obj) => disksIn(obj.metadata.namespace!, () => true));
  }
}

function reconcile(ctx: DeckhouseContext, namespace: string, name: string) {
  const { store } = ctx;
  const disk = store.get(VirtualDisk, namespace, name);
  if (!disk || disk.metadata.deletionTimestamp) return;
  const status: Record<string, any> = structuredClone(disk.status ?? {});
  const generation = disk.metadata.generation;
  const knobs = knobsOf(disk);

  const machines = attachedMachines(ctx, disk);
  if (machines.length) status.attachedToVirtualMachines = machines.map((vm) => ({ name: vm, mounted: true }));
  else delete status.attachedToVirtualMachines;

  if (knobs.resizing) {
    setCondition(
      status,
      {
        type: "Resizing",
        status: "True",
        reason: "InProgress",
        message: "The virtual disk is being resized.",
      },
      generation,
    );
  } else removeCondition(status, "Resizing");

  const snapshotting = store.list(
    VirtualDiskSnapshot,
    namespace,
    (s) =>
      s.spec?.virtualDiskName === name &&
      !s.metadata.deletionTimestamp &&
      ["", "Pending", "InProgress"].includes(s.status?.phase ?? ""),
  ).items.length;
  if (snapshotting && knobs.resizing) {
    setCondition(
      status,
      {
        type: "Snapshotting",
        status: "False",
        reason: "NotAvailable",
        message: "The virtual disk cannot be selected for snapshotting as it is currently resizing.",
      },
      generation,
    );
  } else if (snapshotting) {
    setCondition(
      status,
      {
        type: "Snapshotting",
        status: "True",
        reason: "Snapshotting",
        message: "The virtual disk is selected for taking a snapshot.",
      },
      generation,
    );
  } else removeCondition(status, "Snapshotting");

  if (!hangs(disk)) advance(ctx, disk, status);
  writeStatus(ctx, VirtualDisk, disk, status);
}

function fail(status: Record<string, any>, reason: string, message: string, generation?: number) {
  status.phase = "Failed";
  setCondition(status, { type: "Ready", status: "False", reason, message }, generation);
}

function advance(ctx: DeckhouseContext, disk: KubeObject, status: Record<string, any>) {
  const { store } = ctx;
  const { namespace, name, generation } = disk.metadata;
  const phase: string = status.phase ?? "";
  if (phase === "Failed") return;
  const forced = forcedFailure(disk, "ProvisioningFailed");
  if (forced) return fail(status, forced.reason, forced.message, generation);

  if (phase === "") {
    status.phase = "Pending";
    setCondition(status, { type: "Ready", status: "False", reason: "ProvisioningNotStarted" }, generation);
    return;
  }
  if (phase === "Pending") {
    const source = sourceSnapshotName(disk);
    let fromSnapshot: KubeObject | undefined;
    if (source) {
      const snapshot = store.get(VirtualDiskSnapshot, namespace, source);
      // Upstream leaves such a disk Pending; the simulator fails it so scenarios can reach a Failed disk.
      if (!snapshot)
        return fail(status, "ProvisioningFailed", `VirtualDiskSnapshot "${source}" not found.`, generation);
      fromSnapshot = snapshot.status?.volumeSnapshotName
        ? store.get(VolumeSnapshot, namespace, snapshot.status.volumeSnapshotName)
        : undefined;
      if (snapshot.status?.phase !== "Ready" || fromSnapshot?.status?.readyToUse !== true) {
        return fail(
          status,
          "ProvisioningFailed",
          `VirtualDiskSnapshot "${source}" is not ready to use.`,
          generation,
        );
      }
    }
    if (!due(ctx, VirtualDisk, disk, "provision")) return;
    const claim = ensureClaim(ctx, disk, fromSnapshot);
    status.phase = "Provisioning";
    status.target = { persistentVolumeClaimName: claim.metadata.name };
    if (disk.spec?.persistentVolumeClaim?.storageClassName) {
      status.storageClassName = disk.spec.persistentVolumeClaim.storageClassName;
    }
    setCondition(status, { type: "Ready", status: "False", reason: "Provisioning" }, generation);
    return;
  }

  const claimName = status.target?.persistentVolumeClaimName ?? diskClaimName(disk);
  const claim = store.get(PersistentVolumeClaim, namespace, claimName);
  if (phase === "Provisioning") {
    if (!claim) return;
    if (claim.status?.phase !== "Bound") {
      if (due(ctx, VirtualDisk, disk, "bind")) bindClaim(ctx, claim);
      return;
    }
    status.phase = "Ready";
    status.capacity = claim.status.capacity?.storage;
    setCondition(status, { type: "Ready", status: "True", reason: "Ready" }, generation);
    return;
  }
  if (phase === "Ready" && !claim) {
    status.phase = "PVCLost";
    setCondition(
      status,
      {
        type: "Ready",
        status: "False",
        reason: "PVCLost",
        message: `PersistentVolumeClaim "${claimName}" of virtual disk "${name}" not found.`,
      },
      generation,
    );
  }
}

function ensureClaim(ctx: DeckhouseContext, disk: KubeObject, fromSnapshot?: KubeObject): KubeObject {
  const name = diskClaimName(disk);
  const existing = ctx.store.get(PersistentVolumeClaim, disk.metadata.namespace, name);
  if (existing) return existing;
  const pvcSpec = disk.spec?.persistentVolumeClaim ?? {};
  const size = pvcSpec.size ?? fromSnapshot?.status?.restoreSize ?? defaultSize;
  return ctx.store.create(PersistentVolumeClaim, {
    metadata: { name, namespace: disk.metadata.namespace, ownerReferences: [ownerReference(disk)] },
    spec: {
      accessModes: ["ReadWriteOnce"],
      volumeMode: "Block",
      resources: { requests: { storage: String(size) } },
      ...(pvcSpec.storageClassName ? { storageClassName: pvcSpec.storageClassName } : {}),
      ...(fromSnapshot
        ? {
            dataSource: {
              apiGroup: "snapshot.storage.k8s.io",
              kind: "VolumeSnapshot",
              name: fromSnapshot.metadata.name,
            },
          }
        : {}),
    },
  });
}

/** The storage provisioner's part: the claim gets a volume of the requested size. */
function bindClaim(ctx: DeckhouseContext, claim: KubeObject) {
  ctx.store.update(
    PersistentVolumeClaim,
    {
      ...claim,
      status: {
        phase: "Bound",
        accessModes: claim.spec.accessModes,
        capacity: { storage: claim.spec.resources.requests.storage },
      },
    },
    { subresource: "status" },
  );
}
