// The three Deckhouse APIs that restore a VirtualMachineSnapshot: what each can do, the spec each takes, how to
// read each one's status, and which of them a cluster offers for a restore.
import type { Json, KindContext, Reading } from "../core/kind";
import { serves, type ApiKind, type KubeObject } from "../kube/objects";
import { deckhouseKind } from "./api";
import { conditionOf, isStale } from "./conditions";

export const RESTORE_MODES = ["Strict", "BestEffort", "DryRun", "Safe", "Forced"] as const;
export type RestoreMode = (typeof RESTORE_MODES)[number];

export const RESTORE_API_KINDS = [
  "VirtualMachineOperation",
  "VirtualMachineSnapshotOperation",
  "VirtualMachineRestore",
] as const;
export type RestoreApiKind = (typeof RESTORE_API_KINDS)[number];

/** In place: the snapshot's VM gets its state back. New names: a new VM and disks are made from the snapshot. */
export type Placement = "in place" | "into new names";

export interface NameReplacement {
  from: { kind?: string; name: string };
  to: string;
}

/** Everything a restore sends, resolved from the inputs and the snapshot. */
export interface RestoreRequest {
  virtualMachineSnapshotName: string;
  /** The platform's own mode word for the chosen API. */
  platformMode: string;
  /** The VM restored in place (the snapshot's VM). */
  virtualMachineName: string;
  /** As the chosen API takes them: VirtualMachineRestore gets namePrefix/nameSuffix spelled out here. */
  nameReplacements: NameReplacement[];
  namePrefix?: string;
  nameSuffix?: string;
}

/** One object of a restore and what happened to it. */
export type ResourceResult = {
  kind: string;
  name: string;
  status: string;
  message: string;
};

export interface RestoreApi {
  kind: RestoreApiKind;
  api: ApiKind;
  /** Which Deckhouse virtualization releases serve it, for messages. */
  releases: string;
  /** The platform's mode for each of the user's modes; a mode missing here is refused (see refusal()). */
  modes: Record<Placement, Partial<Record<RestoreMode, string>>>;
  spec(request: RestoreRequest): Record<string, Json>;
  read(object: KubeObject): Reading;
  /** Phases in which the platform is changing the VM, so deleting the record now is unsafe. */
  underway(object: KubeObject): boolean;
}

const replacements = (r: RestoreRequest) =>
  r.nameReplacements.map(({ from, to }) => ({
    from: { ...(from.kind ? { kind: from.kind } : {}), name: from.name },
    to,
  }));

/** VirtualMachineOperation and VirtualMachineSnapshotOperation share a status: phase, Completed, resources. */
function readOperation(o: KubeObject): Reading {
  const phase: string = o.status?.phase ?? "";
  const completed = conditionOf(o, "Completed");
  const reading = { phase, reason: completed?.reason ?? "", message: completed?.message ?? "" };
  if (isStale(o)) return { ...reading, verdict: { state: "waiting" } };
  if (phase === "Completed") return { ...reading, verdict: { state: "ready" } };
  if (phase === "Failed" || phase === "Superseded") {
    // The condition says "check the status"; the objects that failed and why are in status.resources.
    const failed = resultsOf(o)
      .filter((r) => r.status === "Failed")
      .map((r) => `${r.kind} "${r.name}": ${r.message}`);
    const message = [completed?.message || `the operation is ${phase}`, ...failed].join("; ");
    return { ...reading, verdict: { state: "failed", reason: completed?.reason || phase, message } };
  }
  return { ...reading, verdict: { state: "waiting" } };
}

/** ≤ v1.8.x: a restore whose snapshot does not exist stays Pending forever; this reads that as a failure. */
function readVirtualMachineRestore(o: KubeObject): Reading {
  const phase: string = o.status?.phase ?? "";
  const ready = conditionOf(o, "VirtualMachineRestoreReady");
  const snapshot = conditionOf(o, "VirtualMachineSnapshotReadyToUse");
  const reading = { phase, reason: ready?.reason ?? "", message: ready?.message ?? "" };
  if (isStale(o)) return { ...reading, verdict: { state: "waiting" } };
  if (phase === "Ready") return { ...reading, verdict: { state: "ready" } };
  if (phase === "Failed") {
    const message = ready?.message || "the controller set phase Failed without a message";
    return { ...reading, verdict: { state: "failed", reason: ready?.reason || "Failed", message } };
  }
  if (snapshot?.status === "False" && snapshot.reason === "VirtualMachineSnapshotNotFound") {
    const message =
      `${snapshot.message || "The virtual machine snapshot was not found."} A VirtualMachineRestore waits for ` +
      `its snapshot forever: create the snapshot first, or set virtualMachineSnapshotName to an existing one.`;
    return {
      phase,
      reason: snapshot.reason,
      message,
      verdict: { state: "failed", reason: snapshot.reason, message },
    };
  }
  return { ...reading, verdict: { state: "waiting" } };
}

export const RESTORE_APIS: Record<RestoreApiKind, RestoreApi> = {
  VirtualMachineOperation: {
    kind: "VirtualMachineOperation",
    api: deckhouseKind("VirtualMachineOperation", "virtualmachineoperations"),
    releases: "recognised on Deckhouse virtualization v1.2.0 and later; its Restore type came in v1.1.0",
    modes: {
      // Restore replaces the VM's objects in place, which is what Forced did.
      "in place": { Strict: "Strict", BestEffort: "BestEffort", DryRun: "DryRun", Forced: "Strict" },
      "into new names": {},
    },
    spec: (r) => ({
      type: "Restore",
      virtualMachineName: r.virtualMachineName,
      restore: { mode: r.platformMode, virtualMachineSnapshotName: r.virtualMachineSnapshotName },
    }),
    read: readOperation,
    underway: (o) => o.status?.phase === "InProgress",
  },
  VirtualMachineSnapshotOperation: {
    kind: "VirtualMachineSnapshotOperation",
    api: deckhouseKind("VirtualMachineSnapshotOperation", "virtualmachinesnapshotoperations"),
    releases: "Deckhouse virtualization v1.2.0 and later",
    modes: {
      "in place": {},
      // It never overwrites an existing object, which is what Safe did.
      "into new names": { Strict: "Strict", BestEffort: "BestEffort", DryRun: "DryRun", Safe: "Strict" },
    },
    spec: (r) => ({
      type: "CreateVirtualMachine",
      virtualMachineSnapshotName: r.virtualMachineSnapshotName,
      createVirtualMachine: {
        mode: r.platformMode,
        // The CRD spells it in the singular, unlike VirtualMachineRestore and the user guide.
        ...(r.nameReplacements.length ? { nameReplacement: replacements(r) } : {}),
        ...(r.namePrefix || r.nameSuffix
          ? {
              customization: {
                ...(r.namePrefix ? { namePrefix: r.namePrefix } : {}),
                ...(r.nameSuffix ? { nameSuffix: r.nameSuffix } : {}),
              },
            }
          : {}),
      },
    }),
    read: readOperation,
    underway: (o) => o.status?.phase === "InProgress",
  },
  VirtualMachineRestore: {
    kind: "VirtualMachineRestore",
    api: {
      ...deckhouseKind("VirtualMachineRestore", "virtualmachinerestores"),
      enableHint: "it was removed in Deckhouse virtualization v1.9.0; use api: auto to pick its successor",
    },
    releases: "Deckhouse virtualization v0.14.0 to v1.8.x",
    modes: {
      // In place the VM exists, and only Forced overwrites it; under new names Safe refuses any clash.
      "in place": { Strict: "Forced", Forced: "Forced", Safe: "Safe" },
      "into new names": { Strict: "Safe", Safe: "Safe", Forced: "Forced" },
    },
    spec: (r) => ({
      virtualMachineSnapshotName: r.virtualMachineSnapshotName,
      restoreMode: r.platformMode,
      ...(r.nameReplacements.length ? { nameReplacements: replacements(r) } : {}),
    }),
    read: readVirtualMachineRestore,
    // Forced mode stops the VM and recreates its disks while the restore still says Pending.
    underway: (o) =>
      o.status?.phase === "InProgress" ||
      (o.status?.phase === "Pending" &&
        ["VirtualMachineIsNotStopped", "VirtualMachineResourcesAreNotReady"].includes(
          conditionOf(o, "VirtualMachineRestoreReady")?.reason ?? "",
        )),
  },
};

/** Why an API cannot do what is asked, or undefined when it can. */
export function refusal(kind: RestoreApiKind, mode: RestoreMode, placement: Placement): string | undefined {
  if (RESTORE_APIS[kind].modes[placement][mode]) return undefined;
  if (kind === "VirtualMachineOperation" && placement === "into new names") {
    return "VirtualMachineOperation restores in place only (its Clone type copies the VM as it is now, not a snapshot)";
  }
  if (kind === "VirtualMachineSnapshotOperation" && placement === "in place") {
    return "VirtualMachineSnapshotOperation only creates a VM under new names: set nameReplacements, namePrefix or nameSuffix";
  }
  if (kind === "VirtualMachineRestore")
    return `VirtualMachineRestore has no ${mode} mode (only Safe and Forced)`;
  if (mode === "Safe") {
    return "mode Safe never overwrites existing objects, and a VirtualMachineOperation Restore overwrites the VM in place";
  }
  return "mode Forced overwrites existing objects, and a VirtualMachineSnapshotOperation never does";
}

/** The per-object results an operation reports (VirtualMachineRestore reports none). */
export const resultsOf = (o: KubeObject): ResourceResult[] =>
  (o.status?.resources ?? []).map((r: any) => ({
    kind: String(r.kind ?? ""),
    name: String(r.name ?? ""),
    status: String(r.status ?? ""),
    message: String(r.message ?? ""),
  }));

/** For auto: the newest API first. */
const PREFERENCE: Record<Placement, RestoreApiKind[]> = {
  "in place": ["VirtualMachineOperation", "VirtualMachineRestore"],
  "into new names": ["VirtualMachineSnapshotOperation", "VirtualMachineRestore"],
};

/** The newest API the cluster serves that can do the restore (or the one the user named, if it can). */
export async function chooseApi(
  ctx: KindContext,
  api: "auto" | RestoreApiKind,
  mode: RestoreMode,
  placement: Placement,
): Promise<RestoreApiKind> {
  const why: string[] = [];
  for (const kind of api === "auto" ? PREFERENCE[placement] : [api]) {
    const refused = refusal(kind, mode, placement);
    if (refused) {
      why.push(refused);
      continue;
    }
    // VirtualMachineOperation predates its Restore type (v1.1.0); VirtualMachineSnapshotOperation (v1.2.0) proves it.
    const probe =
      RESTORE_APIS[kind === "VirtualMachineOperation" ? "VirtualMachineSnapshotOperation" : kind].api;
    if (await serves(ctx.cluster, probe, ctx.signal)) return kind;
    why.push(`this cluster does not serve ${kind} (${RESTORE_APIS[kind].releases})`);
  }
  // No Deckhouse kind at all (VirtualMachineSnapshot is served by every release): the module is off.
  if (
    !(await serves(
      ctx.cluster,
      deckhouseKind("VirtualMachineSnapshot", "virtualmachinesnapshots"),
      ctx.signal,
    ))
  ) {
    throw new Error(
      "The cluster does not serve virtualization.deckhouse.io/v1alpha2 (no VirtualMachineOperation or " +
        'VirtualMachineRestore to restore with): enable the Deckhouse "virtualization" module (or point ' +
        "kubeconfig/context at a cluster that has it).",
    );
  }
  throw new Error(
    `No restore API of this cluster can restore ${placement} with mode ${mode}: ${why.join("; ")}.`,
  );
}
