// deckhouse.VirtualMachineRestore: "restore VM snapshot S", in place or into new names, on every Deckhouse
// virtualization release. The API is chosen per cluster (restoreApis.ts) and recorded, so later runs read the
// same object; the restore runs once, and a record the platform garbage-collects keeps its outcome.
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import {
  DEFAULT_DELETE_TIMEOUT_SECONDS,
  DEFAULT_WAIT_TIMEOUT_SECONDS,
  objectName,
  type CheckFailure,
} from "../core/inputs";
import type { Json, KindContext, KindDescription, KindVariant } from "../core/kind";
import { PlatformResource, type SharedArgs } from "../core/resource";
import { describe, type KubeObject } from "../kube/objects";
import { waitLimit } from "../kube/abort";
import { observe } from "../kube/watch";
import {
  chooseApi,
  refusal,
  RESTORE_API_KINDS,
  RESTORE_APIS,
  RESTORE_MODES,
  resultsOf,
  type NameReplacement,
  type Placement,
  type ResourceResult,
  type RestoreApiKind,
  type RestoreMode,
  type RestoreRequest,
} from "./restoreApis";
import {
  deleteCreatedObjects,
  objectsOf,
  renamed,
  restoresUnderNewNames,
  spelledOut,
  type ObjectName,
} from "./restoredObjects";
import { virtualMachineSnapshot } from "./virtualMachineSnapshot";

export interface NameReplacementArgs {
  /** The object to rename: its name in the snapshot, and optionally its kind (VirtualMachine, VirtualDisk, ...). */
  from: pulumi.Input<{ kind?: pulumi.Input<string>; name: pulumi.Input<string> }>;
  /** Its new name (at most 59 characters). */
  to: pulumi.Input<string>;
}

export interface VirtualMachineRestoreArgs extends SharedArgs {
  /** The VirtualMachineSnapshot to restore, in the same namespace. */
  virtualMachineSnapshotName: pulumi.Input<string>;
  /** Restore into new names: rename objects of the snapshot. Without any renaming the VM is restored in place. */
  nameReplacements?: pulumi.Input<pulumi.Input<NameReplacementArgs>[]>;
  /** Restore into new names: put this before the VM's, disks', attachments' and Secret's names. */
  namePrefix?: pulumi.Input<string>;
  /** Restore into new names: put this after the VM's, disks', attachments' and Secret's names. */
  nameSuffix?: pulumi.Input<string>;
  /** Strict (default), BestEffort, DryRun, or the old API's Safe and Forced; see RESTORE.md for the mapping. */
  mode?: pulumi.Input<RestoreMode>;
  /** In place: the VM to restore. Default: the VM the snapshot was taken of (the only one it can restore). */
  virtualMachineName?: pulumi.Input<string>;
  /** auto (default): the newest API this cluster serves that can do the restore; or one API by its kind. */
  api?: pulumi.Input<"auto" | RestoreApiKind>;
  /** On delete, also delete the VM and disks this restore created under new names. Default false. */
  deleteRestoredResources?: pulumi.Input<boolean>;
  /** Delete the restore's record even while the platform is still restoring. Default false. */
  force?: pulumi.Input<boolean>;
}

export interface RestoreInputs {
  name: string;
  virtualMachineSnapshotName: string;
  nameReplacements?: NameReplacement[];
  namePrefix?: string;
  nameSuffix?: string;
  mode: RestoreMode;
  virtualMachineName?: string;
  api: "auto" | RestoreApiKind;
  deleteRestoredResources: boolean;
  force: boolean;
  waitTimeoutSeconds?: number;
  deleteTimeoutSeconds?: number;
}

/** What a restore records besides its inputs; the recorded apiKind decides the API on every later call. */
interface RestoreOutputs {
  apiKind?: RestoreApiKind;
  uid?: string | null;
  creationTimestamp?: string | null;
  resources?: ResourceResult[];
  restoredVirtualMachineName?: string | null;
  restoredVirtualDiskNames?: string[];
}

const RENAMABLE_KINDS = [
  "VirtualMachine",
  "VirtualDisk",
  "VirtualMachineIPAddress",
  "VirtualMachineMACAddress",
  "VirtualMachineBlockDeviceAttachment",
  "Secret",
] as const;

// The platform's CEL limits new names and affixes to 59 characters (room for its own suffixes).
const newName = objectName("the new name").max(59, "the new name must be at most 59 characters");
const affix = (what: string, pattern: RegExp, shape: string) =>
  z
    .string({ error: `${what} must be a string` })
    .min(1, `${what} must not be empty`)
    .max(59, `${what} must be at most 59 characters`)
    .regex(pattern, `${what} must be lowercase letters, digits, '-' and '.', ${shape}`);

/** Inputs that steer the provider, not the restore: changing one must not run the restore again. */
const STEERING = ["api", "force", "deleteRestoredResources"];

const placementOf = (i: RestoreInputs): Placement =>
  restoresUnderNewNames(i) ? "into new names" : "in place";

/** Combinations of inputs no restore can honour; core check validates each input alone. */
export function inputProblems(i: RestoreInputs): CheckFailure[] {
  const placement = placementOf(i);
  const problems: CheckFailure[] = [];
  if (placement === "into new names" && i.virtualMachineName) {
    problems.push({
      property: "virtualMachineName",
      reason:
        "virtualMachineName names the VM restored in place; a restore into new names takes the new VM's name " +
        "from nameReplacements, namePrefix or nameSuffix",
    });
  }
  if (i.api !== "auto") {
    const refused = refusal(i.api, i.mode, placement);
    const placementRefused = Object.keys(RESTORE_APIS[i.api].modes[placement]).length === 0;
    if (refused) problems.push({ property: placementRefused ? "api" : "mode", reason: refused });
  }
  return problems;
}

/** The snapshot once it is Ready: a restore of a snapshot still being taken waits for it, on every API. */
async function readySnapshot(ctx: KindContext, name: string, seconds: number): Promise<KubeObject> {
  const ref = { api: virtualMachineSnapshot.api, namespace: ctx.namespace, name };
  const timeout = waitLimit(seconds * 1000, ctx.signal);
  let phase = "";
  try {
    return await observe(
      { cluster: ctx.cluster, ...ref },
      undefined,
      (o) => {
        if (!o) {
          throw new Error(
            `virtualMachineSnapshotName: ${describe(ref)} does not exist; name a VirtualMachineSnapshot in namespace ${ctx.namespace}.`,
          );
        }
        const { verdict, phase: now } = virtualMachineSnapshot.read(o, {});
        if (verdict.state === "ready") return o;
        if (verdict.state === "failed") {
          throw new Error(
            `${describe(ref)} is ${now}: ${verdict.reason}: ${verdict.message}; a restore needs a Ready snapshot.`,
          );
        }
        if (now !== phase) {
          phase = now;
          ctx.say(`waiting for ${describe(ref)} to be Ready (it is ${phase || "new"})`);
        }
        return undefined;
      },
      timeout.signal,
    );
  } catch (e) {
    if (!timeout.timedOut) throw e;
    throw new Error(
      `${describe(ref)} is still ${phase || "not Ready"} after ${seconds}s; a restore needs a Ready snapshot ` +
        `(raise waitTimeoutSeconds to wait longer).`,
    );
  } finally {
    timeout.release();
  }
}

/** Decides everything a new restore sends: the API, the platform's mode, the VM and the names. */
async function plan(ctx: KindContext, i: RestoreInputs): Promise<KindVariant<any>> {
  const problems = inputProblems(i);
  if (problems.length) throw new Error(problems.map((p) => `${p.property}: ${p.reason}`).join("; "));
  const placement = placementOf(i);
  const kind = await chooseApi(ctx, i.api, i.mode, placement);
  const snapshot = await readySnapshot(
    ctx,
    i.virtualMachineSnapshotName,
    i.waitTimeoutSeconds ?? DEFAULT_WAIT_TIMEOUT_SECONDS,
  );
  const snapshotVm: string = snapshot.spec?.virtualMachineName;
  if (placement === "in place" && i.virtualMachineName && i.virtualMachineName !== snapshotVm) {
    throw new Error(
      `virtualMachineName: "${i.virtualMachineName}" is not the VM snapshot "${i.virtualMachineSnapshotName}" was ` +
        `taken of ("${snapshotVm}"); an in-place restore can only restore that VM. Leave virtualMachineName unset, ` +
        `or restore into new names with nameReplacements.`,
    );
  }
  const objects = objectsOf(snapshot);
  const old = kind === "VirtualMachineRestore";
  const request: RestoreRequest = {
    virtualMachineSnapshotName: i.virtualMachineSnapshotName,
    platformMode: RESTORE_APIS[kind].modes[placement][i.mode]!,
    virtualMachineName: i.virtualMachineName ?? snapshotVm,
    nameReplacements: old ? spelledOut(objects, i) : (i.nameReplacements ?? []),
    ...(old ? {} : { namePrefix: i.namePrefix, nameSuffix: i.nameSuffix }),
  };
  ctx.say(`restoring ${placement} with ${kind} (mode ${request.platformMode})`);
  const targets = objects.map((o) => ({ kind: o.kind, name: renamed(o, i) }));
  return restoreVariant(kind, targets, request);
}

/**
 * One API's variant. `targets` are the objects the restore addresses, for VirtualMachineRestore, which reports
 * none itself. Without a request (a recorded restore being read, updated or deleted) it is never sent again.
 */
function restoreVariant(
  kind: RestoreApiKind,
  targets: ObjectName[],
  request?: RestoreRequest,
): KindVariant<any> {
  const api = RESTORE_APIS[kind];
  return {
    api: api.api,
    spec: () => {
      // A restore that already ran is only read, updated or deleted; the core sends a spec on create only.
      if (!request) throw new Error(`a ${kind} that already ran is never sent again`);
      return api.spec(request);
    },
    read: (o) => api.read(o),
    outputs: (o, inputs: RestoreInputs & RestoreOutputs) => {
      if (!o) return recorded(kind, inputs);
      const reading = api.read(o);
      const results =
        kind === "VirtualMachineRestore"
          ? restoreResults(targets, reading.phase, reading.message)
          : resultsOf(o);
      const restored = reading.verdict.state === "ready" && inputs.mode !== "DryRun" ? results : [];
      return {
        apiKind: kind,
        resources: results,
        restoredVirtualMachineName: restored.find((r) => r.kind === "VirtualMachine")?.name ?? null,
        restoredVirtualDiskNames: restored.filter((r) => r.kind === "VirtualDisk").map((r) => r.name),
      };
    },
  };
}

const recorded = (kind: RestoreApiKind, p: RestoreOutputs): Record<string, Json> => ({
  apiKind: kind,
  resources: p.resources ?? [],
  restoredVirtualMachineName: p.restoredVirtualMachineName ?? null,
  restoredVirtualDiskNames: p.restoredVirtualDiskNames ?? [],
});

/** VirtualMachineRestore's outcome per object: its one message names the object it is about. */
function restoreResults(targets: ObjectName[], phase: string, message: string): ResourceResult[] {
  const status = phase === "Ready" ? "Completed" : phase === "Failed" ? "Failed" : "InProgress";
  return targets.map((t) => ({
    ...t,
    status,
    message: status === "Failed" && message.includes(`"${t.name}"`) ? message : "",
  }));
}

export const virtualMachineRestore: KindDescription<any> = {
  id: "deckhouse:VirtualMachineRestore",
  // The newest API stands for the kind where no cluster is at hand; variant() always picks the concrete one.
  ...restoreVariant("VirtualMachineOperation", []),
  inputs: {
    virtualMachineSnapshotName: objectName("virtualMachineSnapshotName"),
    nameReplacements: z
      .array(
        z.strictObject({
          from: z.strictObject({
            kind: z.enum(RENAMABLE_KINDS).optional(),
            name: objectName("the name to replace"),
          }),
          to: newName,
        }),
        { error: "nameReplacements must be a list of { from: { kind, name }, to }" },
      )
      .optional(),
    namePrefix: affix("namePrefix", /^[a-z0-9][-a-z0-9.]*$/, "starting with a letter or digit").optional(),
    nameSuffix: affix("nameSuffix", /^[-a-z0-9.]*[a-z0-9]$/, "ending with a letter or digit").optional(),
    mode: z.enum(RESTORE_MODES).default("Strict"),
    virtualMachineName: objectName("virtualMachineName").optional(),
    api: z.enum(["auto", ...RESTORE_API_KINDS]).default("auto"),
    deleteRestoredResources: z
      .boolean({ error: "deleteRestoredResources must be true or false" })
      .default(false),
    force: z.boolean({ error: "force must be true or false" }).default(false),
  },
  updatableInputs: STEERING,
  check: inputProblems,
  oneShot: true,
  async variant(ctx, props: RestoreInputs & RestoreOutputs) {
    if (props.apiKind) {
      return restoreVariant(
        props.apiKind,
        (props.resources ?? []).map(({ kind, name }) => ({ kind, name })),
      );
    }
    return plan(ctx, props);
  },
  beforeDelete(_ctx, object, props: RestoreInputs) {
    const api = object && RESTORE_APIS[object.kind as RestoreApiKind];
    if (!api || props.force || !api.underway(object)) return;
    const { phase, reason, message } = api.read(object);
    throw new Error(
      `${object.kind} ${object.metadata.namespace}/${object.metadata.name} is still ${phase}` +
        `${reason ? ` (${reason}${message ? `: ${message}` : ""})` : ""}: deleting a restore while the platform ` +
        `runs it can leave the VM half restored, and nothing is rolled back. Wait for it to finish ("pulumi up" ` +
        `resumes waiting), or set "force: true", run "pulumi up", and delete it again.`,
    );
  },
  async afterDelete(ctx, props: RestoreInputs & RestoreOutputs) {
    if (!props.deleteRestoredResources || !props.uid || !props.creationTimestamp) return;
    if (!restoresUnderNewNames(props)) {
      ctx.say(
        "deleteRestoredResources: an in-place restore created no new VM or disks; nothing else is deleted",
      );
      return;
    }
    await deleteCreatedObjects(
      ctx,
      {
        virtualMachineName: props.restoredVirtualMachineName ?? null,
        virtualDiskNames: props.restoredVirtualDiskNames ?? [],
      },
      { uid: props.uid, creationTimestamp: props.creationTimestamp },
      props.deleteTimeoutSeconds ?? DEFAULT_DELETE_TIMEOUT_SECONDS,
    );
  },
};

export class VirtualMachineRestore extends PlatformResource {
  /** The platform's word: Completed or Failed (VirtualMachineOperation and VirtualMachineSnapshotOperation), Ready or Failed (VirtualMachineRestore). */
  declare readonly phase: pulumi.Output<string>;
  /** The API used: VirtualMachineOperation, VirtualMachineSnapshotOperation or VirtualMachineRestore. */
  declare readonly apiKind: pulumi.Output<RestoreApiKind>;
  /** Per object of the snapshot: what the restore did with it (or, for DryRun, would do). */
  declare readonly resources: pulumi.Output<ResourceResult[]>;
  /** The VM that exists because of the restore (null for DryRun). */
  declare readonly restoredVirtualMachineName: pulumi.Output<string | null>;
  /** The disks that exist because of the restore (empty for DryRun). */
  declare readonly restoredVirtualDiskNames: pulumi.Output<string[]>;

  constructor(name: string, args: VirtualMachineRestoreArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      virtualMachineRestore.id,
      ["apiKind", "resources", "restoredVirtualMachineName", "restoredVirtualDiskNames"],
      name,
      args,
      opts,
    );
  }
}
