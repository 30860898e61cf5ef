// VirtualMachineRestore controller (reference §4; served up to Deckhouse v1.8.x): Safe and Forced modes,
// nameReplacements, conflicts, Pending while the snapshot is not ready, no finalizer.
import {
  VirtualDisk,
  VirtualMachine,
  VirtualMachineBlockDeviceAttachment,
  VirtualMachineIPAddress,
  VirtualMachineRestore,
  VirtualMachineSnapshot,
} from "../../emulator/kinds/deckhouse";
import type { KubeObject } from "../../emulator/store";
import { Secret } from "../../emulator/kinds/core";
import { setCondition } from "./conditions";
import { due, forcedFailure, hangs, refOf, writeStatus, type DeckhouseContext } from "./context";
import { Annotation } from "./names";
import {
  addressesHolding,
  createdBy,
  createRestored,
  existingOf,
  markCreatedBy,
  objectsFromSnapshot,
  renameObjects,
  restoredMachineName,
  sameData,
  type RestoredObject,
} from "./snapshotResources";

const ReadyType = "VirtualMachineRestoreReady";
const SnapshotType = "VirtualMachineSnapshotReadyToUse";

export function watchVmRestores(ctx: DeckhouseContext): void {
  const { store, reconciler } = ctx;
  const unfinishedIn = (namespace: string, match: (r: KubeObject) => boolean = () => true) =>
    store
      .list(
        VirtualMachineRestore,
        namespace,
        (r) => ["", "Pending", "InProgress"].includes(r.status?.phase ?? "") && match(r),
      )
      .items.map((r) => refOf(VirtualMachineRestore, r));
  reconciler.watch(VirtualMachineRestore, (namespace, name) => reconcile(ctx, namespace, name));
  reconciler.watchRelated(VirtualMachineSnapshot, (s) =>
    unfinishedIn(s.metadata.namespace!, (r) => r.spec?.virtualMachineSnapshotName === s.metadata.name),
  );
  for (const type of [VirtualMachine, VirtualDisk, VirtualMachineBlockDeviceAttachment]) {
    reconciler.watchRelated(type, (obj) => unfinishedIn(obj.metadata.namespace!));
  }
}

const capitalized = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function reconcile(ctx: DeckhouseContext, namespace: string, name: string) {
  const { store } = ctx;
  const restore = store.get(VirtualMachineRestore, namespace, name);
  if (!restore) return;
  const status: Record<string, any> = structuredClone(restore.status ?? {});
  const generation = restore.metadata.generation;
  if (["Ready", "Failed", "Terminating"].includes(status.phase)) return;
  if (restore.metadata.deletionTimestamp) {
    status.phase = "Terminating";
    setCondition(status, { type: ReadyType, status: "Unknown", reason: "Unknown" }, generation);
    writeStatus(ctx, VirtualMachineRestore, restore, status);
    return;
  }
  const snapshotName: string = restore.spec?.virtualMachineSnapshotName ?? "";
  const snapshot = store.get(VirtualMachineSnapshot, namespace, snapshotName);
  setCondition(status, snapshotReadiness(snapshot, snapshotName), generation);
  if (!status.phase) {
    // Written on its own, so watchers see Pending before the work starts.
    status.phase = "Pending";
    setCondition(status, { type: ReadyType, status: "Unknown", reason: "Unknown" }, generation);
  } else if (!hangs(restore)) advance(ctx, restore, status, snapshot);
  writeStatus(ctx, VirtualMachineRestore, restore, status);
}

function snapshotReadiness(snapshot: KubeObject | undefined, name: string) {
  const type = SnapshotType;
  if (!snapshot) {
    return {
      type,
      status: "False" as const,
      reason: "VirtualMachineSnapshotNotFound",
      message: `The virtual machine snapshot "${name}" not found.`,
    };
  }
  if (snapshot.metadata.deletionTimestamp) {
    return {
      type,
      status: "False" as const,
      reason: "VirtualMachineSnapshotNotReady",
      message: `The virtual machine snapshot "${name}" is in the process if deleting.`,
    };
  }
  if (snapshot.status?.phase !== "Ready") {
    return {
      type,
      status: "False" as const,
      reason: "VirtualMachineSnapshotNotReady",
      message: `Waiting for the virtual machine snapshot "${name}" to be ready for use.`,
    };
  }
  return { type, status: "True" as const, reason: "VirtualMachineSnapshotReadyToUse" };
}

function advance(
  ctx: DeckhouseContext,
  restore: KubeObject,
  status: Record<string, any>,
  snapshot?: KubeObject,
) {
  const generation = restore.metadata.generation;
  const set = (phase: string, s: "True" | "False", reason: string, message = "") => {
    status.phase = phase;
    setCondition(status, { type: ReadyType, status: s, reason, message }, generation);
  };
  const uid = restore.metadata.uid!;

  if (status.phase === "InProgress") {
    // The platform reports Ready on the reconcile after the objects were created, not when they are ready.
    if (due(ctx, VirtualMachineRestore, restore, "ready")) set("Ready", "True", "VirtualMachineRestoreReady");
    return;
  }
  if (!snapshot || snapshot.metadata.deletionTimestamp || snapshot.status?.phase !== "Ready") {
    // A restore never fails for a missing snapshot: it waits for it.
    return set(
      "Pending",
      "False",
      "VirtualMachineSnapshotNotReadyToUse",
      `Waiting for the virtual machine snapshot "${restore.spec?.virtualMachineSnapshotName}" to be ready to use.`,
    );
  }
  const forced = forcedFailure(restore, "VirtualMachineRestoreFailed");
  if (forced) return set("Failed", "False", forced.reason, forced.message);

  const read = objectsFromSnapshot(ctx, snapshot);
  if ("missing" in read)
    return set("Pending", "False", "VirtualMachineSnapshotNotReady", `${capitalized(read.missing)}.`);
  const objects = read.objects;
  renameObjects(objects, restore.spec?.nameReplacements ?? []);
  markCreatedBy(objects, Annotation.CreatedByRestore, uid);
  const vmName = restoredMachineName(objects);
  const inProgress = () =>
    set(
      "InProgress",
      "False",
      "VirtualMachineSnapshotNotReady",
      `The virtual machine "${snapshot.spec?.virtualMachineName}" is in the process of restore.`,
    );

  if ((restore.spec?.restoreMode ?? "Safe") === "Safe") {
    for (const o of objects) {
      const conflict = safeConflict(ctx, o, uid);
      if (conflict)
        return set("Failed", "False", "VirtualMachineRestoreConflict", `${capitalized(conflict)}.`);
    }
    if (!due(ctx, VirtualMachineRestore, restore, "restore")) return;
    removeOtherAttachments(ctx, objects, vmName, uid);
    for (const o of objects) if (!existingOf(ctx, o)) createRestored(ctx, o);
    return inProgress();
  }

  for (const o of objects) {
    const conflict = forcedConflict(ctx, o, uid, vmName);
    if (conflict) return set("Failed", "False", "VirtualMachineRestoreConflict", `${capitalized(conflict)}.`);
  }
  const vm = ctx.store.get(VirtualMachine, restore.metadata.namespace, vmName);
  if (!vm) {
    return set(
      "Failed",
      "False",
      "VirtualMachineRestoreFailed",
      "Restoration with `Forced` mode can be applied only to an existing virtual machine; you can restore the virtual machine with `Safe` mode.",
    );
  }
  const rewritten = createdBy(vm, Annotation.CreatedByRestore, uid); // checks below ran before the rewrite
  if (!rewritten && vm.status?.phase === "Pending") {
    return set(
      "Failed",
      "False",
      "VirtualMachineRestoreFailed",
      "A virtual machine cannot be restored from the pending phase with `Forced` mode; you can delete the virtual machine and restore it with `Safe` mode.",
    );
  }
  if (!rewritten && vm.status?.phase !== "Stopped") {
    if (vm.spec?.runPolicy !== "AlwaysOff") {
      ctx.store.update(VirtualMachine, { ...vm, spec: { ...vm.spec, runPolicy: "AlwaysOff" } });
      return set(
        "Pending",
        "False",
        "VirtualMachineIsNotStopped",
        "Waiting for the virtual machine run policy will be updated.",
      );
    }
    return set(
      "Pending",
      "False",
      "VirtualMachineIsNotStopped",
      "Waiting for the virtual machine will be stopped.",
    );
  }
  const waiting = replaceWithForce(ctx, objects, uid);
  if (waiting) return set("Pending", "False", "VirtualMachineResourcesAreNotReady", waiting);
  if (!due(ctx, VirtualMachineRestore, restore, "restore")) return;
  removeOtherAttachments(ctx, objects, vmName, uid);
  return inProgress();
}

/** Safe mode: any existing object (not created by this restore) is a conflict. */
function safeConflict(ctx: DeckhouseContext, o: RestoredObject, uid: string): string | undefined {
  const existing = existingOf(ctx, o);
  if (createdBy(existing, Annotation.CreatedByRestore, uid)) return undefined;
  const name = o.object.metadata.name;
  switch (o.type) {
    case VirtualMachine:
      return existing && `the virtual machine "${name}" already exists`;
    case VirtualDisk:
      return existing && `the virtual disk "${name}" already exists`;
    case VirtualMachineBlockDeviceAttachment:
      return existing && `the virtual machine block device attachment "${name}" already exists`;
    case Secret:
      return existing && !sameData(existing, o.object)
        ? `the provisioner secret "${name}" already exists and does not have the same data content`
        : undefined;
    default:
      return addressConflict(ctx, o, existing);
  }
}

function addressConflict(
  ctx: DeckhouseContext,
  o: RestoredObject,
  existing?: KubeObject,
): string | undefined {
  const name = o.object.metadata.name!;
  if (!existing) {
    const ip: string | undefined = o.object.spec?.staticIP;
    const holder = ip && addressesHolding(ctx, o.object.metadata.namespace!, ip, name)[0];
    return holder
      ? `the set address "${ip}" is already in use by the different virtual machine ip address "${holder.metadata.name}" and cannot be used for the restored virtual machine`
      : undefined;
  }
  return existing.status?.phase === "Attached" || existing.status?.virtualMachineName
    ? `the virtual machine ip address "${name}" is already in use and cannot be used for the restored virtual machine`
    : undefined;
}

/** Forced mode: only objects used by another VM conflict; the rest is replaced. */
function forcedConflict(
  ctx: DeckhouseContext,
  o: RestoredObject,
  uid: string,
  vmName: string,
): string | undefined {
  const existing = existingOf(ctx, o);
  if (!existing || createdBy(existing, Annotation.CreatedByRestore, uid)) return undefined;
  const name = o.object.metadata.name;
  if (o.type === VirtualDisk) {
    const others = (existing.status?.attachedToVirtualMachines ?? []).filter(
      (a: any) => a.mounted && a.name !== vmName,
    );
    return others.length ? `the virtual disk "${name}" already in use` : undefined;
  }
  if (o.type === VirtualMachineIPAddress) {
    const user = existing.status?.virtualMachineName;
    return user && user !== vmName
      ? `the virtual machine ip address "${name}" is already in use and cannot be used for the restored virtual machine`
      : undefined;
  }
  if (o.type === Secret && !sameData(existing, o.object)) {
    return `the provisioner secret "${name}" already exists and does not have the same data content`;
  }
  return undefined;
}

/** Forced mode: replaces disks and attachments (delete, then recreate), rewrites the VM; says what it waits for. */
function replaceWithForce(ctx: DeckhouseContext, objects: RestoredObject[], uid: string): string | undefined {
  const { store } = ctx;
  for (const o of objects) {
    const existing = existingOf(ctx, o);
    const name = o.object.metadata.name!;
    if (createdBy(existing, Annotation.CreatedByRestore, uid)) continue;
    if (!existing) {
      createRestored(ctx, o);
      continue;
    }
    if (o.type === VirtualDisk || o.type === VirtualMachineBlockDeviceAttachment) {
      if (!existing.metadata.deletionTimestamp) store.delete(o.type, existing.metadata.namespace, name);
      return `Waiting for the \`${o.type.kind}\` ${name} will be restored.`;
    }
    if (o.type === VirtualMachine) {
      // The restored run policy comes back with the spec (the VM was switched to AlwaysOff to stop it).
      store.update(VirtualMachine, {
        ...existing,
        metadata: {
          ...existing.metadata,
          annotations: { ...existing.metadata.annotations, ...o.object.metadata.annotations },
        },
        spec: o.object.spec,
      });
    }
  }
  return undefined;
}

/** Hot-plugged disks of the VM that the snapshot did not have are detached (their VMBDAs deleted). */
function removeOtherAttachments(
  ctx: DeckhouseContext,
  objects: RestoredObject[],
  vmName: string,
  uid: string,
) {
  const namespace = objects[0]?.object.metadata.namespace;
  const restored = new Set(
    objects.filter((o) => o.type === VirtualMachineBlockDeviceAttachment).map((o) => o.object.metadata.name),
  );
  for (const a of ctx.store.list(
    VirtualMachineBlockDeviceAttachment,
    namespace,
    (a) => a.spec?.virtualMachineName === vmName,
  ).items) {
    if (restored.has(a.metadata.name) || createdBy(a, Annotation.CreatedByRestore, uid)) continue;
    ctx.store.delete(VirtualMachineBlockDeviceAttachment, namespace, a.metadata.name!);
  }
}
