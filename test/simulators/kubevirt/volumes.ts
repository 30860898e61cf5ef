// The volumes of a VM as KubeVirt's storage code sees them: which claim backs each one, which can be snapshotted.
import { DataVolume } from "../../emulator/kinds/kubevirt";
import { PersistentVolumeClaim } from "../../emulator/kinds/core";
import type { KubeObject, ObjectStore } from "../../emulator/store";

export interface Volume {
  name: string;
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  dataVolume?: { name: string };
  memoryDump?: { claimName: string };
  [source: string]: unknown;
}

export const volumesOf = (vm: KubeObject): Volume[] => vm.spec?.template?.spec?.volumes ?? [];

/** The PVC behind a volume: a DataVolume's claim has the DataVolume's name. */
export const claimNameOf = (v: Volume): string | undefined =>
  v.persistentVolumeClaim?.claimName ?? v.dataVolume?.name ?? v.memoryDump?.claimName;

/** Only claim-backed volumes can be snapshotted (containerDisk, cloudInit... cannot). */
export const isSnapshottable = (v: Volume) => claimNameOf(v) !== undefined;

/**
 * The emulator serves no StorageClass or VolumeSnapshotClass: a claim with a storage class counts as having a
 * matching VolumeSnapshotClass, a claim without one as having none.
 */
export const hasVolumeSnapshotClass = (pvc: KubeObject) => Boolean(pvc.spec?.storageClassName);

/** `vm.status.volumeSnapshotStatuses[]`: per volume, whether a snapshot can include it and why not. */
export function volumeSnapshotStatusOf(store: ObjectStore, namespace: string, volume: Volume) {
  const claim = claimNameOf(volume);
  const disabled = (reason: string) => ({ name: volume.name, enabled: false, reason });
  if (!claim) return disabled(`Snapshot is not supported for this volumeSource type [${volume.name}]`);
  const dv = volume.dataVolume ? store.get(DataVolume, namespace, claim) : undefined;
  const pvc = store.get(PersistentVolumeClaim, namespace, claim);
  const storageClass: string | undefined =
    dv?.spec?.pvc?.storageClassName ?? dv?.spec?.storage?.storageClassName ?? pvc?.spec?.storageClassName;
  if (!pvc && !storageClass) return disabled("PVC not found");
  if (!storageClass) {
    return disabled(
      `No VolumeSnapshotClass: Volume snapshots are not configured for this StorageClass [] [${volume.name}]`,
    );
  }
  return { name: volume.name, enabled: true };
}
