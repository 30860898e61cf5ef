// deckhouse.VirtualDiskSnapshot: a snapshot of one VirtualDisk, usable as a new disk's dataSource.
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { objectName } from "../core/inputs";
import type { KindDescription } from "../core/kind";
import { PlatformResource, type SharedArgs } from "../core/resource";
import { deckhouseKind } from "./api";
import { readPhase } from "./conditions";

export interface VirtualDiskSnapshotArgs extends SharedArgs {
  /** The VirtualDisk to snapshot, in the same namespace. */
  virtualDiskName: pulumi.Input<string>;
  /** Only take the snapshot if it is consistent (disk detached, VM stopped, or filesystem frozen). Default true. */
  requiredConsistency?: pulumi.Input<boolean>;
  /** Only for clusters older than Deckhouse virtualization v0.24, which require it. */
  volumeSnapshotClassName?: pulumi.Input<string>;
}

export const virtualDiskSnapshot: KindDescription = {
  id: "deckhouse:VirtualDiskSnapshot",
  api: deckhouseKind("VirtualDiskSnapshot", "virtualdisksnapshots"),
  inputs: {
    virtualDiskName: objectName("virtualDiskName"),
    requiredConsistency: z.boolean({ error: "requiredConsistency must be true or false" }).default(true),
    volumeSnapshotClassName: objectName("volumeSnapshotClassName").optional(),
  },
  spec: (i) => ({
    virtualDiskName: i.virtualDiskName,
    requiredConsistency: i.requiredConsistency,
    ...(i.volumeSnapshotClassName ? { volumeSnapshotClassName: i.volumeSnapshotClassName } : {}),
  }),
  read: (o) => readPhase(o, "VirtualDiskSnapshotReady", "VirtualDiskReady"),
  outputs: (o, i) => ({
    // Deckhouse never writes `consistent: false`; absent means not known to be consistent.
    consistent: o?.status?.consistent === true,
    volumeSnapshotName: o?.status?.volumeSnapshotName ?? null,
    dataSource: { type: "ObjectRef", objectRef: { kind: "VirtualDiskSnapshot", name: i.name } },
  }),
};

export class VirtualDiskSnapshot extends PlatformResource {
  /** Pending, InProgress, Ready, Failed or Terminating. */
  declare readonly phase: pulumi.Output<string>;
  declare readonly consistent: pulumi.Output<boolean>;
  declare readonly volumeSnapshotName: pulumi.Output<string | null>;
  /** `{ type: "ObjectRef", objectRef: { kind: "VirtualDiskSnapshot", name } }`, for a new VirtualDisk's spec.dataSource. */
  declare readonly dataSource: pulumi.Output<{
    type: "ObjectRef";
    objectRef: { kind: "VirtualDiskSnapshot"; name: string };
  }>;

  constructor(name: string, args: VirtualDiskSnapshotArgs, opts?: pulumi.CustomResourceOptions) {
    super(virtualDiskSnapshot.id, ["consistent", "volumeSnapshotName", "dataSource"], name, args, opts);
  }
}
