// kubevirt.VirtualMachineRestore through the provider's lifecycle against the emulator and the simulated
// KubeVirt controllers: restores in place under each targetReadinessPolicy, into a new VM, and the errors
// KubeVirt retries forever.
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
import { withProgress } from "../fixtures/progress";
import { KnobAnnotation } from "../simulators/knobs";
import { createVirtualMachine, createVirtualMachineSnapshot } from "../simulators/kubevirt/fixtures";
import { RestoreMessage } from "../simulators/kubevirt/restore";
import { waitFor } from "../simulators/waitFor";
import { kubevirtCluster, namespace, type KubeVirtCluster } from "./cluster";

const vmr = lifecycle("kubevirt:VirtualMachineRestore");
const GRACE_MS = 1500;

describe("KubeVirt VirtualMachineRestore against the emulator", () => {
  let cluster: KubeVirtCluster;
  before(async () => (cluster = await kubevirtCluster({ phaseDelayMs: 10, targetGracePeriodMs: GRACE_MS })));
  after(async () => cluster?.stop());

  const vmOf = (name: string) => cluster.store.get(KubeVirtVirtualMachine, namespace, name);
  const restoreOf = (name: string) => cluster.store.get(KubeVirtVirtualMachineRestore, namespace, name);

  /** A VM (running or stopped) and a snapshot of it that is ready to use. */
  async function vmWithSnapshot(name: string, running: boolean): Promise<KubeObject> {
    createVirtualMachine(cluster.store, { namespace, name, running });
    const settled = (o: KubeObject | undefined) =>
      running ? o?.status?.ready === true : o?.status?.printableStatus === "Stopped";
    await waitFor(cluster.store, KubeVirtVirtualMachine, namespace, name, settled, 5000);
    createVirtualMachineSnapshot(cluster.store, { namespace, name: `${name}-snap`, vm: name });
    return (await waitFor(
      cluster.store,
      KubeVirtVirtualMachineSnapshot,
      namespace,
      `${name}-snap`,
      (o) => o?.status?.readyToUse === true,
    ))!;
  }

  const restore = async (news: Record<string, unknown>) =>
    withProgress(async () => vmr.create(await cluster.inputs(vmr, news)));

  it("restores in place onto a stopped VM, and keeps that VM when deleted with deleteRestoredResources", async () => {
    await vmWithSnapshot("db", false);
    const before = vmOf("db")!;
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
    const after = vmOf("db")!;
    assert.equal(after.metadata.annotations?.["restore.kubevirt.io/lastRestoreUID"], `db-undo-${outs.uid}`);
    assert.equal(
      after.spec.template.spec.volumes[0].persistentVolumeClaim.claimName,
      outs.restores[0].persistentVolumeClaim,
    );

    const { lines } = await withProgress(() => vmr.delete(id, outs));
    assert.ok(vmOf("db"), "an existing target is never deleted");
    assert.ok(
      lines.some((l) => /keeping VirtualMachine vms\/db: it existed before the restore/.test(l)),
      lines.join("\n"),
    );
  });

  it("StopTarget stops the running VM and completes", async () => {
    await vmWithSnapshot("web", true);
    const { result, lines } = await restore({
      name: "web-undo",
      virtualMachineSnapshotName: "web-snap",
      targetName: "web",
      targetReadinessPolicy: "StopTarget",
    });
    assert.equal(result?.outs.complete, true, lines.join("\n"));
    assert.equal(vmOf("web")!.spec.runStrategy, "Halted");
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
      /VirtualMachineRestore vms\/api-undo failed: Failure: Restore target VMI must be powered off before restore operation \(targetReadinessPolicy is FailImmediate: stop VirtualMachine vms\/api first/,
    );
    assert.equal(restoreOf("api-undo"), undefined);
    assert.ok(cluster.store.get(VirtualMachineInstance, namespace, "api"), "the VM still runs");
  });

  it("WaitGracePeriod (the default) fails once the grace period has passed", async () => {
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
    assert.equal(restoreOf("cache-undo"), undefined);
  });

  it("WaitEventually waits until the user stops the VM, then completes", async () => {
    await vmWithSnapshot("batch", true);
    const waiting = waitFor(
      cluster.store,
      KubeVirtVirtualMachineRestore,
      namespace,
      "batch-undo",
      (o) => (o?.status?.conditions ?? []).some((c: any) => c.reason === RestoreMessage.waitEventually),
      5000,
    );
    const created = restore({
      name: "batch-undo",
      virtualMachineSnapshotName: "batch-snap",
      targetName: "batch",
      targetReadinessPolicy: "WaitEventually",
    });
    await waiting;
    const vm = vmOf("batch")!;
    cluster.store.update(KubeVirtVirtualMachine, { ...vm, spec: { ...vm.spec, runStrategy: "Halted" } });
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
    const copy = vmOf("shop-copy")!;
    assert.equal(copy.spec.template.spec.domain.resources.requests.memory, "2Gi");
    assert.equal(outs.targetUID, copy.metadata.uid);
    assert.ok(vmOf("shop"), "the source VM is untouched");
    const claimName = outs.restores[0].persistentVolumeClaim;
    const claim = cluster.store.get(PersistentVolumeClaim, namespace, claimName)!;
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
    assert.equal(restoreOf("shop-copy-restore")?.metadata.uid, outs.uid, "the restore did not run again");

    const { lines } = await withProgress(() => vmr.delete(id, updated.result!.outs));
    assert.equal(vmOf("shop-copy"), undefined, lines.join("\n"));
    await waitFor(cluster.store, PersistentVolumeClaim, namespace, claimName, (o) => !o);
    assert.ok(vmOf("shop"));
  });

  it("creates the restore only once the snapshot is ready to use", async () => {
    createVirtualMachine(cluster.store, { namespace, name: "mail" });
    createVirtualMachineSnapshot(cluster.store, {
      namespace,
      name: "mail-snap",
      vm: "mail",
      annotations: { [KnobAnnotation.PhaseDelayMs]: "200" },
    });
    let snapshotWhenCreated: KubeObject | undefined;
    const unsubscribe = cluster.store.subscribe((event) => {
      if (event.type === "ADDED" && event.object.kind === "VirtualMachineRestore") {
        snapshotWhenCreated = cluster.store.get(KubeVirtVirtualMachineSnapshot, namespace, "mail-snap");
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
        /waiting: VirtualMachineSnapshot vms\/mail-snap is \w+, not ready to use yet/.test(l),
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
      /VirtualMachine vms\/shop \(targetName\) exists but is not the VM VirtualMachineSnapshot vms\/db-snap was taken of/,
    );
    assert.equal(restoreOf("wrong"), undefined);
    const patched = await restore({
      name: "patched",
      virtualMachineSnapshotName: "db-snap",
      targetName: "db",
      patches: [{ op: "replace", path: "/spec/runStrategy", value: "Always" }],
    });
    assert.match(
      patched.error?.message,
      /VirtualMachine vms\/db \(targetName\) exists, and KubeVirt applies patches only to a VM the restore creates/,
    );
    assert.equal(restoreOf("patched"), undefined);
  });

  it("ends an error KubeVirt retries forever at waitTimeoutSeconds, with KubeVirt's reason, keeping the restore", async () => {
    const snapshot = await vmWithSnapshot("lost", false);
    const content = cluster.store.get(
      VirtualMachineSnapshotContent,
      namespace,
      snapshot.status.virtualMachineSnapshotContentName,
    )!;
    // The snapshot's VolumeSnapshot is deleted behind KubeVirt's back as the restore starts.
    const unsubscribe = cluster.store.subscribe((event) => {
      if (event.type !== "ADDED" || event.object.kind !== "VirtualMachineRestore") return;
      for (const b of content.spec.volumeBackups)
        cluster.store.delete(VolumeSnapshot, namespace, b.volumeSnapshotName);
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
      /VirtualMachineRestore vms\/lost-undo is still Retrying after 2s \(VMSnapshot vms\/lost-snap not ready\)/,
    );
    assert.ok(
      lines.some((l) => /Retrying \(VMSnapshot(Content)? vms\/\S+ not ready\)/.test(l)),
      lines.join("\n"),
    );
    assert.equal(error.properties.complete, false);
    assert.ok(restoreOf("lost-undo"), "kept in the stack, so destroy can delete it");

    const { lines: deleting } = await withProgress(() => vmr.delete(error.id, error.properties));
    assert.equal(restoreOf("lost-undo"), undefined);
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
    cluster.store.delete(KubeVirtVirtualMachine, namespace, "tmp-copy");
    await waitFor(cluster.store, KubeVirtVirtualMachineRestore, namespace, "tmp-copy-restore", (o) => !o);

    const read = await withProgress(() => vmr.read(id, outs));
    assert.equal(read.result?.id, id);
    assert.equal(read.result?.props?.phase, "Complete");
    assert.equal(read.result?.props?.complete, true);
    const { error } = await withProgress(() => vmr.delete(id, outs));
    assert.ifError(error);
  });
});
