// kubevirt.VirtualDiskSnapshot (a CSI VolumeSnapshot of a KubeVirt disk's claim) through the provider's
// lifecycle against a cluster: the emulator with the simulated CDI, storage provisioner and CSI snapshotter,
// or a real one.
import assert from "node:assert/strict";
import { lifecycle } from "../../provider/runtime";
import { PersistentVolumeClaim, VolumeSnapshot } from "../emulator/kinds/core";
import { DataVolume } from "../emulator/kinds/kubevirt";
import { kubevirtCluster, needsSimulator, scaled, type TestCluster } from "../fixtures/cluster";
import { withProgress } from "../fixtures/progress";
import { kubevirtClaim, kubevirtVirtualMachine } from "../fixtures/workload";
import { KnobAnnotation } from "../simulators/knobs";
import { manifest } from "../simulators/manifests";
import { inPhase } from "../simulators/waitFor";

const vds = lifecycle("kubevirt:VirtualDiskSnapshot");

describe("KubeVirt VirtualDiskSnapshot (CSI) against a cluster", function () {
  this.timeout(scaled(60_000));
  let cluster: TestCluster;
  let ns: string;
  before(async () => {
    cluster = await kubevirtCluster({ phaseDelayMs: 10 });
    ns = cluster.namespace;
    await cluster.api.apply(kubevirtVirtualMachine(cluster, { name: "db", disks: ["root"] }));
    await cluster.api.waitFor(PersistentVolumeClaim, ns, "db-root", inPhase("Bound"), scaled(5000));
  });
  after(async () => cluster?.stop());

  const snapshot = async (news: Record<string, unknown>) =>
    withProgress(async () => vds.create(await cluster.inputs(vds, news)));

  it("snapshots a claim and outputs a dataSource that a new claim restores from", async () => {
    const { result, error } = await snapshot({ persistentVolumeClaimName: "db-root", name: "root-snap" });
    assert.ifError(error);
    const { outs, id } = result!;
    assert.deepEqual([outs.phase, outs.readyToUse, outs.claimName], ["Ready", true, "db-root"]);
    // A CSI driver may round the size up to its allocation unit; never down.
    const requested = (await cluster.api.get(PersistentVolumeClaim, ns, "db-root"))!.spec.resources.requests
      .storage;
    assert.ok(
      bytes(outs.restoreSize) >= bytes(requested),
      `restoreSize ${outs.restoreSize} is at least the claim's ${requested}`,
    );
    assert.equal(
      (await cluster.api.get(VolumeSnapshot, ns, "root-snap"))?.spec.source.persistentVolumeClaimName,
      "db-root",
    );

    await cluster.api.create(
      kubevirtClaim(cluster, "root-copy", {
        resources: { requests: { storage: outs.restoreSize } },
        dataSource: outs.dataSource,
      }),
    );
    await cluster.api.waitFor(PersistentVolumeClaim, ns, "root-copy", inPhase("Bound"), scaled(2000));

    await withProgress(() => vds.delete(id, outs));
    assert.equal(await cluster.api.get(VolumeSnapshot, ns, "root-snap"), undefined);
  });

  it("resolves a DataVolume to its claim, waiting until the DataVolume is populated", async function () {
    needsSimulator(this, cluster);
    await cluster.api.create(
      manifest(DataVolume, {
        metadata: { name: "scratch", namespace: ns, annotations: { [KnobAnnotation.PhaseDelayMs]: "200" } },
        spec: {
          source: { blank: {} },
          pvc: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
        },
      }),
    );
    let dataVolumeWhenCut: string | undefined;
    const { store } = cluster;
    const unsubscribe = store.subscribe((event) => {
      if (event.type === "ADDED" && event.object.kind === "VolumeSnapshot") {
        dataVolumeWhenCut = store.get(DataVolume, ns, "scratch")?.status?.phase;
      }
    });
    const { result, lines } = await snapshot({ dataVolumeName: "scratch", name: "scratch-snap" });
    unsubscribe();
    assert.equal(dataVolumeWhenCut, "Succeeded");
    assert.ok(
      lines.some((l) => new RegExp(`waiting: DataVolume ${ns}/scratch is \\w+, not populated yet`).test(l)),
      lines.join("\n"),
    );
    assert.equal(result?.outs.claimName, "scratch");
    assert.deepEqual(result?.outs.dataVolumeSource, { snapshot: { namespace: ns, name: "scratch-snap" } });
    await withProgress(() => vds.delete(result!.id, result!.outs));
  });

  it("fails at failureDeadlineSeconds on a CSI error that never changes, and deletes the snapshot", async function () {
    needsSimulator(this, cluster);
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
      new RegExp(
        `VolumeSnapshot ${ns}/broken failed: SnapshotError: rpc error: code = Internal desc = storage backend unavailable \\(the snapshot still reported this error 2s after it was created: failureDeadlineSeconds\\)`,
      ),
    );
    assert.equal(await cluster.api.get(VolumeSnapshot, ns, "broken"), undefined);
    assert.ok(!lines.some((l) => /Ready/.test(l)));
  });

  it("refuses a disk that does not exist before creating anything", async () => {
    const { error } = await snapshot({ persistentVolumeClaimName: "nope", name: "missing" });
    assert.match(
      error?.message,
      new RegExp(`PersistentVolumeClaim ${ns}/nope \\(persistentVolumeClaimName\\) does not exist`),
    );
    assert.equal(await cluster.api.get(VolumeSnapshot, ns, "missing"), undefined);
  });
});

/** A storage quantity in bytes: a plain number, or one with a binary (Ki Mi Gi Ti) or decimal (k M G T) suffix. */
function bytes(quantity: string | number): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|K|M|G|T)?$/.exec(String(quantity));
  assert.ok(match, `cannot read the quantity "${quantity}"`);
  const units: Record<string, number> = {
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    k: 1e3,
    K: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return Number(match[1]) * (match[2] ? units[match[2]] : 1);
}
