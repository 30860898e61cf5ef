// KubeVirt (snapshot.kubevirt.io) resources, and CSI snapshots of KubeVirt disks.
export { VirtualMachineSnapshot, type VirtualMachineSnapshotArgs } from "./virtualMachineSnapshot";
export {
  VirtualMachineRestore,
  type VirtualMachineRestoreArgs,
  type TargetReadinessPolicy,
} from "./virtualMachineRestore";
export { VirtualDiskSnapshot, type VirtualDiskSnapshotArgs } from "./virtualDiskSnapshot";
export type { PatchOperation } from "./patches";
