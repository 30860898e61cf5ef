// Deckhouse disk and VM snapshots through the provider's lifecycle against a cluster (the emulator with
// the simulated Deckhouse controller, or a real one): the behaviour `pulumi up`/`destroy` users see.
import assert from "node:assert/strict";
import { PartialFailure } from "../../provider/core/lifecycle";
import { lifecycle } from "../../provider/runtime";
import { VirtualDiskSnapshot, VirtualMachine, VirtualMachineSnapshot } from "../emulator/kinds/deckhouse";
import { VolumeSnapshot } from "../emulator/kinds/core";
import { deckhouseCluster, needsSimulator, type TestCluster } from "../fixtures/cluster";
import { withProgress } from "../fixtures/progress";
import { createVirtualMachine } from "../simulators/deckhouse/fixtures";
import { KnobAnnotation } from "../simulators/knobs";
import { waitFor } from "../simulators/waitFor";

const ns = "prod";
const vds = lifecycle("deckhouse:VirtualDiskSnapshot");
const vms = lifecycle("deckhouse:VirtualMachineSnapshot");

describe("Deckhouse snapshots against a cluster", function () {
  let cluster: TestCluster;

  before(async function () {
    cluster = await deckhouseCluster({ phaseDelayMs: 20 });
    if (cluster.store) {
      createVirtualMachine(cluster.store, { namespace: ns, name: "db", disks: ["db-root", "db-data"] });
      createVirtualMachine(cluster.store, {
        namespace: ns,
        name: "legacy",
        disks: ["legacy-root"],
        guestAgent: false,
      });
      await waitFor(cluster.store, VirtualMachine, ns, "db", (o) => o?.status?.phase === "Running", 5000);
    }
  });
  after(async () => cluster?.stop());

  const inputs = async (l: typeof vds, news: Record<string, unknown>, olds: Record<string, unknown> = {}) => {
    const checked = await l.check(olds, { kubeconfig: cluster.kubeconfig, namespace: ns, ...news });
    assert.equal(checked.failures, undefined, JSON.stringify(checked.failures));
    return { ...checked.inputs!, __provider: "provider text" };
  };

  it("creates a VM snapshot and returns once it is Ready, with its disk snapshots", async () => {
    const { result, lines } = await withProgress(async () =>
      vms.create(await inputs(vms, { virtualMachineName: "db", resourceName: "pre-upgrade" })),
    );
    assert.ok(result, "create resolved");
    assert.equal(result.outs.phase, "Ready");
    assert.equal(result.outs.consistent, true);
    assert.equal(result.outs.virtualDiskSnapshotNames.length, 2);
    assert.equal(result.id, `${ns}/${result.outs.name}`);
    assert.ok(
      lines.some((l) => /InProgress/.test(l)),
      lines.join("\n"),
    );
    assert.match(lines.at(-1)!, /: Ready/);
    await vms.delete(result.id, result.outs);
  });

  it("creates a disk snapshot whose outputs can feed a new disk's dataSource", async () => {
    const { outs, id } = await vds.create(
      await inputs(vds, { virtualDiskName: "db-data", name: "data-before-upgrade" }),
    );
    assert.equal(outs.phase, "Ready");
    assert.ok(outs.volumeSnapshotName);
    assert.deepEqual(outs.dataSource, {
      type: "ObjectRef",
      objectRef: { kind: "VirtualDiskSnapshot", name: "data-before-upgrade" },
    });
    await vds.delete(id, outs);
  });

  it("fails fast with Deckhouse's reason and deletes the failed snapshot", async function () {
    needsSimulator(this, cluster);
    const started = Date.now();
    const news = await inputs(vms, {
      virtualMachineName: "legacy",
      name: "legacy-snap",
      waitTimeoutSeconds: 60,
    });
    const { error } = await withProgress(() => vms.create(news));
    assert.ok(error, "create failed");
    assert.ok(!(error instanceof PartialFailure), "nothing is left to keep in state");
    assert.match(
      error.message,
      /VirtualMachineSnapshot prod\/legacy-snap failed: PotentiallyInconsistent: Cannot take a consistent snapshot of virtual machine "legacy"/,
    );
    assert.ok(Date.now() - started < 5000, "failed long before the timeout");
    assert.equal(cluster.store.get(VirtualMachineSnapshot, ns, "legacy-snap"), undefined);
  });

  it("keeps a snapshot that times out in state, and the next run resumes waiting", async function () {
    needsSimulator(this, cluster);
    const hang = { [KnobAnnotation.Hang]: "InProgress" };
    const first = await inputs(vds, {
      virtualDiskName: "db-root",
      name: "slow",
      annotations: hang,
      waitTimeoutSeconds: 1,
    });
    const { error } = await withProgress(() => vds.create(first));
    assert.ok(error instanceof PartialFailure, String(error));
    assert.equal(error.id, `${ns}/slow`);
    assert.equal(error.properties.__provider, "provider text");
    assert.equal(error.properties.phase, "InProgress");
    assert.match(error.reasons[0], /still InProgress after 1s/);

    // The engine keeps the partial outputs and calls Update next time; the object must not be duplicated.
    const second = await inputs(
      vds,
      { virtualDiskName: "db-root", name: "slow", waitTimeoutSeconds: 10 },
      first,
    );
    assert.equal((await vds.diff(error.id, error.properties, second)).replaces.length, 0);
    const { outs } = await vds.update(error.id, error.properties, second);
    assert.equal(outs.phase, "Ready");
    assert.equal(
      cluster.store.list(VirtualDiskSnapshot, ns).items.filter((o) => o.spec.virtualDiskName === "db-root")
        .length,
      1,
    );
    await vds.delete(error.id, outs);
  });

  it("waits on delete until the cleanup finalizer is gone", async function () {
    needsSimulator(this, cluster);
    const { outs, id } = await vds.create(
      await inputs(vds, {
        virtualDiskName: "db-root",
        name: "held",
        annotations: { [KnobAnnotation.HoldDeletion]: "true" },
      }),
    );
    let deleted = false;
    const deletion = vds.delete(id, outs).then(() => (deleted = true));
    const marked = await waitFor(
      cluster.store,
      VirtualDiskSnapshot,
      ns,
      "held",
      (o) => !!o?.metadata.deletionTimestamp,
    );
    assert.deepEqual(marked!.metadata.finalizers, ["virtualization.deckhouse.io/vdsnapshot-cleanup"]);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(deleted, false, "delete returned while the finalizer was still there");
    const release = cluster.store.get(VirtualDiskSnapshot, ns, "held")!;
    delete release.metadata.annotations![KnobAnnotation.HoldDeletion];
    cluster.store.update(VirtualDiskSnapshot, release);
    await deletion;
    assert.equal(cluster.store.get(VirtualDiskSnapshot, ns, "held"), undefined);
  });

  it("names the finalizers still present when delete times out", async function () {
    needsSimulator(this, cluster);
    const { outs, id } = await vds.create(
      await inputs(vds, {
        virtualDiskName: "db-root",
        name: "stuck",
        annotations: { [KnobAnnotation.HoldDeletion]: "true" },
        deleteTimeoutSeconds: 1,
      }),
    );
    const { error } = await withProgress(() => vds.delete(id, outs));
    assert.match(
      String(error?.message),
      /still being deleted after 1s: finalizers "virtualization.deckhouse.io\/vdsnapshot-cleanup" are still present/,
    );
    const release = cluster.store.get(VirtualDiskSnapshot, ns, "stuck")!;
    delete release.metadata.annotations![KnobAnnotation.HoldDeletion];
    cluster.store.update(VirtualDiskSnapshot, release);
    await vds.delete(id, outs);
  });

  it("shows on refresh that a Ready snapshot lost its volume snapshot", async function () {
    needsSimulator(this, cluster);
    const { outs, id } = await vds.create(await inputs(vds, { virtualDiskName: "db-root", name: "lost" }));
    // Someone force-deletes the underlying VolumeSnapshot (past its protection finalizer).
    cluster.store.delete(VolumeSnapshot, ns, outs.volumeSnapshotName);
    const marked = cluster.store.get(VolumeSnapshot, ns, outs.volumeSnapshotName)!;
    cluster.store.update(VolumeSnapshot, { ...marked, metadata: { ...marked.metadata, finalizers: [] } });
    await waitFor(cluster.store, VirtualDiskSnapshot, ns, "lost", (o) => o?.status?.phase === "Failed", 5000);
    const { result, lines } = await withProgress(() => vds.read(id, outs));
    assert.equal(result!.props!.phase, "Failed");
    assert.equal(result!.props!.readyReason, "Lost");
    assert.ok(
      lines.some((l) => /warning: is now Failed: Lost/.test(l)),
      lines.join("\n"),
    );
    await vds.delete(id, result!.props!);
  });

  it("forgets a snapshot deleted outside Pulumi on refresh", async () => {
    const { outs, id } = await vds.create(await inputs(vds, { virtualDiskName: "db-root", name: "gone" }));
    await vds.delete(id, outs);
    assert.deepEqual((await withProgress(() => vds.read(id, outs))).result, {});
  });

  it("on a trigger change takes the new snapshot before it deletes the old one", async function () {
    needsSimulator(this, cluster);
    const first = await inputs(vms, {
      virtualMachineName: "db",
      resourceName: "nightly",
      triggers: { version: "15" },
    });
    const old = await vms.create(first);
    const news = await inputs(
      vms,
      { virtualMachineName: "db", resourceName: "nightly", triggers: { version: "16" } },
      first,
    );
    const diff = await vms.diff(old.id, old.outs, news);
    assert.deepEqual(diff, { changes: true, replaces: ["triggers"], deleteBeforeReplace: false });
    // The engine checks the replacement with no olds (a new name), creates it, then deletes the old one.
    const replacement = await vms.create(
      await inputs(vms, { virtualMachineName: "db", resourceName: "nightly", triggers: { version: "16" } }),
    );
    assert.notEqual(replacement.outs.name, old.outs.name);
    assert.equal(replacement.outs.phase, "Ready");
    assert.equal(
      cluster.store.get(VirtualMachineSnapshot, ns, old.outs.name)?.status?.phase,
      "Ready",
      "old snapshot kept until the new one is Ready",
    );
    await vms.delete(old.id, old.outs);
    assert.equal(cluster.store.get(VirtualMachineSnapshot, ns, old.outs.name), undefined);
    await vms.delete(replacement.id, replacement.outs);
  });
});
