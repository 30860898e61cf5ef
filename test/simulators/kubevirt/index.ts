// The KubeVirt simulator: in-process stand-ins for virt-controller (VMs, snapshots, restores), virt-handler
// (VMIs), CDI (DataVolumes), the storage provisioner (claims) and, unless told otherwise, the CSI snapshotter.
import { PersistentVolumeClaim, VolumeSnapshot } from "../../emulator/kinds/core";
import {
  DataVolume,
  KubeVirtVirtualMachine,
  KubeVirtVirtualMachineRestore,
  KubeVirtVirtualMachineSnapshot,
  VirtualMachineInstance,
  VirtualMachineSnapshotContent,
} from "../../emulator/kinds/kubevirt";
import type { KubeObject, ObjectStore, ResourceType } from "../../emulator/store";
import { Reconciler, type ObjectRef } from "../controller";
import { startCsiSnapshotController } from "../csi";
import type { PhaseDelay } from "../knobs";
import type { ControllerContext } from "./context";
import { reconcileDataVolume } from "./dataVolume";
import { reconcilePersistentVolumeClaim, snapshotSourceOf } from "./persistentVolumeClaim";
import { DefaultTargetGracePeriodMs, reconcileVirtualMachineRestore } from "./restore";
import { reconcileVirtualMachineSnapshot } from "./snapshot";
import { reconcileVirtualMachineSnapshotContent } from "./snapshotContent";
import { reconcileVirtualMachine } from "./virtualMachine";
import { reconcileVirtualMachineInstance } from "./virtualMachineInstance";
import { claimNameOf, volumesOf } from "./volumes";

export interface KubeVirtControllerOptions {
  /** Default delay before each phase transition (0: instant; `{min: 1000, max: 3000}`: realistic). */
  phaseDelayMs?: PhaseDelay;
  /** How long a WaitGracePeriod restore waits for its target VM to power off (default 5 minutes). */
  targetGracePeriodMs?: number;
  /** Also start the CSI snapshot stand-in (default true); pass false when another simulator runs it. */
  csi?: boolean;
  /** A reconcile failed unexpectedly (it is retried with back-off); tests use it to surface bugs. */
  onError?: (error: unknown, ref: ObjectRef) => void;
}

const refsOf = (type: ResourceType, objects: KubeObject[]): ObjectRef[] =>
  objects.map((o) => ({ type, namespace: o.metadata.namespace!, name: o.metadata.name! }));
const ref = (type: ResourceType, namespace: string | undefined, name: string | undefined): ObjectRef[] =>
  namespace && name ? [{ type, namespace, name }] : [];

export function startKubeVirtController(
  store: ObjectStore,
  opts: KubeVirtControllerOptions = {},
): { stop(): void } {
  const csi =
    opts.csi === false ? undefined : startCsiSnapshotController(store, { phaseDelayMs: opts.phaseDelayMs });
  const reconciler = new Reconciler(store, { onStop: () => csi?.stop(), onError: opts.onError });
  const ctx: ControllerContext = {
    store,
    reconciler,
    phaseDelayMs: opts.phaseDelayMs ?? 0,
    targetGracePeriodMs: opts.targetGracePeriodMs ?? DefaultTargetGracePeriodMs,
  };

  reconciler
    .watch(PersistentVolumeClaim, reconcilePersistentVolumeClaim(ctx))
    .watch(DataVolume, reconcileDataVolume(ctx))
    .watch(VirtualMachineInstance, reconcileVirtualMachineInstance(ctx))
    .watch(KubeVirtVirtualMachine, reconcileVirtualMachine(ctx))
    .watch(KubeVirtVirtualMachineSnapshot, reconcileVirtualMachineSnapshot(ctx))
    .watch(VirtualMachineSnapshotContent, reconcileVirtualMachineSnapshotContent(ctx))
    .watch(KubeVirtVirtualMachineRestore, reconcileVirtualMachineRestore(ctx));

  const inNamespace = (type: ResourceType, obj: KubeObject, keep: (o: KubeObject) => boolean) =>
    refsOf(type, store.list(type, obj.metadata.namespace, keep).items);
  const vmsUsingClaim = (claim: KubeObject) =>
    inNamespace(KubeVirtVirtualMachine, claim, (vm) =>
      volumesOf(vm).some((v) => claimNameOf(v) === claim.metadata.name),
    );
  const snapshotsOf = (vmName: string | undefined, obj: KubeObject) =>
    inNamespace(KubeVirtVirtualMachineSnapshot, obj, (s) => s.spec?.source?.name === vmName);
  const restoresTargeting = (vmName: string | undefined, obj: KubeObject) =>
    inNamespace(KubeVirtVirtualMachineRestore, obj, (r) => r.spec?.target?.name === vmName);
  const unfinishedSnapshots = (obj: KubeObject) =>
    inNamespace(
      KubeVirtVirtualMachineSnapshot,
      obj,
      (s) => !["Succeeded", "Failed"].includes(s.status?.phase),
    );
  const unfinishedRestores = (obj: KubeObject) =>
    inNamespace(KubeVirtVirtualMachineRestore, obj, (r) => r.status?.complete !== true);

  // The real controllers' informers: a change to one object wakes the objects that depend on it.
  reconciler
    .watchRelated(VirtualMachineInstance, (vmi) => [
      ...ref(KubeVirtVirtualMachine, vmi.metadata.namespace, vmi.metadata.name),
      ...snapshotsOf(vmi.metadata.name, vmi),
      ...restoresTargeting(vmi.metadata.name, vmi),
    ])
    .watchRelated(KubeVirtVirtualMachine, (vm) => [
      ...snapshotsOf(vm.metadata.name, vm),
      ...restoresTargeting(vm.metadata.name, vm),
    ])
    .watchRelated(PersistentVolumeClaim, (pvc) => [
      ...ref(DataVolume, pvc.metadata.namespace, pvc.metadata.name),
      ...vmsUsingClaim(pvc),
      ...unfinishedSnapshots(pvc),
      ...unfinishedRestores(pvc),
    ])
    .watchRelated(DataVolume, (dv) => [
      ...vmsUsingClaim(dv),
      ...unfinishedSnapshots(dv),
      ...unfinishedRestores(dv),
    ])
    .watchRelated(VolumeSnapshot, (vs) => [
      ...(vs.metadata.ownerReferences ?? [])
        .filter((r) => r.kind === VirtualMachineSnapshotContent.kind)
        .flatMap((r) => ref(VirtualMachineSnapshotContent, vs.metadata.namespace, r.name)),
      ...inNamespace(PersistentVolumeClaim, vs, (pvc) => snapshotSourceOf(pvc) === vs.metadata.name),
    ])
    .watchRelated(VirtualMachineSnapshotContent, (content) =>
      ref(
        KubeVirtVirtualMachineSnapshot,
        content.metadata.namespace,
        content.spec?.virtualMachineSnapshotName,
      ),
    )
    .watchRelated(KubeVirtVirtualMachineSnapshot, (vms) => [
      ...inNamespace(
        VirtualMachineSnapshotContent,
        vms,
        (c) => c.spec?.virtualMachineSnapshotName === vms.metadata.name,
      ),
      ...inNamespace(
        KubeVirtVirtualMachineRestore,
        vms,
        (r) => r.spec?.virtualMachineSnapshotName === vms.metadata.name,
      ),
    ]);

  return { stop: () => reconciler.stop() };
}
