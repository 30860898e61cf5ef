import assert from "node:assert/strict";
import { VolumeSnapshot } from "../../emulator/kinds/core";
import { VirtualDisk, VirtualDiskSnapshot, VirtualMachine } from "../../emulator/kinds/deckhouse";
import type { KubeObject } from "../../emulator/store";
import { startCsiSnapshotController } from "../csi";
import { KnobAnnotation } from "../knobs";
import { gone, inPhase, recordPhases, waitFor } from "../waitFor";
import { conditionOf } from "./conditions";
import { createVirtualDisk, createVirtualDiskSnapshot } from "./fixtures";
import { assertCondition, harnessPerTest, ns } from "./testing";

describe("Deckhouse simulator: VirtualDiskSnapshot", () => {
  const h = harnessPerTest();

  const snapshotDisk = (name: string, disk: string, spec: Record<string, unknown> = {}, annotations = {}) =>
    createVirtualDiskSnapshot(h.store, { name, disk, spec, annotations });
  const until = (name: string, ...phases: string[]) =>
    waitFor(h.store, VirtualDiskSnapshot, ns, name, inPhase(...phases)) as Promise<KubeObject>;
  const readyDisk = async (name: string) => {
    createVirtualDisk(h.store, ns, name);
    await waitFor(h.store, VirtualDisk, ns, name, inPhase("Ready"));
  };
  const runningVm = async (
    name: string,
    disks: string[],
    opts: { guestAgent?: boolean; running?: boolean } = {},
  ) => {
    await h.createVmIn(opts.running === false ? "Stopped" : "Running", { name, disks, ...opts });
  };
  const ready = (s: KubeObject | undefined) => conditionOf(s, "VirtualDiskSnapshotReady");
  /** Waits for the snapshot "snap" to fail and checks its Ready condition; resolves with the snapshot. */
  const snapFailsWith = async (expected: { reason?: string; message: string }) => {
    const snap = await until("snap", "Failed");
    assertCondition(ready(snap), expected);
    return snap;
  };
  /** Snapshots a disk that cannot be snapshotted now: the snapshot fails as not ready, VirtualDiskReady says why. */
  const unreadyDiskSnapshotFails = async (disk: string, why: string) => {
    snapshotDisk("snap", disk);
    const snap = await until("snap", "Failed");
    assert.equal(ready(snap)?.message, `Cannot take a snapshot: the virtual disk "${disk}" is not ready.`);
    assert.equal(conditionOf(snap, "VirtualDiskReady")?.message, why);
  };
  /** The VolumeSnapshot a disk snapshot cuts, once it exists. */
  const volumeSnapshotOf = (snapshot: KubeObject) => {
    const name = `d8v-vds-snap-${snapshot.metadata.uid}`;
    return waitFor(h.store, VolumeSnapshot, ns, name, (o) => o !== undefined) as Promise<KubeObject>;
  };
  /** Puts a knob on a VolumeSnapshot, as if the CSI driver's state changed. */
  const setKnob = (vs: KubeObject, knob: string, value: string) =>
    h.store.update(VolumeSnapshot, {
      ...vs,
      metadata: { ...vs.metadata, annotations: { ...vs.metadata.annotations, [knob]: value } },
    });

  describe("with the default controller", () => {
    it("snapshots a detached disk: Pending → InProgress → Ready, consistent, with its VolumeSnapshot", async () => {
      await readyDisk("data");
      const created = snapshotDisk("snap", "data");
      const seen = recordPhases(h.store, VirtualDiskSnapshot, ns, "snap");
      const snap = await until("snap", "Ready", "Failed");
      seen.stop();
      assert.deepEqual(seen.phases, ["Pending", "InProgress", "Ready"]);
      const vsName = `d8v-vds-snap-${created.metadata.uid}`;
      assert.equal(snap.status.volumeSnapshotName, vsName);
      assert.equal(snap.status.consistent, true);
      assert.deepEqual(snap.metadata.finalizers, ["virtualization.deckhouse.io/vdsnapshot-cleanup"]);
      assert.equal(snap.status.observedGeneration, 1);
      assert.deepEqual(
        snap.status.conditions.map((c: any) => [c.type, c.status, c.reason, c.observedGeneration]),
        [
          ["VirtualDiskReady", "True", "VirtualDiskReady", 1],
          ["VirtualDiskSnapshotReady", "True", "VirtualDiskSnapshotReady", 1],
        ],
      );
      const vs = h.store.mustGet(VolumeSnapshot, ns, vsName);
      assert.deepEqual(vs.metadata.finalizers, ["virtualization.deckhouse.io/vdsnapshot-protection"]);
      assert.equal(vs.metadata.ownerReferences?.[0].uid, created.metadata.uid);
      assert.equal(vs.status.readyToUse, true);
      assert.equal(vs.status.restoreSize, "10Gi");
    });

    it("freezes the guest of a running VM with an agent while the snapshot is taken, then thaws it", async () => {
      await runningVm("vm", ["root"]);
      const frozenSeen: boolean[] = [];
      const unsubscribe = h.store.subscribe((e) => {
        if (e.object.kind === "VirtualMachine")
          frozenSeen.push(conditionOf(e.object, "FilesystemFrozen")?.status === "True");
      });
      const reasons = new Set<string>();
      const unsubscribeReasons = h.store.subscribe((e) => {
        if (e.object.kind === "VirtualDiskSnapshot" && ready(e.object)) reasons.add(ready(e.object)!.reason);
      });
      snapshotDisk("snap", "root");
      const snap = await until("snap", "Ready", "Failed");
      unsubscribe();
      unsubscribeReasons();
      assert.equal(snap.status.phase, "Ready");
      assert.equal(snap.status.consistent, true);
      assert.ok(reasons.has("FileSystemFreezing"), [...reasons].join());
      assert.ok(frozenSeen.includes(true), "the VM reported FilesystemFrozen while the snapshot was taken");
      const vm = await h.untilVm("vm", (v) => !conditionOf(v, "FilesystemFrozen"));
      assert.equal(vm?.status.phase, "Running");
    });

    it("takes a consistent snapshot of a stopped VM's disk without freezing", async () => {
      await runningVm("vm", ["root"], { running: false });
      snapshotDisk("snap", "root");
      const snap = await until("snap", "Ready", "Failed");
      assert.equal(snap.status.consistent, true);
    });

    it("fails PotentiallyInconsistent when the VM has no agent and consistency is required", async () => {
      await runningVm("vm", ["root"], { guestAgent: false });
      snapshotDisk("snap", "root");
      const snap = await until("snap", "Ready", "Failed");
      assert.equal(snap.status.phase, "Failed");
      assert.equal(ready(snap)?.reason, "PotentiallyInconsistent");
      assert.equal(
        ready(snap)?.message,
        'Cannot take a consistent snapshot of virtual disk "root" attached to virtual machine "vm": virtual machine agent is not ready and the virtual machine cannot be frozen.',
      );
    });

    it("takes an inconsistent snapshot when requiredConsistency is false: Ready without consistent", async () => {
      await runningVm("vm", ["root"], { guestAgent: false });
      snapshotDisk("snap", "root", { requiredConsistency: false });
      const snap = await until("snap", "Ready", "Failed");
      assert.equal(snap.status.phase, "Ready");
      assert.equal("consistent" in snap.status, false);
    });

    it("fails WaitingForTheVirtualDisk when the disk does not exist", async () => {
      snapshotDisk("snap", "nope");
      const snap = await snapFailsWith({
        reason: "WaitingForTheVirtualDisk",
        message: 'Cannot take a snapshot: the virtual disk "nope" does not exist.',
      });
      assert.equal(conditionOf(snap, "VirtualDiskReady")?.message, 'The virtual disk "nope" was not found.');
    });

    it("fails WaitingForTheVirtualDisk when the disk is not Ready", async () => {
      createVirtualDisk(h.store, ns, {
        name: "slow",
        annotations: { [KnobAnnotation.Hang]: "Provisioning" },
      });
      await waitFor(h.store, VirtualDisk, ns, "slow", inPhase("Provisioning"));
      await unreadyDiskSnapshotFails(
        "slow",
        'The virtual disk "slow" is in the "Provisioning" phase: waiting for it to reach the Ready phase.',
      );
    });

    it("fails when the disk is resizing", async () => {
      createVirtualDisk(h.store, ns, { name: "growing", annotations: { [KnobAnnotation.Resizing]: "true" } });
      const disk = await waitFor(h.store, VirtualDisk, ns, "growing", inPhase("Ready"));
      assert.equal(conditionOf(disk, "Resizing")?.status, "True");
      await unreadyDiskSnapshotFails(
        "growing",
        "The virtual disk cannot be selected for snapshotting as it is currently resizing.",
      );
    });

    it("fails when the disk is attached to two virtual machines", async () => {
      await runningVm("a", ["shared"]);
      await h.alsoAttachTo("b", "shared");
      snapshotDisk("snap", "shared");
      await snapFailsWith({
        reason: "VirtualDiskSnapshotFailed",
        message: 'The virtual disk "shared" is attached to multiple virtual machines.',
      });
    });

    it("stays InProgress while the VolumeSnapshot is not ready to use", async () => {
      await readyDisk("data");
      const vs = await volumeSnapshotOf(snapshotDisk("snap", "data"));
      // Runs before the CSI stand-in's next reconcile (a timer), so the knob is in place in time.
      setKnob(vs, KnobAnnotation.Hang, "true");
      const snap = await waitFor(h.store, VirtualDiskSnapshot, ns, "snap", (s) =>
        (ready(s)?.message ?? "").startsWith("Waiting for the snapshot"),
      );
      assert.equal(snap?.status.phase, "InProgress");
      assert.equal(
        ready(snap!)?.message,
        'Waiting for the snapshot of virtual disk "data" to be ready to use.',
      );
    });

    it("fails with the VolumeSnapshot's error", async () => {
      await readyDisk("data");
      const vs = await volumeSnapshotOf(snapshotDisk("snap", "data"));
      setKnob(vs, KnobAnnotation.Fail, "no space left on the pool");
      const snap = await until("snap", "Failed", "Ready");
      assertCondition(ready(snap), {
        reason: "VirtualDiskSnapshotFailed",
        message: `VolumeSnapshot "${vs.metadata.name}" has an error: no space left on the pool.`,
      });
    });

    it("turns Ready into Failed/Lost when the VolumeSnapshot disappears", async () => {
      await readyDisk("data");
      snapshotDisk("snap", "data");
      const snap = await until("snap", "Ready");
      const vs = h.store.mustGet(VolumeSnapshot, ns, snap.status.volumeSnapshotName);
      h.store.update(VolumeSnapshot, { ...vs, metadata: { ...vs.metadata, finalizers: [] } });
      h.store.delete(VolumeSnapshot, ns, vs.metadata.name!);
      const lost = await until("snap", "Failed");
      assert.equal(ready(lost)?.reason, "Lost");
      assert.equal(
        ready(lost)?.message,
        `The underlying VolumeSnapshot "${vs.metadata.name}" is no longer available.`,
      );
    });

    it("deletes through Terminating: the VolumeSnapshot goes, then the finalizer", async () => {
      await readyDisk("data");
      snapshotDisk("snap", "data");
      const snap = await until("snap", "Ready");
      const seen = recordPhases(h.store, VirtualDiskSnapshot, ns, "snap");
      h.store.delete(VirtualDiskSnapshot, ns, "snap");
      await waitFor(h.store, VirtualDiskSnapshot, ns, "snap", gone);
      seen.stop();
      assert.deepEqual(seen.phases, ["Ready", "Terminating"]);
      await waitFor(h.store, VolumeSnapshot, ns, snap.status.volumeSnapshotName, gone);
    });

    it("holds deletion while hold-deletion is set and completes it when the annotation is removed", async () => {
      await readyDisk("data");
      snapshotDisk("snap", "data", {}, { [KnobAnnotation.HoldDeletion]: "true" });
      await until("snap", "Ready");
      h.store.delete(VirtualDiskSnapshot, ns, "snap");
      const held = await until("snap", "Terminating");
      assert.deepEqual(
        held.status.conditions.map((c: any) => [c.type, c.status, c.reason]),
        [
          ["VirtualDiskReady", "Unknown", "Unknown"],
          ["VirtualDiskSnapshotReady", "Unknown", "Unknown"],
        ],
      );
      assert.ok(
        h.store.get(VolumeSnapshot, ns, held.status.volumeSnapshotName),
        "the VolumeSnapshot is kept while held",
      );
      const { [KnobAnnotation.HoldDeletion]: _released, ...annotations } = held.metadata.annotations ?? {};
      h.store.update(VirtualDiskSnapshot, { ...held, metadata: { ...held.metadata, annotations } });
      await waitFor(h.store, VirtualDiskSnapshot, ns, "snap", gone);
    });

    it("fails with the reason and message of the fail knob", async () => {
      await readyDisk("data");
      snapshotDisk(
        "snap",
        "data",
        {},
        { [KnobAnnotation.Fail]: "QuotaExceeded: snapshot quota of 5 reached" },
      );
      await snapFailsWith({ reason: "QuotaExceeded", message: "snapshot quota of 5 reached" });
    });

    it("paces each transition by the phase-delay-ms knob", async () => {
      await readyDisk("data");
      const started = Date.now();
      snapshotDisk("snap", "data", {}, { [KnobAnnotation.PhaseDelayMs]: "60" });
      await until("snap", "Ready");
      // Two paced steps (create the VolumeSnapshot, then Ready) of 60 ms each.
      assert.ok(Date.now() - started >= 120, `took ${Date.now() - started} ms`);
    });
  });

  it("fails when the snapshot was cut while the VM was stopped but it runs by the time it is ready", async () => {
    h.restart({ csi: false });
    const csi = startCsiSnapshotController(h.store, { phaseDelayMs: 100 });
    try {
      await runningVm("vm", ["root"], { running: false });
      await volumeSnapshotOf(snapshotDisk("snap", "root"));
      const vm = h.store.mustGet(VirtualMachine, ns, "vm");
      h.store.update(VirtualMachine, { ...vm, spec: { ...vm.spec, runPolicy: "AlwaysOn" } });
      const snap = await until("snap", "Failed", "Ready");
      assertCondition(ready(snap), {
        reason: "VirtualDiskSnapshotFailed",
        message:
          "Virtual disk snapshot is not consistent because the virtual machine vm has not been stopped or its filesystem has not been frozen.",
      });
    } finally {
      csi.stop();
    }
  });
});
