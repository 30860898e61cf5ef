// kubevirt.VirtualMachineSnapshot through the provider's lifecycle against the emulator and the simulated
// KubeVirt controllers: what `pulumi up` and `pulumi destroy` users see.
import assert from "node:assert/strict";
import { VolumeSnapshot } from "../emulator/kinds/core";
import {
  KubeVirtVirtualMachine,
  KubeVirtVirtualMachineSnapshot,
  VirtualMachineSnapshotContent,
} from "../emulator/kinds/kubevirt";
import type { KubeObject } from "../emulator/store";
import { lifecycle } from "../../provider/runtime";
import { withProgress } from "../fixtures/progress";
import { KnobAnnotation } from "../simulators/knobs";
import { createVirtualMachine } from "../simulators/kubevirt/fixtures";
import { waitFor } from "../simulators/waitFor";
import { kubevirtCluster, namespace, type KubeVirtCluster } from "./cluster";

const vms = lifecycle("kubevirt:VirtualMachineSnapshot");
const ready = (o: KubeObject | undefined) => o?.status?.ready === true;
const unlocked = (vm: KubeObject | undefined) =>
  !vm?.status?.snapshotInProgress && !vm?.metadata.finalizers?.length;

describe("KubeVirt VirtualMachineSnapshot against the emulator", () => {
  let cluster: KubeVirtCluster;
  const vm: Record<string, KubeObject | undefined> = {};

  before(async () => {
    cluster = await kubevirtCluster({ phaseDelayMs: 10 });
    const { store } = cluster;
    createVirtualMachine(store, { namespace, name: "web", running: true, disks: ["root", "data"] });
    createVirtualMachine(store, { namespace, name: "legacy", running: true, guestAgent: false });
    createVirtualMachine(store, { namespace, name: "db" });
    for (const name of ["web", "legacy"]) {
      vm[name] = await waitFor(store, KubeVirtVirtualMachine, namespace, name, ready, 5000);
    }
    vm.db = await waitFor(
      store,
      KubeVirtVirtualMachine,
      namespace,
      "db",
      (o) => o?.status?.printableStatus === "Stopped",
    );
  });
  after(async () => cluster?.stop());

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
    assert.match(
      lines.at(-1)!,
      /Succeeded \(Ready: online snapshot quiesced by the guest agent: application-consistent\)/,
    );

    await withProgress(() => vms.delete(id, outs));
    assert.equal(cluster.store.get(KubeVirtVirtualMachineSnapshot, namespace, outs.name), undefined);
    await waitFor(
      cluster.store,
      VirtualMachineSnapshotContent,
      namespace,
      outs.virtualMachineSnapshotContentName,
      (o) => !o,
    );
  });

  it("accepts an online snapshot without guest agent, saying it is crash-consistent only", async () => {
    const news = await cluster.inputs(vms, { virtualMachineName: "legacy", name: "legacy-snap" });
    const { result, lines } = await withProgress(() => vms.create(news));
    assert.deepEqual(
      [result!.outs.online, result!.outs.guestAgent, result!.outs.consistent],
      [true, false, false],
    );
    assert.match(lines.at(-1)!, /online snapshot without a guest agent: crash-consistent only/);
    await withProgress(() => vms.delete(result!.id, result!.outs));
  });

  it("fails fast with requireGuestAgent on a VM without guest agent, and deletes the snapshot", async () => {
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
      /VirtualMachineSnapshot vms\/legacy-strict failed: NoGuestAgent: .*requireGuestAgent is true/,
    );
    assert.equal(cluster.store.get(KubeVirtVirtualMachineSnapshot, namespace, "legacy-strict"), undefined);
    await waitFor(cluster.store, KubeVirtVirtualMachine, namespace, "legacy", unlocked);
  });

  it("waits past Succeeded until the snapshot is ready to use", async () => {
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

  it("fails at failureDeadline with KubeVirt's Failure reason, long before its own timeout", async () => {
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
      /VirtualMachineSnapshot vms\/frozen failed: snapshot deadline exceeded: the snapshot did not complete within failureDeadline "1s"/,
    );
    assert.ok(
      lines.some((l) => /InProgress \(Source locked and operation in progress/.test(l)),
      lines.join("\n"),
    );
    assert.equal(cluster.store.get(KubeVirtVirtualMachineSnapshot, namespace, "frozen"), undefined);
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
    assert.equal(cluster.store.get(KubeVirtVirtualMachineSnapshot, namespace, "keep"), undefined);
    const content = cluster.store.get(
      VirtualMachineSnapshotContent,
      namespace,
      outs.virtualMachineSnapshotContentName,
    );
    assert.ok(content, "the content is kept");
    for (const backup of content.spec.volumeBackups) {
      assert.ok(
        cluster.store.get(VolumeSnapshot, namespace, backup.volumeSnapshotName),
        backup.volumeSnapshotName,
      );
    }
  });
});

describe("KubeVirt VirtualMachineSnapshot on a cluster older than KubeVirt v1.3.0 (v1alpha1 only)", () => {
  let cluster: KubeVirtCluster;
  before(async () => {
    cluster = await kubevirtCluster({ v1alpha1Only: true });
    createVirtualMachine(cluster.store, { namespace, name: "db" });
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
    assert.equal(cluster.store.get(KubeVirtVirtualMachineSnapshot, namespace, "old"), undefined);
  });
});
