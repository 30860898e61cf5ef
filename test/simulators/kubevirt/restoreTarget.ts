// The VM side of a restore: the restored VM spec (volumes pointing at the restored claims), its DataVolumes,
// and writing it, as a new VM (with `patches`, Halted) or over the existing one (keeping its run strategy).
import { PersistentVolumeClaim } from "../../emulator/kinds/core";
import { DataVolume, KubeVirtVirtualMachine } from "../../emulator/kinds/kubevirt";
import type { KubeObject, ObjectStore } from "../../emulator/store";
import { applyJsonPatch } from "../../emulator/patch";
import { controllerRef } from "./context";
import { PopulatedForAnnotation, PrePopulatedAnnotation } from "./dataVolume";
import {
  LastRestoreAnnotation,
  lastRestoreValue,
  RestoreNameAnnotation,
  restoredBy,
  restoredNameOf,
  RestoreOwnedByVmAnnotation,
  type VolumeRestore,
} from "./restoredClaims";
import { runStrategyOf } from "./virtualMachine";
import { volumesOf, type Volume } from "./volumes";

interface DataVolumeTemplate {
  metadata: { name: string; [field: string]: unknown };
  spec?: unknown;
}

const templatesOf = (vm: KubeObject): DataVolumeTemplate[] => vm.spec?.dataVolumeTemplates ?? [];

/** Volumes from dataVolumeTemplates are restored as new DataVolumes adopting the restored claims. */
function recordRestoredDataVolumes(
  store: ObjectStore,
  vmr: KubeObject,
  status: Record<string, any>,
  snapshotVm: KubeObject,
) {
  const namespace = vmr.metadata.namespace!;
  const restores: VolumeRestore[] = structuredClone(status.restores ?? []);
  for (const restore of restores) {
    const volume = volumesOf(snapshotVm).find((v) => v.name === restore.volumeName);
    if (
      !volume?.dataVolume ||
      !templatesOf(snapshotVm).some((t) => t.metadata.name === volume.dataVolume!.name)
    ) {
      continue;
    }
    const dvName = restoredNameOf(vmr, restore.volumeName, volume.dataVolume.name);
    const claim = store.get(PersistentVolumeClaim, namespace, restore.persistentVolumeClaim);
    if (!claim)
      throw new Error(`pvc ${namespace}/${restore.persistentVolumeClaim} does not exist and should`);
    if (claim.metadata.annotations?.[PopulatedForAnnotation] !== dvName) {
      const annotations = { ...claim.metadata.annotations, [PopulatedForAnnotation]: dvName };
      // The DataVolume takes ownership of the claim.
      store.update(PersistentVolumeClaim, {
        ...claim,
        metadata: { ...claim.metadata, annotations, ownerReferences: undefined },
      });
    }
    restore.dataVolumeName = dvName;
  }
  if (JSON.stringify(status.restores ?? []) === JSON.stringify(restores)) return false;
  status.restores = restores;
  return true;
}

function restoredVirtualMachine(
  vmr: KubeObject,
  status: Record<string, any>,
  target: KubeObject | undefined,
  snapshotVm: KubeObject,
) {
  const restores: VolumeRestore[] = status.restores ?? [];
  const templates: DataVolumeTemplate[] = structuredClone(templatesOf(snapshotVm));
  const volumes: Volume[] = [];
  for (const volume of volumesOf(snapshotVm)) {
    if (volume.memoryDump) continue; // memory dumps are not restored
    let restored: Volume = structuredClone(volume);
    for (const r of restores.filter((r) => r.volumeName === volume.name)) {
      if (restored.persistentVolumeClaim && !restored.dataVolume) {
        restored.persistentVolumeClaim.claimName = r.persistentVolumeClaim;
        continue;
      }
      if (!restored.dataVolume) continue;
      const i = templates.findIndex((t) => t.metadata.name === volume.dataVolume!.name);
      if (i >= 0) {
        if (!r.dataVolumeName) {
          throw new Error(
            `DataVolumeName for dv ${volume.dataVolume!.name} should have been updated already`,
          );
        }
        templates[i] = { ...templates[i], metadata: { ...templates[i].metadata, name: r.dataVolumeName } };
        restored.dataVolume.name = r.dataVolumeName;
      } else {
        restored = { name: volume.name, persistentVolumeClaim: { claimName: r.persistentVolumeClaim } };
      }
    }
    volumes.push(restored);
  }

  let vm: KubeObject;
  if (!target) {
    const { labels, annotations } = snapshotVm.metadata;
    vm = {
      apiVersion: "kubevirt.io/v1",
      kind: "VirtualMachine",
      metadata: { name: vmr.spec.target.name, namespace: vmr.metadata.namespace, labels, annotations },
      spec: structuredClone(snapshotVm.spec),
      status: {},
    };
    if (vm.spec.running !== undefined) vm.spec.running = false;
    else vm.spec.runStrategy = "Halted";
  } else {
    vm = structuredClone(target);
    vm.spec = structuredClone(snapshotVm.spec);
    if (target.spec?.running !== undefined) {
      vm.spec.running = false;
      delete vm.spec.runStrategy;
    } else {
      vm.spec.runStrategy = runStrategyOf(target); // KubeVirt >= 1.6 keeps the target's run strategy
      delete vm.spec.running;
    }
  }
  if (templates.length) vm.spec.dataVolumeTemplates = templates;
  else delete vm.spec.dataVolumeTemplates;
  vm.spec.template = { ...vm.spec.template, spec: { ...vm.spec.template?.spec, volumes } };
  vm.metadata.annotations = { ...vm.metadata.annotations, [LastRestoreAnnotation]: lastRestoreValue(vmr) };
  return vm;
}

/** Creates the restored DataVolumes and waits for them; records templates the restore leaves behind. */
function reconcileDataVolumes(
  store: ObjectStore,
  vmr: KubeObject,
  status: Record<string, any>,
  target: KubeObject | undefined,
  restored: KubeObject,
): boolean {
  const namespace = vmr.metadata.namespace!;
  let busy = false;
  for (const template of templatesOf(restored)) {
    const dv = store.get(DataVolume, namespace, template.metadata.name);
    if (dv) {
      busy ||= !["Succeeded", "WaitForFirstConsumer", "PendingPopulation"].includes(dv.status?.phase);
      continue;
    }
    const claim = store.get(PersistentVolumeClaim, namespace, template.metadata.name);
    if (!claim) {
      throw new Error(
        `when creating restore dv pvc ${namespace}/${template.metadata.name} does not exist and should`,
      );
    }
    if (claim.metadata.annotations?.[PopulatedForAnnotation] !== template.metadata.name) continue;
    if (claim.metadata.ownerReferences?.length) continue;
    const annotations = {
      ...(template.metadata.annotations as Record<string, string> | undefined),
      [RestoreNameAnnotation]: vmr.metadata.name!,
      [PrePopulatedAnnotation]: "true",
    };
    store.create(
      DataVolume,
      { metadata: { ...template.metadata, annotations }, spec: template.spec },
      namespace,
    );
    busy = true;
  }
  if (target) {
    const kept = new Set(templatesOf(restored).map((t) => t.metadata.name));
    const deleted = templatesOf(target)
      .map((t) => t.metadata.name)
      .filter((name) => !kept.has(name));
    if (JSON.stringify(status.deletedDataVolumes ?? []) !== JSON.stringify(deleted)) {
      if (deleted.length) status.deletedDataVolumes = deleted;
      else delete status.deletedDataVolumes;
      return true;
    }
  }
  return busy;
}

/** Restored claims the source VM owned go to the new VM once it exists (volumeOwnershipPolicy Vm). */
function claimRestoredClaims(store: ObjectStore, vmr: KubeObject, vm: KubeObject): void {
  if (vmr.spec?.volumeOwnershipPolicy === "None") return;
  for (const volume of volumesOf(vm)) {
    if (!volume.persistentVolumeClaim) continue;
    const claim = store.mustGet(
      PersistentVolumeClaim,
      vm.metadata.namespace,
      volume.persistentVolumeClaim.claimName,
    );
    if (claim.metadata.ownerReferences?.length) continue;
    if (claim.metadata.annotations?.[RestoreOwnedByVmAnnotation] !== vmr.metadata.name) continue;
    const { [RestoreOwnedByVmAnnotation]: _given, ...annotations } = claim.metadata.annotations ?? {};
    store.update(PersistentVolumeClaim, {
      ...claim,
      metadata: { ...claim.metadata, annotations, ownerReferences: [controllerRef(vm)] },
    });
  }
}

function patched(vm: KubeObject, patches: string[] | undefined): KubeObject {
  if (!patches?.length) return vm;
  const document = `[\n${patches.join(",\n")}\n]`;
  let operations: unknown;
  try {
    operations = JSON.parse(document);
  } catch (e) {
    throw new Error(
      `error patching VM ${vm.metadata.name}: cannot decode vm patches ${document}: ${(e as Error).message}`,
    );
  }
  try {
    return applyJsonPatch(vm, operations) as KubeObject;
  } catch (e) {
    throw new Error(
      `error patching VM ${vm.metadata.name}: failed to apply patch for VM ${document}: ${(e as Error).message}`,
    );
  }
}

/**
 * Brings the target VM to the snapshot's spec; true when it wrote something (the restore then waits for the
 * next pass), false once the VM carries this restore's lastRestoreUID.
 */
export function reconcileRestoreTarget(
  store: ObjectStore,
  vmr: KubeObject,
  status: Record<string, any>,
  target: KubeObject | undefined,
  content: KubeObject,
): boolean {
  if (target && restoredBy(vmr, target)) return false;
  const snapshotVm: KubeObject = content.spec?.source?.virtualMachine;
  if (!snapshotVm) throw new Error("unexpected snapshot source");
  if (recordRestoredDataVolumes(store, vmr, status, snapshotVm)) return true;
  const restored = restoredVirtualMachine(vmr, status, target, snapshotVm);
  if (reconcileDataVolumes(store, vmr, status, target, restored)) return true;
  const written = target
    ? store.update(KubeVirtVirtualMachine, restored)
    : store.create(KubeVirtVirtualMachine, patched(restored, vmr.spec?.patches), vmr.metadata.namespace);
  claimRestoredClaims(store, vmr, written);
  return true;
}
