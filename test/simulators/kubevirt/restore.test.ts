import assert from "node:assert/strict";
import { PersistentVolumeClaim } from "../../emulator/kinds/core";
import {
  DataVolume,
  KubeVirtVirtualMachine,
  KubeVirtVirtualMachineRestore,
  KubeVirtVirtualMachineSnapshot,
  VirtualMachineInstance,
} from "../../emulator/kinds/kubevirt";
import type { KubeObject } from "../../emulator/store";
import { KnobAnnotation } from "../knobs";
import { gone, waitFor } from "../waitFor";
import { Finalizer } from "./finalizers";
import {
  createVirtualMachine,
  createVirtualMachineRestore,
  createVirtualMachineSnapshot,
  type VirtualMachineFixture,
} from "./fixtures";
import { RestoreMessage } from "./restore";
import { printableStatusIs, readyToUse, reasons, simulationPerTest, vmReady } from "./testing";

const VMR = KubeVirtVirtualMachineRestore;
const VM = KubeVirtVirtualMachine;
const complete = (o: KubeObject | undefined) => o?.status?.complete === true;
const progressingReason = (reason: string) => (o: KubeObject | undefined) =>
  reasons(o).Progressing?.endsWith(` ${reason}`) === true;
const claimNames = (vm: KubeObject | undefined) =>
  (vm?.spec.template.spec.volumes ?? []).map(
    (v: { persistentVolumeClaim?: { claimName: string }; dataVolume?: { name: string } }) =>
      v.persistentVolumeClaim?.claimName ?? v.dataVolume?.name,
  );

describe("KubeVirt simulator: VirtualMachineRestore", () => {
  const sim = simulationPerTest();

  /** A VM "web" and a ready snapshot "snap" of it; the VM runs when `running`. */
  async function vmWithSnapshot(vm: Partial<VirtualMachineFixture> = {}) {
    const created = createVirtualMachine(sim.store, { name: "web", labels: { app: "web" }, ...vm });
    const ready = vm.running || vm.runStrategy === "Always";
    await waitFor(sim.store, VM, "default", "web", ready ? vmReady : printableStatusIs("Stopped"));
    createVirtualMachineSnapshot(sim.store, { name: "snap", vm: "web" });
    await waitFor(sim.store, KubeVirtVirtualMachineSnapshot, "default", "snap", readyToUse);
    // the snapshot has released the VM
    await waitFor(sim.store, VM, "default", "web", (o) => o?.status?.snapshotInProgress === undefined);
    return created;
  }
  /** The restore "back" of the snapshot "snap" onto the VM "web". */
  const restoreBack = (spec?: Record<string, unknown>) =>
    createVirtualMachineRestore(sim.store, { name: "back", target: "web", snapshot: "snap", spec });
  /** Resolves with the restore once `predicate` holds for it. */
  const untilRestore = (
    name: string,
    predicate: (o: KubeObject | undefined) => boolean,
    timeoutMs?: number,
  ) => waitFor(sim.store, VMR, "default", name, predicate, timeoutMs);

  describe("restoring in place", () => {
    it("restores a stopped VM: new claims from the VolumeSnapshots, volumes rewritten, run strategy kept", async () => {
      const vm = await vmWithSnapshot({ disks: ["root", "data"] });
      const { metadata } = restoreBack();
      const vmr = await untilRestore("back", complete);

      assert.deepEqual(reasons(vmr), {
        Progressing: "False Operation complete",
        Ready: "True Operation complete",
      });
      assert.ok(vmr?.status.restoreTime);
      assert.deepEqual(vmr?.metadata.finalizers, [Finalizer.VirtualMachineRestore]);
      assert.deepEqual(vmr?.metadata.ownerReferences, [
        {
          apiVersion: "kubevirt.io/v1",
          kind: "VirtualMachine",
          name: "web",
          uid: vm.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      const restored = [`restore-${metadata.uid}-root`, `restore-${metadata.uid}-data`];
      assert.deepEqual(
        vmr?.status.restores.map((r: { volumeName: string; persistentVolumeClaim: string }) => [
          r.volumeName,
          r.persistentVolumeClaim,
        ]),
        [
          ["root", restored[0]],
          ["data", restored[1]],
        ],
      );

      const after = sim.store.get(VM, "default", "web");
      assert.deepEqual(claimNames(after), restored);
      assert.equal(after?.spec.runStrategy, "Halted");
      assert.equal(
        after?.metadata.annotations?.["restore.kubevirt.io/lastRestoreUID"],
        `back-${metadata.uid}`,
      );
      assert.equal(after?.status.restoreInProgress, undefined);

      const pvc = sim.store.get(PersistentVolumeClaim, "default", restored[0]);
      assert.equal(pvc?.status.phase, "Bound");
      assert.deepEqual(pvc?.metadata.labels, {
        "restore.kubevirt.io/source-vm-name": "web",
        "restore.kubevirt.io/source-vm-namespace": "default",
      });
      assert.deepEqual(pvc?.metadata.annotations, {
        "restore.kubevirt.io/name": "back",
        "restore.kubevirt.io/lastRestoreUID": `back-${metadata.uid}`,
      });
      assert.equal(pvc?.spec.dataSource.kind, "VolumeSnapshot");
      assert.equal(pvc?.spec.dataSource.name, vmr?.status.restores[0].volumeSnapshotName);
      assert.equal(pvc?.metadata.ownerReferences?.[0].uid, vm.metadata.uid);
    });

    it("replaces the original claims with volumeRestorePolicy InPlace", async () => {
      await vmWithSnapshot();
      const original = sim.store.get(PersistentVolumeClaim, "default", "web-root");
      const { metadata } = restoreBack({ volumeRestorePolicy: "InPlace" });
      await untilRestore("back", complete);
      assert.deepEqual(claimNames(sim.store.get(VM, "default", "web")), ["web-root"]);
      const replaced = sim.store.get(PersistentVolumeClaim, "default", "web-root");
      assert.notEqual(replaced?.metadata.uid, original?.metadata.uid);
      assert.equal(
        replaced?.metadata.annotations?.["restore.kubevirt.io/lastRestoreUID"],
        `back-${metadata.uid}`,
      );
      assert.equal(replaced?.spec.dataSource.kind, "VolumeSnapshot");
    });

    it("restores dataVolumeTemplates as new DataVolumes and deletes the ones the restore leaves behind", async () => {
      await vmWithSnapshot({ disks: [{ name: "root", source: "dataVolumeTemplate" }] });
      const { metadata } = restoreBack();
      const vmr = await untilRestore("back", complete);
      const restored = `restore-${metadata.uid}-root`;
      assert.equal(vmr?.status.restores[0].dataVolumeName, restored);
      assert.deepEqual(vmr?.status.deletedDataVolumes, ["web-root"]);
      const vm = sim.store.get(VM, "default", "web");
      assert.deepEqual(claimNames(vm), [restored]);
      assert.deepEqual(
        vm?.spec.dataVolumeTemplates.map((t: KubeObject) => t.metadata.name),
        [restored],
      );
      const dv = await waitFor(
        sim.store,
        DataVolume,
        "default",
        restored,
        (o) => o?.status?.phase === "Succeeded",
      );
      assert.equal(
        sim.store.get(PersistentVolumeClaim, "default", restored)?.metadata.ownerReferences?.[0].uid,
        dv?.metadata.uid,
      );
      await waitFor(sim.store, DataVolume, "default", "web-root", gone);
    });

    it("is garbage-collected with its target VM (it is owned by it)", async () => {
      await vmWithSnapshot();
      restoreBack();
      await untilRestore("back", complete);
      sim.store.delete(VM, "default", "web");
      await untilRestore("back", gone);
    });

    it("releases the VM when a stuck restore is deleted (restoreInProgress cleared, finalizer removed)", async () => {
      await vmWithSnapshot();
      // volumeRestoreOverrides puts the hang knob on the restored claim: it stays Pending.
      const override = { volumeName: "root", annotations: { [KnobAnnotation.Hang]: "Pending" } };
      restoreBack({ volumeRestoreOverrides: [override] });
      await untilRestore("back", progressingReason("Creating new PVCs"));
      assert.equal(sim.store.get(VM, "default", "web")?.status.restoreInProgress, "back");
      sim.store.delete(VMR, "default", "back");
      await untilRestore("back", gone);
      await waitFor(sim.store, VM, "default", "web", (o) => o?.status?.restoreInProgress === undefined);
    });
  });

  describe("targetReadinessPolicy, when the target VM still runs", () => {
    it("StopTarget: stops the VM (runStrategy Halted) and restores", async () => {
      await vmWithSnapshot({ running: true });
      restoreBack({ targetReadinessPolicy: "StopTarget" });
      const reasonsSeen = new Set<string>();
      const unsubscribe = sim.store.subscribe(({ object: o }) => {
        if (o.kind === "VirtualMachineRestore") reasonsSeen.add(reasons(o).Progressing);
      });
      await untilRestore("back", complete);
      unsubscribe();
      assert.ok(reasonsSeen.has(`False ${RestoreMessage.stopTarget}`), [...reasonsSeen].join(" | "));
      assert.equal(sim.store.get(VM, "default", "web")?.spec.runStrategy, "Halted");
      assert.equal(sim.store.get(VirtualMachineInstance, "default", "web"), undefined);
    });

    it("WaitGracePeriod (the default): waits with the 5m0s message", async () => {
      await vmWithSnapshot({ running: true });
      restoreBack();
      const vmr = await untilRestore("back", progressingReason(RestoreMessage.waitGracePeriod(300_000)));
      assert.match(reasons(vmr).Ready, /or the operation will fail after 5m0s$/);
      assert.equal(vmr?.status.complete, false);
    });

    it("WaitGracePeriod: fails with Failure=True once the grace period has passed", async () => {
      sim.restart({ targetGracePeriodMs: 1500 });
      await vmWithSnapshot({ running: true });
      restoreBack();
      const waiting = await untilRestore("back", (o) =>
        Boolean(reasons(o).Progressing?.startsWith("False Waiting")),
      );
      assert.equal(reasons(waiting).Progressing, `False ${RestoreMessage.waitGracePeriod(1500)}`);
      assert.match(RestoreMessage.waitGracePeriod(1500), /fail after 1\.5s$/);
      const vmr = await untilRestore("back", (o) => Boolean(reasons(o).Failure), 3000);
      const failure =
        "Restore target failed to be ready within 1.5s. Please power off the target VM before attempting restore";
      assert.deepEqual(reasons(vmr), {
        Progressing: `False ${failure}`,
        Ready: `False ${failure}`,
        Failure: `True ${failure}`,
      });
      assert.ok(Date.now() - Date.parse(vmr!.metadata.creationTimestamp!) >= 1500);
      assert.equal(vmr?.status.complete, false);
    });

    it("FailImmediate: fails at once and leaves the VM running", async () => {
      await vmWithSnapshot({ running: true });
      restoreBack({ targetReadinessPolicy: "FailImmediate" });
      const vmr = await untilRestore("back", (o) => Boolean(reasons(o).Failure));
      assert.equal(reasons(vmr).Failure, `True ${RestoreMessage.failImmediate}`);
      assert.equal(reasons(vmr).Progressing, `False ${RestoreMessage.failImmediate}`);
      assert.equal(sim.store.get(VM, "default", "web")?.status.printableStatus, "Running");
    });

    it("WaitEventually: waits until the user stops the VM, then restores", async () => {
      await vmWithSnapshot({ running: true });
      restoreBack({ targetReadinessPolicy: "WaitEventually" });
      await untilRestore("back", progressingReason(RestoreMessage.waitEventually));
      const vm = sim.store.get(VM, "default", "web")!;
      sim.store.update(VM, { ...vm, spec: { ...vm.spec, runStrategy: "Halted" } });
      await untilRestore("back", complete);
    });
  });

  describe("restoring to a new VM and errors", () => {
    it("creates a new, Halted VM from the snapshot with the patches applied", async () => {
      await vmWithSnapshot({ running: true });
      const { metadata } = createVirtualMachineRestore(sim.store, {
        name: "clone",
        target: "web-copy",
        snapshot: "snap",
        spec: {
          patches: [
            '{"op": "replace", "path": "/metadata/labels/app", "value": "web-copy"}',
            '{"op": "add", "path": "/spec/template/metadata/labels/copy", "value": "true"}',
          ],
        },
      });
      await untilRestore("clone", complete);
      const copy = sim.store.get(VM, "default", "web-copy");
      assert.equal(copy?.spec.runStrategy, "Halted");
      assert.equal(copy?.metadata.labels?.app, "web-copy");
      assert.equal(copy?.spec.template.metadata.labels.copy, "true");
      assert.deepEqual(claimNames(copy), [`restore-${metadata.uid}-root`]);
      assert.equal(sim.store.get(VM, "default", "web")?.status.printableStatus, "Running"); // the source is untouched
      const vmr = sim.store.get(VMR, "default", "clone");
      assert.equal(vmr?.metadata.ownerReferences?.[0].uid, copy?.metadata.uid);
    });

    it("names the restored claims <target>-<volume> with volumeRestorePolicy PrefixTargetName", async () => {
      await vmWithSnapshot();
      createVirtualMachineRestore(sim.store, {
        name: "clone",
        target: "web-copy",
        snapshot: "snap",
        spec: { volumeRestorePolicy: "PrefixTargetName" },
      });
      await untilRestore("clone", complete);
      assert.deepEqual(claimNames(sim.store.get(VM, "default", "web-copy")), ["web-copy-root"]);
      assert.equal(sim.store.get(PersistentVolumeClaim, "default", "web-copy-root")?.status.phase, "Bound");
    });

    it("retries a missing snapshot forever (Progressing=False with the error) and completes once it exists", async () => {
      createVirtualMachine(sim.store, { name: "web" });
      restoreBack();
      const vmr = await untilRestore("back", progressingReason("VMSnapshot default/snap does not exist"));
      assert.equal(reasons(vmr).Ready, "False VMSnapshot default/snap does not exist");
      assert.equal(reasons(vmr).Failure, undefined);
      createVirtualMachineSnapshot(sim.store, { name: "snap", vm: "web" });
      await untilRestore("back", complete);
    });

    it("waits for a snapshot that is not ready yet (VMSnapshot <ns>/<name> not ready)", async () => {
      createVirtualMachine(sim.store, { name: "web" });
      createVirtualMachineSnapshot(sim.store, {
        name: "snap",
        vm: "web",
        annotations: { [KnobAnnotation.PhaseDelayMs]: "100" },
      });
      restoreBack();
      await untilRestore("back", progressingReason("VMSnapshot default/snap not ready"));
      await untilRestore("back", complete);
    });

    it("refuses to restore onto a different existing VM, without failing", async () => {
      await vmWithSnapshot();
      createVirtualMachine(sim.store, { name: "other" });
      createVirtualMachineRestore(sim.store, { name: "back", target: "other", snapshot: "snap" });
      const vmr = await untilRestore("back", progressingReason(RestoreMessage.differentTargetExists));
      assert.equal(vmr?.status.complete, false);
      assert.equal(reasons(vmr).Failure, undefined);
    });
  });
});
