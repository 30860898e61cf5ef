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
import { createVirtualDisk, createVirtualMachine, type VirtualMachineFixture } from "./fixtures";
import { startHarness, type Harness } from "./harness";

const ns = "default";
const restoredBy = "virtualization.deckhouse.io/vmrestore";

describe("Deckhouse simulator: VirtualMachineRestore (v1.8)", () => {
  let h: Harness;
  beforeEach(() => (h = startHarness({ version: "v1.8" })));
  afterEach(() => h.stop());

  const restore = (name: string, snapshot: string, spec: Record<string, unknown> = {}) =>
    h.store.create(VirtualMachineRestore, {
      metadata: { name, namespace: ns },
      spec: { virtualMachineSnapshotName: snapshot, ...spec },
    });
  const until = (name: string, ...phases: string[]) =>
    waitFor(h.store, VirtualMachineRestore, ns, name, inPhase(...phases), 1000) as Promise<KubeObject>;
  const ready = (r: KubeObject) => conditionOf(r, "VirtualMachineRestoreReady");
  /** A VM in the given phase with a Ready snapshot "snap" of it. */
  const snapshotted = async (
    fixture: Omit<VirtualMachineFixture, "namespace">,
    phase = "Stopped",
    snapshotSpec: Record<string, unknown> = {},
  ) => {
    createVirtualMachine(h.store, { namespace: ns, ...fixture });
    await waitFor(
      h.store,
      VirtualMachine,
      ns,
      fixture.name,
      (vm) => inPhase(phase)(vm) && !!vm?.status?.ipAddress,
    );
    h.store.create(VirtualMachineSnapshot, {
      metadata: { name: "snap", namespace: ns },
      spec: { virtualMachineName: fixture.name, ...snapshotSpec },
    });
    return (await waitFor(h.store, VirtualMachineSnapshot, ns, "snap", inPhase("Ready"))) as KubeObject;
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
    await snapshotted({ name: "vm", disks: ["root", "data"], running: false });
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
    const back = await waitFor(
      h.store,
      VirtualMachine,
      ns,
      "vm",
      (v) => inPhase("Stopped")(v) && !!v?.status?.ipAddress,
    );
    assert.equal(back?.status.ipAddress, ip, "keepIPAddress Always brings the same address back");
  });

  it("Safe: fails VirtualMachineRestoreConflict when the VM exists", async () => {
    await snapshotted({ name: "vm", disks: ["root"], running: false }, "Stopped", { keepIPAddress: "Never" });
    restore("r", "snap");
    const failed = await until("r", "Failed", "Ready");
    assert.equal(ready(failed)?.reason, "VirtualMachineRestoreConflict");
    assert.equal(ready(failed)?.message, 'The virtual machine "vm" already exists.');
  });

  it("Safe: reports the kept address first when the VM still uses it", async () => {
    await snapshotted({ name: "vm", disks: ["root"], running: false });
    const address = h.store.mustGet(VirtualMachine, ns, "vm").status.virtualMachineIPAddressName;
    restore("r", "snap");
    const failed = await until("r", "Failed", "Ready");
    assert.equal(
      ready(failed)?.message,
      `The virtual machine ip address "${address}" is already in use and cannot be used for the restored virtual machine.`,
    );
  });

  it("Safe: fails when a disk of the snapshot still exists", async () => {
    await snapshotted({ name: "vm", disks: ["root", "data"], running: false });
    await deleteVmAndDisks("vm", ["root"]);
    restore("r", "snap");
    const failed = await until("r", "Failed", "Ready");
    assert.equal(ready(failed)?.reason, "VirtualMachineRestoreConflict");
    assert.equal(ready(failed)?.message, 'The virtual disk "data" already exists.');
  });

  it("Safe: fails when an attachment of the snapshot still exists", async () => {
    createVirtualMachine(h.store, { namespace: ns, name: "vm", disks: ["root"], running: false });
    createVirtualDisk(h.store, ns, "spare");
    h.store.create(VirtualMachineBlockDeviceAttachment, {
      metadata: { name: "hotplug", namespace: ns },
      spec: { virtualMachineName: "vm", blockDeviceRef: { kind: "VirtualDisk", name: "spare" } },
    });
    await waitFor(h.store, VirtualMachineBlockDeviceAttachment, ns, "hotplug", inPhase("Attached"));
    await waitFor(h.store, VirtualMachine, ns, "vm", (vm) => vm?.status?.blockDeviceRefs?.length === 2);
    h.store.create(VirtualMachineSnapshot, {
      metadata: { name: "snap", namespace: ns },
      spec: { virtualMachineName: "vm" },
    });
    const snap = await waitFor(h.store, VirtualMachineSnapshot, ns, "snap", inPhase("Ready"));
    assert.equal(snap?.status.virtualDiskSnapshotNames.length, 2, "the hot-plugged disk is in the snapshot");
    await deleteVmAndDisks("vm", ["root", "spare"]);
    restore("r", "snap");
    const failed = await until("r", "Failed", "Ready");
    assert.equal(
      ready(failed)?.message,
      'The virtual machine block device attachment "hotplug" already exists.',
    );
  });

  it("Safe: fails when the kept IP address is used by another VM", async () => {
    h.store.create(VirtualMachineIPAddress, {
      metadata: { name: "fixed", namespace: ns },
      spec: { type: "Static", staticIP: "10.66.10.200" },
    });
    await snapshotted({ name: "vm", disks: ["root"], running: false, virtualMachineIPAddressName: "fixed" });
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
    restore("r", "snap");
    const failed = await until("r", "Failed", "Ready");
    assert.equal(
      ready(failed)?.message,
      'The virtual machine ip address "fixed" is already in use and cannot be used for the restored virtual machine.',
    );
  });

  it("Safe: fails when the kept static address is leased by a different address object", async () => {
    const snap = await snapshotted({ name: "vm", disks: ["root"], running: false });
    const kept = snap.status.resources.find((r: any) => r.kind === "VirtualMachineIPAddress").name;
    const ip = h.store.mustGet(VirtualMachine, ns, "vm").status.ipAddress;
    await deleteVmAndDisks("vm", ["root"]);
    h.store.create(VirtualMachineIPAddress, {
      metadata: { name: "squatter", namespace: ns },
      spec: { type: "Static", staticIP: ip },
    });
    restore("r", "snap");
    const failed = await until("r", "Failed", "Ready");
    assert.notEqual(kept, "squatter");
    assert.equal(
      ready(failed)?.message,
      `The set address "${ip}" is already in use by the different virtual machine ip address "squatter" and cannot be used for the restored virtual machine.`,
    );
  });

  it("Safe with nameReplacements: restores a copy next to the original", async () => {
    // keepIPAddress Never: the copy must not claim the original's address.
    await snapshotted({ name: "vm", disks: ["root"], running: false }, "Stopped", { keepIPAddress: "Never" });
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
    const copyRunning = await waitFor(h.store, VirtualMachine, ns, "vm-copy", (v) =>
      Boolean(v?.status?.ipAddress),
    );
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
    createVirtualMachine(h.store, { namespace: ns, name: "vm", disks: ["root"], running: false });
    await waitFor(h.store, VirtualMachine, ns, "vm", inPhase("Stopped"));
    h.store.create(VirtualMachineSnapshot, {
      metadata: { name: "later", namespace: ns },
      spec: { virtualMachineName: "vm" },
    });
    await waitFor(h.store, VirtualMachineSnapshot, ns, "later", inPhase("Ready"));
    const failed = await until("r", "Failed", "Ready");
    assert.equal(
      ready(failed)?.reason,
      "VirtualMachineRestoreConflict",
      "it went on to validate against the live VM",
    );
  });

  it("Forced: stops a running VM, recreates its disks, restores its spec and run policy", async () => {
    await snapshotted({ name: "vm", disks: ["root"] }, "Running");
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
    await waitFor(h.store, VirtualMachine, ns, "vm", inPhase("Running"));
  });

  it("Forced: fails when the VM does not exist", async () => {
    await snapshotted({ name: "vm", disks: ["root"], running: false });
    await deleteVmAndDisks("vm", ["root"]);
    restore("r", "snap", { restoreMode: "Forced" });
    const failed = await until("r", "Failed", "Ready");
    assert.equal(ready(failed)?.reason, "VirtualMachineRestoreFailed");
    assert.equal(
      ready(failed)?.message,
      "Restoration with `Forced` mode can be applied only to an existing virtual machine; you can restore the virtual machine with `Safe` mode.",
    );
  });

  it("Forced: fails when the VM is Pending", async () => {
    await snapshotted({ name: "vm", disks: ["root"], running: false });
    const vm = h.store.mustGet(VirtualMachine, ns, "vm");
    h.store.update(VirtualMachine, {
      ...vm,
      spec: {
        ...vm.spec,
        blockDeviceRefs: [...vm.spec.blockDeviceRefs, { kind: "VirtualDisk", name: "missing" }],
      },
    });
    await waitFor(h.store, VirtualMachine, ns, "vm", inPhase("Pending"));
    restore("r", "snap", { restoreMode: "Forced" });
    const failed = await until("r", "Failed", "Ready");
    assert.equal(
      ready(failed)?.message,
      "A virtual machine cannot be restored from the pending phase with `Forced` mode; you can delete the virtual machine and restore it with `Safe` mode.",
    );
  });

  it("Forced: fails VirtualMachineRestoreConflict when a disk is used by another VM", async () => {
    await snapshotted({ name: "vm", disks: ["root"], running: false });
    createVirtualMachine(h.store, { namespace: ns, name: "other", attach: ["root"], running: false });
    await waitFor(
      h.store,
      VirtualDisk,
      ns,
      "root",
      (d) => d?.status?.attachedToVirtualMachines?.length === 2,
    );
    restore("r", "snap", { restoreMode: "Forced" });
    const failed = await until("r", "Failed", "Ready");
    assert.equal(ready(failed)?.reason, "VirtualMachineRestoreConflict");
    assert.equal(ready(failed)?.message, 'The virtual disk "root" already in use.');
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
