import assert from "node:assert/strict";
import { PersistentVolumeClaim, VolumeSnapshot } from "../../emulator/kinds/core";
import { DataVolume, KubeVirtVirtualMachine, VirtualMachineInstance } from "../../emulator/kinds/kubevirt";
import type { KubeObject } from "../../emulator/store";
import { KnobAnnotation } from "../knobs";
import { gone, waitFor } from "../waitFor";
import { createVirtualMachine } from "./fixtures";
import { printableStatusIs, readyToUse, simulationPerTest, vmReady } from "./testing";

const VM = KubeVirtVirtualMachine;
const VMI = VirtualMachineInstance;

const conditionTypes = (o: KubeObject | undefined) =>
  (o?.status?.conditions ?? []).map((c: { type: string }) => c.type);

describe("KubeVirt simulator: VMs and their disks", () => {
  const sim = simulationPerTest();

  it("runs a VM with runStrategy Always: a Running VMI with AgentConnected, the VM Running and ready", async () => {
    createVirtualMachine(sim.store, { name: "web", running: true });
    const vm = await waitFor(sim.store, VM, "default", "web", vmReady);
    assert.equal(vm?.status.printableStatus, "Running");
    assert.deepEqual(vm?.status.volumeSnapshotStatuses, [{ name: "root", enabled: true }]);
    const vmi = sim.store.get(VMI, "default", "web");
    assert.equal(vmi?.status.phase, "Running");
    assert.deepEqual(conditionTypes(vmi), ["Ready", "AgentConnected"]);
    assert.equal(vmi?.metadata.ownerReferences?.[0].uid, vm?.metadata.uid);
  });

  it("reports no AgentConnected on the VMI when the guest-agent knob says false", async () => {
    createVirtualMachine(sim.store, { name: "web", running: true, guestAgent: false });
    const vmi = await waitFor(sim.store, VMI, "default", "web", (o) => o?.status?.phase === "Running");
    assert.deepEqual(conditionTypes(vmi), ["Ready"]);
  });

  it("keeps a Halted VM Stopped and starts and stops it when the run strategy changes", async () => {
    // Its guest takes 50 ms to boot and to shut down.
    createVirtualMachine(sim.store, { name: "db", annotations: { [KnobAnnotation.PhaseDelayMs]: "50" } });
    let vm = await waitFor(sim.store, VM, "default", "db", printableStatusIs("Stopped"));
    assert.equal(sim.store.get(VMI, "default", "db"), undefined);

    sim.store.update(VM, { ...vm!, spec: { ...vm!.spec, runStrategy: "Always" } });
    vm = await waitFor(sim.store, VM, "default", "db", printableStatusIs("Running"));
    sim.store.update(VM, { ...vm!, spec: { ...vm!.spec, runStrategy: "Halted" } });
    // The guest shuts down before the VMI is gone: the VM is Stopping meanwhile.
    await waitFor(sim.store, VM, "default", "db", printableStatusIs("Stopping"));
    const stopping = sim.store.get(VMI, "default", "db");
    assert.ok(stopping?.metadata.deletionTimestamp, "the VMI is being deleted");
    assert.deepEqual(stopping?.metadata.finalizers, ["foregroundDeleteVirtualMachine"]);
    await waitFor(sim.store, VMI, "default", "db", gone);
    await waitFor(sim.store, VM, "default", "db", printableStatusIs("Stopped"));
  });

  it("runs a runStrategy Once VM a single time: a VMI that goes away is not recreated", async () => {
    createVirtualMachine(sim.store, { name: "job", runStrategy: "Once" });
    await waitFor(sim.store, VMI, "default", "job", (o) => o?.status?.phase === "Running");
    sim.store.delete(VMI, "default", "job");
    await waitFor(sim.store, VM, "default", "job", printableStatusIs("Stopped"));
    assert.equal(sim.store.get(VMI, "default", "job"), undefined);
  });

  it("honours the legacy spec.running field", async () => {
    const vm = createVirtualMachine(sim.store, { name: "old" });
    const { runStrategy: _dropped, ...spec } = vm.spec;
    sim.store.update(VM, { ...vm, spec: { ...spec, running: true } });
    await waitFor(sim.store, VMI, "default", "old", (o) => o?.status?.phase === "Running");
  });

  it("provisions dataVolumeTemplates: a DataVolume owned by the VM, its Bound claim owned by the DataVolume", async () => {
    createVirtualMachine(sim.store, {
      name: "tpl",
      running: true,
      disks: [{ name: "root", source: "dataVolumeTemplate" }],
    });
    const vm = await waitFor(sim.store, VM, "default", "tpl", vmReady);
    const dv = sim.store.get(DataVolume, "default", "tpl-root");
    assert.equal(dv?.status.phase, "Succeeded");
    assert.equal(dv?.metadata.ownerReferences?.[0].uid, vm?.metadata.uid);
    const pvc = sim.store.get(PersistentVolumeClaim, "default", "tpl-root");
    assert.equal(pvc?.status.phase, "Bound");
    assert.equal(pvc?.metadata.ownerReferences?.[0].uid, dv?.metadata.uid);
  });

  it("cuts a CSI VolumeSnapshot of a Bound claim and makes it ready, with the claim's size", async () => {
    const { store } = sim;
    store.create(PersistentVolumeClaim, {
      metadata: { name: "data" },
      spec: {
        accessModes: ["ReadWriteOnce"],
        resources: { requests: { storage: "5Gi" } },
        storageClassName: "standard",
      },
    });
    store.create(VolumeSnapshot, {
      metadata: { name: "data-snap" },
      spec: { source: { persistentVolumeClaimName: "data" } },
    });
    const vs = await waitFor(store, VolumeSnapshot, "default", "data-snap", readyToUse);
    assert.equal(vs?.status.restoreSize, "5Gi");
    assert.match(vs?.status.boundVolumeSnapshotContentName, /^snapcontent-/);
    assert.ok(vs?.status.creationTime);
  });

  it("reports a VolumeSnapshot of a missing claim as an error, not ready", async () => {
    sim.store.create(VolumeSnapshot, {
      metadata: { name: "orphan" },
      spec: { source: { persistentVolumeClaimName: "nope" } },
    });
    const vs = await waitFor(sim.store, VolumeSnapshot, "default", "orphan", (o) =>
      Boolean(o?.status?.error),
    );
    assert.equal(vs?.status.readyToUse, false);
    assert.match(vs?.status.error.message, /persistentvolumeclaims "nope" not found/);
  });
});

describe("KubeVirt simulator: pace", () => {
  const sim = simulationPerTest({ phaseDelayMs: 100 });

  it("spaces each transition by phaseDelayMs: the claim binds, then the VMI boots", async () => {
    const started = Date.now();
    const statuses: string[] = [];
    const unsubscribe = sim.store.subscribe(({ object: o }) => {
      if (o.kind === "VirtualMachine" && o.status?.printableStatus) statuses.push(o.status.printableStatus);
    });
    createVirtualMachine(sim.store, { name: "web", running: true });
    await waitFor(sim.store, VM, "default", "web", vmReady);
    unsubscribe();
    assert.ok(Date.now() - started >= 200);
    assert.deepEqual([...new Set(statuses)], ["WaitingForVolumeBinding", "Starting", "Running"]);
  });
});
