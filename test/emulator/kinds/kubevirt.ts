// KubeVirt kinds (kubevirt.io, snapshot.kubevirt.io, cdi.kubevirt.io) as the emulator serves them: schema
// validation plus virt-api's validating webhooks for snapshots, restores and the VM locks they take.
import { isDeepStrictEqual } from "node:util";
import type { KubeObject, ObjectStore, ResourceType, StatusCause } from "../store";
import { admission, deniedBy, type Webhook } from "./admission";
import { parseGoDuration } from "./duration";
import {
  looseWorkloadSchema,
  virtualMachineRestoreSchema,
  virtualMachineSnapshotContentSchema,
  virtualMachineSnapshotSchema,
} from "./kubevirt-schemas";

const webhooks = {
  snapshot: "virtualmachinesnapshot-validator.snapshot.kubevirt.io",
  restore: "virtualmachinerestore-validator.snapshot.kubevirt.io",
  vm: "virtualmachine-validator.kubevirt.io",
};

/** virt-api answers causes with 422 Invalid, its message being their messages joined by ", ". */
const rejected = (webhook: string, causes: StatusCause[]) =>
  causes.length
    ? deniedBy(webhook, {
        code: 422,
        reason: "Invalid",
        message: causes.map((c) => c.message).join(", "),
        causes,
      })
    : undefined;
/** Any other failure of the webhook (decoding included) is a bare 400 with the Go error text. */
const failed = (webhook: string, message: string) => deniedBy(webhook, { code: 400, reason: "", message });

const cause = (reason: string, message: string, field: string): StatusCause => ({ reason, message, field });

/** The webhook's json.Unmarshal error, if spec.failureDeadline is not a Go duration. */
function decodingError(obj: KubeObject | undefined): string | undefined {
  const deadline = obj?.spec?.failureDeadline;
  if (typeof deadline !== "string") return undefined;
  try {
    parseGoDuration(deadline);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Go's equality.Semantic on a decoded spec: absent, null and empty lists/maps are all the same. */
function semantic(v: any): any {
  if (Array.isArray(v)) return v.length ? v.map(semantic) : undefined;
  if (v === null || typeof v !== "object") return v ?? undefined;
  const out: Record<string, any> = {};
  for (const [k, x] of Object.entries(v)) {
    const s = semantic(x);
    if (s !== undefined) out[k] = s;
  }
  return Object.keys(out).length ? out : undefined;
}

const specImmutable = [cause("FieldValueInvalid", "spec in immutable after creation", "spec")]; // sic

/** The source or target must be a kubevirt.io VirtualMachine. */
function referenceCauses(ref: any, field: string): StatusCause[] {
  if (ref?.apiGroup === undefined)
    return [cause("FieldValueNotFound", "missing apiGroup", `${field}.apiGroup`)];
  if (ref.apiGroup !== "kubevirt.io")
    return [cause("FieldValueInvalid", "invalid apiGroup", `${field}.apiGroup`)];
  if (ref.kind !== "VirtualMachine") return [cause("FieldValueInvalid", "invalid kind", `${field}.kind`)];
  return [];
}

export interface KubeVirtOptions {
  /** The `Snapshot` feature gate: Beta, on by default since v1.9.0 (default true). */
  snapshotFeatureGate?: boolean;
}

const snapshotWebhook =
  ({ snapshotFeatureGate = true }: KubeVirtOptions): Webhook =>
  (vms, old, op) => {
    if (op === "CREATE" && !snapshotFeatureGate)
      return failed(webhooks.snapshot, "snapshot feature gate not enabled");
    const undecodable = decodingError(vms) ?? decodingError(old);
    if (undecodable) return failed(webhooks.snapshot, undecodable);
    if (op === "CREATE") return rejected(webhooks.snapshot, referenceCauses(vms.spec?.source, "spec.source"));
    // "5m" and "300s" decode to the same metav1.Duration.
    const comparable = (spec: any) =>
      semantic({
        ...spec,
        failureDeadline: spec?.failureDeadline && String(parseGoDuration(spec.failureDeadline)),
      });
    return isDeepStrictEqual(comparable(old?.spec), comparable(vms.spec))
      ? undefined
      : rejected(webhooks.snapshot, specImmutable);
  };

/** Only paths under /spec/, /metadata/labels/ and /metadata/annotations/, checked on the raw text as virt-api does. */
function patchCauses(patches: string[] = []): StatusCause[] {
  const causes: StatusCause[] = [];
  for (const patch of patches) {
    for (const keyValue of patch.replace(/^[{}]+|[{}]+$/g, "").split(",")) {
      const parts = keyValue.split(":");
      if (parts.length !== 2) {
        causes.push(
          cause(
            "FieldValueInvalid",
            `patch format is not valid - one ":" expected in a single key-value json patch: ${keyValue}`,
            "spec.patches",
          ),
        );
        continue;
      }
      const [key, value] = parts.map((p) => p.trim());
      if (key !== '"path"') continue;
      if (value.startsWith('"/metadata/labels/') || value.startsWith('"/metadata/annotations/')) continue;
      if (!value.startsWith('"/spec/')) {
        causes.push(
          cause(
            "FieldValueInvalid",
            `patching is valid only for elements under /spec/ only: ${keyValue}`,
            "spec.patches",
          ),
        );
      }
    }
  }
  return causes;
}

/** A snapshotted VM with a persistent TPM or EFI needs backend storage, which cannot move to another VM. */
function needsBackendStorage(vm: any): boolean {
  const spec = vm?.spec?.template?.spec;
  return (
    spec?.domain?.devices?.tpm?.persistent === true ||
    spec?.domain?.firmware?.bootloader?.efi?.persistent === true
  );
}

/** virt-api's validateTargetVM: an error string is a 400, otherwise the causes found. */
function targetCauses(vmr: KubeObject, store: ObjectStore | undefined): StatusCause[] | string {
  const causes = patchCauses(vmr.spec.patches);
  if (!store) return causes; // no store to look the snapshot up: check the patches as if it existed
  const ns = vmr.metadata.namespace;
  const vms = store.get(KubeVirtVirtualMachineSnapshot, ns, vmr.spec.virtualMachineSnapshotName);
  if (!vms) return []; // virt-api returns early here, dropping the patch causes too
  const target = store.get(KubeVirtVirtualMachine, ns, vmr.spec.target.name);
  const sourceUID = vms.status?.sourceUID;
  if (target && (sourceUID === undefined || target.metadata.uid === sourceUID)) return causes;
  const contentName = vms.status?.virtualMachineSnapshotContentName;
  if (!contentName) return "snapshot content name is nil in vmSnapshot status";
  const content = store.get(VirtualMachineSnapshotContent, ns, contentName);
  if (!content) return `virtualmachinesnapshotcontents.snapshot.kubevirt.io "${contentName}" not found`;
  const snapshotVM = content.spec?.source?.virtualMachine;
  if (!snapshotVM) return "unexpected snapshot source";
  if (needsBackendStorage(snapshotVM)) {
    causes.push(
      cause(
        "FieldValueInvalid",
        "Restore to a different VM is not supported when snapshotted VM has backend storage (persistent TPM or EFI)",
        "spec",
      ),
    );
  }
  return causes;
}

function restoreOptionCauses(spec: any): StatusCause[] {
  const causes: StatusCause[] = [];
  (spec.volumeRestoreOverrides ?? []).forEach((o: any, i: number) => {
    const field = `spec.volumeRestoreOverrides[${i}]`;
    if (!o.volumeName)
      causes.push(cause("FieldValueRequired", "must provide a volume name", `${field}.volumeName`));
    if (!o.restoreName && o.annotations === undefined && o.labels === undefined) {
      causes.push(cause("FieldValueRequired", "must provide at least one overriden field", field)); // sic
    }
  });
  const policy = spec.volumeRestorePolicy;
  if (policy !== undefined && !["InPlace", "RandomizeNames", "PrefixTargetName"].includes(policy)) {
    causes.push(
      cause(
        "FieldValueInvalid",
        `volume restore policy "${policy}" doesn't exist`,
        "spec.volumeRestorePolicy",
      ),
    );
  }
  const ownership = spec.volumeOwnershipPolicy;
  if (ownership !== undefined && !["Vm", "None"].includes(ownership)) {
    causes.push(
      cause(
        "FieldValueInvalid",
        `volume ownership policy "${ownership}" doesn't exist`,
        "spec.volumeOwnershipPolicy",
      ),
    );
  }
  return causes;
}

const restoreWebhook =
  (store: ObjectStore | undefined, { snapshotFeatureGate = true }: KubeVirtOptions): Webhook =>
  (vmr, old, op) => {
    if (op === "UPDATE") {
      return isDeepStrictEqual(semantic(old?.spec), semantic(vmr.spec))
        ? undefined
        : rejected(webhooks.restore, specImmutable);
    }
    if (!snapshotFeatureGate) return failed(webhooks.restore, "Snapshot/Restore feature gate not enabled");
    let causes = referenceCauses(vmr.spec.target, "spec.target");
    if (!causes.length) {
      const found = targetCauses(vmr, store);
      if (typeof found === "string") return failed(webhooks.restore, found);
      causes = [...found, ...restoreOptionCauses(vmr.spec)];
    }
    // A restore that never completes (a failed one too) blocks the next one for the same target.
    for (const other of store?.list(KubeVirtVirtualMachineRestore, vmr.metadata.namespace).items ?? []) {
      if (
        isDeepStrictEqual(semantic(other.spec?.target), semantic(vmr.spec.target)) &&
        other.status?.complete !== true
      ) {
        causes.push(
          cause(
            "FieldValueInvalid",
            `VirtualMachineRestore "${other.metadata.name}" in progress`,
            "spec.target",
          ),
        );
      }
    }
    return rejected(webhooks.restore, causes);
  };

/** What runStrategy a VM spec amounts to (`running` wins; Halted when neither is set). */
const runStrategyOf = (spec: any) =>
  spec?.running !== undefined ? (spec.running ? "Always" : "Halted") : (spec?.runStrategy ?? "Halted");
const sameRunning = (a: any, b: any) =>
  a?.running !== undefined && b?.running !== undefined
    ? a.running === b.running
    : a?.runStrategy !== undefined && b?.runStrategy !== undefined && a.runStrategy === b.runStrategy;

/** While a snapshot or restore holds the VM (its status says so), its run state and volumes are locked. */
const vmLockWebhook: Webhook = (vm, old, op) => {
  if (op !== "UPDATE" || !old) return undefined;
  const locked = (message: string) =>
    rejected(webhooks.vm, [cause("FieldValueNotSupported", message, "spec")]);
  const restore = vm.status?.restoreInProgress;
  if (restore && !isDeepStrictEqual(semantic(old.spec), semantic(vm.spec))) {
    if (runStrategyOf(old.spec) !== runStrategyOf(vm.spec)) {
      return locked(`Cannot update VM runStrategy until restore "${restore}" completes`);
    }
  }
  const snapshot = vm.status?.snapshotInProgress;
  if (!snapshot) return undefined;
  const volumes = (spec: any) => semantic(spec?.template?.spec?.volumes);
  if (!isDeepStrictEqual(volumes(old.spec), volumes(vm.spec))) {
    return locked(`Cannot update vm disks or volumes until snapshot "${snapshot}" completes`);
  }
  if (!sameRunning(old.spec, vm.spec)) {
    return locked(`Cannot update vm running state until snapshot "${snapshot}" completes`);
  }
  return undefined;
};

const kubevirtGroup = "kubevirt.io";
const snapshotGroup = "snapshot.kubevirt.io";

/** Loose stand-in; its webhook only enforces the snapshot/restore locks. */
export const KubeVirtVirtualMachine: ResourceType = {
  group: kubevirtGroup,
  version: "v1",
  kind: "VirtualMachine",
  plural: "virtualmachines",
  shortNames: ["vm", "vms"],
  categories: ["all"],
  namespaced: true,
  statusSubresource: true,
  ...admission({ kind: "VirtualMachine", group: kubevirtGroup }, looseWorkloadSchema, [vmLockWebhook]),
};
/** Loose stand-in. */
export const VirtualMachineInstance: ResourceType = {
  group: kubevirtGroup,
  version: "v1",
  kind: "VirtualMachineInstance",
  plural: "virtualmachineinstances",
  shortNames: ["vmi", "vmis"],
  categories: ["all"],
  namespaced: true,
  statusSubresource: true,
  ...admission({ kind: "VirtualMachineInstance", group: kubevirtGroup }, looseWorkloadSchema),
};
/** Loose stand-in. */
export const DataVolume: ResourceType = {
  group: "cdi.kubevirt.io",
  version: "v1beta1",
  kind: "DataVolume",
  plural: "datavolumes",
  shortNames: ["dv", "dvs"],
  categories: ["all"],
  namespaced: true,
  statusSubresource: true,
  ...admission({ kind: "DataVolume", group: "cdi.kubevirt.io" }, looseWorkloadSchema),
};

const snapshotBase = {
  group: snapshotGroup,
  namespaced: true,
  statusSubresource: true,
  categories: ["all"],
};

/** v1beta1 (storage) and v1alpha1 share one schema and one storage (conversion: None). */
export const KubeVirtVirtualMachineSnapshot: ResourceType = {
  ...snapshotBase,
  version: "v1beta1",
  kind: "VirtualMachineSnapshot",
  plural: "virtualmachinesnapshots",
  shortNames: ["vmsnapshot", "vmsnapshots"],
  ...admission({ kind: "VirtualMachineSnapshot", group: snapshotGroup }, virtualMachineSnapshotSchema, [
    snapshotWebhook({}),
  ]),
};
/** No webhook: users are not meant to touch it. */
export const VirtualMachineSnapshotContent: ResourceType = {
  ...snapshotBase,
  version: "v1beta1",
  kind: "VirtualMachineSnapshotContent",
  plural: "virtualmachinesnapshotcontents",
  shortNames: ["vmsnapshotcontent", "vmsnapshotcontents"],
  ...admission(
    { kind: "VirtualMachineSnapshotContent", group: snapshotGroup },
    virtualMachineSnapshotContentSchema,
  ),
};
/** Without a store: the checks that look at other objects (restores in progress, the snapshot) are off. */
export const KubeVirtVirtualMachineRestore: ResourceType = {
  ...snapshotBase,
  version: "v1beta1",
  kind: "VirtualMachineRestore",
  plural: "virtualmachinerestores",
  shortNames: ["vmrestore", "vmrestores"],
  ...admission({ kind: "VirtualMachineRestore", group: snapshotGroup }, virtualMachineRestoreSchema, [
    restoreWebhook(undefined, {}),
  ]),
};

export const v1alpha1 = (t: ResourceType): ResourceType => ({ ...t, version: "v1alpha1" });

/**
 * Every KubeVirt kind, snapshot kinds in v1alpha1 and v1beta1 (the webhooks match both versions). With a
 * store, the restore webhook sees other restores, snapshots and VMs; without one those checks are skipped.
 */
export function kubevirtKinds(store?: ObjectStore, options: KubeVirtOptions = {}): ResourceType[] {
  const snapshot: ResourceType = {
    ...KubeVirtVirtualMachineSnapshot,
    ...admission({ kind: "VirtualMachineSnapshot", group: snapshotGroup }, virtualMachineSnapshotSchema, [
      snapshotWebhook(options),
    ]),
  };
  const restore: ResourceType = {
    ...KubeVirtVirtualMachineRestore,
    ...admission({ kind: "VirtualMachineRestore", group: snapshotGroup }, virtualMachineRestoreSchema, [
      restoreWebhook(store, options),
    ]),
  };
  const snapshotKinds = [snapshot, VirtualMachineSnapshotContent, restore];
  return [
    KubeVirtVirtualMachine,
    VirtualMachineInstance,
    DataVolume,
    ...snapshotKinds,
    ...snapshotKinds.map(v1alpha1),
  ];
}
