export { VirtualDiskSnapshot, type VirtualDiskSnapshotArgs } from "./virtualDiskSnapshot";
export {
  VirtualMachineSnapshot,
  type VirtualMachineSnapshotArgs,
  type VolumeSnapshotClassRef,
} from "./virtualMachineSnapshot";
