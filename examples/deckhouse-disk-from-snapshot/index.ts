// A new disk with the content of an existing one: snapshot the disk, then provision a VirtualDisk from the
// snapshot. The new disk's dataSource is the snapshot's output, so it is created only once the snapshot is Ready.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { deckhouse } from "pulumi-vm-snapshots";

const config = new pulumi.Config();
const namespace = config.get("namespace") ?? "default";
const sourceDisk = config.get("sourceDisk") ?? "db-data";

const snapshot = new deckhouse.VirtualDiskSnapshot("source", {
  namespace,
  virtualDiskName: sourceDisk,
  // A disk attached to a running VM is frozen through its guest agent; without one the snapshot fails.
  requiredConsistency: config.getBoolean("requiredConsistency") ?? true,
});

const copy = new k8s.apiextensions.CustomResource("copy", {
  apiVersion: "virtualization.deckhouse.io/v1alpha2",
  kind: "VirtualDisk",
  metadata: { name: config.get("copyName") ?? `${sourceDisk}-copy`, namespace },
  // No size: the disk gets the snapshot's size.
  spec: { dataSource: snapshot.dataSource },
});

export const snapshotName = snapshot.name;
export const snapshotConsistent = snapshot.consistent;
export const copyName = copy.metadata.name;
