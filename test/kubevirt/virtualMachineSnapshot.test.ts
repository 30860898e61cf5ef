// kubevirt.VirtualMachineSnapshot through the provider's lifecycle against a cluster (the emulator with the
// simulated KubeVirt controllers, or a real one): what `pulumi up` and `pulumi destroy` users see.
import assert from "node:assert/strict";
import { VolumeSnapshot } from "../emulator/kinds/core";
import {
  KubeVirtVirtualMachine,
  KubeVirtVirtualMachineSnapshot,
  VirtualMachineSnapshotContent,
} from "../emulator/kinds/kubevirt";
import type { KubeObject } from "../emulator/store";
import { lifecycle } from "../../provider/runtime";
import { kubevirtCluster, needsSimulator, scaled, type TestCluster } from "../fixtures/cluster";
import { withProgress } from "../fixtures/progress";
import { kubevirtVirtualMachine, kubevirtVmSettled } from "../fixtures/workload";
import { KnobAnnotation } from "../simulators/knobs";

const vms = lifecycle("kubevirt:VirtualMachineSnapshot");
const unlocked = (vm: KubeObject | undefined) =>
  !vm?.status?.snapshotInProgress && !vm?.metadata.finalizers?.length;

describe("KubeVirt VirtualMachineSnapshot against a cluster", function () {
  this.timeout(scaled(60_000));
  let cluster: TestCluster;
  let ns: string;
  const vm: Record<string, KubeObject | undefined> = {};

  before(async () => {
    cluster = await kubevirtCluster({ phaseDelayMs: 10 });
    ns = cluster.namespace;
    await cluster.api.apply(
      kubevirtVirtualMachine(cluster, { name: "web", running: true, disks: ["root", "data"] }),
    );
    await cluster.api.apply(kubevirtVirtualMachine(cluster, { name: "db" }));
    vm.web = await kubevirtVmSettled(cluster, "web", { running: true, guestAgent: true });
    vm.db = await kubevirtVmSettled(cluster, "db", { running: false });
  });
  after(async () => cluster?.stop());

  /** A running VM without a guest agent, which only the simulator's knob makes certain (the suite's guests run one). */
  async function legacy(this: Mocha.Context) {
    needsSimulator(this, cluster);
    if (!vm.legacy) {
      await cluster.api.apply(
        kubevirtVirtualMachine(cluster, { name: "legacy", running: true, guestAgent: false }),
      );
      vm.legacy = await kubevirtVmSettled(cluster, "legacy", { running: true });
    }
  }

  it("takes an online snapshot with the guest agent and says it is application-consistent", async () => {
    const news = await cluster.inputs(vms, { virtualMachineName: "web", resourceName: "before-upgrade" });
    const { result, lines, error } = await withProgress(() => vms.create(news));
    assert.ifError(error);
    const { outs, id } = result!;
    assert.equal(outs.phase, "Succeeded");
    assert.equal(outs.readyToUse, true);
    assert.deepEqual([outs.online, outs.guestAgent, outs.consistent], [true, true, true]);
    assert.deepEqual([...outs.indications].sort(), ["GuestAgent", "Online"]);
    assert.equal(outs.sourceUID, vm.web!.metadata.uid);
    assert.equal(outs.virtualMachineSnapshotContentName, `vmsnapshot-content-${outs.uid}`);
    assert.deepEqual(outs.includedVolumes, ["root", "data"]);
    assert.equal(outs.apiVersion, "snapshot.kubevirt.io/v1beta1");
    // The boot image and cloud-init volumes are no claims, so no snapshot includes them.
    assert.match(
      lines.at(-1)!,
      /Succeeded \(Ready: online snapshot quiesced by the guest agent: application-consistent; volumes left out: os, cloudinitdisk\)/,
    );

    await withProgress(() => vms.delete(id, outs));
    assert.equal(await cluster.api.get(KubeVirtVirtualMachineSnapshot, ns, outs.name), undefined);
    await cluster.api.waitFor(
      VirtualMachineSnapshotContent,
      ns,
      outs.virtualMachineSnapshotContentName,
      (o) => !o,
      scaled(2000),
    );
  });

  it("accepts an online snapshot without guest agent, saying it is crash-consistent only", async function () {
    await legacy.call(this);
    const news = await cluster.inputs(vms, { virtualMachineName: "legacy", name: "legacy-snap" });
    const { result, lines } = await withProgress(() => vms.create(news));
    assert.deepEqual(
      [result!.outs.online, result!.outs.guestAgent, result!.outs.consistent],
      [true, false, false],
    );
    assert.match(lines.at(-1)!, /online snapshot without a guest agent: crash-consistent only/);
    await withProgress(() => vms.delete(result!.id, result!.outs));
  });

  it("fails fast with requireGuestAgent on a VM without guest agent, and deletes the snapshot", async function () {
    await legacy.call(this);
    const news = await cluster.inputs(vms, {
      virtualMachineName: "legacy",
      name: "legacy-strict",
      requireGuestAgent: true,
      waitTimeoutSeconds: 60,
    });
    const started = Date.now();
    const { error } = await withProgress(() => vms.create(news));
    assert.ok(Date.now() - started < 5000, "failed without waiting for the timeout");
    assert.match(
      error.message,
      new RegExp(
        `VirtualMachineSnapshot ${ns}/legacy-strict failed: NoGuestAgent: .*requireGuestAgent is true`,
      ),
    );
    assert.equal(await cluster.api.get(KubeVirtVirtualMachineSnapshot, ns, "legacy-strict"), undefined);
    await cluster.api.waitFor(KubeVirtVirtualMachine, ns, "legacy", unlocked);
  });

  it("waits past Succeeded until the snapshot is ready to use", async function () {
    needsSimulator(this, cluster);
    const phases: string[] = [];
    const unsubscribe = cluster.store.subscribe(({ object: o }) => {
      if (o.kind === "VirtualMachineSnapshot" && o.metadata.name === "paced") {
        phases.push(`${o.status?.phase}/${o.status?.readyToUse}`);
      }
    });
    const news = await cluster.inputs(vms, {
      virtualMachineName: "web",
      name: "paced",
      annotations: { [KnobAnnotation.PhaseDelayMs]: "300" },
    });
    const { result, lines } = await withProgress(() => vms.create(news));
    unsubscribe();
    assert.ok(phases.includes("Succeeded/false"), phases.join(", "));
    assert.equal(result!.outs.readyToUse, true);
    const notReady = lines.findIndex((l) => /Succeeded \(Not ready: the volumes are cut/.test(l));
    assert.ok(notReady >= 0 && notReady < lines.length - 1, lines.join("\n"));
    await withProgress(() => vms.delete(result!.id, result!.outs));
  });

  it("fails at failureDeadline with KubeVirt's Failure reason, long before its own timeout", async function () {
    needsSimulator(this, cluster);
    const news = await cluster.inputs(vms, {
      virtualMachineName: "web",
      name: "frozen",
      failureDeadline: "1s",
      waitTimeoutSeconds: 60,
      annotations: { [KnobAnnotation.Hang]: "InProgress" }, // a guest freeze that never returns
    });
    const started = Date.now();
    const { error, lines } = await withProgress(() => vms.create(news));
    assert.ok(Date.now() - started < 5000);
    assert.match(
      error.message,
      new RegExp(
        `VirtualMachineSnapshot ${ns}/frozen failed: snapshot deadline exceeded: the snapshot did not complete within failureDeadline "1s"`,
      ),
    );
    assert.ok(
      lines.some((l) => /InProgress \(Source locked and operation in progress/.test(l)),
      lines.join("\n"),
    );
    assert.equal(await cluster.api.get(KubeVirtVirtualMachineSnapshot, ns, "frozen"), undefined);
  });

  it("leaves the content and its VolumeSnapshots behind with deletionPolicy Retain", async () => {
    const news = await cluster.inputs(vms, {
      virtualMachineName: "db",
      name: "keep",
      deletionPolicy: "Retain",
    });
    const { result } = await withProgress(() => vms.create(news));
    const { outs, id } = result!;
    assert.deepEqual([outs.online, outs.consistent], [false, true]);
    await withProgress(() => vms.delete(id, outs));
    assert.equal(await cluster.api.get(KubeVirtVirtualMachineSnapshot, ns, "keep"), undefined);
    const content = await cluster.api.get(
      VirtualMachineSnapshotContent,
      ns,
      outs.virtualMachineSnapshotContentName,
    );
    assert.ok(content, "the content is kept");
    for (const backup of content.spec.volumeBackups) {
      assert.ok(
        await cluster.api.get(VolumeSnapshot, ns, backup.volumeSnapshotName),
        backup.volumeSnapshotName,
      );
    }
  });
});

describe("KubeVirt VirtualMachineSnapshot on a cluster older than KubeVirt v1.3.0 (v1alpha1 only)", function () {
  let cluster: TestCluster;
  before(async function () {
    cluster = await kubevirtCluster({ v1alpha1Only: true });
    needsSimulator(this, cluster); // a real cluster serves what its release serves
    await cluster.api.apply(kubevirtVirtualMachine(cluster, { name: "db" }));
  });
  after(async () => cluster?.stop());

  it("falls back to v1alpha1, records it, and reads and deletes through it", async () => {
    const news = await cluster.inputs(vms, { virtualMachineName: "db", name: "old" });
    const { result, error } = await withProgress(() => vms.create(news));
    assert.ifError(error);
    assert.equal(result!.outs.apiVersion, "snapshot.kubevirt.io/v1alpha1");
    const read = await vms.read(result!.id, result!.outs);
    assert.equal(read.props!.readyToUse, true);
    await withProgress(() => vms.delete(result!.id, result!.outs));
    assert.equal(await cluster.api.get(KubeVirtVirtualMachineSnapshot, cluster.namespace, "old"), undefined);
  });
});
