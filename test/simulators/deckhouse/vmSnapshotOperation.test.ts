import assert from "node:assert/strict";
import {
  VirtualDisk,
  VirtualMachine,
  VirtualMachineSnapshot,
  VirtualMachineSnapshotOperation,
} from "../../emulator/kinds/deckhouse";
import type { KubeObject } from "../../emulator/store";
import { KnobAnnotation } from "../knobs";
import { inPhase, recordPhases, waitFor } from "../waitFor";
import { conditionOf } from "./conditions";
import { createVirtualMachineSnapshot } from "./fixtures";
import { harnessPerTest, ns } from "./testing";

describe("Deckhouse simulator: VirtualMachineSnapshotOperation CreateVirtualMachine", () => {
  const h = harnessPerTest();

  const createFrom = (name: string, snapshot: string, createVirtualMachine: Record<string, unknown>) =>
    h.store.create(VirtualMachineSnapshotOperation, {
      metadata: { name, namespace: ns },
      spec: { type: "CreateVirtualMachine", virtualMachineSnapshotName: snapshot, createVirtualMachine },
    });
  const until = (name: string, ...phases: string[]) =>
    waitFor(h.store, VirtualMachineSnapshotOperation, ns, name, inPhase(...phases)) as Promise<KubeObject>;
  const completed = (op: KubeObject) => conditionOf(op, "Completed");
  const readySnapshot = async () => {
    await h.createVmIn("Stopped", { name: "vm", disks: ["root", "data"], running: false });
    createVirtualMachineSnapshot(h.store, { name: "snap", vm: "vm", spec: { keepIPAddress: "Never" } });
    await waitFor(h.store, VirtualMachineSnapshot, ns, "snap", inPhase("Ready"));
  };

  it("creates a new VM and disks under the customized names: Pending → Completed", async () => {
    await readySnapshot();
    const seen = recordPhases(h.store, VirtualMachineSnapshotOperation, ns, "create");
    const created = createFrom("create", "snap", { mode: "Strict", customization: { namePrefix: "new-" } });
    const done = await until("create", "Completed", "Failed");
    seen.stop();
    assert.deepEqual(seen.phases, ["Pending", "Completed"]);
    assert.deepEqual(
      [completed(done)?.status, completed(done)?.reason, completed(done)?.message],
      ["True", "OperationCompleted", "VirtualMachineSnapshotOperation completed"],
    );
    assert.deepEqual(
      done.status.resources.map((r: any) => [r.kind, r.name, r.status, r.message]),
      [
        ["VirtualMachine", "new-vm", "Completed", "Successfully processed"],
        ["VirtualDisk", "new-root", "Completed", "Successfully processed"],
        ["VirtualDisk", "new-data", "Completed", "Successfully processed"],
      ],
    );
    const vm = h.store.mustGet(VirtualMachine, ns, "new-vm");
    assert.equal(vm.metadata.annotations?.["virtualization.deckhouse.io/vmoprestore"], created.metadata.uid);
    assert.deepEqual(
      vm.spec.blockDeviceRefs.map((r: any) => r.name),
      ["new-root", "new-data"],
    );
    await waitFor(h.store, VirtualDisk, ns, "new-data", inPhase("Ready"));
    await h.vmIn("new-vm", "Stopped");
  });

  it("applies nameReplacement before the prefix and suffix", async () => {
    await readySnapshot();
    createFrom("create", "snap", {
      mode: "BestEffort",
      nameReplacement: [{ from: { kind: "VirtualDisk", name: "data" }, to: "logs" }],
      customization: { nameSuffix: "-2" },
    });
    const done = await until("create", "Completed", "Failed");
    assert.deepEqual(
      done.status.resources.map((r: any) => r.name),
      ["vm-2", "root-2", "logs-2"],
    );
  });

  it("fails validation when a name is taken, with a result per object", async () => {
    await readySnapshot();
    createFrom("create", "snap", {
      mode: "Strict",
      nameReplacement: [{ from: { name: "root" }, to: "data" }],
    });
    const failed = await until("create", "Failed", "Completed");
    assert.equal(completed(failed)?.reason, "OperationFailed");
    assert.equal(
      completed(failed)?.message,
      "CreateVirtualMachine is failed: fail to validate the resources: check the status",
    );
    assert.deepEqual(
      failed.status.resources.map((r: any) => [r.name, r.status, r.message]),
      [
        ["vm", "Failed", "VirtualMachine with name vm already exists"],
        // The copy would be named "vm" too, so the platform does not count vm's use of "data" as a conflict.
        ["data", "Failed", "VirtualDisk with name data already exists"],
        ["data", "Failed", "VirtualDisk with name data already exists"],
      ],
    );
  });

  it("DryRun creates nothing and says the VM can be cloned", async () => {
    await readySnapshot();
    createFrom("create", "snap", { mode: "DryRun", customization: { namePrefix: "x-" } });
    const done = await until("create", "Completed", "Failed");
    assert.equal(
      completed(done)?.message,
      "VirtualMachineSnapshotOperation completed. The virtual machine can be cloned from the snapshot",
    );
    assert.equal(h.store.get(VirtualMachine, ns, "x-vm"), undefined);
  });

  it("fails VirtualMachineSnapshotNotFound for a missing snapshot", async () => {
    createFrom("create", "nope", { mode: "Strict", customization: { namePrefix: "x-" } });
    const failed = await until("create", "Failed");
    assert.deepEqual(
      [completed(failed)?.reason, completed(failed)?.message],
      ["VirtualMachineSnapshotNotFound", 'The VirtualMachineSnapshot "nope" was not found.'],
    );
  });

  it("fails NotReadyToBeExecuted for a snapshot that is not Ready", async () => {
    await h.createVmIn("Stopped", { name: "vm", disks: ["root"], running: false });
    createVirtualMachineSnapshot(h.store, {
      name: "snap",
      vm: "vm",
      annotations: { [KnobAnnotation.Hang]: "InProgress" },
    });
    await waitFor(h.store, VirtualMachineSnapshot, ns, "snap", inPhase("InProgress"));
    createFrom("create", "snap", { mode: "Strict", customization: { namePrefix: "x-" } });
    const failed = await until("create", "Failed");
    assert.deepEqual(
      [completed(failed)?.reason, completed(failed)?.message],
      ["NotReadyToBeExecuted", 'The VirtualMachineSnapshot "snap" is not ready yet.'],
    );
  });
});
