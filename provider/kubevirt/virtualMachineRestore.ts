// kubevirt.VirtualMachineRestore: restores a VirtualMachineSnapshot onto its VM, or into a new VM.
// A one-shot operation: once complete, KubeVirt may garbage-collect it with its VM, and the outcome stays.
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { DEFAULT_DELETE_TIMEOUT_SECONDS, DEFAULT_WAIT_TIMEOUT_SECONDS, objectName } from "../core/inputs";
import type { KindContext, KindDescription, Reading } from "../core/kind";
import { PlatformResource, type SharedArgs } from "../core/resource";
import { deleteObject, describe, getObject, type KubeObject, type ObjectRef } from "../kube/objects";
import { persistentVolumeClaimKind, servedAs, snapshotApi, snapshotKind, virtualMachineKind } from "./api";
import { conditionOf, isTrue } from "./conditions";
import { patchList, patchText, type PatchOperation } from "./patches";
import { prerequisite } from "./prerequisites";

export type TargetReadinessPolicy = "WaitGracePeriod" | "StopTarget" | "FailImmediate" | "WaitEventually";

export interface VirtualMachineRestoreArgs extends SharedArgs {
  /** The VirtualMachineSnapshot to restore, in the same namespace; the restore waits until it is ready to use. */
  virtualMachineSnapshotName: pulumi.Input<string>;
  /** The snapshot's own VM (restore in place), or a name no VM has yet (restore into a new VM). */
  targetName: pulumi.Input<string>;
  /**
   * What to do while the target VM runs: WaitGracePeriod (default: wait 5 minutes for it to be stopped, then
   * fail), StopTarget (stop it), FailImmediate, or WaitEventually (wait as long as it takes).
   */
  targetReadinessPolicy?: pulumi.Input<TargetReadinessPolicy>;
  /** RandomizeNames (default): new claims `restore-<uid>-<volume>`; InPlace: replace the original claims; PrefixTargetName (KubeVirt >= v1.8): `<target>-<volume>`. */
  volumeRestorePolicy?: pulumi.Input<"RandomizeNames" | "InPlace" | "PrefixTargetName">;
  /** Vm (default): the restored claims belong to the target VM; None: they have no owner (KubeVirt >= v1.7). */
  volumeOwnershipPolicy?: pulumi.Input<"Vm" | "None">;
  /** JSON-patch operations applied to a new VM (only under /spec/, /metadata/labels/, /metadata/annotations/). */
  patches?: pulumi.Input<pulumi.Input<string | PatchOperation>[]>;
  /** On delete, also delete the VM this restore created (never a VM that existed before). Default false. */
  deleteRestoredResources?: pulumi.Input<boolean>;
}

export interface VirtualMachineRestoreInputs {
  name: string;
  virtualMachineSnapshotName: string;
  targetName: string;
  targetReadinessPolicy?: TargetReadinessPolicy;
  volumeRestorePolicy?: string;
  volumeOwnershipPolicy?: string;
  patches?: (string | PatchOperation)[];
  deleteRestoredResources?: boolean;
  waitTimeoutSeconds?: number;
  deleteTimeoutSeconds?: number;
  /** Recorded in outputs: the snapshot.kubevirt.io version the object was created with. */
  apiVersion?: string;
  /** Recorded in outputs: no VM of targetName existed when the restore was created. */
  targetCreated?: boolean;
  /** Recorded in outputs: the restore's and the target VM's UIDs, and the claims it restored. */
  uid?: string | null;
  targetUID?: string | null;
  restores?: { persistentVolumeClaim: string }[];
}

/** KubeVirt's reasons while the target VM still runs (v1.5 and later wordings). */
const WAITING_FOR_TARGET = /^(Waiting for target|Automatically stopping restore target)/;

const targetOf = (o: KubeObject): string => o.spec?.target?.name ?? "";

/** Done = status.complete; failed = a Failure condition (target readiness, v1.5+); any other error is retried by KubeVirt. */
export function readRestore(o: KubeObject, inputs: Partial<VirtualMachineRestoreInputs>): Reading {
  const progressing = conditionOf(o, "Progressing");
  const ready = conditionOf(o, "Ready");
  const failure = conditionOf(o, "Failure");
  if (o.status?.complete === true) {
    const volumes = (o.status.restores ?? []).length;
    const message = `restored ${volumes} volume(s) into VirtualMachine ${o.metadata.namespace}/${targetOf(o)}`;
    return {
      phase: "Complete",
      reason: ready?.reason || "Operation complete",
      message,
      verdict: { state: "ready" },
    };
  }
  if (isTrue(failure)) {
    const policy = o.spec?.targetReadinessPolicy ?? inputs.targetReadinessPolicy ?? "WaitGracePeriod";
    const reason = "Failure";
    const hint =
      /target/i.test(failure!.reason ?? "") && policy !== "StopTarget"
        ? ` (targetReadinessPolicy is ${policy}: stop VirtualMachine ${o.metadata.namespace}/${targetOf(o)} first, ` +
          "or set targetReadinessPolicy to StopTarget to let the restore stop it)"
        : "";
    const message = `${failure!.reason || "KubeVirt set the Failure condition without a reason"}${hint}`;
    return { phase: "Failed", reason, message, verdict: { state: "failed", reason, message } };
  }
  const reason = progressing?.reason ?? ready?.reason ?? "";
  const waiting = (phase: string): Reading => ({ phase, reason, message: "", verdict: { state: "waiting" } });
  if (o.metadata.deletionTimestamp) return waiting("Deleting");
  if (!progressing) return waiting("");
  if (isTrue(progressing)) return waiting("InProgress");
  if (WAITING_FOR_TARGET.test(reason)) return waiting("WaitingForTarget");
  // Any other reason is an error KubeVirt retries with back-off, forever: only our timeout ends the wait.
  return waiting("Retrying");
}

const api = snapshotKind("VirtualMachineRestore", "virtualmachinerestores");
const vmRef = (namespace: string, name: string): ObjectRef => ({ api: virtualMachineKind, namespace, name });
const RESTORE_NAME_ANNOTATION = "restore.kubevirt.io/name";
const LAST_RESTORE_ANNOTATION = "restore.kubevirt.io/lastRestoreUID";

/** Waits until the snapshot can be restored, and refuses a target KubeVirt would refuse forever. */
async function prepare(ctx: KindContext, i: VirtualMachineRestoreInputs): Promise<void> {
  const vmsApi = await snapshotApi(ctx, undefined, "VirtualMachineSnapshot", "virtualmachinesnapshots");
  const ref = { api: vmsApi, namespace: ctx.namespace, name: i.virtualMachineSnapshotName };
  const snapshot = await prerequisite(ctx, ref, i.waitTimeoutSeconds ?? DEFAULT_WAIT_TIMEOUT_SECONDS, (o) => {
    if (!o) return { fail: `${describe(ref)} (virtualMachineSnapshotName) does not exist` };
    if (o.status?.phase === "Failed") {
      return {
        fail: `${describe(ref)} (virtualMachineSnapshotName) failed and cannot be restored; take a new snapshot`,
      };
    }
    if (o.status?.readyToUse === true) return { done: true };
    return { waiting: `${describe(ref)} is ${o.status?.phase || "not started"}, not ready to use yet` };
  });
  const target = await getObject(ctx.cluster, vmRef(ctx.namespace, i.targetName), ctx.signal);
  if (!target) return;
  const what = `VirtualMachine ${ctx.namespace}/${i.targetName} (targetName)`;
  if (i.patches?.length) {
    throw new Error(
      `${what} exists, and KubeVirt applies patches only to a VM the restore creates: remove "patches", ` +
        "or set targetName to a name no VM has yet",
    );
  }
  const sourceUID = snapshot?.status?.sourceUID;
  if (sourceUID && target.metadata.uid !== sourceUID) {
    throw new Error(
      `${what} exists but is not the VM ${describe(ref)} was taken of (its UID is ${target.metadata.uid}, the ` +
        `snapshot's source was ${sourceUID}); KubeVirt restores only onto the source VM itself or into a new VM, so ` +
        "set targetName to the source VM or to a name no VM has yet",
    );
  }
}

/** deleteRestoredResources: the VM this restore created, and claims it restored that nothing owns. */
async function deleteRestoredResources(ctx: KindContext, p: VirtualMachineRestoreInputs): Promise<void> {
  if (!p.deleteRestoredResources) return;
  const ref = vmRef(ctx.namespace, p.targetName);
  if (p.targetCreated !== true) {
    ctx.say(
      `keeping ${describe(ref)}: it existed before the restore (deleteRestoredResources only deletes new VMs)`,
    );
    return;
  }
  const vm = await getObject(ctx.cluster, ref, ctx.signal);
  if (vm) {
    const ours = p.targetUID
      ? vm.metadata.uid === p.targetUID
      : vm.metadata.annotations?.[LAST_RESTORE_ANNOTATION] === `${p.name}-${p.uid}`;
    if (!ours) {
      ctx.say(`keeping ${describe(ref)}: it is not the VM this restore created (it was replaced since)`);
      return;
    }
    ctx.say(`deleting ${describe(ref)}, which this restore created (deleteRestoredResources)`);
    if (await deleteObject(ctx.cluster, ref, ctx.signal)) {
      await prerequisite(ctx, ref, p.deleteTimeoutSeconds ?? DEFAULT_DELETE_TIMEOUT_SECONDS, (o) =>
        o ? { waiting: `${describe(ref)} is still being deleted` } : { done: true },
      );
    }
  }
  // With volumeOwnershipPolicy None nothing garbage-collects the restored claims.
  for (const restored of p.restores ?? []) {
    const claim = {
      api: persistentVolumeClaimKind,
      namespace: ctx.namespace,
      name: restored.persistentVolumeClaim,
    };
    const object = await getObject(ctx.cluster, claim, ctx.signal);
    if (object?.metadata.annotations?.[RESTORE_NAME_ANNOTATION] !== p.name) continue;
    ctx.say(`deleting ${describe(claim)}, which this restore created (deleteRestoredResources)`);
    await deleteObject(ctx.cluster, claim, ctx.signal);
  }
}

export const virtualMachineRestore: KindDescription<VirtualMachineRestoreInputs> = {
  id: "kubevirt:VirtualMachineRestore",
  api,
  oneShot: true,
  // Only decides what delete does: turning it on later must not run the restore again.
  updatableInputs: ["deleteRestoredResources"],
  inputs: {
    virtualMachineSnapshotName: objectName("virtualMachineSnapshotName"),
    targetName: objectName("targetName"),
    // Sent explicitly: KubeVirt >= v1.9 writes this default into the spec, so absent and default must agree.
    targetReadinessPolicy: z
      .enum(["WaitGracePeriod", "StopTarget", "FailImmediate", "WaitEventually"])
      .default("WaitGracePeriod"),
    volumeRestorePolicy: z.enum(["RandomizeNames", "InPlace", "PrefixTargetName"]).default("RandomizeNames"),
    volumeOwnershipPolicy: z.enum(["Vm", "None"]).default("Vm"),
    patches: patchList.optional(),
    deleteRestoredResources: z
      .boolean({ error: "deleteRestoredResources must be true or false" })
      .default(false),
  },
  spec: (i) => ({
    target: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: i.targetName },
    virtualMachineSnapshotName: i.virtualMachineSnapshotName,
    ...(i.targetReadinessPolicy ? { targetReadinessPolicy: i.targetReadinessPolicy } : {}),
    ...(i.volumeRestorePolicy ? { volumeRestorePolicy: i.volumeRestorePolicy } : {}),
    ...(i.volumeOwnershipPolicy ? { volumeOwnershipPolicy: i.volumeOwnershipPolicy } : {}),
    ...(i.patches?.length ? { patches: i.patches.map(patchText) } : {}),
  }),
  read: readRestore,
  outputs: (o) => ({
    complete: o?.status?.complete === true,
    restoreTime: o?.status?.restoreTime ?? null,
    restores: (o?.status?.restores ?? []).map((r: any) => ({
      volumeName: r.volumeName,
      persistentVolumeClaim: r.persistentVolumeClaim,
      volumeSnapshotName: r.volumeSnapshotName ?? null,
      dataVolumeName: r.dataVolumeName ?? null,
    })),
    // KubeVirt makes the target VM the restore's owner (so the restore goes when the VM is deleted).
    targetUID: o?.metadata.ownerReferences?.find((r) => r.kind === "VirtualMachine")?.uid ?? null,
  }),
  variant: async (ctx, props) => {
    const served = servedAs(
      virtualMachineRestore,
      await snapshotApi(ctx, props.apiVersion, api.kind, api.plural),
    );
    // Decided before the restore exists, so deleteRestoredResources can never take a VM that was there before.
    const targetCreated =
      props.targetCreated ??
      !(await getObject(ctx.cluster, vmRef(ctx.namespace, props.targetName), ctx.signal));
    return { ...served, outputs: (o, i) => ({ ...served.outputs(o, i), targetCreated }) };
  },
  prepare,
  beforeDelete: (ctx, object) => {
    if (object && object.status?.complete !== true) {
      ctx.say(
        `warning: deleting a restore that has not completed; KubeVirt rolls nothing back, so check ` +
          `VirtualMachine ${ctx.namespace}/${targetOf(object)}`,
      );
    }
  },
  afterDelete: deleteRestoredResources,
};

const OUTPUTS = ["complete", "restoreTime", "restores", "targetUID", "targetCreated", "apiVersion"];

export class VirtualMachineRestore extends PlatformResource {
  /** Complete or Failed once done; InProgress, WaitingForTarget or Retrying (an error KubeVirt retries) before. */
  declare readonly phase: pulumi.Output<string>;
  declare readonly complete: pulumi.Output<boolean>;
  declare readonly restoreTime: pulumi.Output<string | null>;
  /** Per restored volume: the new claim and the VolumeSnapshot it came from. */
  declare readonly restores: pulumi.Output<
    {
      volumeName: string;
      persistentVolumeClaim: string;
      volumeSnapshotName: string | null;
      dataVolumeName: string | null;
    }[]
  >;
  /** The UID of the VM restored into. */
  declare readonly targetUID: pulumi.Output<string | null>;
  /** The restore created the VM (targetName did not exist). */
  declare readonly targetCreated: pulumi.Output<boolean>;
  declare readonly apiVersion: pulumi.Output<string>;

  constructor(name: string, args: VirtualMachineRestoreArgs, opts?: pulumi.CustomResourceOptions) {
    super(virtualMachineRestore.id, OUTPUTS, name, args, opts);
  }
}
