import assert from "node:assert/strict";
import { VolumeSnapshot } from "../../emulator/kinds/core";
import {
  KubeVirtVirtualMachine,
  KubeVirtVirtualMachineSnapshot,
  VirtualMachineSnapshotContent,
} from "../../emulator/kinds/kubevirt";
import type { KubeObject } from "../../emulator/store";
import { KnobAnnotation } from "../knobs";
import { gone, waitFor } from "../waitFor";
import { Finalizer } from "./finalizers";
import { createVirtualMachine, createVirtualMachineSnapshot, type SnapshotFixture } from "./fixtures";
import { IndicationMessage } from "./snapshot";
import { printableStatusIs, readyToUse, reasons, simulationPerTest, vmReady } from "./testing";

const VMS = KubeVirtVirtualMachineSnapshot;
const unlocked = (vm: KubeObject | undefined) =>
  vm?.status?.snapshotInProgress === undefined &&
  !(vm?.metadata.finalizers ?? []).includes(Finalizer.SnapshotSource);
const sourceLocked = (o: KubeObject | undefined) =>
  reasons(o).Progressing === "True Source locked and operation in progress";
const contentNameOf = (snapshotUid: string | undefined) => `vmsnapshot-content-${snapshotUid}`;

describe("KubeVirt simulator: VirtualMachineSnapshot", () => {
  const sim = simulationPerTest();

  async function runningVm(name: string, guestAgent = true) {
    createVirtualMachine(sim.store, { name, running: true, guestAgent, disks: ["root", "data"] });
    return waitFor(sim.store, KubeVirtVirtualMachine, "default", name, vmReady);
  }
  /** The snapshot "snap" of the VM "web". */
  const snapshotWeb = (more: Partial<SnapshotFixture> = {}) =>
    createVirtualMachineSnapshot(sim.store, { name: "snap", vm: "web", ...more });
  /** Resolves with the snapshot "snap" once `predicate` holds for it. */
  const untilSnap = (predicate: (o: KubeObject | undefined) => boolean, timeoutMs?: number) =>
    waitFor(sim.store, VMS, "default", "snap", predicate, timeoutMs);

  /** Records whether the VM was ever locked by `snapshot` (status.snapshotInProgress + finalizer). */
  function watchLock(vmName: string, snapshot: string) {
    const seen = { locked: false };
    const unsubscribe = sim.store.subscribe(({ object: o }) => {
      if (
        o.kind === "VirtualMachine" &&
        o.metadata.name === vmName &&
        o.status?.snapshotInProgress === snapshot
      ) {
        seen.locked ||= (o.metadata.finalizers ?? []).includes(Finalizer.SnapshotSource);
      }
    });
    return { seen, unsubscribe };
  }

  it("takes an online snapshot with the guest agent: locks the VM, Succeeded and ready, Online + GuestAgent", async () => {
    const vm = await runningVm("web");
    const lock = watchLock("web", "snap");
    const created = snapshotWeb();
    const vms = await untilSnap(readyToUse);
    lock.unsubscribe();

    assert.equal(lock.seen.locked, true);
    assert.equal(vms?.status.phase, "Succeeded");
    assert.equal(vms?.status.sourceUID, vm?.metadata.uid);
    assert.deepEqual(reasons(vms), { Progressing: "False Operation complete", Ready: "True Ready" });
    assert.deepEqual(vms?.status.indications, ["GuestAgent", "Online"]);
    assert.deepEqual(vms?.status.sourceIndications, [
      { indication: "GuestAgent", message: IndicationMessage.GuestAgent },
      { indication: "Online", message: IndicationMessage.Online },
    ]);
    assert.deepEqual(vms?.status.snapshotVolumes, { includedVolumes: ["root", "data"] });
    assert.deepEqual(vms?.metadata.finalizers, [Finalizer.VirtualMachineSnapshot]);

    const uid = created.metadata.uid;
    const contentName = `vmsnapshot-content-${uid}`;
    assert.equal(vms?.status.virtualMachineSnapshotContentName, contentName);
    const content = sim.store.get(VirtualMachineSnapshotContent, "default", contentName);
    assert.deepEqual(
      content?.spec.volumeBackups.map((b: { volumeName: string; volumeSnapshotName: string }) => [
        b.volumeName,
        b.volumeSnapshotName,
      ]),
      [
        ["root", `vmsnapshot-${uid}-volume-root`],
        ["data", `vmsnapshot-${uid}-volume-data`],
      ],
    );
    const vs = sim.store.get(VolumeSnapshot, "default", `vmsnapshot-${uid}-volume-root`);
    assert.equal(vs?.metadata.ownerReferences?.[0].uid, content?.metadata.uid);
    assert.equal(vs?.metadata.labels?.["snapshot.kubevirt.io/source-vm-name"], "web");
    assert.equal(vs?.status.readyToUse, true);
    await waitFor(sim.store, KubeVirtVirtualMachine, "default", "web", unlocked);
  });

  it("marks an online snapshot of a VM without guest agent NoGuestAgent", async () => {
    await runningVm("web", false);
    snapshotWeb();
    const vms = await untilSnap(readyToUse);
    assert.deepEqual(vms?.status.sourceIndications, [
      { indication: "NoGuestAgent", message: IndicationMessage.NoGuestAgent },
      { indication: "Online", message: IndicationMessage.Online },
    ]);
  });

  it("takes an offline snapshot of a stopped VM without indications", async () => {
    createVirtualMachine(sim.store, { name: "db" });
    await waitFor(sim.store, KubeVirtVirtualMachine, "default", "db", printableStatusIs("Stopped"));
    createVirtualMachineSnapshot(sim.store, { name: "snap", vm: "db" });
    const vms = await untilSnap(readyToUse);
    assert.equal(vms?.status.phase, "Succeeded");
    assert.equal(vms?.status.indications, undefined);
    assert.equal(vms?.status.sourceIndications, undefined);
  });

  it("is Succeeded once the volumes are cut, before it is ready to use", async () => {
    await runningVm("web");
    snapshotWeb({ annotations: { [KnobAnnotation.PhaseDelayMs]: "150" } });
    const succeeded = await untilSnap((o) => o?.status?.phase === "Succeeded");
    assert.equal(succeeded?.status.readyToUse, false);
    assert.ok(succeeded?.status.creationTime);
    assert.deepEqual(reasons(succeeded), {
      Progressing: "False Operation complete",
      Ready: "False Not ready",
    });
    const ready = await untilSnap(readyToUse);
    assert.deepEqual(reasons(ready), { Progressing: "False Operation complete", Ready: "True Ready" });
  });

  it("fails at failureDeadline, measured from creationTimestamp, and deletes the unready content", async () => {
    await runningVm("web");
    snapshotWeb({ spec: { failureDeadline: "2s" }, annotations: { [KnobAnnotation.Hang]: "InProgress" } });
    const inProgress = await untilSnap(sourceLocked);
    assert.equal(inProgress?.status.phase, "InProgress");

    const vms = await untilSnap((o) => o?.status?.phase === "Failed", 4000);
    assert.ok(Date.now() - Date.parse(vms!.metadata.creationTimestamp!) >= 2000);
    assert.deepEqual(reasons(vms), {
      Progressing: "False Operation failed",
      Ready: "False Not ready",
      Failure: "True snapshot deadline exceeded",
    });
    await waitFor(
      sim.store,
      VirtualMachineSnapshotContent,
      "default",
      contentNameOf(vms!.metadata.uid),
      gone,
    );
    await waitFor(sim.store, KubeVirtVirtualMachine, "default", "web", unlocked);
  });

  it("reports a VolumeSnapshot error in status.error without failing before the deadline", async () => {
    await runningVm("web");
    const { metadata } = snapshotWeb({
      spec: { failureDeadline: "2s" },
      annotations: { [KnobAnnotation.Fail]: "storage backend unavailable" },
    });
    const erred = await untilSnap((o) => Boolean(o?.status?.error));
    assert.equal(erred?.status.phase, "InProgress");
    assert.match(
      erred?.status.error.message,
      new RegExp(
        `^VolumeSnapshot vmsnapshot-${metadata.uid}-volume-(root|data) error: storage backend unavailable$`,
      ),
    );
    assert.equal(reasons(erred).Progressing, "False In error state");
    await untilSnap((o) => o?.status?.phase === "Failed", 4000);
  });

  it("waits for a missing source VM (Source does not exist), then snapshots it once it appears", async () => {
    createVirtualMachineSnapshot(sim.store, { name: "snap", vm: "later" });
    const waiting = await untilSnap((o) => Boolean(o?.status));
    assert.equal(waiting?.status.phase, "InProgress");
    assert.equal(reasons(waiting).Progressing, "False Source does not exist");
    createVirtualMachine(sim.store, { name: "later" });
    await untilSnap(readyToUse);
  });

  it("lists excluded volumes and adds PartialSnapshot when a claim has no VolumeSnapshotClass", async () => {
    createVirtualMachine(sim.store, {
      name: "mixed",
      cloudInit: true,
      disks: ["root", { name: "scratch", storageClassName: null }],
    });
    const vm = await waitFor(
      sim.store,
      KubeVirtVirtualMachine,
      "default",
      "mixed",
      printableStatusIs("Stopped"),
    );
    assert.deepEqual(vm?.status.volumeSnapshotStatuses, [
      { name: "root", enabled: true },
      {
        name: "scratch",
        enabled: false,
        reason:
          "No VolumeSnapshotClass: Volume snapshots are not configured for this StorageClass [] [scratch]",
      },
      {
        name: "cloudinitdisk",
        enabled: false,
        reason: "Snapshot is not supported for this volumeSource type [cloudinitdisk]",
      },
    ]);
    createVirtualMachineSnapshot(sim.store, { name: "snap", vm: "mixed" });
    const vms = await untilSnap(readyToUse);
    assert.deepEqual(vms?.status.snapshotVolumes, {
      includedVolumes: ["root"],
      excludedVolumes: ["scratch", "cloudinitdisk"],
    });
    assert.deepEqual(vms?.status.indications, ["PartialSnapshot"]);
    assert.deepEqual(vms?.status.sourceIndications, [
      { indication: "PartialSnapshot", message: IndicationMessage.PartialSnapshot },
    ]);
  });

  it("deletes the content and its VolumeSnapshots with the snapshot (deletionPolicy Delete, the default)", async () => {
    await runningVm("web");
    const { metadata } = snapshotWeb();
    await untilSnap(readyToUse);
    sim.store.delete(VMS, "default", "snap");
    await untilSnap(gone);
    await waitFor(sim.store, VirtualMachineSnapshotContent, "default", contentNameOf(metadata.uid), gone);
    await waitFor(sim.store, VolumeSnapshot, "default", `vmsnapshot-${metadata.uid}-volume-root`, gone);
    await waitFor(sim.store, VolumeSnapshot, "default", `vmsnapshot-${metadata.uid}-volume-data`, gone);
  });

  it("leaves the ready content and its VolumeSnapshots behind with deletionPolicy Retain", async () => {
    await runningVm("web");
    const { metadata } = snapshotWeb({ spec: { deletionPolicy: "Retain" } });
    await untilSnap(readyToUse);
    sim.store.delete(VMS, "default", "snap");
    await untilSnap(gone);
    const contentName = `vmsnapshot-content-${metadata.uid}`;
    const content = await waitFor(
      sim.store,
      VirtualMachineSnapshotContent,
      "default",
      contentName,
      (o) => !o?.metadata.finalizers,
    );
    assert.equal(content?.spec.virtualMachineSnapshotName, "snap");
    assert.equal(content?.metadata.deletionTimestamp, undefined);
    assert.equal(content?.status.readyToUse, true);
    assert.equal(
      sim.store.get(VolumeSnapshot, "default", `vmsnapshot-${metadata.uid}-volume-root`)?.status.readyToUse,
      true,
    );
  });

  it("shows phase Deleting while an in-progress snapshot is deleted, then unlocks the VM", async () => {
    await runningVm("web");
    snapshotWeb({ spec: { failureDeadline: "0" }, annotations: { [KnobAnnotation.Hang]: "InProgress" } });
    await untilSnap(sourceLocked);
    assert.equal(sim.store.get(KubeVirtVirtualMachine, "default", "web")?.status.snapshotInProgress, "snap");
    const phases: string[] = [];
    const unsubscribe = sim.store.subscribe(({ object: o }) => {
      if (o.kind === "VirtualMachineSnapshot" && o.status?.phase) phases.push(o.status.phase);
    });
    sim.store.delete(VMS, "default", "snap");
    await untilSnap(gone);
    unsubscribe();
    assert.ok(phases.includes("Deleting"), `phases seen: ${phases}`);
    await waitFor(sim.store, KubeVirtVirtualMachine, "default", "web", unlocked);
  });

  it("keeps a deleted snapshot while the hold-deletion knob is set, and lets it go when it is removed", async () => {
    await runningVm("web");
    const { metadata } = snapshotWeb({ annotations: { [KnobAnnotation.HoldDeletion]: "true" } });
    await untilSnap(readyToUse);
    sim.store.delete(VMS, "default", "snap");
    const held = sim.store.get(VMS, "default", "snap");
    // The controller has handled the deletion (the content is gone), yet the snapshot stays.
    await waitFor(sim.store, VirtualMachineSnapshotContent, "default", contentNameOf(metadata.uid), gone);
    const stillHeld = sim.store.get(VMS, "default", "snap");
    assert.equal(stillHeld?.status.phase, "Succeeded"); // a Succeeded snapshot stays Succeeded while deleted
    assert.deepEqual(stillHeld?.metadata.finalizers, [Finalizer.VirtualMachineSnapshot]);
    assert.ok(held?.metadata.deletionTimestamp);
    const { [KnobAnnotation.HoldDeletion]: _released, ...annotations } = stillHeld!.metadata.annotations!;
    sim.store.update(VMS, { ...stillHeld!, metadata: { ...stillHeld!.metadata, annotations } });
    await untilSnap(gone);
  });
});
