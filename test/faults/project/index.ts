// One resource of each kind, as a user's program declares them. The fault suite captures what each class
// registers (its inputs and serialized provider) and plays those through the engine against faulty clusters.
import { deckhouse, kubevirt } from "pulumi-vm-snapshots";

new deckhouse.VirtualDiskSnapshot("disk", { virtualDiskName: "db-root" });
new deckhouse.VirtualMachineSnapshot("vm", { virtualMachineName: "db" });
new deckhouse.VirtualMachineRestore("restore", { virtualMachineSnapshotName: "before-change" });
new kubevirt.VirtualMachineSnapshot("vm", { virtualMachineName: "web" });
new kubevirt.VirtualMachineRestore("restore", { virtualMachineSnapshotName: "web-snap", targetName: "web" });
new kubevirt.VirtualDiskSnapshot("disk", { persistentVolumeClaimName: "web-root" });
