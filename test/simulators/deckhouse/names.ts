// Names, annotations and finalizers the platform uses (virtualization.deckhouse.io, >= v1.6.0 naming).
import type { KubeObject } from "../../emulator/store";

const group = "virtualization.deckhouse.io";

export const Finalizer = {
  DiskSnapshotCleanup: `${group}/vdsnapshot-cleanup`,
  /** Put on the VolumeSnapshot a VirtualDiskSnapshot owns. */
  DiskSnapshotProtection: `${group}/vdsnapshot-protection`,
  OperationCleanup: `${group}/vmop-cleanup`,
} as const;

export const Annotation = {
  /** On objects a VirtualMachineRestore created; the value is the restore's UID. */
  CreatedByRestore: `${group}/vmrestore`,
  /** On objects a VirtualMachineOperation (Restore/Clone) or VirtualMachineSnapshotOperation created: its UID. */
  CreatedByOperation: `${group}/vmoprestore`,
  /** On objects an operation deleted to recreate them: the operation's UID. */
  DeletedByOperation: `${group}/vmoprestoredeleted`,
  /** On the VM during a restore: "Running" or "Stopped", the power state to return to. */
  RestorePowerState: `${group}/restore-power-state`,
  /** On a Clone VirtualMachineOperation: the VirtualMachineSnapshot it took. */
  OperationSnapshotName: `${group}/vmop-snapshot-name`,
  /** On a VolumeSnapshot: what the source disk looked like, so a restore can recreate it. */
  DiskOriginalSize: `${group}/vd-original-size`,
  DiskOriginalLabels: `${group}/vd-original-labels`,
  DiskOriginalAnnotations: `${group}/vd-original-annotations`,
  /** The reference names no key for the storage class annotation; this one is the simulator's. */
  DiskOriginalStorageClass: `${group}/vd-original-storage-class-name`,
} as const;

const maxNameLength = 253;

/** A supplemental object's name: `d8v-<prefix>-<name>-<uid>`, shortened to fit a Kubernetes name. */
export function supplementName(prefix: "vds" | "vms", owner: KubeObject): string {
  const uid = owner.metadata.uid!;
  const room = maxNameLength - `d8v-${prefix}--${uid}`.length;
  return `d8v-${prefix}-${owner.metadata.name!.slice(0, room)}-${uid}`;
}

/** The PersistentVolumeClaim behind a VirtualDisk. */
export const diskClaimName = (disk: KubeObject) => `vd-${disk.metadata.name}-${disk.metadata.uid}`;

/** A VirtualMachineSnapshot's VirtualDiskSnapshot of one disk. */
export const childDiskSnapshotName = (diskName: string, vmSnapshot: KubeObject) =>
  `${diskName}-${vmSnapshot.metadata.uid}`;

export const ownerReference = (owner: KubeObject, controller = true) => ({
  apiVersion: owner.apiVersion!,
  kind: owner.kind!,
  name: owner.metadata.name!,
  uid: owner.metadata.uid!,
  ...(controller ? { controller: true } : {}),
});
