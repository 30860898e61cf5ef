// The Deckhouse classifiers on objects built from the reference's phase and condition tables
// (deckhouse-api.md §2.3-2.4 and §3.3-3.4), no cluster needed.
import assert from "node:assert/strict";
import type { KubeObject } from "../../provider/kube/objects";
import { virtualDiskSnapshot } from "../../provider/deckhouse/virtualDiskSnapshot";
import { virtualMachineSnapshot } from "../../provider/deckhouse/virtualMachineSnapshot";

const object = (status: any, generation = 1): KubeObject => ({
  metadata: { name: "snap", namespace: "prod", generation },
  status: { observedGeneration: generation, ...status },
});
const condition = (type: string, status: string, reason: string, message = "") => ({
  type,
  status,
  reason,
  message,
});

describe("Deckhouse VirtualDiskSnapshot reading", () => {
  const read = (o: KubeObject) => virtualDiskSnapshot.read(o, {});

  it("waits while Pending and InProgress, showing the controller's reason", () => {
    const r = read(
      object({
        phase: "InProgress",
        conditions: [
          condition("VirtualDiskReady", "True", "VirtualDiskReady"),
          condition(
            "VirtualDiskSnapshotReady",
            "False",
            "Snapshotting",
            'Waiting for the snapshot of virtual disk "root" to be ready to use.',
          ),
        ],
      }),
    );
    assert.deepEqual(r.verdict, { state: "waiting" });
    assert.equal(r.reason, "Snapshotting");
    assert.equal(r.phase, "InProgress");
  });

  it("is done at Ready", () => {
    const r = read(
      object({
        phase: "Ready",
        consistent: true,
        volumeSnapshotName: "d8v-vds-snap-1",
        conditions: [condition("VirtualDiskSnapshotReady", "True", "VirtualDiskSnapshotReady")],
      }),
    );
    assert.deepEqual(r.verdict, { state: "ready" });
  });

  it("fails with the platform's reason and message (>= v1.3.0 fails fast)", () => {
    const message = 'Cannot take a snapshot: the virtual disk "root" is not ready.';
    const r = read(
      object({
        phase: "Failed",
        conditions: [condition("VirtualDiskSnapshotReady", "False", "WaitingForTheVirtualDisk", message)],
      }),
    );
    assert.deepEqual(r.verdict, { state: "failed", reason: "WaitingForTheVirtualDisk", message });
  });

  it("reports a Ready snapshot that lost its VolumeSnapshot as failed (Lost)", () => {
    const message = 'The underlying VolumeSnapshot "d8v-vds-snap-1" is no longer available.';
    const r = read(
      object({
        phase: "Failed",
        conditions: [condition("VirtualDiskSnapshotReady", "False", "Lost", message)],
      }),
    );
    assert.deepEqual(r.verdict, { state: "failed", reason: "Lost", message });
  });

  it("keeps waiting on a Pending precondition of an older cluster and shows why", () => {
    const message = 'Waiting for the virtual disk "root" to be ready for snapshotting.';
    const r = read(
      object({
        phase: "Pending",
        conditions: [condition("VirtualDiskReady", "False", "VirtualDiskNotReadyForSnapshotting", message)],
      }),
    );
    assert.deepEqual(r.verdict, { state: "waiting" });
    assert.equal(r.message, message);
  });

  it("does not trust a status written for an older generation", () => {
    const r = read({ ...object({ phase: "Ready" }), metadata: { name: "snap", generation: 2 } });
    assert.deepEqual(r.verdict, { state: "waiting" });
  });

  it("waits on an object the controller has not seen yet", () => {
    assert.deepEqual(read({ metadata: { name: "snap", generation: 1 } }).verdict, { state: "waiting" });
  });

  it("outputs a dataSource for a new VirtualDisk and consistent only when the platform says so", () => {
    const o = virtualDiskSnapshot.outputs(object({ phase: "Ready" }), { name: "snap" });
    assert.equal(o.consistent, false);
    assert.deepEqual(o.dataSource, {
      type: "ObjectRef",
      objectRef: { kind: "VirtualDiskSnapshot", name: "snap" },
    });
  });
});

describe("Deckhouse VirtualMachineSnapshot reading", () => {
  const read = (o: KubeObject) => virtualMachineSnapshot.read(o, {});

  it("shows the per-disk progress while InProgress", () => {
    const message =
      'Waiting for the virtual disk snapshots to be taken for the block devices of the virtual machine "db" (1/2).';
    const r = read(
      object({
        phase: "InProgress",
        conditions: [condition("VirtualMachineSnapshotReady", "False", "Snapshotting", message)],
      }),
    );
    assert.deepEqual(r.verdict, { state: "waiting" });
    assert.equal(r.message, message);
  });

  it("is done at Ready even when the first Ready reason is the controller's odd VirtualMachineReady", () => {
    const r = read(
      object({
        phase: "Ready",
        conditions: [condition("VirtualMachineSnapshotReady", "True", "VirtualMachineReady")],
      }),
    );
    assert.deepEqual(r.verdict, { state: "ready" });
    assert.equal(r.reason, "VirtualMachineSnapshotReady", "a refresh later shows no change");
  });

  for (const [reason, message] of [
    ["WaitingForTheVirtualMachine", 'Cannot take a snapshot: the virtual machine "db" is not ready.'],
    [
      "BlockDevicesNotReady",
      'Virtual disk is in the process of resizing: waiting for the virtual disk "root" to be resized.',
    ],
    [
      "PotentiallyInconsistent",
      'Cannot take a consistent snapshot of virtual machine "db": virtual machine agent is not ready and the virtual machine cannot be frozen.',
    ],
    ["VirtualDiskSnapshotLost", "The underlying virtual disk snapshot (root-1234) is lost."],
  ]) {
    it(`fails with ${reason}`, () => {
      const r = read(
        object({
          phase: "Failed",
          conditions: [condition("VirtualMachineSnapshotReady", "False", reason, message)],
        }),
      );
      assert.deepEqual(r.verdict, { state: "failed", reason, message });
    });
  }

  it("outputs the child disk snapshots and resources", () => {
    const o = virtualMachineSnapshot.outputs(
      object({
        phase: "Ready",
        consistent: true,
        virtualDiskSnapshotNames: ["root-1234"],
        resources: [
          { apiVersion: "virtualization.deckhouse.io/v1alpha2", kind: "VirtualMachine", name: "db" },
        ],
      }),
      {},
    );
    assert.equal(o.consistent, true);
    assert.deepEqual(o.virtualDiskSnapshotNames, ["root-1234"]);
    assert.deepEqual(o.resources, [
      { apiVersion: "virtualization.deckhouse.io/v1alpha2", kind: "VirtualMachine", name: "db" },
    ]);
  });
});
