// KubeVirt kinds (kubevirt.io, snapshot.kubevirt.io, cdi.kubevirt.io) as the emulator serves them.
import type { ResourceType } from "../store";

export const KubeVirtVirtualMachine: ResourceType = {
  group: "kubevirt.io",
  version: "v1",
  kind: "VirtualMachine",
  plural: "virtualmachines",
  shortNames: ["vm", "vms"],
  categories: ["all"],
  namespaced: true,
  statusSubresource: true,
};
export const VirtualMachineInstance: ResourceType = {
  group: "kubevirt.io",
  version: "v1",
  kind: "VirtualMachineInstance",
  plural: "virtualmachineinstances",
  shortNames: ["vmi", "vmis"],
  categories: ["all"],
  namespaced: true,
  statusSubresource: true,
};
export const DataVolume: ResourceType = {
  group: "cdi.kubevirt.io",
  version: "v1beta1",
  kind: "DataVolume",
  plural: "datavolumes",
  shortNames: ["dv", "dvs"],
  categories: ["all"],
  namespaced: true,
  statusSubresource: true,
};

const snapshotBase = {
  group: "snapshot.kubevirt.io",
  namespaced: true,
  statusSubresource: true,
  categories: ["all"],
};

/** v1beta1 (storage) and v1alpha1 share one schema and one storage (conversion: None). */
export const KubeVirtVirtualMachineSnapshot: ResourceType = {
  ...snapshotBase,
  version: "v1beta1",
  kind: "VirtualMachineSnapshot",
  plural: "virtualmachinesnapshots",
  shortNames: ["vmsnapshot", "vmsnapshots"],
};
export const VirtualMachineSnapshotContent: ResourceType = {
  ...snapshotBase,
  version: "v1beta1",
  kind: "VirtualMachineSnapshotContent",
  plural: "virtualmachinesnapshotcontents",
  shortNames: ["vmsnapshotcontent", "vmsnapshotcontents"],
};
export const KubeVirtVirtualMachineRestore: ResourceType = {
  ...snapshotBase,
  version: "v1beta1",
  kind: "VirtualMachineRestore",
  plural: "virtualmachinerestores",
  shortNames: ["vmrestore", "vmrestores"],
};

export const v1alpha1 = (t: ResourceType): ResourceType => ({ ...t, version: "v1alpha1" });
