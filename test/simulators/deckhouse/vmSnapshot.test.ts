import assert from "node:assert/strict";
import { Secret, VolumeSnapshot } from "../../emulator/kinds/core";
import {
  VirtualDisk,
  VirtualDiskSnapshot,
  VirtualMachine,
  VirtualMachineIPAddress,
  VirtualMachineSnapshot,
} from "../../emulator/kinds/deckhouse";
import type { KubeObject } from "../../emulator/store";
import { KnobAnnotation } from "../knobs";
import { gone, inPhase, recordPhases, waitFor } from "../waitFor";
import { conditionOf } from "./conditions";
import { createVirtualMachineSnapshot } from "./fixtures";
import { readSnapshotSecret } from "./snapshotSecret";
import { assertCondition, harnessPerTest, ns } from "./testing";

describe("Deckhouse simulator: VirtualMachineSnapshot", () => {
  const h = harnessPerTest();

  const snapshotVm = (name: string, vm: string, spec: Record<string, unknown> = {}, annotations = {}) =>
    createVirtualMachineSnapshot(h.store, { name, vm, spec, annotations });
  const until = (name: string, ...phases: string[]) =>
    waitFor(h.store, VirtualMachineSnapshot, ns, name, inPhase(...phases), 300) as Promise<KubeObject>;
  const ready = (s: KubeObject) => conditionOf(s, "VirtualMachineSnapshotReady");
  /** Snapshots the VM as "snap", waits for the snapshot to fail and checks its Ready condition; resolves with it. */
  const snapshotFails = async (vm: string, expected: { reason?: string; message: string }) => {
    snapshotVm("snap", vm);
    const snap = await until("snap", "Failed");
    assertCondition(ready(snap), expected);
    return snap;
  };

  it("snapshots a running VM with two disks: frozen, one child per disk, a Secret, Ready and consistent", async () => {
    await h.createVmIn("Running", { name: "vm", disks: ["root", "data"] });
    const messages: string[] = [];
    const vmSnapshotting = new Set<string>();
    const unsubscribe = h.store.subscribe((e) => {
      if (e.object.kind === "VirtualMachineSnapshot" && ready(e.object))
        messages.push(ready(e.object)!.message);
      if (e.object.kind === "VirtualMachine") {
        const c = conditionOf(e.object, "Snapshotting");
        if (c) vmSnapshotting.add(c.reason);
      }
    });
    const seen = recordPhases(h.store, VirtualMachineSnapshot, ns, "snap");
    const created = snapshotVm("snap", "vm");
    const snap = await until("snap", "Ready", "Failed");
    seen.stop();
    unsubscribe();
    const uid = created.metadata.uid;
    assert.deepEqual(seen.phases, ["Pending", "InProgress", "Ready"]);
    assert.equal(snap.status.consistent, true);
    assert.deepEqual(snap.status.virtualDiskSnapshotNames, [`root-${uid}`, `data-${uid}`]);
    assert.equal(snap.status.virtualMachineSnapshotSecretName, `d8v-vms-snap-${uid}`);
    assert.ok(messages.includes("The snapshotting process has started."));
    assert.ok(
      messages.includes('The virtual machine "vm" is in the process of being frozen for taking a snapshot.'),
    );
    assert.ok(
      messages.some((m) =>
        /^Waiting for the virtual disk snapshots to be taken for the block devices of the virtual machine "vm" \([01]\/2\)\.$/.test(
          m,
        ),
      ),
      messages.join("\n"),
    );
    assert.deepEqual([...vmSnapshotting].sort(), ["SnapshottingInProgress", "WaitingForTheSnapshotToStart"]);
    for (const child of snap.status.virtualDiskSnapshotNames) {
      const c = h.store.mustGet(VirtualDiskSnapshot, ns, child);
      assert.equal(c.status.phase, "Ready");
      assert.equal(c.metadata.ownerReferences?.[0].uid, uid);
    }
    const secret = h.store.mustGet(Secret, ns, snap.status.virtualMachineSnapshotSecretName);
    assert.equal(secret.type, "virtualmachine.virtualization.deckhouse.io/snapshot");
    assert.equal(readSnapshotSecret(secret).vm.metadata.name, "vm");
    const address = h.store.list(VirtualMachineIPAddress, ns).items[0];
    assert.deepEqual(
      snap.status.resources.map((r: any) => `${r.kind}/${r.name}`),
      [
        "VirtualMachine/vm",
        `VirtualMachineIPAddress/${address.metadata.name}`,
        "VirtualDisk/root",
        "VirtualDisk/data",
      ],
    );
    const vm = await h.untilVm("vm", (v) => !conditionOf(v, "FilesystemFrozen"));
    assert.equal(conditionOf(vm, "Snapshotting"), undefined, "the VM is no longer marked as snapshotting");
  });

  it("keeps the VM's automatic address as Static in the Secret with keepIPAddress Always (default)", async () => {
    const vm = await h.createVmIn("Running", { name: "vm", disks: ["root"] });
    await h.untilVm("vm", (v) => Boolean(v?.status?.ipAddress));
    snapshotVm("snap", "vm");
    const snap = await until("snap", "Ready");
    const content = readSnapshotSecret(
      h.store.mustGet(Secret, ns, snap.status.virtualMachineSnapshotSecretName),
    );
    const live = h.store.mustGet(VirtualMachine, ns, "vm");
    assert.deepEqual(content.vmip?.spec, { type: "Static", staticIP: live.status.ipAddress });
    assert.equal(content.vm.spec.virtualMachineIPAddressName, live.status.virtualMachineIPAddressName);
    const address = h.store.mustGet(VirtualMachineIPAddress, ns, live.status.virtualMachineIPAddressName);
    assert.equal(address.spec.type, "Auto", "the live address is not modified");
    assert.equal(vm.metadata.name, "vm");
  });

  it("keeps no address with keepIPAddress Never for an automatic one", async () => {
    await h.createVmIn("Running", { name: "vm", disks: ["root"] });
    snapshotVm("snap", "vm", { keepIPAddress: "Never" });
    const snap = await until("snap", "Ready");
    const content = readSnapshotSecret(
      h.store.mustGet(Secret, ns, snap.status.virtualMachineSnapshotSecretName),
    );
    assert.equal(content.vmip, undefined);
    assert.deepEqual(
      snap.status.resources.map((r: any) => r.kind),
      ["VirtualMachine", "VirtualDisk"],
    );
  });

  it("snapshots a stopped VM without freezing", async () => {
    await h.createVmIn("Stopped", { name: "vm", disks: ["root"], running: false });
    const frozen: boolean[] = [];
    const unsubscribe = h.store.subscribe((e) => {
      if (e.object.kind === "VirtualMachine") frozen.push(Boolean(conditionOf(e.object, "FilesystemFrozen")));
    });
    snapshotVm("snap", "vm");
    const snap = await until("snap", "Ready", "Failed");
    unsubscribe();
    assert.equal(snap.status.consistent, true);
    assert.ok(!frozen.includes(true));
  });

  it("fails WaitingForTheVirtualMachine when the VM does not exist", async () => {
    const snap = await snapshotFails("ghost", {
      reason: "WaitingForTheVirtualMachine",
      message: 'Cannot take a snapshot: the virtual machine "ghost" does not exist.',
    });
    assert.equal(
      conditionOf(snap, "VirtualMachineReady")?.message,
      'The virtual machine "ghost" was not found.',
    );
  });

  it("fails WaitingForTheVirtualMachine when the VM is neither Running nor Stopped", async () => {
    await h.createVmIn("Pending", {
      name: "vm",
      disks: [{ name: "root", annotations: { [KnobAnnotation.Hang]: "Provisioning" } }],
    });
    snapshotVm("snap", "vm");
    const snap = await until("snap", "Failed");
    assert.equal(ready(snap)?.message, 'Cannot take a snapshot: the virtual machine "vm" is not ready.');
    assert.equal(
      conditionOf(snap, "VirtualMachineReady")?.message,
      'The virtual machine "vm" is in the "Pending" phase: waiting for it to reach the Running or Stopped phase.',
    );
  });

  it("fails BlockDevicesNotReady when a disk of a running VM is gone", async () => {
    await h.createVmIn("Running", { name: "vm", disks: ["root", "data"] });
    h.store.delete(VirtualDisk, ns, "data");
    await h.untilVm("vm", (v) => conditionOf(v, "BlockDevicesReady")?.status === "False");
    await snapshotFails("vm", {
      reason: "BlockDevicesNotReady",
      message:
        'Block devices not ready: waiting for the block devices of the virtual machine "vm" to be ready.',
    });
  });

  it("fails BlockDevicesNotReady when a disk is resizing", async () => {
    await h.createVmIn("Running", {
      name: "vm",
      disks: [{ name: "root", annotations: { [KnobAnnotation.Resizing]: "true" } }],
    });
    await snapshotFails("vm", {
      reason: "BlockDevicesNotReady",
      message:
        'Virtual disk is in the process of resizing: waiting for the virtual disk "root" to be resized.',
    });
  });

  it("fails PotentiallyInconsistent when a running VM has no guest agent", async () => {
    await h.createVmIn("Running", { name: "vm", disks: ["root"], guestAgent: false });
    await snapshotFails("vm", {
      reason: "PotentiallyInconsistent",
      message:
        'Cannot take a consistent snapshot of virtual machine "vm": virtual machine agent is not ready and the virtual machine cannot be frozen.',
    });
  });

  it("is Ready without consistent when requiredConsistency is false and the VM cannot be frozen", async () => {
    await h.createVmIn("Running", { name: "vm", disks: ["root"], guestAgent: false });
    snapshotVm("snap", "vm", { requiredConsistency: false });
    const snap = await until("snap", "Ready", "Failed");
    assert.equal(snap.status.phase, "Ready");
    assert.equal("consistent" in snap.status, false);
  });

  it("fails VirtualMachineSnapshotFailed with the message of a failed disk snapshot", async () => {
    await h.createVmIn("Running", { name: "a", disks: ["shared"] });
    await h.alsoAttachTo("b", "shared");
    await h.vmIn("b", "Stopped");
    const created = snapshotVm("snap", "b");
    const snap = await until("snap", "Failed");
    assertCondition(ready(snap), {
      reason: "VirtualMachineSnapshotFailed",
      message: `The virtual disk snapshot "shared-${created.metadata.uid}" is failed: cannot take snapshot. The virtual disk "shared" is attached to multiple virtual machines.`,
    });
  });

  it("re-evaluates the checks while InProgress: the VM disappearing fails the snapshot", async () => {
    await h.createVmIn("Stopped", { name: "vm", disks: ["root"], running: false });
    snapshotVm("snap", "vm", {}, { [KnobAnnotation.PhaseDelayMs]: "200" });
    await until("snap", "InProgress");
    h.store.delete(VirtualMachine, ns, "vm");
    const snap = await until("snap", "Failed", "Ready");
    assert.equal(ready(snap)?.message, 'Cannot take a snapshot: the virtual machine "vm" does not exist.');
  });

  it("turns Ready into Failed/VirtualDiskSnapshotLost when a disk snapshot is deleted", async () => {
    await h.createVmIn("Stopped", { name: "vm", disks: ["root", "data"], running: false });
    snapshotVm("snap", "vm");
    const snap = await until("snap", "Ready");
    h.store.delete(VirtualDiskSnapshot, ns, snap.status.virtualDiskSnapshotNames[1]);
    const lost = await until("snap", "Failed");
    assert.equal(ready(lost)?.reason, "VirtualDiskSnapshotLost");
    assert.equal(
      ready(lost)?.message,
      `The underlying virtual disk snapshot (${snap.status.virtualDiskSnapshotNames[1]}) is lost.`,
    );
  });

  it("snapshots a VM whose only block device is an image: Ready and consistent with 0/0 disks", async () => {
    h.store.create(VirtualMachine, {
      metadata: { name: "live", namespace: ns },
      spec: {
        runPolicy: "AlwaysOff",
        virtualMachineClassName: "generic",
        cpu: { cores: 1 },
        memory: { size: "1Gi" },
        blockDeviceRefs: [{ kind: "ClusterVirtualImage", name: "alpine-iso" }],
      },
    });
    await h.vmIn("live", "Stopped");
    snapshotVm("snap", "live");
    const snap = await until("snap", "Ready", "Failed");
    assert.equal(snap.status.consistent, true);
    assert.deepEqual(snap.status.virtualDiskSnapshotNames, []);
  });

  it("has no finalizer: deleting it removes it at once, its children and Secret follow by garbage collection", async () => {
    await h.createVmIn("Stopped", { name: "vm", disks: ["root"], running: false });
    snapshotVm("snap", "vm");
    const snap = await until("snap", "Ready");
    assert.equal(snap.metadata.finalizers, undefined);
    const child = h.store.mustGet(VirtualDiskSnapshot, ns, snap.status.virtualDiskSnapshotNames[0]);
    h.store.delete(VirtualMachineSnapshot, ns, "snap");
    assert.equal(h.store.get(VirtualMachineSnapshot, ns, "snap"), undefined);
    await waitFor(h.store, VirtualDiskSnapshot, ns, child.metadata.name!, gone);
    await waitFor(h.store, Secret, ns, snap.status.virtualMachineSnapshotSecretName, gone);
    await waitFor(h.store, VolumeSnapshot, ns, child.status.volumeSnapshotName, gone);
  });

  it("fails with the fail knob's message and the default reason", async () => {
    await h.createVmIn("Stopped", { name: "vm", disks: ["root"], running: false });
    snapshotVm("snap", "vm", {}, { [KnobAnnotation.Fail]: "the storage backend is read-only" });
    const snap = await until("snap", "Failed");
    assert.equal(ready(snap)?.reason, "VirtualMachineSnapshotFailed");
    assert.equal(ready(snap)?.message, "the storage backend is read-only");
  });

  it("stays in the phase named by the hang knob", async () => {
    await h.createVmIn("Stopped", { name: "vm", disks: ["root"], running: false });
    snapshotVm("snap", "vm", {}, { [KnobAnnotation.Hang]: "InProgress" });
    await until("snap", "InProgress");
    // Without the knob it is Ready within a few milliseconds.
    await assert.rejects(
      until("snap", "Ready", "Failed").then(() => "moved on"),
      /condition not met within/,
    );
    assert.equal(h.store.list(VirtualDiskSnapshot, ns).items.length, 0);
  });
});
