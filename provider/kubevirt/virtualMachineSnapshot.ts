// kubevirt.VirtualMachineSnapshot: a snapshot of a KubeVirt VM's spec and disks (snapshot.kubevirt.io).
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { objectName } from "../core/inputs";
import type { KindDescription, Reading } from "../core/kind";
import { PlatformResource, type SharedArgs } from "../core/resource";
import type { KubeObject } from "../kube/objects";
import { servedAs, snapshotApi, snapshotKind } from "./api";
import { conditionOf, isTrue } from "./conditions";
import { goDuration } from "./duration";

export interface VirtualMachineSnapshotArgs extends SharedArgs {
  /** The kubevirt.io VirtualMachine to snapshot, in the same namespace. */
  virtualMachineName: pulumi.Input<string>;
  /** How long KubeVirt may take before it marks the snapshot Failed, e.g. "90s" or "1h"; "0" for none. Default "5m". */
  failureDeadline?: pulumi.Input<string>;
  /** Delete (default): the content and its VolumeSnapshots go with the snapshot. Retain: they stay. */
  deletionPolicy?: pulumi.Input<"Delete" | "Retain">;
  /** Fail instead of accepting a crash-consistent snapshot of a running VM without a guest agent. Default false. */
  requireGuestAgent?: pulumi.Input<boolean>;
}

export interface VirtualMachineSnapshotInputs {
  virtualMachineName: string;
  failureDeadline?: string;
  deletionPolicy?: "Delete" | "Retain";
  requireGuestAgent?: boolean;
  /** Recorded in outputs: the snapshot.kubevirt.io version the object was created with. */
  apiVersion?: string;
}

export const DEFAULT_FAILURE_DEADLINE = "5m"; // KubeVirt's DefaultFailureDeadline

/** The platform's indications: sourceIndications (v1.7+) and the deprecated `indications` list. */
export function indicationsOf(o: KubeObject | undefined): string[] {
  const named = (o?.status?.sourceIndications ?? []).map((i: { indication: string }) => i.indication);
  return [...new Set<string>([...named, ...(o?.status?.indications ?? [])])];
}

/** Indications that make an online snapshot crash-consistent even with a guest agent. */
const UNQUIESCED = ["Paused", "QuiesceTimeout", "QuiesceFailed"];

export interface Consistency {
  /** A VMI existed: the snapshot was taken while the VM ran. Null while not known yet. */
  online: boolean | null;
  guestAgent: boolean | null;
  /** Offline, or online and quiesced by the guest agent. Null while not known yet. */
  consistent: boolean | null;
  /** The same, in words, for progress lines. */
  summary: string;
}

export function consistencyOf(o: KubeObject | undefined): Consistency {
  const indications = indicationsOf(o);
  if (indications.includes("Online")) {
    const guestAgent = indications.includes("GuestAgent")
      ? true
      : indications.includes("NoGuestAgent")
        ? false
        : null;
    const unquiesced = UNQUIESCED.find((i) => indications.includes(i));
    const consistent = guestAgent === true && !unquiesced;
    const summary = consistent
      ? "online snapshot quiesced by the guest agent: application-consistent"
      : unquiesced === "Paused"
        ? "online snapshot of a paused VM: crash-consistent only"
        : unquiesced
          ? "online snapshot whose filesystem freeze failed or timed out: crash-consistent only"
          : "online snapshot without a guest agent: crash-consistent only";
    return { online: true, guestAgent, consistent, summary };
  }
  if (o?.status?.phase === "Succeeded") {
    return {
      online: false,
      guestAgent: null,
      consistent: true,
      summary: "offline snapshot of a stopped VM: consistent",
    };
  }
  return { online: null, guestAgent: null, consistent: null, summary: "" };
}

const sentence = (...parts: (string | false | undefined)[]) => parts.filter(Boolean).join("; ");

/** Done = Succeeded and ready to use; Succeeded alone only means the volumes are cut (KubeVirt >= v1.3). */
export function readSnapshot(o: KubeObject, inputs: Partial<VirtualMachineSnapshotInputs>): Reading {
  const phase: string = o.status?.phase ?? "";
  const error: string | undefined = o.status?.error?.message;
  const ready = conditionOf(o, "Ready");
  const consistency = consistencyOf(o);
  if (phase === "Failed") {
    const deadline = o.spec?.failureDeadline ?? DEFAULT_FAILURE_DEADLINE;
    const reason = conditionOf(o, "Failure")?.reason || "Failed";
    const message = sentence(
      `the snapshot did not complete within failureDeadline ${JSON.stringify(deadline)}`,
      error && `last error: ${error}`,
    );
    return { phase, reason, message, verdict: { state: "failed", reason, message } };
  }
  if (inputs.requireGuestAgent && consistency.online && consistency.guestAgent === false) {
    const reason = "NoGuestAgent";
    const message =
      `VirtualMachine ${o.metadata.namespace}/${o.spec?.source?.name} is running without a guest agent, so the ` +
      "snapshot would be crash-consistent only, and requireGuestAgent is true: start qemu-guest-agent in the VM, " +
      "stop the VM first, or set requireGuestAgent to false";
    return { phase, reason, message, verdict: { state: "failed", reason, message } };
  }
  const excluded: string[] = o.status?.snapshotVolumes?.excludedVolumes ?? [];
  const left = excluded.length > 0 && `volumes left out: ${excluded.join(", ")}`;
  if (phase === "Succeeded" && (o.status?.readyToUse === true || isTrue(ready))) {
    const message = sentence(consistency.summary, left);
    return { phase, reason: ready?.reason || "Ready", message, verdict: { state: "ready" } };
  }
  if (phase === "Succeeded") {
    const message = sentence("the volumes are cut; waiting until they are ready to use", error);
    return { phase, reason: ready?.reason || "Not ready", message, verdict: { state: "waiting" } };
  }
  const progressing = conditionOf(o, "Progressing");
  const message = sentence(error && `error: ${error}`, consistency.summary);
  return { phase, reason: progressing?.reason ?? "", message, verdict: { state: "waiting" } };
}

const api = snapshotKind("VirtualMachineSnapshot", "virtualmachinesnapshots");

export const virtualMachineSnapshot: KindDescription<VirtualMachineSnapshotInputs> = {
  id: "kubevirt:VirtualMachineSnapshot",
  api,
  inputs: {
    virtualMachineName: objectName("virtualMachineName"),
    failureDeadline: goDuration("failureDeadline").default(DEFAULT_FAILURE_DEADLINE),
    deletionPolicy: z.enum(["Delete", "Retain"]).default("Delete"),
    requireGuestAgent: z.boolean({ error: "requireGuestAgent must be true or false" }).default(false),
  },
  spec: (i) => ({
    source: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: i.virtualMachineName },
    ...(i.failureDeadline !== undefined ? { failureDeadline: i.failureDeadline } : {}),
    // Left out when Delete, as KubeVirt reads nil (and the console writes nothing), so such snapshots adopt cleanly.
    ...(i.deletionPolicy === "Retain" ? { deletionPolicy: "Retain" } : {}),
  }),
  read: readSnapshot,
  outputs: (o) => {
    const { online, guestAgent, consistent } = consistencyOf(o);
    const status = o?.status ?? {};
    return {
      readyToUse: status.readyToUse === true,
      online,
      guestAgent,
      consistent,
      indications: indicationsOf(o),
      virtualMachineSnapshotContentName: status.virtualMachineSnapshotContentName ?? null,
      sourceUID: status.sourceUID ?? null,
      creationTime: status.creationTime ?? null,
      includedVolumes: status.snapshotVolumes?.includedVolumes ?? [],
      excludedVolumes: status.snapshotVolumes?.excludedVolumes ?? [],
      error: status.error?.message ?? null,
    };
  },
  variant: async (ctx, props) =>
    servedAs(virtualMachineSnapshot, await snapshotApi(ctx, props.apiVersion, api.kind, api.plural)),
};

const OUTPUTS = [
  "readyToUse",
  "online",
  "guestAgent",
  "consistent",
  "indications",
  "virtualMachineSnapshotContentName",
  "sourceUID",
  "creationTime",
  "includedVolumes",
  "excludedVolumes",
  "error",
  "apiVersion",
];

export class VirtualMachineSnapshot extends PlatformResource {
  /** InProgress, Succeeded or Failed (Deleting while deleted unfinished). */
  declare readonly phase: pulumi.Output<string>;
  declare readonly readyToUse: pulumi.Output<boolean>;
  /** Taken while the VM ran. */
  declare readonly online: pulumi.Output<boolean | null>;
  /** For an online snapshot: whether the guest agent was connected to quiesce the filesystem. */
  declare readonly guestAgent: pulumi.Output<boolean | null>;
  /** Offline, or online and quiesced by the guest agent; false means crash-consistent only. */
  declare readonly consistent: pulumi.Output<boolean | null>;
  /** KubeVirt's indications: Online, GuestAgent, NoGuestAgent, Paused, QuiesceTimeout, PartialSnapshot... */
  declare readonly indications: pulumi.Output<string[]>;
  declare readonly virtualMachineSnapshotContentName: pulumi.Output<string | null>;
  /** The UID of the VM when it was snapshotted (a restore in place must target that same VM). */
  declare readonly sourceUID: pulumi.Output<string | null>;
  declare readonly creationTime: pulumi.Output<string | null>;
  /** The VM volumes the snapshot holds. */
  declare readonly includedVolumes: pulumi.Output<string[]>;
  /** Volumes left out (no VolumeSnapshotClass for their storage class, or not snapshottable). */
  declare readonly excludedVolumes: pulumi.Output<string[]>;
  /** The last error KubeVirt reported (not final before the failureDeadline). */
  declare readonly error: pulumi.Output<string | null>;
  declare readonly apiVersion: pulumi.Output<string>;

  constructor(name: string, args: VirtualMachineSnapshotArgs, opts?: pulumi.CustomResourceOptions) {
    super(virtualMachineSnapshot.id, OUTPUTS, name, args, opts);
  }
}
