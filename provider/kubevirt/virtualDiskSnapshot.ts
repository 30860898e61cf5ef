// kubevirt.VirtualDiskSnapshot: KubeVirt has no disk-snapshot kind, so a disk snapshot is a CSI
// snapshot.storage.k8s.io/v1 VolumeSnapshot of the disk's claim (a DataVolume's claim has its name).
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { DEFAULT_WAIT_TIMEOUT_SECONDS, objectName, type CheckFailure } from "../core/inputs";
import type { KindContext, KindDescription, Reading } from "../core/kind";
import { PlatformResource, type SharedArgs } from "../core/resource";
import { describe, type KubeObject } from "../kube/objects";
import { dataVolumeKind, persistentVolumeClaimKind, volumeSnapshotKind } from "./api";
import { prerequisite } from "./prerequisites";

interface DiskSnapshotOptions extends SharedArgs {
  /** Default: the cluster's default VolumeSnapshotClass for the claim's CSI driver. */
  volumeSnapshotClassName?: pulumi.Input<string>;
  /** How long the CSI snapshotter may keep reporting an error (from creation) before the snapshot fails; 0: never. Default 300. */
  failureDeadlineSeconds?: pulumi.Input<number>;
}

/** The disk: exactly one of a PersistentVolumeClaim or a CDI DataVolume, in the same namespace. */
export type VirtualDiskSnapshotArgs = DiskSnapshotOptions &
  (
    | { persistentVolumeClaimName: pulumi.Input<string>; dataVolumeName?: never }
    | { dataVolumeName: pulumi.Input<string>; persistentVolumeClaimName?: never }
  );

export interface VirtualDiskSnapshotInputs {
  name: string;
  namespace: string;
  persistentVolumeClaimName?: string;
  dataVolumeName?: string;
  volumeSnapshotClassName?: string;
  failureDeadlineSeconds?: number;
  waitTimeoutSeconds?: number;
}

export const DEFAULT_FAILURE_DEADLINE_SECONDS = 300; // as KubeVirt's own snapshot deadline

/** Both or neither disk inputs: refused at check, with the property to fix. */
export function diskFailures(i: Partial<VirtualDiskSnapshotInputs>): CheckFailure[] {
  if (i.persistentVolumeClaimName !== undefined && i.dataVolumeName !== undefined) {
    return [
      {
        property: "dataVolumeName",
        reason:
          "set either persistentVolumeClaimName or dataVolumeName, not both (a DataVolume's claim has its name)",
      },
    ];
  }
  if (i.persistentVolumeClaimName === undefined && i.dataVolumeName === undefined) {
    return [
      {
        property: "persistentVolumeClaimName",
        reason: "persistentVolumeClaimName or dataVolumeName is required: the disk to snapshot",
      },
    ];
  }
  return [];
}

/** CDI names a DataVolume's claim after it. */
const claimOf = (i: Partial<VirtualDiskSnapshotInputs>) =>
  i.persistentVolumeClaimName ?? i.dataVolumeName ?? null;

/** Done = readyToUse. CSI's status.error is retried by the snapshotter, so it fails only after our deadline. */
export function readVolumeSnapshot(
  o: KubeObject,
  inputs: Partial<VirtualDiskSnapshotInputs>,
  now = Date.now(),
): Reading {
  const status = o.status ?? {};
  if (status.readyToUse === true) {
    const message = status.restoreSize ? `restore size ${status.restoreSize}` : "";
    return { phase: "Ready", reason: "ReadyToUse", message, verdict: { state: "ready" } };
  }
  const phase = status.creationTime || status.boundVolumeSnapshotContentName ? "InProgress" : "Pending";
  const error: string | undefined = status.error?.message;
  if (!error) {
    const message = phase === "InProgress" ? "the snapshot is cut; waiting until it is ready to use" : "";
    return { phase, reason: "", message, verdict: { state: "waiting" } };
  }
  const seconds = inputs.failureDeadlineSeconds ?? DEFAULT_FAILURE_DEADLINE_SECONDS;
  const left = seconds ? Date.parse(o.metadata.creationTimestamp ?? "") + seconds * 1000 - now : Infinity;
  if (left <= 0) {
    const message = `${error} (the snapshot still reported this error ${seconds}s after it was created: failureDeadlineSeconds)`;
    return {
      phase: "Failed",
      reason: "SnapshotError",
      message,
      verdict: { state: "failed", reason: "SnapshotError", message },
    };
  }
  return {
    phase,
    reason: "Error",
    message: error,
    verdict: { state: "waiting" },
    // Wake when the deadline passes, even if the snapshotter writes nothing more.
    ...(Number.isFinite(left) ? { recheckInMs: left + 10 } : {}),
  };
}

/** Waits until the disk can be snapshotted: a DataVolume populated, its claim bound. */
async function prepare(ctx: KindContext, i: VirtualDiskSnapshotInputs): Promise<void> {
  const seconds = i.waitTimeoutSeconds ?? DEFAULT_WAIT_TIMEOUT_SECONDS;
  if (i.dataVolumeName) {
    const ref = { api: dataVolumeKind, namespace: ctx.namespace, name: i.dataVolumeName };
    await prerequisite(ctx, ref, seconds, (dv) => {
      if (!dv) return { fail: `${describe(ref)} (dataVolumeName) does not exist` };
      if (dv.status?.phase === "Succeeded") return { done: true };
      return { waiting: `${describe(ref)} is ${dv.status?.phase || "not started"}, not populated yet` };
    });
  }
  const ref = { api: persistentVolumeClaimKind, namespace: ctx.namespace, name: claimOf(i)! };
  const field = i.dataVolumeName ? "the claim of dataVolumeName" : "persistentVolumeClaimName";
  await prerequisite(ctx, ref, seconds, (pvc) => {
    if (!pvc) return { fail: `${describe(ref)} (${field}) does not exist` };
    if (pvc.status?.phase === "Bound") return { done: true };
    return {
      waiting: `${describe(ref)} is ${pvc.status?.phase || "Pending"}; a snapshot needs a bound claim`,
    };
  });
}

export const virtualDiskSnapshot: KindDescription<VirtualDiskSnapshotInputs> = {
  id: "kubevirt:VirtualDiskSnapshot",
  api: volumeSnapshotKind,
  inputs: {
    persistentVolumeClaimName: objectName("persistentVolumeClaimName").optional(),
    dataVolumeName: objectName("dataVolumeName").optional(),
    volumeSnapshotClassName: objectName("volumeSnapshotClassName").optional(),
    failureDeadlineSeconds: z
      .number({ error: "failureDeadlineSeconds must be a number of seconds" })
      .int("failureDeadlineSeconds must be a whole number of seconds")
      .min(0, "failureDeadlineSeconds must be 0 (no deadline) or more")
      .max(86_400, "failureDeadlineSeconds must be at most 86400 (24 hours)")
      .default(DEFAULT_FAILURE_DEADLINE_SECONDS),
  },
  spec: (i) => ({
    source: { persistentVolumeClaimName: claimOf(i) },
    ...(i.volumeSnapshotClassName ? { volumeSnapshotClassName: i.volumeSnapshotClassName } : {}),
  }),
  // The deadline only steers the provider's wait: changing it never takes a new snapshot.
  updatableInputs: ["failureDeadlineSeconds"],
  check: diskFailures,
  read: (o, i) => readVolumeSnapshot(o, i),
  prepare,
  outputs: (o, i) => {
    const status = o?.status ?? {};
    return {
      readyToUse: status.readyToUse === true,
      claimName: claimOf(i),
      creationTime: status.creationTime ?? null,
      restoreSize: status.restoreSize ?? null,
      boundVolumeSnapshotContentName: status.boundVolumeSnapshotContentName ?? null,
      error: status.error?.message ?? null,
      dataSource: { apiGroup: "snapshot.storage.k8s.io", kind: "VolumeSnapshot", name: i.name },
      dataVolumeSource: { snapshot: { namespace: i.namespace, name: i.name } },
    };
  },
};

const OUTPUTS = [
  "readyToUse",
  "claimName",
  "creationTime",
  "restoreSize",
  "boundVolumeSnapshotContentName",
  "error",
  "dataSource",
  "dataVolumeSource",
];

export class VirtualDiskSnapshot extends PlatformResource {
  /** Pending, InProgress, Ready, or Failed (an error past failureDeadlineSeconds). */
  declare readonly phase: pulumi.Output<string>;
  declare readonly readyToUse: pulumi.Output<boolean>;
  /** The PersistentVolumeClaim snapshotted (a DataVolume's claim has the DataVolume's name). */
  declare readonly claimName: pulumi.Output<string>;
  declare readonly creationTime: pulumi.Output<string | null>;
  declare readonly restoreSize: pulumi.Output<string | null>;
  declare readonly boundVolumeSnapshotContentName: pulumi.Output<string | null>;
  /** The CSI snapshotter's last error. */
  declare readonly error: pulumi.Output<string | null>;
  /** For a new PersistentVolumeClaim's spec.dataSource (or dataSourceRef). */
  declare readonly dataSource: pulumi.Output<{ apiGroup: string; kind: "VolumeSnapshot"; name: string }>;
  /** For a new DataVolume's spec.source. */
  declare readonly dataVolumeSource: pulumi.Output<{ snapshot: { namespace: string; name: string } }>;

  constructor(name: string, args: VirtualDiskSnapshotArgs, opts?: pulumi.CustomResourceOptions) {
    super(virtualDiskSnapshot.id, OUTPUTS, name, args, opts);
  }
}
