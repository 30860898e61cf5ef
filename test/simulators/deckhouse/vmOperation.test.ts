import assert from "node:assert/strict";
import {
  VirtualDisk,
  VirtualMachine,
  VirtualMachineIPAddress,
  VirtualMachineOperation,
  VirtualMachineSnapshot,
} from "../../emulator/kinds/deckhouse";
import type { KubeObject } from "../../emulator/store";
import { KnobAnnotation } from "../knobs";
import { gone, inPhase, waitFor } from "../waitFor";
import { conditionOf } from "./conditions";
import { createVirtualMachine, createVirtualMachineSnapshot } from "./fixtures";
import { assertCondition, harnessPerTest, inPhaseWithAddress, ns } from "./testing";

const createdBy = "virtualization.deckhouse.io/vmoprestore";
const cleanup = "virtualization.deckhouse.io/vmop-cleanup";

describe("Deckhouse simulator: VirtualMachineOperation", () => {
  const h = harnessPerTest();

  const operate = (name: string, spec: Record<string, unknown>, annotations: Record<string, string> = {}) =>
    h.store.create(VirtualMachineOperation, { metadata: { name, namespace: ns, annotations }, spec });
  const until = (name: string, ...phases: string[]) =>
    waitFor(h.store, VirtualMachineOperation, ns, name, inPhase(...phases), 1500) as Promise<KubeObject>;
  const completed = (op: KubeObject) => conditionOf(op, "Completed");
  const restoreSpec = (mode: string, snapshot = "snap", vm = "vm") => ({
    type: "Restore",
    virtualMachineName: vm,
    restore: { mode, virtualMachineSnapshotName: snapshot },
  });

  describe("Restore", () => {
    it("restores a running VM in place: maintenance, disks recreated, spec back, running again", async () => {
      await h.vmWithReadySnapshot("Running", { name: "vm", disks: ["root", "data"] });
      const before = h.store.mustGet(VirtualDisk, ns, "root");
      const vm = h.store.mustGet(VirtualMachine, ns, "vm");
      h.store.update(VirtualMachine, { ...vm, spec: { ...vm.spec, cpu: { cores: 4 } } });
      const vmPhases: string[] = [];
      let maintenance = false;
      const unsubscribe = h.store.subscribe((e) => {
        if (e.object.kind !== "VirtualMachine") return;
        if (vmPhases.at(-1) !== e.object.status?.phase) vmPhases.push(e.object.status?.phase);
        if (conditionOf(e.object, "Maintenance")?.status === "True") maintenance = true;
      });
      const created = operate("restore", restoreSpec("Strict"));
      const inProgress = await until("restore", "InProgress");
      assert.equal(completed(inProgress)?.reason, "RestoreInProgress");
      assert.equal(completed(inProgress)?.message, "Waiting for the operation to complete.");
      const done = await until("restore", "Completed", "Failed");
      unsubscribe();
      assert.equal(done.status.phase, "Completed", completed(done)?.message);
      assert.equal(completed(done)?.reason, "OperationCompleted");
      assert.deepEqual(done.metadata.finalizers, [cleanup], "the finalizer stays after completion");
      assert.equal(conditionOf(done, "MaintenanceMode")?.reason, "MaintenanceModeDisabled");
      assert.ok(maintenance, "the VM was in maintenance");
      assert.ok(vmPhases.includes("Stopped"), vmPhases.join());
      const root = h.store.mustGet(VirtualDisk, ns, "root");
      assert.notEqual(root.metadata.uid, before.metadata.uid, "the disk was recreated");
      assert.equal(root.metadata.annotations?.[createdBy], created.metadata.uid);
      assert.deepEqual(
        done.status.resources.map((r: any) => [r.kind, r.name, r.status, r.message]),
        [
          [
            "VirtualMachineIPAddress",
            vm.status.virtualMachineIPAddressName,
            "Completed",
            "Successfully processed",
          ],
          ["VirtualMachine", "vm", "Completed", "Successfully processed"],
          ["VirtualDisk", "root", "Completed", "Successfully processed"],
          ["VirtualDisk", "data", "Completed", "Successfully processed"],
        ],
      );
      const back = await h.vmIn("vm", "Running");
      assert.equal(back.spec.cpu.cores, 1, "the snapshot's spec is back");
      assert.equal(conditionOf(back, "Maintenance")?.status, "False");
      assert.equal(back.status.ipAddress, vm.status.ipAddress);
    });

    it("keeps a stopped VM stopped after the restore", async () => {
      await h.vmWithReadySnapshot("Stopped", { name: "vm", disks: ["root"], runPolicy: "Manual" });
      operate("restore", restoreSpec("BestEffort"));
      const done = await until("restore", "Completed", "Failed");
      assert.equal(done.status.phase, "Completed", completed(done)?.message);
      await h.vmIn("vm", "Stopped");
      // A VM restarted after the restore would be Starting within milliseconds.
      await assert.rejects(
        waitFor(h.store, VirtualMachine, ns, "vm", inPhase("Starting", "Running"), 100),
        /condition not met/,
      );
    });

    it("DryRun validates only: Completed with per-object results, nothing changed", async () => {
      await h.vmWithReadySnapshot("Running", { name: "vm", disks: ["root"] });
      const disk = h.store.mustGet(VirtualDisk, ns, "root");
      const vm = h.store.mustGet(VirtualMachine, ns, "vm");
      operate("check", restoreSpec("DryRun"));
      const done = await until("check", "Completed", "Failed");
      assert.equal(done.status.phase, "Completed", completed(done)?.message);
      assert.deepEqual(
        done.status.resources.map((r: any) => [r.apiVersion, r.kind, r.name, r.status, r.message]),
        [
          [
            "v1alpha2",
            "VirtualMachineIPAddress",
            vm.status.virtualMachineIPAddressName,
            "Completed",
            `${vm.status.virtualMachineIPAddressName} is valid for restore`,
          ],
          ["v1alpha2", "VirtualMachine", "vm", "Completed", "vm is valid for restore"],
          ["v1alpha2", "VirtualDisk", "root", "Completed", "root is valid for restore"],
        ],
      );
      assert.equal(conditionOf(done, "MaintenanceMode"), undefined);
      assert.equal(h.store.mustGet(VirtualDisk, ns, "root").metadata.uid, disk.metadata.uid);
      const after = h.store.mustGet(VirtualMachine, ns, "vm");
      assert.equal(after.metadata.generation, vm.metadata.generation);
      assert.equal(after.status.phase, "Running");
      assert.equal(conditionOf(after, "Maintenance"), undefined);
    });

    it("DryRun reports a disk used by another VM and fails validation", async () => {
      await h.vmWithReadySnapshot("Running", { name: "vm", disks: ["root"] });
      await h.alsoAttachTo("other", "root");
      operate("check", restoreSpec("DryRun"));
      const failed = await until("check", "Failed", "Completed");
      assertCondition(completed(failed), {
        reason: "OperationFailed",
        message: "Restore is failed: fail to validate the resources: check the status",
      });
      const disk = failed.status.resources.find((r: any) => r.kind === "VirtualDisk");
      assert.deepEqual([disk.status, disk.message], ["Failed", 'the virtual disk "root" already in use']);
    });

    it("fails validation when the kept address is now leased by another VM's address", async () => {
      await h.vmWithReadySnapshot("Running", { name: "vm", disks: ["root"] });
      const vm = h.store.mustGet(VirtualMachine, ns, "vm");
      const ip = vm.status.ipAddress;
      // The VM moves to another address and a second VM takes the old one.
      h.store.create(VirtualMachineIPAddress, {
        metadata: { name: "new-ip", namespace: ns },
        spec: { type: "Auto" },
      });
      h.store.update(VirtualMachine, { ...vm, spec: { ...vm.spec, virtualMachineIPAddressName: "new-ip" } });
      h.store.delete(VirtualMachineIPAddress, ns, vm.status.virtualMachineIPAddressName);
      await waitFor(h.store, VirtualMachineIPAddress, ns, vm.status.virtualMachineIPAddressName, gone);
      h.store.create(VirtualMachineIPAddress, {
        metadata: { name: "thief-ip", namespace: ns },
        spec: { type: "Static", staticIP: ip },
      });
      createVirtualMachine(h.store, {
        namespace: ns,
        name: "thief",
        disks: ["t"],
        running: false,
        virtualMachineIPAddressName: "thief-ip",
      });
      await waitFor(h.store, VirtualMachineIPAddress, ns, "thief-ip", inPhase("Attached"));
      operate("restore", restoreSpec("Strict"));
      const failed = await until("restore", "Failed", "Completed");
      const address = failed.status.resources.find((r: any) => r.kind === "VirtualMachineIPAddress");
      assert.equal(
        address.message,
        `the IP Address "${ip}" cannot be used for restore: it is taken by VirtualMachineIPAddress/thief-ip and already in use by the different virtual machine`,
      );
      const after = await h.vmIn("vm", "Running");
      assert.equal(conditionOf(after, "Maintenance")?.status, "False", "a failed restore leaves maintenance");
    });

    it("fails at once when the snapshot is not ready", async () => {
      await h.createVmIn("Running", { name: "vm", disks: ["root"] });
      createVirtualMachineSnapshot(h.store, {
        name: "slow",
        vm: "vm",
        annotations: { [KnobAnnotation.Hang]: "InProgress" },
      });
      await waitFor(h.store, VirtualMachineSnapshot, ns, "slow", inPhase("InProgress"));
      operate("restore", restoreSpec("Strict", "slow"));
      const failed = await until("restore", "Failed", "Completed");
      assert.equal(
        completed(failed)?.message,
        'Restore is failed: virtual machine snapshot "slow" is not ready to use',
      );
      assert.equal(conditionOf(h.store.mustGet(VirtualMachine, ns, "vm"), "Maintenance"), undefined);
    });

    it("fails at once when the snapshot does not exist", async () => {
      await h.createVmIn("Running", { name: "vm", disks: ["root"] });
      operate("restore", restoreSpec("Strict", "nope"));
      const failed = await until("restore", "Failed", "Completed");
      assert.equal(
        completed(failed)?.message,
        'Restore is failed: virtual machine snapshot "nope" is not found',
      );
    });

    it("fails VirtualMachineNotFound when the VM does not exist", async () => {
      operate("restore", restoreSpec("Strict", "snap", "ghost"));
      const failed = await until("restore", "Failed");
      assert.deepEqual(
        [completed(failed)?.reason, completed(failed)?.message],
        ["VirtualMachineNotFound", "VirtualMachine not found"],
      );
      assert.equal(failed.metadata.finalizers, undefined, "no finalizer before InProgress");
    });

    it("fails NotApplicableForVirtualMachinePhase while the VM is starting", async () => {
      await h.createVmIn("Starting", {
        name: "vm",
        disks: ["root"],
        annotations: { [KnobAnnotation.Hang]: "Starting" },
      });
      operate("restore", restoreSpec("Strict"));
      const failed = await until("restore", "Failed");
      assertCondition(completed(failed), {
        reason: "NotApplicableForVirtualMachinePhase",
        message: "Operation type Restore is not applicable for VirtualMachine in phase Starting",
      });
    });

    it("fails when a restored disk fails while the operation waits for it", async () => {
      // The restored disk copies the original's annotations, so it is paced too: time to make it fail.
      await h.vmWithReadySnapshot("Stopped", {
        name: "vm",
        disks: [{ name: "root", annotations: { [KnobAnnotation.PhaseDelayMs]: "150" } }],
        running: false,
      });
      const created = operate("restore", restoreSpec("Strict"));
      const disk = await waitFor(
        h.store,
        VirtualDisk,
        ns,
        "root",
        (d) => d?.metadata.annotations?.[createdBy] === created.metadata.uid,
      );
      h.store.update(VirtualDisk, {
        ...disk!,
        metadata: {
          ...disk!.metadata,
          annotations: {
            ...disk!.metadata.annotations,
            [KnobAnnotation.Fail]: "the storage pool is offline",
          },
        },
      });
      const failed = await until("restore", "Failed", "Completed");
      assert.equal(completed(failed)?.message, 'Restore is failed: virtual disk "root" is in failed phase');
    });

    it("deleting an operation in maintenance takes the VM out of maintenance and drops the finalizer", async () => {
      // A slow VM: the operation waits in maintenance for it to stop.
      const slow = { [KnobAnnotation.PhaseDelayMs]: "100" };
      await h.vmWithReadySnapshot("Running", { name: "vm", disks: ["root"], annotations: slow });
      operate("restore", restoreSpec("Strict"));
      await h.untilVm("vm", (v) => conditionOf(v, "Maintenance")?.status === "True");
      const op = h.store.mustGet(VirtualMachineOperation, ns, "restore");
      assert.deepEqual(op.metadata.finalizers, [cleanup]);
      h.store.delete(VirtualMachineOperation, ns, "restore");
      await waitFor(h.store, VirtualMachineOperation, ns, "restore", gone);
      const vm = h.store.mustGet(VirtualMachine, ns, "vm");
      assert.deepEqual(
        [conditionOf(vm, "Maintenance")?.status, conditionOf(vm, "Maintenance")?.message],
        ["False", "VM exited maintenance mode due to vmop deletion."],
      );
    });

    it("keeps the finalizer while hold-deletion is set", async () => {
      await h.vmWithReadySnapshot("Stopped", { name: "vm", disks: ["root"], running: false });
      operate("restore", restoreSpec("Strict"), { [KnobAnnotation.HoldDeletion]: "true" });
      const done = await until("restore", "Completed");
      h.store.delete(VirtualMachineOperation, ns, "restore");
      const held = await until("restore", "Terminating");
      assert.deepEqual(held.metadata.finalizers, [cleanup]);
      assert.equal(done.metadata.finalizers?.length, 1);
      h.store.update(VirtualMachineOperation, { ...held, metadata: { ...held.metadata, annotations: {} } });
      await waitFor(h.store, VirtualMachineOperation, ns, "restore", gone);
    });
  });

  describe("one operation at a time", () => {
    /** A Start "a-start" of the VM "vm" that stays InProgress. */
    const unfinishedStart = async () => {
      operate(
        "a-start",
        { type: "Start", virtualMachineName: "vm" },
        { [KnobAnnotation.Hang]: "InProgress" },
      );
      await until("a-start", "InProgress");
    };
    const startThenStop = async () => {
      await h.createVmIn("Stopped", { name: "vm", disks: ["root"], runPolicy: "Manual" });
      await unfinishedStart();
      operate("b-stop", { type: "Stop", virtualMachineName: "vm" });
    };

    it("v1.10: a Stop supersedes an unfinished Start", async () => {
      await startThenStop();
      const superseded = await until("a-start", "Superseded");
      assert.deepEqual(
        [completed(superseded)?.status, completed(superseded)?.reason, completed(superseded)?.message],
        ["True", "Superseded", "Superseded by b-stop with type Stop"],
      );
      const stop = await until("b-stop", "Completed", "Failed");
      assert.equal(stop.status.phase, "Completed", completed(stop)?.message);
      assert.equal(h.store.mustGet(VirtualMachine, ns, "vm").status.phase, "Stopped");
    });

    it("v1.8: the newer operation fails NotReadyToBeExecuted", async () => {
      h.restart({ version: "v1.8" });
      await startThenStop();
      const failed = await until("b-stop", "Failed");
      assertCondition(completed(failed), {
        reason: "NotReadyToBeExecuted",
        message: "VMOP cannot be executed now. Previously created operation should finish first.",
      });
      assert.equal(h.store.mustGet(VirtualMachineOperation, ns, "a-start").status.phase, "InProgress");
    });

    it("a Restore never supersedes: NotReadyToBeExecuted on v1.10 too", async () => {
      await h.vmWithReadySnapshot("Stopped", { name: "vm", disks: ["root"], runPolicy: "Manual" });
      await unfinishedStart();
      operate("b-restore", restoreSpec("Strict"));
      const failed = await until("b-restore", "Failed");
      assert.equal(completed(failed)?.reason, "NotReadyToBeExecuted");
    });

    it("Start is not applicable to an AlwaysOff VM", async () => {
      await h.createVmIn("Stopped", { name: "vm", disks: ["root"], running: false });
      operate("start", { type: "Start", virtualMachineName: "vm" });
      const failed = await until("start", "Failed");
      assertCondition(completed(failed), {
        reason: "NotApplicableForVirtualMachineRunPolicy",
        message: "Operation type Start is not applicable for VirtualMachine with runPolicy AlwaysOff",
      });
    });
  });

  describe("Clone", () => {
    const cloneSpec = (clone: Record<string, unknown>) => ({
      type: "Clone",
      virtualMachineName: "vm",
      clone,
    });

    it("creates a renamed copy through a temporary snapshot, then removes the snapshot", async () => {
      await h.createVmIn("Running", { name: "vm", disks: ["root"], userData: "#cloud-config" });
      const snapshots: string[] = [];
      const unsubscribe = h.store.subscribe((e) => {
        if (e.object.kind === "VirtualMachineSnapshot" && e.type === "ADDED")
          snapshots.push(e.object.metadata.name!);
      });
      const created = operate("clone", cloneSpec({ mode: "Strict", customization: { nameSuffix: "-copy" } }));
      const done = await until("clone", "Completed", "Failed");
      unsubscribe();
      assert.equal(done.status.phase, "Completed", completed(done)?.message);
      assert.equal(snapshots.length, 1);
      assert.match(snapshots[0], /^vmop-clone-/);
      await waitFor(h.store, VirtualMachineSnapshot, ns, snapshots[0], gone);
      assert.equal(conditionOf(done, "SnapshotReady")?.reason, "SnapshotCleanedUp");
      const copy = h.store.mustGet(VirtualMachine, ns, "vm-copy");
      assert.equal(copy.metadata.annotations?.[createdBy], created.metadata.uid);
      assert.deepEqual(copy.spec.blockDeviceRefs, [{ kind: "VirtualDisk", name: "root-copy" }]);
      assert.equal(copy.spec.provisioning.userDataRef.name, "vm-cloud-init-copy");
      assert.equal(copy.spec.virtualMachineIPAddressName, undefined, "the clone gets an address of its own");
      assert.deepEqual(
        done.status.resources.map((r: any) => `${r.kind}/${r.name}`),
        ["VirtualMachine/vm-copy", "VirtualDisk/root-copy", "Secret/vm-cloud-init-copy"],
      );
      const running = await h.untilVm("vm-copy", inPhaseWithAddress("Running"));
      assert.notEqual(running?.status.ipAddress, h.store.mustGet(VirtualMachine, ns, "vm").status.ipAddress);
    });

    it("fails when a target name is taken", async () => {
      createVirtualMachine(h.store, { namespace: ns, name: "vm", disks: ["root"] });
      createVirtualMachine(h.store, { namespace: ns, name: "vm-copy", disks: ["other"], running: false });
      await h.vmIn("vm", "Running");
      operate(
        "clone",
        cloneSpec({
          mode: "Strict",
          nameReplacement: [{ from: { kind: "VirtualMachine", name: "vm" }, to: "vm-copy" }],
        }),
      );
      const failed = await until("clone", "Failed", "Completed");
      assert.equal(
        completed(failed)?.message,
        "Clone is failed: fail to validate the resources: check the status",
      );
      const vm = failed.status.resources.find((r: any) => r.kind === "VirtualMachine");
      assert.deepEqual(
        [vm.name, vm.status, vm.message],
        ["vm-copy", "Failed", "VirtualMachine with name vm-copy already exists"],
      );
      const disk = failed.status.resources.find((r: any) => r.kind === "VirtualDisk");
      assert.deepEqual([disk.name, disk.status], ["root", "Failed"]);
      assert.equal(disk.message, "VirtualDisk with name root attached to VirtualMachine vm");
    });

    it("fails when the temporary snapshot fails", async () => {
      await h.createVmIn("Running", { name: "vm", disks: ["root"], guestAgent: false });
      operate("clone", cloneSpec({ mode: "Strict", customization: { namePrefix: "c-" } }));
      const failed = await until("clone", "Failed", "Completed");
      const snapshot = failed.metadata.annotations?.["virtualization.deckhouse.io/vmop-snapshot-name"];
      assert.equal(
        completed(failed)?.message,
        `Clone is failed: virtual machine snapshot "${snapshot}" is in failed phase: virtual machine "vm" have invalid state: Cannot take a consistent snapshot of virtual machine "vm": virtual machine agent is not ready and the virtual machine cannot be frozen.. Try again with new VMOP Clone operation`,
      );
      assert.equal(conditionOf(failed, "SnapshotReady")?.reason, "SnapshotFailed");
    });

    it("DryRun creates nothing", async () => {
      await h.createVmIn("Running", { name: "vm", disks: ["root"] });
      operate("clone", cloneSpec({ mode: "DryRun", customization: { namePrefix: "c-" } }));
      const done = await until("clone", "Completed", "Failed");
      assert.equal(done.status.phase, "Completed", completed(done)?.message);
      assert.deepEqual(
        done.status.resources.map((r: any) => [r.name, r.message]),
        [
          ["c-vm", "c-vm is valid for restore"],
          ["c-root", "c-root is valid for restore"],
        ],
      );
      assert.equal(h.store.get(VirtualMachine, ns, "c-vm"), undefined);
      assert.equal(h.store.get(VirtualDisk, ns, "c-root"), undefined);
    });
  });
});
