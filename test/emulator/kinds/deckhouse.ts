// Deckhouse virtualization kinds (virtualization.deckhouse.io/v1alpha2) as the emulator serves them: schema
// validation plus the virtualization-controller's validating webhooks.
import type { KubeObject, ObjectStore, ResourceType } from "../store";
import { admission, deniedBy, type Webhook } from "./admission";
import { goQuote } from "./field-errors";
import {
  virtualDiskSchema,
  virtualDiskSnapshotSchema,
  virtualMachineBlockDeviceAttachmentSchema,
  virtualMachineIPAddressSchema,
  virtualMachineMACAddressSchema,
  virtualMachineOperationSchema,
  virtualMachineOperationSchemaV18,
  virtualMachineRestoreSchema,
  virtualMachineSchema,
  virtualMachineSnapshotOperationSchema,
  virtualMachineSnapshotSchema,
} from "./deckhouse-schemas";
import type { Schema } from "./schema";

const group = "virtualization.deckhouse.io";
const base = {
  group,
  version: "v1alpha2",
  namespaced: true,
  statusSubresource: true,
};

const webhookName = (prefix: string) => `${prefix}.virtualization-controller.validate.d8-virtualization`;

/** The webhooks are controller-runtime validators: an error becomes Denied, i.e. 403 Forbidden. */
const denied = (prefix: string, message: string) =>
  deniedBy(webhookName(prefix), { code: 403, reason: "Forbidden", message });

/** The snapshot webhooks (UPDATE only) refuse anything that bumps generation, i.e. any spec change. */
const idempotentSpec =
  (prefix: string, kind: string): Webhook =>
  (obj, old, op) =>
    op === "UPDATE" && old && old.metadata.generation !== obj.metadata.generation
      ? denied(prefix, `${kind} is an idempotent resource: specification changes are not available`)
      : undefined;

const kind = (k: string, schema: Schema, webhooks: Webhook[] = []) =>
  admission({ kind: k, group }, schema, webhooks);

export const VirtualDisk: ResourceType = {
  ...base,
  kind: "VirtualDisk",
  plural: "virtualdisks",
  shortNames: ["vd"],
  categories: ["virtualization"],
  ...kind("VirtualDisk", virtualDiskSchema),
};
export const VirtualMachine: ResourceType = {
  ...base,
  kind: "VirtualMachine",
  plural: "virtualmachines",
  shortNames: ["vm"],
  categories: ["all", "virtualization"],
  ...kind("VirtualMachine", virtualMachineSchema),
};
export const VirtualMachineIPAddress: ResourceType = {
  ...base,
  kind: "VirtualMachineIPAddress",
  plural: "virtualmachineipaddresses",
  shortNames: ["vmip"],
  categories: ["virtualization"],
  ...kind("VirtualMachineIPAddress", virtualMachineIPAddressSchema),
};
export const VirtualMachineMACAddress: ResourceType = {
  ...base,
  kind: "VirtualMachineMACAddress",
  plural: "virtualmachinemacaddresses",
  shortNames: ["vmmac"],
  categories: ["virtualization"],
  ...kind("VirtualMachineMACAddress", virtualMachineMACAddressSchema),
};
export const VirtualMachineBlockDeviceAttachment: ResourceType = {
  ...base,
  kind: "VirtualMachineBlockDeviceAttachment",
  plural: "virtualmachineblockdeviceattachments",
  shortNames: ["vmbda"],
  categories: ["virtualization"],
  ...kind("VirtualMachineBlockDeviceAttachment", virtualMachineBlockDeviceAttachmentSchema),
};
export const VirtualDiskSnapshot: ResourceType = {
  ...base,
  kind: "VirtualDiskSnapshot",
  plural: "virtualdisksnapshots",
  shortNames: ["vdsnapshot", "vds"],
  categories: ["virtualization"],
  ...kind("VirtualDiskSnapshot", virtualDiskSnapshotSchema, [
    idempotentSpec("vdsnapshot", "VirtualDiskSnapshot"),
  ]),
};
export const VirtualMachineSnapshot: ResourceType = {
  ...base,
  kind: "VirtualMachineSnapshot",
  plural: "virtualmachinesnapshots",
  shortNames: ["vmsnapshot", "vms"],
  categories: ["virtualization"],
  ...kind("VirtualMachineSnapshot", virtualMachineSnapshotSchema, [
    idempotentSpec("vmsnapshot", "VirtualMachineSnapshot"),
  ]),
};
/** Served up to v1.8.x only (removed in v1.9.0). Its webhook is registered for CREATE too but checks UPDATE only. */
export const VirtualMachineRestore: ResourceType = {
  ...base,
  kind: "VirtualMachineRestore",
  plural: "virtualmachinerestores",
  shortNames: ["vmrestore"],
  categories: ["virtualization"],
  ...kind("VirtualMachineRestore", virtualMachineRestoreSchema, [
    idempotentSpec("vmrestore", "VirtualMachineRestore"),
  ]),
};
/**
 * As in v1.10 (phase `Superseded`), without the create webhook that looks at other operations: that one
 * needs the store, see deckhouseKinds().
 */
export const VirtualMachineOperation: ResourceType = {
  ...base,
  kind: "VirtualMachineOperation",
  plural: "virtualmachineoperations",
  shortNames: ["vmop"],
  categories: ["virtualization"],
  ...kind("VirtualMachineOperation", virtualMachineOperationSchema),
};
/** Served from v1.2.0. */
export const VirtualMachineSnapshotOperation: ResourceType = {
  ...base,
  kind: "VirtualMachineSnapshotOperation",
  plural: "virtualmachinesnapshotoperations",
  shortNames: ["vmsop"],
  categories: ["virtualization"],
  ...kind("VirtualMachineSnapshotOperation", virtualMachineSnapshotOperationSchema),
};

const finishedPhases = new Set(["Completed", "Failed", "Superseded"]);

/** Whether a new operation may supersede an unfinished one on the same VM (Restore/Clone never do). */
function canSupersede(older: KubeObject, newer: KubeObject): boolean {
  const [oldType, newType] = [older.spec?.type, newer.spec?.type];
  const [oldForce, newForce] = [older.spec?.force === true, newer.spec?.force === true];
  const forcedStopOrRestart = (newType === "Stop" || newType === "Restart") && newForce;
  switch (oldType) {
    case "Start":
      return newType === "Stop";
    case "Stop":
    case "Restart":
      return !oldForce && forcedStopOrRestart;
    case "Migrate":
    case "Evict":
      return newType === "Stop" || newType === "Restart";
    default:
      return false;
  }
}

/** ≥ v1.9.0: a new operation waits for the unfinished ones on its VM, unless it can supersede them. */
const oneOperationAtATime =
  (store: ObjectStore): Webhook =>
  (vmop, _old, op) => {
    if (op !== "CREATE") return undefined;
    for (const other of store.list(VirtualMachineOperation, vmop.metadata.namespace).items) {
      if (other.spec?.virtualMachineName !== vmop.spec?.virtualMachineName) continue;
      if (finishedPhases.has(other.status?.phase)) continue;
      if (!canSupersede(other, vmop)) {
        return denied(
          "vmop",
          `VMOP cannot be executed now. Previously created operation ${goQuote(other.metadata.name ?? "")} should finish first`,
        );
      }
    }
    return undefined;
  };

export type DeckhouseVersion = "v1.8" | "v1.10";

/**
 * The Deckhouse kinds a release serves. With a store, webhooks that look at other objects are on
 * (≥ v1.9: one unfinished VMOP per VM); without one they are skipped.
 */
export function deckhouseKinds(version: DeckhouseVersion, store?: ObjectStore): ResourceType[] {
  const kinds = [
    VirtualDisk,
    VirtualMachine,
    VirtualMachineIPAddress,
    VirtualMachineMACAddress,
    VirtualMachineBlockDeviceAttachment,
    VirtualDiskSnapshot,
    VirtualMachineSnapshot,
    VirtualMachineSnapshotOperation, // since v1.2.0, so in both
  ];
  if (version === "v1.8") {
    return [
      ...kinds,
      VirtualMachineRestore, // removed in v1.9.0
      // Restore/Clone since v1.1.0; no Superseded phase (v1.10.0) and no one-at-a-time webhook (v1.9.0).
      { ...VirtualMachineOperation, ...kind("VirtualMachineOperation", virtualMachineOperationSchemaV18) },
    ];
  }
  const vmop = store
    ? {
        ...VirtualMachineOperation,
        ...kind("VirtualMachineOperation", virtualMachineOperationSchema, [oneOperationAtATime(store)]),
      }
    : VirtualMachineOperation;
  return [...kinds, vmop];
}
