import assert from "node:assert/strict";
import {
  VirtualDisk,
  VirtualMachine,
  VirtualMachineBlockDeviceAttachment,
  VirtualMachineIPAddress,
  VirtualMachineOperation,
  VirtualMachineSnapshot,
} from "../../emulator/kinds/deckhouse";
import { KnobAnnotation } from "../knobs";
import { inPhase, recordPhases, waitFor } from "../waitFor";
import { conditionOf } from "./conditions";
import { createVirtualDisk, createVirtualMachine, createVirtualMachineSnapshot } from "./fixtures";
import { harnessPerTest, inPhaseWithAddress, ns } from "./testing";

describe("Deckhouse simulator: VirtualMachine, its address and attachments", () => {
  const h = harnessPerTest();

  const setRunPolicy = (name: string, runPolicy: string) => {
    const vm = h.store.mustGet(VirtualMachine, ns, name);
    h.store.update(VirtualMachine, { ...vm, spec: { ...vm.spec, runPolicy } });
  };

  it("starts a VM once its disks are Ready: Pending → Starting → Running, with an agent and an address", async () => {
    const seen = recordPhases(h.store, VirtualMachine, ns, "vm");
    createVirtualMachine(h.store, { namespace: ns, name: "vm", disks: ["root"] });
    const vm = await h.untilVm("vm", inPhaseWithAddress("Running"));
    seen.stop();
    assert.deepEqual(seen.phases, ["Pending", "Starting", "Running"]);
    assert.equal(conditionOf(vm, "BlockDevicesReady")?.status, "True");
    assert.equal(conditionOf(vm, "AgentReady")?.status, "True");
    assert.deepEqual(vm?.status.blockDeviceRefs, [
      { kind: "VirtualDisk", name: "root", size: "10Gi", attached: true },
    ]);
    const address = h.store.mustGet(VirtualMachineIPAddress, ns, vm?.status.virtualMachineIPAddressName);
    assert.equal(address.status.phase, "Attached");
    assert.equal(address.status.virtualMachineName, "vm");
    assert.equal(vm?.status.ipAddress, address.status.address);
  });

  it("stays Pending while a disk is not Ready", async () => {
    createVirtualMachine(h.store, {
      namespace: ns,
      name: "vm",
      disks: [{ name: "root", annotations: { [KnobAnnotation.Hang]: "Provisioning" } }],
    });
    const vm = await h.untilVm("vm", (v) => conditionOf(v, "BlockDevicesReady")?.status === "False");
    assert.equal(vm?.status.phase, "Pending");
    assert.equal(conditionOf(vm, "BlockDevicesReady")?.reason, "BlockDevicesNotReady");
  });

  it("reports AgentReady=False for a VM without a guest agent", async () => {
    const vm = await h.createVmIn("Running", { name: "vm", disks: ["root"], guestAgent: false });
    assert.equal(conditionOf(vm, "AgentReady")?.status, "False");
    assert.equal(conditionOf(vm, "AgentReady")?.reason, "AgentNotReady");
  });

  it("follows its run policy: AlwaysOff stops it, AlwaysOn starts it again", async () => {
    await h.createVmIn("Running", { name: "vm", disks: ["root"] });
    const seen = recordPhases(h.store, VirtualMachine, ns, "vm");
    setRunPolicy("vm", "AlwaysOff");
    await h.vmIn("vm", "Stopped");
    assert.equal(conditionOf(h.store.mustGet(VirtualMachine, ns, "vm"), "AgentReady"), undefined);
    setRunPolicy("vm", "AlwaysOn");
    await h.vmIn("vm", "Running");
    seen.stop();
    assert.deepEqual(seen.phases, ["Running", "Stopping", "Stopped", "Starting", "Running"]);
  });

  it("keeps a Manual VM stopped until a Start operation", async () => {
    await h.createVmIn("Stopped", { name: "vm", disks: ["root"], runPolicy: "Manual" });
    // An AlwaysOnUnlessStoppedManually VM would be Starting within milliseconds.
    await assert.rejects(
      waitFor(h.store, VirtualMachine, ns, "vm", inPhase("Starting", "Running"), 100),
      /condition not met/,
    );
    h.store.create(VirtualMachineOperation, {
      metadata: { name: "start", namespace: ns },
      spec: { type: "Start", virtualMachineName: "vm" },
    });
    await h.vmIn("vm", "Running");
    await waitFor(h.store, VirtualMachineOperation, ns, "start", inPhase("Completed"));
  });

  it("hot-plugs a disk with a VirtualMachineBlockDeviceAttachment", async () => {
    createVirtualMachine(h.store, { namespace: ns, name: "vm", disks: ["root"] });
    createVirtualDisk(h.store, ns, "extra");
    await h.vmIn("vm", "Running");
    h.store.create(VirtualMachineBlockDeviceAttachment, {
      metadata: { name: "extra", namespace: ns },
      spec: { virtualMachineName: "vm", blockDeviceRef: { kind: "VirtualDisk", name: "extra" } },
    });
    await waitFor(h.store, VirtualMachineBlockDeviceAttachment, ns, "extra", inPhase("Attached"));
    const vm = await h.untilVm("vm", (v) => v?.status?.blockDeviceRefs?.length === 2);
    assert.deepEqual(vm?.status.blockDeviceRefs[1], {
      kind: "VirtualDisk",
      name: "extra",
      hotplugged: true,
      virtualMachineBlockDeviceAttachmentName: "extra",
      size: "10Gi",
      attached: true,
    });
    const disk = await waitFor(h.store, VirtualDisk, ns, "extra", (d) =>
      Boolean(d?.status?.attachedToVirtualMachines),
    );
    assert.deepEqual(disk?.status.attachedToVirtualMachines, [{ name: "vm", mounted: true }]);
  });

  it("uses a static address named in its spec", async () => {
    h.store.create(VirtualMachineIPAddress, {
      metadata: { name: "fixed", namespace: ns },
      spec: { type: "Static", staticIP: "10.66.10.77" },
    });
    createVirtualMachine(h.store, {
      namespace: ns,
      name: "vm",
      disks: ["root"],
      virtualMachineIPAddressName: "fixed",
    });
    const vm = await h.untilVm("vm", (v) => v?.status?.ipAddress === "10.66.10.77");
    assert.equal(vm?.status.virtualMachineIPAddressName, "fixed");
    assert.equal(
      h.store.list(VirtualMachineIPAddress, ns).items.length,
      1,
      "no automatic address was created",
    );
  });

  it("settles: once a VM runs and its snapshot is Ready, nothing is written any more", async () => {
    createVirtualMachine(h.store, { namespace: ns, name: "vm", disks: ["root", "data"] });
    await h.untilVm("vm", inPhaseWithAddress("Running"));
    createVirtualMachineSnapshot(h.store, { name: "snap", vm: "vm" });
    await waitFor(
      h.store,
      VirtualMachineSnapshot,
      ns,
      "snap",
      (s) => conditionOf(s, "VirtualMachineSnapshotReady")?.reason === "VirtualMachineSnapshotReady",
    );
    const writes: string[] = [];
    const unsubscribe = h.store.subscribe((e) =>
      writes.push(`${e.type} ${e.object.kind}/${e.object.metadata.name}`),
    );
    // Proving that nothing happens takes a bounded wait.
    await new Promise((resolve) => setTimeout(resolve, 150));
    unsubscribe();
    assert.deepEqual(writes, []);
  });
});
