// Deckhouse disk and VM snapshots through the provider's lifecycle against a cluster (the emulator with
// the simulated Deckhouse controller, or a real one): the behaviour `pulumi up`/`destroy` users see.
import assert from "node:assert/strict";
import { PartialFailure } from "../../provider/core/lifecycle";
import { lifecycle } from "../../provider/runtime";
import { VolumeSnapshot } from "../emulator/kinds/core";
import { VirtualDiskSnapshot, VirtualMachineSnapshot } from "../emulator/kinds/deckhouse";
import { deckhouseCluster, needsSimulator, scaled, type TestCluster } from "../fixtures/cluster";
import { withProgress } from "../fixtures/progress";
import { deckhouseVirtualMachine, deckhouseVmRunning } from "../fixtures/workload";
import { KnobAnnotation } from "../simulators/knobs";
import { inPhase } from "../simulators/waitFor";

const vds = lifecycle("deckhouse:VirtualDiskSnapshot");
const vms = lifecycle("deckhouse:VirtualMachineSnapshot");

describe("Deckhouse snapshots against a cluster", function () {
  this.timeout(scaled(60_000));
  let cluster: TestCluster;
  let ns: string;

  before(async function () {
    cluster = await deckhouseCluster({ phaseDelayMs: 20 });
    ns = cluster.namespace;
    await cluster.api.apply(deckhouseVirtualMachine(cluster, { name: "db", disks: ["db-root", "db-data"] }));
    await deckhouseVmRunning(cluster, "db");
  });
  after(async () => cluster?.stop());

  const inputs = (l: typeof vds, news: Record<string, unknown>, olds: Record<string, unknown> = {}) =>
    cluster.inputs(l, news, olds);

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
    await cluster.api.apply(
      deckhouseVirtualMachine(cluster, { name: "legacy", disks: ["legacy-root"], guestAgent: false }),
    );
    await deckhouseVmRunning(cluster, "legacy", false);
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
      new RegExp(
        `VirtualMachineSnapshot ${ns}/legacy-snap failed: PotentiallyInconsistent: Cannot take a consistent snapshot of virtual machine "legacy"`,
      ),
    );
    assert.ok(Date.now() - started < 5000, "failed long before the timeout");
    assert.equal(await cluster.api.get(VirtualMachineSnapshot, ns, "legacy-snap"), undefined);
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
    const { items } = await cluster.api.list(VirtualDiskSnapshot, ns);
    assert.equal(items.filter((o) => o.spec.virtualDiskName === "db-root").length, 1);
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
    const marked = await cluster.api.waitFor(
      VirtualDiskSnapshot,
      ns,
      "held",
      (o) => !!o?.metadata.deletionTimestamp,
    );
    assert.deepEqual(marked!.metadata.finalizers, ["virtualization.deckhouse.io/vdsnapshot-cleanup"]);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(deleted, false, "delete returned while the finalizer was still there");
    await release(cluster, "held");
    await deletion;
    assert.equal(await cluster.api.get(VirtualDiskSnapshot, ns, "held"), undefined);
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
    await release(cluster, "stuck");
    await vds.delete(id, outs);
  });

  it("shows on refresh that a Ready snapshot lost its volume snapshot", async () => {
    const { outs, id } = await vds.create(await inputs(vds, { virtualDiskName: "db-root", name: "lost" }));
    // Someone force-deletes the underlying VolumeSnapshot (past its protection finalizer).
    await cluster.api.delete(VolumeSnapshot, ns, outs.volumeSnapshotName);
    await cluster.api.patch(VolumeSnapshot, ns, outs.volumeSnapshotName, { metadata: { finalizers: null } });
    await cluster.api.waitFor(VirtualDiskSnapshot, ns, "lost", inPhase("Failed"), scaled(5000));
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

  it("on a trigger change takes the new snapshot before it deletes the old one", async () => {
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
      (await cluster.api.get(VirtualMachineSnapshot, ns, old.outs.name))?.status?.phase,
      "Ready",
      "old snapshot kept until the new one is Ready",
    );
    await vms.delete(old.id, old.outs);
    assert.equal(await cluster.api.get(VirtualMachineSnapshot, ns, old.outs.name), undefined);
    await vms.delete(replacement.id, replacement.outs);
  });
});

/** Removes the hold-deletion knob, as the simulated controller's finalizer then lets the snapshot go. */
async function release(cluster: TestCluster, name: string) {
  await cluster.api.patch(VirtualDiskSnapshot, cluster.namespace, name, {
    metadata: { annotations: { [KnobAnnotation.HoldDeletion]: null } },
  });
}
