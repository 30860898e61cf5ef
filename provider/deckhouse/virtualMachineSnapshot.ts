// deckhouse.VirtualMachineSnapshot: a snapshot of a VM's configuration and all its disks.
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { objectName } from "../core/inputs";
import type { KindDescription } from "../core/kind";
import { PlatformResource, type SharedArgs } from "../core/resource";
import { deckhouseKind } from "./api";
import { readPhase } from "./conditions";

export interface VolumeSnapshotClassRef {
  storageClassName: pulumi.Input<string>;
  volumeSnapshotClassName: pulumi.Input<string>;
}

export interface VirtualMachineSnapshotArgs extends SharedArgs {
  /** The VirtualMachine to snapshot, in the same namespace. */
  virtualMachineName: pulumi.Input<string>;
  /** Only take the snapshot if the VM is stopped or its filesystem can be frozen by the guest agent. Default true. */
  requiredConsistency?: pulumi.Input<boolean>;
  /** Always: keep the VM's IP address (converted to static) for a restore; Never: keep its type as is. Default Always. */
  keepIPAddress?: pulumi.Input<"Always" | "Never">;
  /** Only for clusters older than Deckhouse virtualization v0.24, which take it. */
  volumeSnapshotClasses?: pulumi.Input<pulumi.Input<VolumeSnapshotClassRef>[]>;
}

export const virtualMachineSnapshot: KindDescription = {
  id: "deckhouse:VirtualMachineSnapshot",
  api: deckhouseKind("VirtualMachineSnapshot", "virtualmachinesnapshots"),
  inputs: {
    virtualMachineName: objectName("virtualMachineName"),
    requiredConsistency: z.boolean({ error: "requiredConsistency must be true or false" }).default(true),
    keepIPAddress: z.enum(["Always", "Never"]).default("Always"),
    volumeSnapshotClasses: z
      .array(
        z.strictObject({
          storageClassName: objectName("storageClassName"),
          volumeSnapshotClassName: objectName("volumeSnapshotClassName"),
        }),
      )
      .optional(),
  },
  spec: (i) => ({
    virtualMachineName: i.virtualMachineName,
    requiredConsistency: i.requiredConsistency,
    keepIPAddress: i.keepIPAddress,
    ...(i.volumeSnapshotClasses ? { volumeSnapshotClasses: i.volumeSnapshotClasses } : {}),
  }),
  read: (o) => {
    const reading = readPhase(o, "VirtualMachineSnapshotReady", "VirtualMachineReady");
    // The controller's first Ready says reason "VirtualMachineReady", later ones the right word:
    // report the right one from the start so a refresh shows no change.
    return reading.phase === "Ready" && reading.reason === "VirtualMachineReady"
      ? { ...reading, reason: "VirtualMachineSnapshotReady" }
      : reading;
  },
  outputs: (o) => ({
    consistent: o?.status?.consistent === true,
    virtualDiskSnapshotNames: o?.status?.virtualDiskSnapshotNames ?? [],
    virtualMachineSnapshotSecretName: o?.status?.virtualMachineSnapshotSecretName ?? null,
    resources: (o?.status?.resources ?? []).map((r: any) => ({
      apiVersion: r.apiVersion ?? null,
      kind: r.kind,
      name: r.name,
    })),
  }),
};

export class VirtualMachineSnapshot extends PlatformResource {
  /** Pending, InProgress, Ready, Failed or Terminating. */
  declare readonly phase: pulumi.Output<string>;
  declare readonly consistent: pulumi.Output<boolean>;
  /** One VirtualDiskSnapshot per disk of the VM, named `<disk>-<snapshot uid>`. */
  declare readonly virtualDiskSnapshotNames: pulumi.Output<string[]>;
  declare readonly virtualMachineSnapshotSecretName: pulumi.Output<string | null>;
  declare readonly resources: pulumi.Output<{ apiVersion: string | null; kind: string; name: string }[]>;

  constructor(name: string, args: VirtualMachineSnapshotArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      virtualMachineSnapshot.id,
      ["consistent", "virtualDiskSnapshotNames", "virtualMachineSnapshotSecretName", "resources"],
      name,
      args,
      opts,
    );
  }
}
