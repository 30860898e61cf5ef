// Quickstart: snapshot an existing Deckhouse VM and its root disk, each waiting until Deckhouse says Ready.
import * as pulumi from "@pulumi/pulumi";
import { deckhouse } from "pulumi-vm-snapshots";

const config = new pulumi.Config();
const namespace = config.get("namespace") ?? "demo";
const vmName = config.get("vmName") ?? "demo-vm";
const diskName = config.get("diskName") ?? `${vmName}-root`;

const vmSnapshot = new deckhouse.VirtualMachineSnapshot("pre-upgrade", {
  namespace,
  virtualMachineName: vmName,
  description: `${vmName} before the upgrade`,
});

const diskSnapshot = new deckhouse.VirtualDiskSnapshot("root-disk", {
  namespace,
  virtualDiskName: diskName,
});

export const vmSnapshotName = vmSnapshot.name;
export const vmSnapshotPhase = vmSnapshot.phase;
export const diskSnapshotName = diskSnapshot.name;
export const diskSnapshotPhase = diskSnapshot.phase;
