import assert from "node:assert/strict";
import { VirtualMachineOperation, VirtualMachineSnapshotOperation } from "../../emulator/kinds/deckhouse";
import { KnobAnnotation } from "../knobs";
import { gone, inPhase, waitFor } from "../waitFor";
import { createVirtualMachine } from "./fixtures";
import { harnessPerTest, ns } from "./testing";

describe("Deckhouse simulator: garbage collection of finished operations", () => {
  const h = harnessPerTest();

  /** A Start on an AlwaysOff VM: fails at once (not applicable), so it is finished. */
  const finishedOperation = async (name: string, vm = "vm") => {
    h.store.create(VirtualMachineOperation, {
      metadata: { name, namespace: ns },
      spec: { type: "Start", virtualMachineName: vm },
    });
    await waitFor(h.store, VirtualMachineOperation, ns, name, inPhase("Failed"));
  };
  const names = () =>
    h.store
      .list(VirtualMachineOperation, ns)
      .items.map((o) => o.metadata.name)
      .sort();

  it("24 h later: finished VMOPs and VMSOPs are gone, unfinished ones stay", async () => {
    await h.createVmIn("Stopped", { name: "vm", disks: ["root"], running: false });
    await finishedOperation("failed-start");
    h.store.create(VirtualMachineOperation, {
      metadata: { name: "stuck", namespace: ns, annotations: { [KnobAnnotation.Hang]: "Pending" } },
      spec: { type: "Start", virtualMachineName: "vm" },
    });
    await waitFor(h.store, VirtualMachineOperation, ns, "stuck", inPhase("Pending"));
    h.store.create(VirtualMachineSnapshotOperation, {
      metadata: { name: "create", namespace: ns },
      spec: {
        type: "CreateVirtualMachine",
        virtualMachineSnapshotName: "missing",
        createVirtualMachine: { mode: "Strict", customization: { namePrefix: "x-" } },
      },
    });
    await waitFor(h.store, VirtualMachineSnapshotOperation, ns, "create", inPhase("Failed"));

    h.controller.collectFinishedOperations();

    await waitFor(h.store, VirtualMachineOperation, ns, "failed-start", gone);
    await waitFor(h.store, VirtualMachineSnapshotOperation, ns, "create", gone);
    assert.deepEqual(names(), ["stuck"]);
  });

  it("within the TTL keeps only the 10 newest finished operations per VM", async () => {
    createVirtualMachine(h.store, { namespace: ns, name: "vm", disks: ["root"], running: false });
    createVirtualMachine(h.store, { namespace: ns, name: "other", disks: ["o"], running: false });
    await h.vmIn("vm", "Stopped");
    await h.vmIn("other", "Stopped");
    for (let i = 0; i < 12; i++) await finishedOperation(`op-${String(i).padStart(2, "0")}`);
    await finishedOperation("other-op", "other");

    h.controller.collectFinishedOperations({ olderThanMs: 60 * 60 * 1000 });

    const left = names();
    assert.equal(left.filter((n) => n!.startsWith("op-")).length, 10);
    assert.ok(left.includes("other-op"), "another VM's operations are counted apart");
  });

  it("lets the controller remove the cleanup finalizer of a collected operation", async () => {
    await h.createVmIn("Stopped", { name: "vm", disks: ["root"], runPolicy: "Manual" });
    h.store.create(VirtualMachineOperation, {
      metadata: { name: "start", namespace: ns },
      spec: { type: "Start", virtualMachineName: "vm" },
    });
    const done = await waitFor(h.store, VirtualMachineOperation, ns, "start", inPhase("Completed"));
    assert.deepEqual(done?.metadata.finalizers, ["virtualization.deckhouse.io/vmop-cleanup"]);
    h.controller.collectFinishedOperations();
    await waitFor(h.store, VirtualMachineOperation, ns, "start", gone);
  });
});
