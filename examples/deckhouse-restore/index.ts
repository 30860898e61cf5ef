// A copy of a Deckhouse VM under new names: snapshot the VM, then restore the snapshot with a name suffix
// (the VM `db` comes back as `db-copy`, its disk `db-root` as `db-root-copy`). The original is not touched.
import * as pulumi from "@pulumi/pulumi";
import { deckhouse } from "pulumi-vm-snapshots";

const config = new pulumi.Config();
const namespace = config.get("namespace") ?? "default";
const vmName = config.get("vmName") ?? "db";
const nameSuffix = config.get("nameSuffix") ?? "-copy";

const snapshot = new deckhouse.VirtualMachineSnapshot("source", {
  namespace,
  virtualMachineName: vmName,
  // The copy gets a new IP address; keeping the original's would clash with the running VM.
  keepIPAddress: "Never",
});

const copy = new deckhouse.VirtualMachineRestore("copy", {
  namespace,
  virtualMachineSnapshotName: snapshot.name,
  nameSuffix,
  // `pulumi destroy` deletes the copy's VM and disks as well, not only the restore's record.
  deleteRestoredResources: true,
});

export const snapshotName = snapshot.name;
export const restoredVirtualMachine = copy.restoredVirtualMachineName;
export const restoredVirtualDisks = copy.restoredVirtualDiskNames;
