// VirtualDiskSnapshot controller (reference §2.4, behaviour of Deckhouse >= v1.3.0): Pending → InProgress →
// Ready or Failed, a VolumeSnapshot per snapshot, freezing through the guest agent, Lost, and the cleanup finalizer.
import { PersistentVolumeClaim, VolumeSnapshot } from "../../emulator/kinds/core";
import { VirtualDisk, VirtualDiskSnapshot, VirtualMachine } from "../../emulator/kinds/deckhouse";
import type { KubeObject } from "../../emulator/store";
import { knobsOf } from "../knobs";
import { conditionOf, isTrue, setCondition } from "./conditions";
import { due, forcedFailure, hangs, refOf, writeStatus, type DeckhouseContext } from "./context";
import { canFreeze, thawUnlessInUse } from "./filesystemFreeze";
import { Annotation, Finalizer, ownerReference, supplementName } from "./names";
import { attachedMachines } from "./virtualDisk";

const ReadyType = "VirtualDiskSnapshotReady";

export function watchDiskSnapshots(ctx: DeckhouseContext): void {
  const { store, reconciler } = ctx;
  const unfinishedIn = (namespace: string) =>
    store
      .list(VirtualDiskSnapshot, namespace, (s) =>
        ["", "Pending", "InProgress"].includes(s.status?.phase ?? ""),
      )
      .items.map((s) => refOf(VirtualDiskSnapshot, s));
  reconciler.watch(VirtualDiskSnapshot, (namespace, name) => reconcile(ctx, namespace, name));
  reconciler.watchRelated(VolumeSnapshot, (vs) =>
    (vs.metadata.ownerReferences ?? [])
      .filter((o) => o.kind === "VirtualDiskSnapshot")
      .map((o) => ({ type: VirtualDiskSnapshot, namespace: vs.metadata.namespace!, name: o.name })),
  );
  reconciler.watchRelated(VirtualDisk, (disk) =>
    store
      .list(
        VirtualDiskSnapshot,
        disk.metadata.namespace,
        (s) => s.spec?.virtualDiskName === disk.metadata.name,
      )
      .items.map((s) => refOf(VirtualDiskSnapshot, s)),
  );
  reconciler.watchRelated(VirtualMachine, (vm) => unfinishedIn(vm.metadata.namespace!));
  reconciler.watchRelated(PersistentVolumeClaim, (pvc) => unfinishedIn(pvc.metadata.namespace!));
}

/** Why a disk cannot be snapshotted now (the VirtualDiskReady condition), or undefined when it can. */
function diskNotReady(disk: KubeObject | undefined, diskName: string): string | undefined {
  if (!disk) return `The virtual disk "${diskName}" was not found.`;
  if (disk.metadata.deletionTimestamp) return `The virtual disk "${diskName}" is in the process of deletion.`;
  if (disk.status?.phase !== "Ready") {
    return `The virtual disk "${diskName}" is in the "${disk.status?.phase ?? ""}" phase: waiting for it to reach the Ready phase.`;
  }
  if (isTrue(disk, "Resizing"))
    return "The virtual disk cannot be selected for snapshotting as it is currently resizing.";
  const snapshotting = conditionOf(disk, "Snapshotting");
  if (snapshotting && snapshotting.status !== "True") return snapshotting.message;
  return undefined;
}

function reconcile(ctx: DeckhouseContext, namespace: string, name: string) {
  const { store } = ctx;
  const snapshot = store.get(VirtualDiskSnapshot, namespace, name);
  if (!snapshot) return;
  if (snapshot.metadata.deletionTimestamp) return finalize(ctx, snapshot);
  if (!(snapshot.metadata.finalizers ?? []).includes(Finalizer.DiskSnapshotCleanup)) {
    snapshot.metadata.finalizers = [...(snapshot.metadata.finalizers ?? []), Finalizer.DiskSnapshotCleanup];
    store.update(VirtualDiskSnapshot, snapshot); // its event brings the next reconcile
    return;
  }
  const status: Record<string, any> = structuredClone(snapshot.status ?? {});
  const generation = snapshot.metadata.generation;
  const diskName: string = snapshot.spec?.virtualDiskName ?? "";
  const disk = store.get(VirtualDisk, namespace, diskName);
  const notReady = status.phase === "Ready" ? undefined : diskNotReady(disk, diskName);
  setCondition(
    status,
    notReady
      ? {
          type: "VirtualDiskReady",
          status: "False",
          reason: "VirtualDiskNotReadyForSnapshotting",
          message: notReady,
        }
      : { type: "VirtualDiskReady", status: "True", reason: "VirtualDiskReady" },
    generation,
  );
  if (!hangs(snapshot)) advance(ctx, snapshot, status, disk, !notReady);
  writeStatus(ctx, VirtualDiskSnapshot, snapshot, status);
}

function advance(
  ctx: DeckhouseContext,
  snapshot: KubeObject,
  status: Record<string, any>,
  disk: KubeObject | undefined,
  diskReady: boolean,
) {
  const { store, hypervisor } = ctx;
  const { namespace, generation } = snapshot.metadata;
  const diskName: string = snapshot.spec?.virtualDiskName ?? "";
  const requiredConsistency = snapshot.spec?.requiredConsistency !== false;
  const progress = (reason: string, message: string) => {
    status.phase = "InProgress";
    setCondition(status, { type: ReadyType, status: "False", reason, message }, generation);
  };
  const fail = (reason: string, message: string) => {
    status.phase = "Failed";
    setCondition(status, { type: ReadyType, status: "False", reason, message }, generation);
  };
  const machines = disk ? attachedMachines(ctx, disk) : [];
  const vm = machines.length === 1 ? store.get(VirtualMachine, namespace, machines[0]) : undefined;
  const phase: string = status.phase ?? "";

  if (phase === "Failed") {
    // Failed is terminal; the controller only makes sure the guest is not left frozen.
    if (vm) thawUnlessInUse(ctx, vm, snapshot);
    return;
  }
  if (phase === "Ready") {
    const vs = store.get(VolumeSnapshot, namespace, status.volumeSnapshotName);
    if (vs?.status?.readyToUse === true) return;
    return fail(
      "Lost",
      `The underlying VolumeSnapshot "${status.volumeSnapshotName}" is no longer available.`,
    );
  }
  if (phase === "") {
    // Written on its own, so watchers see Pending before the work starts.
    status.phase = "Pending";
    setCondition(status, { type: ReadyType, status: "Unknown", reason: "Unknown" }, generation);
    return;
  }
  const forced = forcedFailure(snapshot, "VirtualDiskSnapshotFailed");
  if (forced) return fail(forced.reason, forced.message);

  const vsName = supplementName("vds", snapshot);
  const vs = store.get(VolumeSnapshot, namespace, vsName);
  if (!vs) {
    // Deckhouse >= v1.3.0 fails at once where older releases waited in Pending.
    const waiting = (message: string) =>
      fail("WaitingForTheVirtualDisk", `Cannot take a snapshot: ${message}`);
    if (!disk) return waiting(`the virtual disk "${diskName}" does not exist.`);
    if (!diskReady) return waiting(`the virtual disk "${diskName}" is not ready.`);
    const claimName: string | undefined = disk.status?.target?.persistentVolumeClaimName;
    const claim = claimName ? store.get(PersistentVolumeClaim, namespace, claimName) : undefined;
    if (!claim) return waiting(`the persistent volume claim for virtual disk "${diskName}" does not exist.`);
    if (claim.status?.phase !== "Bound") {
      return waiting(
        `the persistent volume claim "${claimName}" for virtual disk "${diskName}" is not in phase Bound.`,
      );
    }
    if (machines.length > 1) {
      return fail(
        "VirtualDiskSnapshotFailed",
        `The virtual disk "${diskName}" is attached to multiple virtual machines.`,
      );
    }
    if (vm && vm.status?.phase !== "Stopped" && !hypervisor.isFrozen(vm)) {
      if (canFreeze(ctx, vm)) {
        if (status.phase === "Pending") {
          if (due(ctx, VirtualDiskSnapshot, snapshot, "start"))
            progress("Snapshotting", "The snapshotting process has started.");
          return;
        }
        if (!due(ctx, VirtualDiskSnapshot, snapshot, "freeze")) return;
        hypervisor.freeze(vm);
        return progress(
          "FileSystemFreezing",
          `The virtual machine "${vm.metadata.name}" with an attached virtual disk "${diskName}" is in the process of being frozen for taking a snapshot.`,
        );
      }
      if (requiredConsistency) {
        const suffix = isTrue(vm, "AgentReady")
          ? "."
          : ": virtual machine agent is not ready and the virtual machine cannot be frozen.";
        return fail(
          "PotentiallyInconsistent",
          `Cannot take a consistent snapshot of virtual disk "${diskName}" attached to virtual machine "${vm.metadata.name}"${suffix}`,
        );
      }
    }
    if (!due(ctx, VirtualDiskSnapshot, snapshot, "snapshot")) return;
    createVolumeSnapshot(ctx, snapshot, disk, claim, vsName);
    return progress("Snapshotting", `The snapshotting process for virtual disk "${diskName}" has started.`);
  }

  if (vs.status?.error?.message) {
    return fail(
      "VirtualDiskSnapshotFailed",
      `VolumeSnapshot "${vsName}" has an error: ${vs.status.error.message}.`,
    );
  }
  if (vs.status?.readyToUse !== true) {
    return progress(
      "Snapshotting",
      `Waiting for the snapshot of virtual disk "${diskName}" to be ready to use.`,
    );
  }
  if (status.consistent !== true) {
    if (!vm || vm.status?.phase === "Stopped" || hypervisor.isFrozen(vm)) {
      status.consistent = true;
      return progress("Snapshotting", "The consistent snapshot has been taken.");
    }
    if (requiredConsistency) {
      return fail(
        "VirtualDiskSnapshotFailed",
        `Virtual disk snapshot is not consistent because the virtual machine ${vm.metadata.name} has not been stopped or its filesystem has not been frozen.`,
      );
    }
  }
  if (!due(ctx, VirtualDiskSnapshot, snapshot, "ready")) return;
  if (vm) thawUnlessInUse(ctx, vm, snapshot);
  status.phase = "Ready";
  status.volumeSnapshotName = vsName;
  setCondition(status, { type: ReadyType, status: "True", reason: "VirtualDiskSnapshotReady" }, generation);
}

function createVolumeSnapshot(
  ctx: DeckhouseContext,
  snapshot: KubeObject,
  disk: KubeObject,
  claim: KubeObject,
  name: string,
) {
  const { labels = {}, annotations = {} } = disk.metadata;
  ctx.store.create(VolumeSnapshot, {
    metadata: {
      name,
      namespace: snapshot.metadata.namespace,
      ownerReferences: [ownerReference(snapshot)],
      finalizers: [Finalizer.DiskSnapshotProtection],
      annotations: {
        [Annotation.DiskOriginalSize]: String(
          disk.spec?.persistentVolumeClaim?.size ?? claim.spec?.resources?.requests?.storage ?? "",
        ),
        [Annotation.DiskOriginalLabels]: JSON.stringify(labels),
        [Annotation.DiskOriginalAnnotations]: JSON.stringify(annotations),
        ...(claim.spec?.storageClassName
          ? { [Annotation.DiskOriginalStorageClass]: claim.spec.storageClassName }
          : {}),
      },
    },
    spec: { source: { persistentVolumeClaimName: claim.metadata.name } },
  });
}

function finalize(ctx: DeckhouseContext, snapshot: KubeObject) {
  const { store } = ctx;
  const { namespace } = snapshot.metadata;
  const status: Record<string, any> = structuredClone(snapshot.status ?? {});
  status.phase = "Terminating";
  for (const type of ["VirtualDiskReady", ReadyType]) {
    setCondition(status, { type, status: "Unknown", reason: "Unknown" }, snapshot.metadata.generation);
  }
  let current = writeStatus(ctx, VirtualDiskSnapshot, snapshot, status);
  if (knobsOf(current).holdDeletion) return;

  const vs = store.get(VolumeSnapshot, namespace, supplementName("vds", snapshot));
  if (vs) {
    vs.metadata.finalizers = (vs.metadata.finalizers ?? []).filter(
      (f) => f !== Finalizer.DiskSnapshotProtection,
    );
    store.update(VolumeSnapshot, vs);
    if (store.get(VolumeSnapshot, namespace, vs.metadata.name!))
      store.delete(VolumeSnapshot, namespace, vs.metadata.name!);
  }
  const disk = store.get(VirtualDisk, namespace, snapshot.spec?.virtualDiskName);
  const machines = disk ? attachedMachines(ctx, disk) : [];
  const vm = machines.length === 1 ? store.get(VirtualMachine, namespace, machines[0]) : undefined;
  if (vm?.status?.phase === "Running") thawUnlessInUse(ctx, vm, snapshot);

  current = store.get(VirtualDiskSnapshot, namespace, snapshot.metadata.name!) ?? current;
  current.metadata.finalizers = (current.metadata.finalizers ?? []).filter(
    (f) => f !== Finalizer.DiskSnapshotCleanup,
  );
  store.update(VirtualDiskSnapshot, current);
}
