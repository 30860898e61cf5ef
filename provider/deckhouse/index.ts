export { VirtualDiskSnapshot, type VirtualDiskSnapshotArgs } from "./virtualDiskSnapshot";
export {
  VirtualMachineRestore,
  type NameReplacementArgs,
  type VirtualMachineRestoreArgs,
} from "./virtualMachineRestore";
export {
  VirtualMachineSnapshot,
  type VirtualMachineSnapshotArgs,
  type VolumeSnapshotClassRef,
} from "./virtualMachineSnapshot";
