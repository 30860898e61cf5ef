// kubevirt.VirtualMachineRestore through the provider's lifecycle against a cluster (the emulator with the
// simulated KubeVirt controllers, or a real one): restores in place under each targetReadinessPolicy, into a
// new VM, and the errors KubeVirt retries forever.
import assert from "node:assert/strict";
import { PartialFailure } from "../../provider/core/lifecycle";
import { lifecycle } from "../../provider/runtime";
import { PersistentVolumeClaim, VolumeSnapshot } from "../emulator/kinds/core";
import {
  KubeVirtVirtualMachine,
  KubeVirtVirtualMachineRestore,
  KubeVirtVirtualMachineSnapshot,
  VirtualMachineInstance,
  VirtualMachineSnapshotContent,
} from "../emulator/kinds/kubevirt";
import type { KubeObject } from "../emulator/store";
import { kubevirtCluster, needsSimulator, scaled, type TestCluster } from "../fixtures/cluster";
import { withProgress } from "../fixtures/progress";
import { kubevirtVirtualMachine, kubevirtVmSettled } from "../fixtures/workload";
import { KnobAnnotation } from "../simulators/knobs";
import { virtualMachineSnapshotManifest } from "../simulators/kubevirt/fixtures";
import { RestoreMessage } from "../simulators/kubevirt/restore";

const vmr = lifecycle("kubevirt:VirtualMachineRestore");
const GRACE_MS = 1500;

describe("KubeVirt VirtualMachineRestore against a cluster", function () {
  this.timeout(scaled(60_000));
  let cluster: TestCluster;
  let ns: string;
  before(async () => {
    cluster = await kubevirtCluster({ phaseDelayMs: 10, targetGracePeriodMs: GRACE_MS });
    ns = cluster.namespace;
  });
  after(async () => cluster?.stop());

  const vmOf = (name: string) => cluster.api.get(KubeVirtVirtualMachine, ns, name);
  const restoreOf = (name: string) => cluster.api.get(KubeVirtVirtualMachineRestore, ns, name);
  const snapshotReady = (name: string) =>
    cluster.api.waitFor(
      KubeVirtVirtualMachineSnapshot,
      ns,
      name,
      (o) => o?.status?.readyToUse === true,
      scaled(2000),
    );

  /** A VM (running or stopped) and a snapshot of it that is ready to use. */
  async function vmWithSnapshot(
    name: string,
    running: boolean,
    annotations?: Record<string, string>,
  ): Promise<KubeObject> {
    await cluster.api.apply(kubevirtVirtualMachine(cluster, { name, running, annotations }));
    await kubevirtVmSettled(cluster, name, { running });
    await cluster.api.create(
      virtualMachineSnapshotManifest({ namespace: ns, name: `${name}-snap`, vm: name }),
    );
    return (await snapshotReady(`${name}-snap`))!;
  }

  const restore = async (news: Record<string, unknown>) =>
    withProgress(async () => vmr.create(await cluster.inputs(vmr, news)));

  it("restores in place onto a stopped VM, and keeps that VM when deleted with deleteRestoredResources", async () => {
    await vmWithSnapshot("db", false);
    const before = (await vmOf("db"))!;
    const { result, error } = await restore({
      name: "db-undo",
      virtualMachineSnapshotName: "db-snap",
      targetName: "db",
      deleteRestoredResources: true,
    });
    assert.ifError(error);
    const { outs, id } = result!;
    assert.deepEqual([outs.phase, outs.complete, outs.targetCreated], ["Complete", true, false]);
    assert.equal(outs.targetUID, before.metadata.uid);
    assert.equal(outs.restores.length, 1);
    assert.match(outs.restores[0].persistentVolumeClaim, /^restore-/);
    const after = (await vmOf("db"))!;
    assert.equal(after.metadata.annotations?.["restore.kubevirt.io/lastRestoreUID"], `db-undo-${outs.uid}`);
    assert.equal(
      after.spec.template.spec.volumes[0].persistentVolumeClaim.claimName,
      outs.restores[0].persistentVolumeClaim,
    );

    const { lines } = await withProgress(() => vmr.delete(id, outs));
    assert.ok(await vmOf("db"), "an existing target is never deleted");
    assert.ok(
      lines.some((l) => l.includes(`keeping VirtualMachine ${ns}/db: it existed before the restore`)),
      lines.join("\n"),
    );
  });

  it("StopTarget stops the running VM and completes", async () => {
    // Its guest takes a while to shut down, as a real one does, so the wait for it is there to be shown.
    await vmWithSnapshot("web", true, { [KnobAnnotation.PhaseDelayMs]: String(scaled(300)) });
    const { result, lines } = await restore({
      name: "web-undo",
      virtualMachineSnapshotName: "web-snap",
      targetName: "web",
      targetReadinessPolicy: "StopTarget",
    });
    assert.equal(result?.outs.complete, true, lines.join("\n"));
    assert.equal((await vmOf("web"))!.spec.runStrategy, "Halted");
    assert.ok(
      lines.some((l) => l.includes(`WaitingForTarget (${RestoreMessage.stopTarget})`)),
      lines.join("\n"),
    );
    await withProgress(() => vmr.delete(result!.id, result!.outs));
  });

  it("FailImmediate fails at once with KubeVirt's text, deletes the restore and leaves the VM running", async () => {
    await vmWithSnapshot("api", true);
    const { error } = await restore({
      name: "api-undo",
      virtualMachineSnapshotName: "api-snap",
      targetName: "api",
      targetReadinessPolicy: "FailImmediate",
    });
    assert.match(
      error?.message,
      new RegExp(
        `VirtualMachineRestore ${ns}/api-undo failed: Failure: Restore target VMI must be powered off before restore operation \\(targetReadinessPolicy is FailImmediate: stop VirtualMachine ${ns}/api first`,
      ),
    );
    assert.equal(await restoreOf("api-undo"), undefined);
    assert.ok(await cluster.api.get(VirtualMachineInstance, ns, "api"), "the VM still runs");
  });

  it("WaitGracePeriod (the default) fails once the grace period has passed", async function () {
    needsSimulator(this, cluster); // the simulator's grace period is short; KubeVirt's is 5 minutes
    await vmWithSnapshot("cache", true);
    const started = Date.now();
    const { error, lines } = await restore({
      name: "cache-undo",
      virtualMachineSnapshotName: "cache-snap",
      targetName: "cache",
    });
    assert.ok(Date.now() - started >= GRACE_MS - 1000); // creationTimestamp has whole seconds
    assert.ok(
      error?.message.includes(`failed: Failure: ${RestoreMessage.gracePeriodExceeded(GRACE_MS)}`),
      error?.message,
    );
    assert.ok(
      lines.some((l) => l.includes(RestoreMessage.waitGracePeriod(GRACE_MS))),
      lines.join("\n"),
    );
    assert.equal(await restoreOf("cache-undo"), undefined);
  });

  it("WaitEventually waits until the user stops the VM, then completes", async () => {
    await vmWithSnapshot("batch", true);
    const created = restore({
      name: "batch-undo",
      virtualMachineSnapshotName: "batch-snap",
      targetName: "batch",
      targetReadinessPolicy: "WaitEventually",
    });
    await cluster.api.waitFor(
      KubeVirtVirtualMachineRestore,
      ns,
      "batch-undo",
      (o) => (o?.status?.conditions ?? []).some((c: any) => c.reason === RestoreMessage.waitEventually),
      scaled(5000),
    );
    await cluster.api.patch(KubeVirtVirtualMachine, ns, "batch", { spec: { runStrategy: "Halted" } });
    const { result, lines } = await created;
    assert.equal(result?.outs.complete, true, lines.join("\n"));
    assert.ok(
      lines.some((l) => l.includes(`WaitingForTarget (${RestoreMessage.waitEventually})`)),
      lines.join("\n"),
    );
    await withProgress(() => vmr.delete(result!.id, result!.outs));
  });

  it("restores into a new VM with patches; deleteRestoredResources, turned on later, deletes that VM and its unowned disks", async () => {
    await vmWithSnapshot("shop", false);
    const news = await cluster.inputs(vmr, {
      name: "shop-copy-restore",
      virtualMachineSnapshotName: "shop-snap",
      targetName: "shop-copy",
      patches: [
        { op: "replace", path: "/spec/template/spec/domain/resources/requests/memory", value: "2Gi" },
      ],
      volumeOwnershipPolicy: "None", // nothing garbage-collects the restored claims then
    });
    const { result, error } = await withProgress(() => vmr.create(news));
    assert.ifError(error);
    const { outs, id } = result!;
    assert.deepEqual([outs.complete, outs.targetCreated], [true, true]);
    const copy = (await vmOf("shop-copy"))!;
    assert.equal(copy.spec.template.spec.domain.resources.requests.memory, "2Gi");
    assert.equal(outs.targetUID, copy.metadata.uid);
    assert.ok(await vmOf("shop"), "the source VM is untouched");
    const claimName = outs.restores[0].persistentVolumeClaim;
    const claim = (await cluster.api.get(PersistentVolumeClaim, ns, claimName))!;
    assert.equal(
      claim.metadata.ownerReferences,
      undefined,
      "an unowned claim, which only the provider deletes",
    );

    const updated = await withProgress(() =>
      vmr.update(id, outs, { ...news, deleteRestoredResources: true }),
    );
    assert.ifError(updated.error);
    assert.equal(updated.result!.outs.deleteRestoredResources, true);
    assert.equal(
      (await restoreOf("shop-copy-restore"))?.metadata.uid,
      outs.uid,
      "the restore did not run again",
    );

    const { lines } = await withProgress(() => vmr.delete(id, updated.result!.outs));
    assert.equal(await vmOf("shop-copy"), undefined, lines.join("\n"));
    await cluster.api.waitFor(PersistentVolumeClaim, ns, claimName, (o) => !o, scaled(2000));
    assert.ok(await vmOf("shop"));
  });

  it("creates the restore only once the snapshot is ready to use", async function () {
    needsSimulator(this, cluster);
    await cluster.api.apply(kubevirtVirtualMachine(cluster, { name: "mail" }));
    await cluster.api.create(
      virtualMachineSnapshotManifest({
        namespace: ns,
        name: "mail-snap",
        vm: "mail",
        annotations: { [KnobAnnotation.PhaseDelayMs]: "200" },
      }),
    );
    let snapshotWhenCreated: KubeObject | undefined;
    const { store } = cluster;
    const unsubscribe = store.subscribe((event) => {
      if (event.type === "ADDED" && event.object.kind === "VirtualMachineRestore") {
        snapshotWhenCreated = store.get(KubeVirtVirtualMachineSnapshot, ns, "mail-snap");
      }
    });
    const { result, lines } = await restore({
      name: "mail-undo",
      virtualMachineSnapshotName: "mail-snap",
      targetName: "mail",
    });
    unsubscribe();
    assert.equal(snapshotWhenCreated?.status?.readyToUse, true);
    assert.ok(
      lines.some((l) =>
        new RegExp(`waiting: VirtualMachineSnapshot ${ns}/mail-snap is \\w+, not ready to use yet`).test(l),
      ),
      lines.join("\n"),
    );
    assert.equal(result?.outs.complete, true);
    await withProgress(() => vmr.delete(result!.id, result!.outs));
  });

  it("refuses, before creating anything, a target VM that is not the snapshot's VM, and patches for an existing VM", async () => {
    const { error } = await restore({
      name: "wrong",
      virtualMachineSnapshotName: "db-snap",
      targetName: "shop",
    });
    assert.match(
      error?.message,
      new RegExp(
        `VirtualMachine ${ns}/shop \\(targetName\\) exists but is not the VM VirtualMachineSnapshot ${ns}/db-snap was taken of`,
      ),
    );
    assert.equal(await restoreOf("wrong"), undefined);
    const patched = await restore({
      name: "patched",
      virtualMachineSnapshotName: "db-snap",
      targetName: "db",
      patches: [{ op: "replace", path: "/spec/runStrategy", value: "Always" }],
    });
    assert.match(
      patched.error?.message,
      new RegExp(
        `VirtualMachine ${ns}/db \\(targetName\\) exists, and KubeVirt applies patches only to a VM the restore creates`,
      ),
    );
    assert.equal(await restoreOf("patched"), undefined);
  });

  it("ends an error KubeVirt retries forever at waitTimeoutSeconds, with KubeVirt's reason, keeping the restore", async function () {
    needsSimulator(this, cluster);
    const snapshot = await vmWithSnapshot("lost", false);
    const content = (await cluster.api.get(
      VirtualMachineSnapshotContent,
      ns,
      snapshot.status.virtualMachineSnapshotContentName,
    ))!;
    // The snapshot's VolumeSnapshot is deleted behind KubeVirt's back as the restore starts.
    const { store } = cluster;
    const unsubscribe = store.subscribe((event) => {
      if (event.type !== "ADDED" || event.object.kind !== "VirtualMachineRestore") return;
      for (const b of content.spec.volumeBackups) store.delete(VolumeSnapshot, ns, b.volumeSnapshotName);
    });
    const { error, lines } = await restore({
      name: "lost-undo",
      virtualMachineSnapshotName: "lost-snap",
      targetName: "lost",
      waitTimeoutSeconds: 2,
    });
    unsubscribe();
    assert.ok(error instanceof PartialFailure, String(error));
    assert.match(
      error.reasons[0],
      new RegExp(
        `VirtualMachineRestore ${ns}/lost-undo is still Retrying after 2s \\(VMSnapshot ${ns}/lost-snap not ready\\)`,
      ),
    );
    assert.ok(
      lines.some((l) => new RegExp(`Retrying \\(VMSnapshot(Content)? ${ns}/\\S+ not ready\\)`).test(l)),
      lines.join("\n"),
    );
    assert.equal(error.properties.complete, false);
    assert.ok(await restoreOf("lost-undo"), "kept in the stack, so destroy can delete it");

    const { lines: deleting } = await withProgress(() => vmr.delete(error.id, error.properties));
    assert.equal(await restoreOf("lost-undo"), undefined);
    assert.ok(deleting.some((l) => /warning: deleting a restore that has not completed/.test(l)));
  });

  it("disappears with its VM; refresh keeps the outcome and destroy succeeds", async () => {
    await vmWithSnapshot("tmp", false);
    const { result } = await restore({
      name: "tmp-copy-restore",
      virtualMachineSnapshotName: "tmp-snap",
      targetName: "tmp-copy",
    });
    const { outs, id } = result!;
    await cluster.api.delete(KubeVirtVirtualMachine, ns, "tmp-copy");
    await cluster.api.waitFor(KubeVirtVirtualMachineRestore, ns, "tmp-copy-restore", (o) => !o, scaled(2000));

    const read = await withProgress(() => vmr.read(id, outs));
    assert.equal(read.result?.id, id);
    assert.equal(read.result?.props?.phase, "Complete");
    assert.equal(read.result?.props?.complete, true);
    const { error } = await withProgress(() => vmr.delete(id, outs));
    assert.ifError(error);
  });
});
