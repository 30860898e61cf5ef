// kubevirt.VirtualDiskSnapshot (a CSI VolumeSnapshot of a KubeVirt disk's claim) through the provider's
// lifecycle against the emulator, the simulated CDI and storage provisioner, and the CSI snapshotter.
import assert from "node:assert/strict";
import { lifecycle } from "../../provider/runtime";
import { PersistentVolumeClaim, VolumeSnapshot } from "../emulator/kinds/core";
import { DataVolume } from "../emulator/kinds/kubevirt";
import { withProgress } from "../fixtures/progress";
import { KnobAnnotation } from "../simulators/knobs";
import { createVirtualMachine } from "../simulators/kubevirt/fixtures";
import { waitFor } from "../simulators/waitFor";
import { kubevirtCluster, namespace, type KubeVirtCluster } from "./cluster";

const vds = lifecycle("kubevirt:VirtualDiskSnapshot");

describe("KubeVirt VirtualDiskSnapshot (CSI) against the emulator", () => {
  let cluster: KubeVirtCluster;
  before(async () => {
    cluster = await kubevirtCluster({ phaseDelayMs: 10 });
    createVirtualMachine(cluster.store, { namespace, name: "db", disks: ["root"] });
  });
  after(async () => cluster?.stop());

  const snapshot = async (news: Record<string, unknown>) =>
    withProgress(async () => vds.create(await cluster.inputs(vds, news)));

  it("snapshots a claim and outputs a dataSource that a new claim restores from", async () => {
    const { result, error } = await snapshot({ persistentVolumeClaimName: "db-root", name: "root-snap" });
    assert.ifError(error);
    const { outs, id } = result!;
    assert.deepEqual(
      [outs.phase, outs.readyToUse, outs.claimName, outs.restoreSize],
      ["Ready", true, "db-root", "10Gi"],
    );
    assert.equal(
      cluster.store.get(VolumeSnapshot, namespace, "root-snap")?.spec.source.persistentVolumeClaimName,
      "db-root",
    );

    cluster.store.create(
      PersistentVolumeClaim,
      {
        metadata: { name: "root-copy" },
        spec: {
          accessModes: ["ReadWriteOnce"],
          resources: { requests: { storage: "10Gi" } },
          dataSource: outs.dataSource,
        },
      },
      namespace,
    );
    await waitFor(
      cluster.store,
      PersistentVolumeClaim,
      namespace,
      "root-copy",
      (o) => o?.status?.phase === "Bound",
    );

    await withProgress(() => vds.delete(id, outs));
    assert.equal(cluster.store.get(VolumeSnapshot, namespace, "root-snap"), undefined);
  });

  it("resolves a DataVolume to its claim, waiting until the DataVolume is populated", async () => {
    cluster.store.create(
      DataVolume,
      {
        metadata: { name: "scratch", annotations: { [KnobAnnotation.PhaseDelayMs]: "200" } },
        spec: {
          source: { blank: {} },
          pvc: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
        },
      },
      namespace,
    );
    let dataVolumeWhenCut: string | undefined;
    const unsubscribe = cluster.store.subscribe((event) => {
      if (event.type === "ADDED" && event.object.kind === "VolumeSnapshot") {
        dataVolumeWhenCut = cluster.store.get(DataVolume, namespace, "scratch")?.status?.phase;
      }
    });
    const { result, lines } = await snapshot({ dataVolumeName: "scratch", name: "scratch-snap" });
    unsubscribe();
    assert.equal(dataVolumeWhenCut, "Succeeded");
    assert.ok(
      lines.some((l) => /waiting: DataVolume vms\/scratch is \w+, not populated yet/.test(l)),
      lines.join("\n"),
    );
    assert.equal(result?.outs.claimName, "scratch");
    assert.deepEqual(result?.outs.dataVolumeSource, { snapshot: { namespace, name: "scratch-snap" } });
    await withProgress(() => vds.delete(result!.id, result!.outs));
  });

  it("fails at failureDeadlineSeconds on a CSI error that never changes, and deletes the snapshot", async () => {
    const started = Date.now();
    const { error, lines } = await snapshot({
      persistentVolumeClaimName: "db-root",
      name: "broken",
      failureDeadlineSeconds: 2, // > 1s: creationTimestamp has whole seconds, so the error shows before the deadline
      waitTimeoutSeconds: 60,
      annotations: { [KnobAnnotation.Fail]: "rpc error: code = Internal desc = storage backend unavailable" },
    });
    assert.ok(Date.now() - started < 4000);
    // The snapshotter wrote the error once; only the provider's own re-read at the deadline ends the wait.
    assert.ok(
      lines.some((l) => /Pending \(Error: rpc error/.test(l)),
      lines.join("\n"),
    );
    assert.match(
      error?.message,
      /VolumeSnapshot vms\/broken failed: SnapshotError: rpc error: code = Internal desc = storage backend unavailable \(the snapshot still reported this error 2s after it was created: failureDeadlineSeconds\)/,
    );
    assert.equal(cluster.store.get(VolumeSnapshot, namespace, "broken"), undefined);
    assert.ok(!lines.some((l) => /Ready/.test(l)));
  });

  it("refuses a disk that does not exist before creating anything", async () => {
    const { error } = await snapshot({ persistentVolumeClaimName: "nope", name: "missing" });
    assert.match(
      error?.message,
      /PersistentVolumeClaim vms\/nope \(persistentVolumeClaimName\) does not exist/,
    );
    assert.equal(cluster.store.get(VolumeSnapshot, namespace, "missing"), undefined);
  });
});
