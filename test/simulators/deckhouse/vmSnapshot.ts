// VirtualMachineSnapshot controller (reference §3.4, Deckhouse >= v1.3.0): checks re-evaluated on every step,
// a Secret with the VM's configuration, one child VirtualDiskSnapshot per disk, no finalizer.
import {
  VirtualDisk,
  VirtualDiskSnapshot,
  VirtualMachine,
  VirtualMachineSnapshot,
} from "../../emulator/kinds/deckhouse";
import { apiVersionOf, type KubeObject } from "../../emulator/store";
import { conditionOf, isTrue, setCondition } from "./conditions";
import { due, forcedFailure, hangs, refOf, writeStatus, type DeckhouseContext } from "./context";
import { canFreeze, thawUnlessInUse } from "./filesystemFreeze";
import { childDiskSnapshotName, ownerReference } from "./names";
import { ensureSnapshotSecret, type SnapshotContent } from "./snapshotSecret";
import { blockDevicesOf } from "./virtualMachine";

const ReadyType = "VirtualMachineSnapshotReady";

export function watchVmSnapshots(ctx: DeckhouseContext): void {
  const { store, reconciler } = ctx;
  const snapshotsOf = (vm: { namespace: string; name: string }) =>
    store
      .list(VirtualMachineSnapshot, vm.namespace, (s) => s.spec?.virtualMachineName === vm.name)
      .items.map((s) => refOf(VirtualMachineSnapshot, s));
  reconciler.watch(VirtualMachineSnapshot, (namespace, name) => reconcile(ctx, namespace, name));
  reconciler.watchRelated(VirtualMachine, (vm) =>
    snapshotsOf({ namespace: vm.metadata.namespace!, name: vm.metadata.name! }),
  );
  reconciler.watchRelated(VirtualDiskSnapshot, (child) =>
    (child.metadata.ownerReferences ?? [])
      .filter((o) => o.kind === "VirtualMachineSnapshot")
      .map((o) => ({ type: VirtualMachineSnapshot, namespace: child.metadata.namespace!, name: o.name })),
  );
  reconciler.watchRelated(VirtualDisk, (disk) =>
    store
      .list(VirtualMachine, disk.metadata.namespace, (vm) =>
        (vm.status?.blockDeviceRefs ?? []).some(
          (d: any) => d.kind === "VirtualDisk" && d.name === disk.metadata.name,
        ),
      )
      .items.flatMap((vm) => snapshotsOf({ namespace: vm.metadata.namespace!, name: vm.metadata.name! })),
  );
}

/** Why the VM cannot be snapshotted now (the VirtualMachineReady condition), or undefined when it can. */
function machineNotReady(vm: KubeObject | undefined, vmName: string): string | undefined {
  if (!vm) return `The virtual machine "${vmName}" was not found.`;
  if (vm.metadata.deletionTimestamp) return `The virtual machine "${vmName}" is in the process of deletion.`;
  const phase = vm.status?.phase ?? "";
  if (phase !== "Running" && phase !== "Stopped") {
    return `The virtual machine "${vmName}" is in the "${phase}" phase: waiting for it to reach the Running or Stopped phase.`;
  }
  const snapshotting = conditionOf(vm, "Snapshotting");
  if (snapshotting && snapshotting.status !== "True") return snapshotting.message;
  return undefined;
}

function reconcile(ctx: DeckhouseContext, namespace: string, name: string) {
  const { store } = ctx;
  const snapshot = store.get(VirtualMachineSnapshot, namespace, name);
  if (!snapshot) return;
  const status: Record<string, any> = structuredClone(snapshot.status ?? {});
  const generation = snapshot.metadata.generation;
  const vmName: string = snapshot.spec?.virtualMachineName ?? "";
  const vm = store.get(VirtualMachine, namespace, vmName);
  if (snapshot.metadata.deletionTimestamp) {
    status.phase = "Terminating";
    for (const type of ["VirtualMachineReady", ReadyType]) {
      setCondition(status, { type, status: "Unknown", reason: "Unknown" }, generation);
    }
    if (vm) thawUnlessInUse(ctx, vm, snapshot);
    writeStatus(ctx, VirtualMachineSnapshot, snapshot, status);
    return;
  }
  const notReady = status.phase === "Ready" ? undefined : machineNotReady(vm, vmName);
  setCondition(
    status,
    notReady
      ? {
          type: "VirtualMachineReady",
          status: "False",
          reason: "VirtualMachineNotReadyForSnapshotting",
          message: notReady,
        }
      : { type: "VirtualMachineReady", status: "True", reason: "VirtualMachineReady" },
    generation,
  );
  if (!hangs(snapshot)) advance(ctx, snapshot, status, vm, !notReady);
  writeStatus(ctx, VirtualMachineSnapshot, snapshot, status);
}

/** The first reason the VM's block devices prevent a snapshot (reference §3.4 step 2), if any. */
function blockDevicesNotReady(ctx: DeckhouseContext, vm: KubeObject): string | undefined {
  const vmName = vm.metadata.name;
  if (!isTrue(vm, "BlockDevicesReady")) {
    return `Block devices not ready: waiting for the block devices of the virtual machine "${vmName}" to be ready.`;
  }
  for (const device of blockDevicesOf(ctx, vm).filter((d) => d.kind === "VirtualDisk")) {
    const disk = ctx.store.get(VirtualDisk, vm.metadata.namespace, device.name);
    if (disk?.status?.phase !== "Ready") {
      return `Virtual disk not ready: waiting for the virtual disk "${device.name}" to be Ready.`;
    }
    if (!isTrue(disk, "Ready")) {
      return `Virtual disk not ready: waiting for the Ready condition of the virtual disk "${device.name}" to be True.`;
    }
    if (isTrue(disk, "Resizing")) {
      return `Virtual disk is in the process of resizing: waiting for the virtual disk "${device.name}" to be resized.`;
    }
  }
  return undefined;
}

function advance(
  ctx: DeckhouseContext,
  snapshot: KubeObject,
  status: Record<string, any>,
  vm: KubeObject | undefined,
  vmReady: boolean,
) {
  const { store, hypervisor } = ctx;
  const { namespace, generation } = snapshot.metadata;
  const vmName: string = snapshot.spec?.virtualMachineName ?? "";
  const setReady = (s: "True" | "False", reason: string, message = "") =>
    setCondition(status, { type: ReadyType, status: s, reason, message }, generation);
  const fail = (reason: string, message: string) => {
    status.phase = "Failed";
    setReady("False", reason, message);
  };
  const phase: string = status.phase ?? "";

  if (phase === "Failed") {
    if (vm) thawUnlessInUse(ctx, vm, snapshot);
    return;
  }
  if (phase === "Ready") {
    const lost = (status.virtualDiskSnapshotNames ?? []).filter(
      (n: string) => !store.get(VirtualDiskSnapshot, namespace, n),
    );
    if (lost.length === 1)
      return fail("VirtualDiskSnapshotLost", `The underlying virtual disk snapshot (${lost[0]}) is lost.`);
    if (lost.length) {
      return fail(
        "VirtualDiskSnapshotLost",
        `The underlying virtual disk snapshots (${lost.join(", ")}) are lost.`,
      );
    }
    return setReady("True", "VirtualMachineSnapshotReady");
  }
  if (phase === "") {
    // Written on its own, so watchers see Pending before the work starts.
    status.phase = "Pending";
    setCondition(status, { type: ReadyType, status: "Unknown", reason: "Unknown" }, generation);
    return;
  }
  const forced = forcedFailure(snapshot, "VirtualMachineSnapshotFailed");
  if (forced) return fail(forced.reason, forced.message);

  // Deckhouse >= v1.3.0: every check fails at once, and they are re-run until the snapshot is Ready.
  if (!vm)
    return fail(
      "WaitingForTheVirtualMachine",
      `Cannot take a snapshot: the virtual machine "${vmName}" does not exist.`,
    );
  if (!vmReady)
    return fail(
      "WaitingForTheVirtualMachine",
      `Cannot take a snapshot: the virtual machine "${vmName}" is not ready.`,
    );
  const devicesNotReady = blockDevicesNotReady(ctx, vm);
  if (devicesNotReady) return fail("BlockDevicesNotReady", devicesNotReady);
  const requiredConsistency = snapshot.spec?.requiredConsistency !== false;
  const needToFreeze = requiredConsistency && vm.status?.phase !== "Stopped" && !hypervisor.isFrozen(vm);
  if (needToFreeze && !canFreeze(ctx, vm)) {
    const suffix = isTrue(vm, "AgentReady")
      ? "."
      : ": virtual machine agent is not ready and the virtual machine cannot be frozen.";
    return fail(
      "PotentiallyInconsistent",
      `Cannot take a consistent snapshot of virtual machine "${vmName}"${suffix}`,
    );
  }

  if (status.phase === "Pending") {
    if (!due(ctx, VirtualMachineSnapshot, snapshot, "start")) return;
    status.phase = "InProgress";
    return setReady("False", "FileSystemFreezing", "The snapshotting process has started.");
  }
  if (needToFreeze) {
    if (!due(ctx, VirtualMachineSnapshot, snapshot, "freeze")) return;
    hypervisor.freeze(vm);
    return setReady(
      "False",
      "FileSystemFreezing",
      `The virtual machine "${vmName}" is in the process of being frozen for taking a snapshot.`,
    );
  }

  const { secret, content } = ensureSnapshotSecret(ctx, snapshot, vm);
  status.virtualMachineSnapshotSecretName = secret.metadata.name;
  const disks = blockDevicesOf(ctx, vm)
    .filter((d) => d.kind === "VirtualDisk")
    .map((d) => d.name);
  status.virtualDiskSnapshotNames = disks.map((d) => childDiskSnapshotName(d, snapshot));
  const children = disks.map((disk) => ensureChild(ctx, snapshot, disk));
  const failed = children.find((c) => c.status?.phase === "Failed");
  if (failed) {
    const cause = conditionOf(failed, "VirtualDiskSnapshotReady")?.message ?? "";
    const message = `The virtual disk snapshot "${failed.metadata.name}" is failed: cannot take snapshot. ${cause}`;
    return fail("VirtualMachineSnapshotFailed", message.endsWith(".") ? message : `${message}.`);
  }
  const ready = children.filter((c) => c.status?.phase === "Ready");
  if (ready.length < children.length) {
    return setReady(
      "False",
      "Snapshotting",
      `Waiting for the virtual disk snapshots to be taken for the block devices of the virtual machine "${vmName}" (${ready.length}/${children.length}).`,
    );
  }
  if (!due(ctx, VirtualMachineSnapshot, snapshot, "ready")) return;
  if (children.every((c) => c.status?.consistent === true)) status.consistent = true;
  else delete status.consistent;
  thawUnlessInUse(ctx, vm, snapshot);
  status.resources = resourcesOf(content, disks, snapshot.spec?.keepIPAddress);
  status.phase = "Ready";
  // The platform's first Ready reconcile uses this reason (sic); later ones write VirtualMachineSnapshotReady.
  setReady("True", "VirtualMachineReady");
}

function ensureChild(ctx: DeckhouseContext, snapshot: KubeObject, diskName: string): KubeObject {
  const { namespace } = snapshot.metadata;
  const name = childDiskSnapshotName(diskName, snapshot);
  return (
    ctx.store.get(VirtualDiskSnapshot, namespace, name) ??
    ctx.store.create(VirtualDiskSnapshot, {
      metadata: { name, namespace, ownerReferences: [ownerReference(snapshot, false)] },
      spec: { virtualDiskName: diskName, requiredConsistency: snapshot.spec?.requiredConsistency !== false },
    })
  );
}

function resourcesOf(content: SnapshotContent, disks: string[], keepIPAddress = "Always") {
  const ref = (obj: KubeObject) => ({ apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name });
  return [
    ref(content.vm),
    ...(content.vmip && keepIPAddress === "Always" ? [ref(content.vmip)] : []),
    ...(content.provisioner ? [ref(content.provisioner)] : []),
    ...content.vmbdas.map(ref),
    ...disks.map((name) => ({ apiVersion: apiVersionOf(VirtualDisk), kind: "VirtualDisk", name })),
  ];
}
