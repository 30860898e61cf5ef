import assert from "node:assert/strict";
import {
  VirtualDisk,
  VirtualMachine,
  VirtualMachineBlockDeviceAttachment,
  VirtualMachineIPAddress,
  VirtualMachineRestore,
  VirtualMachineSnapshot,
} from "../../emulator/kinds/deckhouse";
import type { KubeObject } from "../../emulator/store";
import { gone, inPhase, waitFor } from "../waitFor";
import { conditionOf } from "./conditions";
import {
  createVirtualDisk,
  createVirtualMachine,
  createVirtualMachineSnapshot,
  type VirtualMachineFixture,
} from "./fixtures";
import { startHarness } from "./harness";
import { assertCondition, harnessPerTest, inPhaseWithAddress, ns } from "./testing";

const restoredBy = "virtualization.deckhouse.io/vmrestore";

describe("Deckhouse simulator: VirtualMachineRestore (v1.8)", () => {
  const h = harnessPerTest({ version: "v1.8" });

  const restore = (name: string, snapshot: string, spec: Record<string, unknown> = {}) =>
    h.store.create(VirtualMachineRestore, {
      metadata: { name, namespace: ns },
      spec: { virtualMachineSnapshotName: snapshot, ...spec },
    });
  const until = (name: string, ...phases: string[]) =>
    waitFor(h.store, VirtualMachineRestore, ns, name, inPhase(...phases), 1000) as Promise<KubeObject>;
  const ready = (r: KubeObject) => conditionOf(r, "VirtualMachineRestoreReady");
  /** The VM "vm" with a disk "root", stopped, and a Ready snapshot "snap" of it. */
  const stoppedVmWithSnapshot = (
    fixture: Partial<VirtualMachineFixture> = {},
    snapshotSpec?: Record<string, unknown>,
  ) =>
    h.vmWithReadySnapshot(
      "Stopped",
      { name: "vm", disks: ["root"], running: false, ...fixture },
      snapshotSpec,
    );
  /** Restores "snap" as "r" and checks its Ready condition once it has failed (or is Ready, and the check fails). */
  const restoreFailsWith = async (
    restoreMode: "Safe" | "Forced",
    expected: { reason?: string; message: string },
  ) => {
    restore("r", "snap", { restoreMode });
    assertCondition(ready(await until("r", "Failed", "Ready")), expected);
  };
  /** Deletes the VM and disks, and waits for the VM's automatic address to be garbage-collected. */
  const deleteVmAndDisks = async (vmName: string, disks: string[]) => {
    const vm = h.store.mustGet(VirtualMachine, ns, vmName);
    h.store.delete(VirtualMachine, ns, vmName);
    for (const d of disks) h.store.delete(VirtualDisk, ns, d);
    if (!vm.spec.virtualMachineIPAddressName) {
      await waitFor(h.store, VirtualMachineIPAddress, ns, vm.status.virtualMachineIPAddressName, gone);
    }
  };

  it("Safe: recreates a deleted VM and its disks from the snapshot, with its IP address", async () => {
    await stoppedVmWithSnapshot({ disks: ["root", "data"] });
    const ip = h.store.mustGet(VirtualMachine, ns, "vm").status.ipAddress;
    await deleteVmAndDisks("vm", ["root", "data"]);
    const created = restore("r", "snap");
    const phases: string[] = [];
    const unsubscribe = h.store.subscribe((e) => {
      if (e.object.kind === "VirtualMachineRestore" && phases.at(-1) !== e.object.status?.phase)
        phases.push(e.object.status?.phase);
    });
    const done = await until("r", "Ready", "Failed");
    unsubscribe();
    assert.deepEqual(phases.filter(Boolean), ["Pending", "InProgress", "Ready"]);
    assert.equal(ready(done)?.reason, "VirtualMachineRestoreReady");
    assert.equal(conditionOf(done, "VirtualMachineSnapshotReadyToUse")?.status, "True");
    const vm = h.store.mustGet(VirtualMachine, ns, "vm");
    assert.equal(vm.metadata.annotations?.[restoredBy], created.metadata.uid);
    for (const d of ["root", "data"]) {
      const disk = h.store.mustGet(VirtualDisk, ns, d);
      assert.equal(disk.metadata.annotations?.[restoredBy], created.metadata.uid);
      assert.deepEqual(disk.spec.dataSource.objectRef.kind, "VirtualDiskSnapshot");
    }
    const back = await h.untilVm("vm", inPhaseWithAddress("Stopped"));
    assert.equal(back?.status.ipAddress, ip, "keepIPAddress Always brings the same address back");
  });

  it("Safe: fails VirtualMachineRestoreConflict when the VM exists", async () => {
    await stoppedVmWithSnapshot({}, { keepIPAddress: "Never" });
    await restoreFailsWith("Safe", {
      reason: "VirtualMachineRestoreConflict",
      message: 'The virtual machine "vm" already exists.',
    });
  });

  it("Safe: reports the kept address first when the VM still uses it", async () => {
    await stoppedVmWithSnapshot();
    const address = h.store.mustGet(VirtualMachine, ns, "vm").status.virtualMachineIPAddressName;
    await restoreFailsWith("Safe", {
      message: `The virtual machine ip address "${address}" is already in use and cannot be used for the restored virtual machine.`,
    });
  });

  it("Safe: fails when a disk of the snapshot still exists", async () => {
    await stoppedVmWithSnapshot({ disks: ["root", "data"] });
    await deleteVmAndDisks("vm", ["root"]);
    await restoreFailsWith("Safe", {
      reason: "VirtualMachineRestoreConflict",
      message: 'The virtual disk "data" already exists.',
    });
  });

  it("Safe: fails when an attachment of the snapshot still exists", async () => {
    createVirtualMachine(h.store, { namespace: ns, name: "vm", disks: ["root"], running: false });
    createVirtualDisk(h.store, ns, "spare");
    h.store.create(VirtualMachineBlockDeviceAttachment, {
      metadata: { name: "hotplug", namespace: ns },
      spec: { virtualMachineName: "vm", blockDeviceRef: { kind: "VirtualDisk", name: "spare" } },
    });
    await waitFor(h.store, VirtualMachineBlockDeviceAttachment, ns, "hotplug", inPhase("Attached"));
    await h.untilVm("vm", (vm) => vm?.status?.blockDeviceRefs?.length === 2);
    createVirtualMachineSnapshot(h.store, { name: "snap", vm: "vm" });
    const snap = await waitFor(h.store, VirtualMachineSnapshot, ns, "snap", inPhase("Ready"));
    assert.equal(snap?.status.virtualDiskSnapshotNames.length, 2, "the hot-plugged disk is in the snapshot");
    await deleteVmAndDisks("vm", ["root", "spare"]);
    await restoreFailsWith("Safe", {
      message: 'The virtual machine block device attachment "hotplug" already exists.',
    });
  });

  it("Safe: fails when the kept IP address is used by another VM", async () => {
    h.store.create(VirtualMachineIPAddress, {
      metadata: { name: "fixed", namespace: ns },
      spec: { type: "Static", staticIP: "10.66.10.200" },
    });
    await stoppedVmWithSnapshot({ virtualMachineIPAddressName: "fixed" });
    await deleteVmAndDisks("vm", ["root"]);
    createVirtualMachine(h.store, {
      namespace: ns,
      name: "thief",
      disks: ["t"],
      running: false,
      virtualMachineIPAddressName: "fixed",
    });
    await waitFor(
      h.store,
      VirtualMachineIPAddress,
      ns,
      "fixed",
      (a) => a?.status?.virtualMachineName === "thief",
    );
    await restoreFailsWith("Safe", {
      message:
        'The virtual machine ip address "fixed" is already in use and cannot be used for the restored virtual machine.',
    });
  });

  it("Safe: fails when the kept static address is leased by a different address object", async () => {
    const snap = await stoppedVmWithSnapshot();
    const kept = snap.status.resources.find((r: any) => r.kind === "VirtualMachineIPAddress").name;
    const ip = h.store.mustGet(VirtualMachine, ns, "vm").status.ipAddress;
    await deleteVmAndDisks("vm", ["root"]);
    h.store.create(VirtualMachineIPAddress, {
      metadata: { name: "squatter", namespace: ns },
      spec: { type: "Static", staticIP: ip },
    });
    assert.notEqual(kept, "squatter");
    await restoreFailsWith("Safe", {
      message: `The set address "${ip}" is already in use by the different virtual machine ip address "squatter" and cannot be used for the restored virtual machine.`,
    });
  });

  it("Safe with nameReplacements: restores a copy next to the original", async () => {
    // keepIPAddress Never: the copy must not claim the original's address.
    await stoppedVmWithSnapshot({}, { keepIPAddress: "Never" });
    restore("r", "snap", {
      nameReplacements: [
        { from: { kind: "VirtualMachine", name: "vm" }, to: "vm-copy" },
        { from: { name: "root" }, to: "root-copy" },
      ],
    });
    const done = await until("r", "Ready", "Failed");
    assert.equal(done.status.phase, "Ready", ready(done)?.message);
    const copy = h.store.mustGet(VirtualMachine, ns, "vm-copy");
    assert.deepEqual(copy.spec.blockDeviceRefs, [{ kind: "VirtualDisk", name: "root-copy" }]);
    await waitFor(h.store, VirtualDisk, ns, "root-copy", inPhase("Ready"));
    const original = h.store.mustGet(VirtualMachine, ns, "vm");
    assert.equal(original.metadata.annotations?.[restoredBy], undefined, "the original is untouched");
    const copyRunning = await h.untilVm("vm-copy", (v) => Boolean(v?.status?.ipAddress));
    assert.notEqual(copyRunning?.status.ipAddress, original.status.ipAddress);
  });

  it("stays Pending while the snapshot does not exist, and proceeds once it is Ready", async () => {
    restore("r", "later");
    const pending = await waitFor(
      h.store,
      VirtualMachineRestore,
      ns,
      "r",
      (r) => ready(r!)?.reason === "VirtualMachineSnapshotNotReadyToUse",
    );
    assert.equal(pending?.status.phase, "Pending");
    assert.equal(
      ready(pending!)?.message,
      'Waiting for the virtual machine snapshot "later" to be ready to use.',
    );
    assert.equal(
      conditionOf(pending, "VirtualMachineSnapshotReadyToUse")?.message,
      'The virtual machine snapshot "later" not found.',
    );
    await h.createVmIn("Stopped", { name: "vm", disks: ["root"], running: false });
    createVirtualMachineSnapshot(h.store, { name: "later", vm: "vm" });
    await waitFor(h.store, VirtualMachineSnapshot, ns, "later", inPhase("Ready"));
    const failed = await until("r", "Failed", "Ready");
    assert.equal(
      ready(failed)?.reason,
      "VirtualMachineRestoreConflict",
      "it went on to validate against the live VM",
    );
  });

  it("Forced: stops a running VM, recreates its disks, restores its spec and run policy", async () => {
    await h.vmWithReadySnapshot("Running", { name: "vm", disks: ["root"] });
    const oldDisk = h.store.mustGet(VirtualDisk, ns, "root");
    const vm = h.store.mustGet(VirtualMachine, ns, "vm");
    h.store.update(VirtualMachine, { ...vm, spec: { ...vm.spec, memory: { size: "4Gi" } } });
    const created = restore("r", "snap", { restoreMode: "Forced" });
    const reasons = new Set<string>();
    const unsubscribe = h.store.subscribe((e) => {
      if (e.object.kind === "VirtualMachineRestore" && ready(e.object)) reasons.add(ready(e.object)!.message);
    });
    const done = await until("r", "Ready", "Failed");
    unsubscribe();
    assert.equal(done.status.phase, "Ready", ready(done)?.message);
    assert.ok(
      reasons.has("Waiting for the virtual machine run policy will be updated."),
      [...reasons].join("\n"),
    );
    assert.ok(reasons.has("Waiting for the virtual machine will be stopped."));
    assert.ok(reasons.has("Waiting for the `VirtualDisk` root will be restored."));
    const disk = h.store.mustGet(VirtualDisk, ns, "root");
    assert.notEqual(disk.metadata.uid, oldDisk.metadata.uid);
    assert.equal(disk.metadata.annotations?.[restoredBy], created.metadata.uid);
    const restored = h.store.mustGet(VirtualMachine, ns, "vm");
    assert.equal(restored.spec.memory.size, "1Gi");
    assert.equal(restored.spec.runPolicy, "AlwaysOnUnlessStoppedManually");
    await h.vmIn("vm", "Running");
  });

  it("Forced: fails when the VM does not exist", async () => {
    await stoppedVmWithSnapshot();
    await deleteVmAndDisks("vm", ["root"]);
    await restoreFailsWith("Forced", {
      reason: "VirtualMachineRestoreFailed",
      message:
        "Restoration with `Forced` mode can be applied only to an existing virtual machine; you can restore the virtual machine with `Safe` mode.",
    });
  });

  it("Forced: fails when the VM is Pending", async () => {
    await stoppedVmWithSnapshot();
    const vm = h.store.mustGet(VirtualMachine, ns, "vm");
    h.store.update(VirtualMachine, {
      ...vm,
      spec: {
        ...vm.spec,
        blockDeviceRefs: [...vm.spec.blockDeviceRefs, { kind: "VirtualDisk", name: "missing" }],
      },
    });
    await h.vmIn("vm", "Pending");
    await restoreFailsWith("Forced", {
      message:
        "A virtual machine cannot be restored from the pending phase with `Forced` mode; you can delete the virtual machine and restore it with `Safe` mode.",
    });
  });

  it("Forced: fails VirtualMachineRestoreConflict when a disk is used by another VM", async () => {
    await stoppedVmWithSnapshot();
    await h.alsoAttachTo("other", "root");
    await restoreFailsWith("Forced", {
      reason: "VirtualMachineRestoreConflict",
      message: 'The virtual disk "root" already in use.',
    });
  });
});

describe("Deckhouse simulator: VirtualMachineRestore on v1.10", () => {
  it("is not reconciled: the resource was removed in v1.9.0", async () => {
    const h = startHarness();
    try {
      h.store.create(VirtualMachineRestore, {
        metadata: { name: "r", namespace: ns },
        spec: { virtualMachineSnapshotName: "snap" },
      });
      await assert.rejects(
        waitFor(h.store, VirtualMachineRestore, ns, "r", (r) => Boolean(r?.status?.phase), 100),
        /condition not met/,
      );
    } finally {
      h.stop();
    }
  });
});
