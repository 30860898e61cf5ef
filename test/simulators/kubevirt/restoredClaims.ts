// The claims a VirtualMachineRestore creates from the snapshot's VolumeSnapshots, named per volumeRestorePolicy.
import { PersistentVolumeClaim, VolumeSnapshot } from "../../emulator/kinds/core";
import { DataVolume } from "../../emulator/kinds/kubevirt";
import type { KubeObject, ObjectStore } from "../../emulator/store";
import { controllerRef } from "./context";
import { PopulatedForAnnotation, PrePopulatedAnnotation } from "./dataVolume";
import { volumesOf } from "./volumes";

export const RestoreNameAnnotation = "restore.kubevirt.io/name";
export const LastRestoreAnnotation = "restore.kubevirt.io/lastRestoreUID";
export const RestoreSourceNameLabel = "restore.kubevirt.io/source-vm-name";
export const RestoreSourceNamespaceLabel = "restore.kubevirt.io/source-vm-namespace";
/** On a claim restored for a VM that does not exist yet: the restore gives it to that VM once created. */
export const RestoreOwnedByVmAnnotation = "restore.kubevirt.io/owned-by-vm";

/** Annotations of the source claim that describe its binding or population, not its data. */
const droppedAnnotationPrefixes = [
  "pv.kubernetes.io",
  "volume.beta.kubernetes.io",
  "cdi.kubevirt.io",
  "volume.kubernetes.io",
  "k8s.io/CloneRequest",
  "k8s.io/CloneOf",
];

export interface VolumeRestore {
  volumeName: string;
  persistentVolumeClaim: string;
  volumeSnapshotName: string;
  dataVolumeName?: string;
}

export interface VolumeBackup {
  volumeName: string;
  persistentVolumeClaim: { metadata: KubeObject["metadata"]; spec: Record<string, any> };
  volumeSnapshotName: string;
}

/** `<restore name>-<restore uid>`: marks the VM and the claims a given restore has written. */
export const lastRestoreValue = (vmr: KubeObject) => `${vmr.metadata.name}-${vmr.metadata.uid}`;

export const restoredBy = (vmr: KubeObject, obj: KubeObject) =>
  obj.metadata.annotations?.[LastRestoreAnnotation] === lastRestoreValue(vmr);

/** FNV-1a 32-bit, as 8 hex digits. */
function fnv32a(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, "0");
}

/** openshift naming.GetName: `<base>-<suffix>`, shortened with an FNV-32a hash when over `maxLength`. */
export function shortenedName(base: string, suffix: string, maxLength = 63): string {
  const name = `${base}-${suffix}`;
  if (name.length <= maxLength) return name;
  const hash = fnv32a;
  const baseLength = maxLength - 10 - suffix.length;
  if (baseLength < 0) {
    const prefix = base.slice(0, Math.max(0, maxLength - 9));
    return `${prefix}-${hash(name)}`.slice(0, maxLength);
  }
  return `${base.slice(0, baseLength)}-${hash(base)}-${suffix}`;
}

/** The claim (or DataVolume) name a volume is restored to. */
export function restoredNameOf(vmr: KubeObject, volumeName: string, claimName: string): string {
  const override = (vmr.spec?.volumeRestoreOverrides ?? []).find(
    (o: { volumeName: string; restoreName?: string }) => o.volumeName === volumeName && o.restoreName,
  );
  if (override) return override.restoreName;
  switch (vmr.spec?.volumeRestorePolicy) {
    case "InPlace":
      return claimName;
    case "PrefixTargetName":
      return shortenedName(vmr.spec.target.name, volumeName);
    default:
      return `restore-${vmr.metadata.uid}-${volumeName}`;
  }
}

const ownedBySourceVm = (backup: VolumeBackup, sourceVm: KubeObject) =>
  (backup.persistentVolumeClaim.metadata.ownerReferences ?? []).some(
    (r) =>
      r.kind === "VirtualMachine" && r.name === sourceVm.metadata.name && r.uid === sourceVm.metadata.uid,
  );

function createRestoredClaim(
  store: ObjectStore,
  vmr: KubeObject,
  target: KubeObject | undefined,
  backup: VolumeBackup,
  restore: VolumeRestore,
  sourceVm: KubeObject,
): void {
  const namespace = vmr.metadata.namespace!;
  const snapshot = store.get(VolumeSnapshot, namespace, backup.volumeSnapshotName);
  if (!snapshot) throw new Error(`missing volumeSnapshot ${backup.volumeSnapshotName}`);
  const source = backup.persistentVolumeClaim;
  const labels: Record<string, string> = {
    ...source.metadata.labels,
    [RestoreSourceNameLabel]: sourceVm.metadata.name!,
    [RestoreSourceNamespaceLabel]: sourceVm.metadata.namespace!,
  };
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(source.metadata.annotations ?? {})) {
    if (!droppedAnnotationPrefixes.some((p) => key.startsWith(p))) annotations[key] = value;
  }
  annotations[RestoreNameAnnotation] = vmr.metadata.name!;
  annotations[LastRestoreAnnotation] = lastRestoreValue(vmr);
  const override = (vmr.spec?.volumeRestoreOverrides ?? []).find(
    (o: { volumeName: string }) => o.volumeName === backup.volumeName,
  );
  Object.assign(labels, override?.labels);
  Object.assign(annotations, override?.annotations);

  const resources = structuredClone(source.spec.resources ?? {});
  if (!resources.requests?.storage && snapshot.status?.restoreSize) {
    resources.requests = { ...resources.requests, storage: snapshot.status.restoreSize };
  }
  const dataSource = {
    apiGroup: "snapshot.storage.k8s.io",
    kind: "VolumeSnapshot",
    name: backup.volumeSnapshotName,
  };
  const claim: KubeObject = {
    metadata: { name: restore.persistentVolumeClaim, labels, annotations },
    spec: {
      accessModes: source.spec.accessModes,
      resources,
      storageClassName: source.spec.storageClassName,
      volumeMode: source.spec.volumeMode,
      dataSource,
      dataSourceRef: dataSource,
    },
  };
  if (restore.dataVolumeName) {
    annotations[PopulatedForAnnotation] = restore.dataVolumeName; // the DataVolume adopts it
  } else if (vmr.spec?.volumeOwnershipPolicy !== "None") {
    if (target) claim.metadata.ownerReferences = [controllerRef(target)];
    else if (ownedBySourceVm(backup, sourceVm)) annotations[RestoreOwnedByVmAnnotation] = vmr.metadata.name!;
  }
  store.create(PersistentVolumeClaim, claim, namespace);
}

/**
 * Records `status.restores` and brings every restored claim to Bound: creates it, or with InPlace first
 * deletes the original. True while there is something to wait for; errors are thrown with KubeVirt's text.
 */
export function reconcileRestoredClaims(
  store: ObjectStore,
  vmr: KubeObject,
  status: Record<string, any>,
  target: KubeObject | undefined,
  content: KubeObject,
): boolean {
  const namespace = vmr.metadata.namespace!;
  const sourceVm: KubeObject = content.spec.source.virtualMachine;
  const memoryDumps = new Set(
    volumesOf(sourceVm)
      .filter((v) => v.memoryDump)
      .map((v) => v.name),
  );
  const backups: VolumeBackup[] = (content.spec.volumeBackups ?? []).filter(
    (b: VolumeBackup) => !memoryDumps.has(b.volumeName),
  );
  const restores: VolumeRestore[] = backups.map(
    (b) =>
      (status.restores ?? []).find((r: VolumeRestore) => r.volumeName === b.volumeName) ?? {
        volumeName: b.volumeName,
        persistentVolumeClaim: restoredNameOf(vmr, b.volumeName, b.persistentVolumeClaim.metadata.name!),
        volumeSnapshotName: b.volumeSnapshotName,
      },
  );
  if (JSON.stringify(status.restores ?? []) !== JSON.stringify(restores)) {
    status.restores = restores;
    return true;
  }

  let waiting = false;
  for (const [i, restore] of restores.entries()) {
    const claim = store.get(PersistentVolumeClaim, namespace, restore.persistentVolumeClaim);
    if (!claim) {
      const backup = backups.find((b) => b.volumeName === restore.volumeName)!;
      createRestoredClaim(store, vmr, target, backup, restore, sourceVm);
      waiting = true;
    } else if (vmr.spec?.volumeRestorePolicy === "InPlace" && !restoredBy(vmr, claim)) {
      const owner = (claim.metadata.ownerReferences ?? []).find(
        (r) => r.controller && r.kind === "DataVolume",
      );
      if (owner) {
        if (!restore.dataVolumeName) {
          status.restores[i] = { ...restore, dataVolumeName: owner.name };
          waiting = true;
          continue;
        }
        // Keep CDI from repopulating the DataVolume while its claim is replaced.
        const dv = store.get(DataVolume, namespace, owner.name);
        if (dv) {
          const dvAnnotations = {
            ...dv.metadata.annotations,
            [RestoreNameAnnotation]: vmr.metadata.name!,
            [PrePopulatedAnnotation]: owner.name,
          };
          store.update(DataVolume, { ...dv, metadata: { ...dv.metadata, annotations: dvAnnotations } });
        }
      }
      store.delete(PersistentVolumeClaim, namespace, claim.metadata.name!);
      waiting = true;
    } else if ((claim.status?.phase ?? "Pending") === "Pending") {
      waiting = true; // immediate binding: the provisioner is on it
    } else if (claim.status.phase !== "Bound") {
      throw new Error(
        `PVC ${namespace}/${claim.metadata.name} in status ${JSON.stringify(claim.status.phase)}`,
      );
    }
  }
  return waiting;
}
