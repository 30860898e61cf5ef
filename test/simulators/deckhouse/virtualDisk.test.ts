import assert from "node:assert/strict";
import { PersistentVolumeClaim } from "../../emulator/kinds/core";
import { VirtualDisk, VirtualDiskSnapshot } from "../../emulator/kinds/deckhouse";
import type { KubeObject } from "../../emulator/store";
import { KnobAnnotation } from "../knobs";
import { inPhase, recordPhases, waitFor } from "../waitFor";
import { conditionOf } from "./conditions";
import { createVirtualDisk, createVirtualDiskSnapshot } from "./fixtures";
import { harnessPerTest, ns } from "./testing";

describe("Deckhouse simulator: VirtualDisk", () => {
  const h = harnessPerTest();

  const until = (name: string, ...phases: string[]) =>
    waitFor(h.store, VirtualDisk, ns, name, inPhase(...phases)) as Promise<KubeObject>;
  const fromSnapshot = (name: string, snapshot: string) =>
    h.store.create(VirtualDisk, {
      metadata: { name, namespace: ns },
      spec: { dataSource: { type: "ObjectRef", objectRef: { kind: "VirtualDiskSnapshot", name: snapshot } } },
    });

  it("provisions a blank disk: Pending → Provisioning → Ready on a Bound claim vd-<name>-<uid>", async () => {
    const seen = recordPhases(h.store, VirtualDisk, ns, "data");
    const created = createVirtualDisk(h.store, ns, { name: "data", size: "5Gi" });
    const disk = await until("data", "Ready", "Failed");
    seen.stop();
    assert.deepEqual(seen.phases, ["Pending", "Provisioning", "Ready"]);
    const claimName = `vd-data-${created.metadata.uid}`;
    assert.equal(disk.status.target.persistentVolumeClaimName, claimName);
    assert.equal(disk.status.capacity, "5Gi");
    assert.equal(conditionOf(disk, "Ready")?.status, "True");
    const claim = h.store.mustGet(PersistentVolumeClaim, ns, claimName);
    assert.equal(claim.status.phase, "Bound");
    assert.equal(claim.metadata.ownerReferences?.[0].uid, created.metadata.uid);
  });

  it("provisions from a Ready VirtualDiskSnapshot with the snapshot's size", async () => {
    createVirtualDisk(h.store, ns, { name: "data", size: "3Gi" });
    await until("data", "Ready");
    createVirtualDiskSnapshot(h.store, { name: "snap", disk: "data" });
    const snapshot = await waitFor(h.store, VirtualDiskSnapshot, ns, "snap", inPhase("Ready"));
    fromSnapshot("copy", "snap");
    const copy = await until("copy", "Ready", "Failed");
    assert.equal(copy.status.capacity, "3Gi");
    const claim = h.store.mustGet(PersistentVolumeClaim, ns, copy.status.target.persistentVolumeClaimName);
    assert.deepEqual(claim.spec.dataSource, {
      apiGroup: "snapshot.storage.k8s.io",
      kind: "VolumeSnapshot",
      name: snapshot?.status.volumeSnapshotName,
    });
  });

  it("fails when the source snapshot does not exist", async () => {
    fromSnapshot("copy", "nope");
    const disk = await until("copy", "Failed");
    assert.deepEqual(
      [conditionOf(disk, "Ready")?.reason, conditionOf(disk, "Ready")?.message],
      ["ProvisioningFailed", 'VirtualDiskSnapshot "nope" not found.'],
    );
  });

  it("fails when the source snapshot is not ready", async () => {
    createVirtualDiskSnapshot(h.store, { name: "snap", disk: "missing-disk" });
    await waitFor(h.store, VirtualDiskSnapshot, ns, "snap", inPhase("Failed"));
    fromSnapshot("copy", "snap");
    const disk = await until("copy", "Failed");
    assert.equal(conditionOf(disk, "Ready")?.message, 'VirtualDiskSnapshot "snap" is not ready to use.');
  });

  it("reports Resizing=True with the resizing knob", async () => {
    createVirtualDisk(h.store, ns, { name: "data", annotations: { [KnobAnnotation.Resizing]: "true" } });
    const disk = await until("data", "Ready");
    assert.equal(conditionOf(disk, "Resizing")?.status, "True");
  });

  it("fails at its next step with the fail knob", async () => {
    createVirtualDisk(h.store, ns, {
      name: "data",
      annotations: { [KnobAnnotation.Fail]: "StorageClassIsNotReady: storage class fast is not ready" },
    });
    const disk = await until("data", "Failed");
    assert.deepEqual(
      [conditionOf(disk, "Ready")?.reason, conditionOf(disk, "Ready")?.message],
      ["StorageClassIsNotReady", "storage class fast is not ready"],
    );
  });
});
