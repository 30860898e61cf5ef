// Creating new objects from a snapshot under new names: shared by VirtualMachineOperation Clone and
// VirtualMachineSnapshotOperation CreateVirtualMachine. Clones get a new IP address (the address is not copied).
import { Secret } from "../../emulator/kinds/core";
import {
  VirtualDisk,
  VirtualMachine,
  VirtualMachineBlockDeviceAttachment,
  VirtualMachineIPAddress,
} from "../../emulator/kinds/deckhouse";
import type { KubeObject } from "../../emulator/store";
import type { DeckhouseContext } from "./context";
import { Annotation } from "./names";
import {
  createdBy,
  createRestored,
  existingOf,
  markCreatedBy,
  objectsFromSnapshot,
  renameObjects,
  resultOf,
  sameData,
  type NameReplacement,
  type ResourceResult,
  type RestoredObject,
} from "./snapshotResources";

export interface CloneSpec {
  mode?: "DryRun" | "Strict" | "BestEffort";
  nameReplacement?: NameReplacement[];
  customization?: { namePrefix?: string; nameSuffix?: string };
}

/** The objects a clone creates, renamed and stamped with the operation's UID; or what is missing. */
export function cloneObjects(
  ctx: DeckhouseContext,
  snapshot: KubeObject,
  spec: CloneSpec,
  uid: string,
): { objects: RestoredObject[] } | { missing: string } {
  const read = objectsFromSnapshot(ctx, snapshot);
  if ("missing" in read) return read;
  const objects = read.objects.filter((o) => o.type !== VirtualMachineIPAddress);
  for (const { type, object } of objects) {
    if (type === VirtualMachine) delete object.spec.virtualMachineIPAddressName;
  }
  renameObjects(objects, spec.nameReplacement ?? [], spec.customization ?? {});
  markCreatedBy(objects, Annotation.CreatedByOperation, uid);
  return { objects };
}

function cloneConflict(
  ctx: DeckhouseContext,
  o: RestoredObject,
  uid: string,
  vmName: string,
): string | undefined {
  const existing = existingOf(ctx, o);
  if (!existing || createdBy(existing, Annotation.CreatedByOperation, uid)) return undefined;
  const name = o.object.metadata.name;
  switch (o.type) {
    case VirtualMachine:
      return `VirtualMachine with name ${name} already exists`;
    case VirtualDisk: {
      const user = (existing.status?.attachedToVirtualMachines ?? []).find(
        (a: any) => a.mounted && a.name !== vmName,
      );
      return user
        ? `VirtualDisk with name ${name} attached to VirtualMachine ${user.name}`
        : `VirtualDisk with name ${name} already exists`;
    }
    case VirtualMachineBlockDeviceAttachment:
      return `VirtualMachineBlockDeviceAttachment with name ${name} already exists`;
    case Secret:
      return sameData(existing, o.object)
        ? undefined
        : `content of the secret ${name} is different from that in the snapshot`;
    default:
      return undefined;
  }
}

/** Per-object validation results; `failed` when any object cannot be created. */
export function validateClone(
  ctx: DeckhouseContext,
  objects: RestoredObject[],
  uid: string,
): { results: ResourceResult[]; failed: boolean } {
  const vmName = objects.find((o) => o.type === VirtualMachine)?.object.metadata.name ?? "";
  const results = objects.map((o) => {
    const conflict = cloneConflict(ctx, o, uid, vmName);
    return conflict
      ? resultOf(o, "Failed", conflict)
      : resultOf(o, "Completed", `${o.object.metadata.name} is valid for restore`);
  });
  return { results, failed: results.some((r) => r.status === "Failed") };
}

/** Creates what does not exist yet (objects this operation already created are kept). */
export function processClone(ctx: DeckhouseContext, objects: RestoredObject[]): ResourceResult[] {
  return objects.map((o) => {
    if (!existingOf(ctx, o)) createRestored(ctx, o);
    return resultOf(o, "Completed", "Successfully processed");
  });
}
