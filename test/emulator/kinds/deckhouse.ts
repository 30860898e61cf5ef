// Deckhouse virtualization kinds (virtualization.deckhouse.io/v1alpha2) as the emulator serves them.
import type { ResourceType } from "../store";

const base = {
  group: "virtualization.deckhouse.io",
  version: "v1alpha2",
  namespaced: true,
  statusSubresource: true,
};

export const VirtualDisk: ResourceType = {
  ...base,
  kind: "VirtualDisk",
  plural: "virtualdisks",
  shortNames: ["vd"],
};
export const VirtualMachine: ResourceType = {
  ...base,
  kind: "VirtualMachine",
  plural: "virtualmachines",
  shortNames: ["vm"],
};
export const VirtualMachineIPAddress: ResourceType = {
  ...base,
  kind: "VirtualMachineIPAddress",
  plural: "virtualmachineipaddresses",
  shortNames: ["vmip"],
};
export const VirtualMachineMACAddress: ResourceType = {
  ...base,
  kind: "VirtualMachineMACAddress",
  plural: "virtualmachinemacaddresses",
  shortNames: ["vmmac"],
};
export const VirtualMachineBlockDeviceAttachment: ResourceType = {
  ...base,
  kind: "VirtualMachineBlockDeviceAttachment",
  plural: "virtualmachineblockdeviceattachments",
  shortNames: ["vmbda"],
};
export const VirtualDiskSnapshot: ResourceType = {
  ...base,
  kind: "VirtualDiskSnapshot",
  plural: "virtualdisksnapshots",
  shortNames: ["vdsnapshot", "vds"],
  categories: ["virtualization"],
};
export const VirtualMachineSnapshot: ResourceType = {
  ...base,
  kind: "VirtualMachineSnapshot",
  plural: "virtualmachinesnapshots",
  shortNames: ["vmsnapshot", "vms"],
  categories: ["virtualization"],
};
/** Served up to v1.8.x only (removed in v1.9.0). */
export const VirtualMachineRestore: ResourceType = {
  ...base,
  kind: "VirtualMachineRestore",
  plural: "virtualmachinerestores",
  shortNames: ["vmrestore"],
  categories: ["virtualization"],
};
export const VirtualMachineOperation: ResourceType = {
  ...base,
  kind: "VirtualMachineOperation",
  plural: "virtualmachineoperations",
  shortNames: ["vmop"],
  categories: ["virtualization"],
};
/** Served from v1.2.0. */
export const VirtualMachineSnapshotOperation: ResourceType = {
  ...base,
  kind: "VirtualMachineSnapshotOperation",
  plural: "virtualmachinesnapshotoperations",
  shortNames: ["vmsop"],
  categories: ["virtualization"],
};
