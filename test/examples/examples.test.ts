// Every example (and the root quickstart) as a user runs it: `pulumi up` and `pulumi destroy` of its program
// through Pulumi's real dynamic-provider host, against the emulator with the platform's simulated controllers.
import assert from "node:assert/strict";
import * as path from "node:path";
import { PersistentVolumeClaim, Secret } from "../emulator/kinds/core";
import * as deckhouse from "../emulator/kinds/deckhouse";
import {
  DataVolume,
  KubeVirtVirtualMachine,
  KubeVirtVirtualMachineRestore,
  KubeVirtVirtualMachineSnapshot,
} from "../emulator/kinds/kubevirt";
import { collectionOf, type KubeObject, type ResourceType, type StoreEvent } from "../emulator/store";
import { repoRoot } from "../host/repo";
import { createVirtualMachine as createDeckhouseVm } from "../simulators/deckhouse/fixtures";
import { readSnapshotSecret } from "../simulators/deckhouse/snapshotSecret";
import {
  createVirtualMachine as createKubeVirtVm,
  createVirtualMachineSnapshot,
} from "../simulators/kubevirt/fixtures";
import { gone, inPhase, waitFor } from "../simulators/waitFor";
import { startSimulatedCluster, type Platform, type SimulatedCluster } from "./cluster";
import { ProgramFailed } from "./program";
import { Stack } from "./stack";

const examples = path.join(repoRoot, "examples");

/** One example's cluster and stack, started before its tests and stopped after them. */
function exampleUnderTest(
  platform: Platform,
  dir: string,
  prepare: (c: SimulatedCluster) => Promise<void> = async () => {},
) {
  const started: { cluster?: SimulatedCluster; stack?: Stack } = {};
  before(async function () {
    started.cluster = await startSimulatedCluster(platform, { phaseDelayMs: 5 });
    await prepare(started.cluster);
    const { env, kubernetes } = started.cluster;
    started.stack = await Stack.start({ dir, env, kubernetes });
  });
  after(async () => {
    await started.stack?.stop();
    await started.cluster?.stop();
  });
  return {
    get cluster() {
      return started.cluster!;
    },
    get stack() {
      return started.stack!;
    },
  };
}

const objectsOf = (cluster: SimulatedCluster, type: ResourceType, namespace: string) =>
  cluster.store.list(type, namespace).items;

const names = (objects: KubeObject[]) => objects.map((o) => o.metadata.name ?? "").sort();

/** Store events of `type` from now on, in order, until the returned stop function is called. */
function recordEvents(cluster: SimulatedCluster, type: ResourceType) {
  const events: StoreEvent[] = [];
  const stop = cluster.store.subscribe((e) => {
    if (e.collection === collectionOf(type)) events.push(e);
  });
  return { events, stop };
}

const deckhouseVmRunning = (cluster: SimulatedCluster, namespace: string, name: string) =>
  waitFor(cluster.store, deckhouse.VirtualMachine, namespace, name, inPhase("Running"), 10_000);

describe("examples through the dynamic-provider host", function () {
  this.timeout(60_000);

  describe("the root quickstart", () => {
    const ns = "demo";
    const example = exampleUnderTest("deckhouse-v1.10", repoRoot, async (cluster) => {
      createDeckhouseVm(cluster.store, {
        namespace: ns,
        name: "demo-vm",
        disks: ["demo-vm-root", "demo-vm-data"],
      });
      await deckhouseVmRunning(cluster, ns, "demo-vm");
    });

    it("snapshots demo-vm and its root disk, both Ready, and destroy deletes only the snapshots", async () => {
      const { cluster, stack } = example;
      await stack.up();
      const [vmSnapshot] = objectsOf(cluster, deckhouse.VirtualMachineSnapshot, ns);
      assert.equal(vmSnapshot.spec.virtualMachineName, "demo-vm");
      assert.equal(vmSnapshot.status.phase, "Ready");
      assert.equal(vmSnapshot.status.virtualDiskSnapshotNames.length, 2, "one disk snapshot per disk");
      const diskSnapshot = cluster.store.get(
        deckhouse.VirtualDiskSnapshot,
        ns,
        stack.outputsOf("root-disk").name,
      );
      assert.equal(diskSnapshot?.spec.virtualDiskName, "demo-vm-root");
      assert.equal(diskSnapshot?.status.phase, "Ready");

      await stack.destroy();
      assert.deepEqual(objectsOf(cluster, deckhouse.VirtualMachineSnapshot, ns), []);
      assert.deepEqual(objectsOf(cluster, deckhouse.VirtualDiskSnapshot, ns), []);
      assert.equal(cluster.store.get(deckhouse.VirtualMachine, ns, "demo-vm")?.status.phase, "Running");
    });
  });

  describe("deckhouse-pre-change-snapshot", () => {
    const ns = "default";
    const example = exampleUnderTest("deckhouse-v1.10", path.join(examples, "deckhouse-pre-change-snapshot"));
    const versionOf = (vm: KubeObject | undefined) => vm?.metadata.labels?.["app.kubernetes.io/version"];
    /** The VM as the snapshot's Secret keeps it. */
    const vmInSnapshot = (snapshot: KubeObject) =>
      readSnapshotSecret(
        example.cluster.store.mustGet(Secret, ns, snapshot.status.virtualMachineSnapshotSecretName),
      ).vm;
    const readyEvent = (events: StoreEvent[], name: string) =>
      events.find((e) => e.object.metadata.name === name && e.object.status?.phase === "Ready");

    it("deploys the disk and the VM first, with nothing to snapshot yet", async () => {
      const { cluster, stack } = example;
      await stack.up({ snapshotBeforeChange: "false", version: "1.0.0" });
      const vm = await deckhouseVmRunning(cluster, ns, "app");
      assert.equal(versionOf(vm), "1.0.0");
      assert.equal(cluster.store.get(deckhouse.VirtualDisk, ns, "app-root")?.status.phase, "Ready");
      assert.deepEqual(objectsOf(cluster, deckhouse.VirtualMachineSnapshot, ns), []);
    });

    it("takes a Ready snapshot of the running version before the new version reaches the VM", async () => {
      const { cluster, stack } = example;
      const vms = recordEvents(cluster, deckhouse.VirtualMachine);
      const snapshots = recordEvents(cluster, deckhouse.VirtualMachineSnapshot);
      await stack.up({ version: "2.0.0" });
      vms.stop();
      snapshots.stop();

      const [snapshot] = objectsOf(cluster, deckhouse.VirtualMachineSnapshot, ns);
      assert.equal(snapshot.status.phase, "Ready");
      assert.equal(versionOf(vmInSnapshot(snapshot)), "1.0.0", "the snapshot holds the VM before the change");
      assert.equal(versionOf(cluster.store.get(deckhouse.VirtualMachine, ns, "app")), "2.0.0");
      const ready = readyEvent(snapshots.events, snapshot.metadata.name!);
      const changed = vms.events.find((e) => versionOf(e.object) === "2.0.0");
      assert.ok(ready && changed);
      assert.ok(
        ready.resourceVersion < changed.resourceVersion,
        "the snapshot was Ready before the VM changed",
      );
    });

    it("replaces the snapshot on the next change, keeping the previous one until the new one is Ready", async () => {
      const { cluster, stack } = example;
      const [previous] = objectsOf(cluster, deckhouse.VirtualMachineSnapshot, ns);
      const snapshots = recordEvents(cluster, deckhouse.VirtualMachineSnapshot);
      const vms = recordEvents(cluster, deckhouse.VirtualMachine);
      await stack.up({ version: "3.0.0" });
      snapshots.stop();
      vms.stop();

      const [current, ...others] = objectsOf(cluster, deckhouse.VirtualMachineSnapshot, ns);
      assert.deepEqual(others, [], "only the new snapshot is left");
      assert.notEqual(current.metadata.name, previous.metadata.name);
      assert.equal(versionOf(vmInSnapshot(current)), "2.0.0");
      const ready = readyEvent(snapshots.events, current.metadata.name!);
      const previousDeleted = snapshots.events.find(
        (e) => e.type === "DELETED" && e.object.metadata.name === previous.metadata.name,
      );
      const changed = vms.events.find((e) => versionOf(e.object) === "3.0.0");
      assert.ok(ready && previousDeleted && changed);
      assert.ok(
        ready.resourceVersion < previousDeleted.resourceVersion,
        "the previous one was deleted after",
      );
      assert.ok(ready.resourceVersion < changed.resourceVersion, "the VM changed after");
    });

    it("deletes the snapshot, and nothing else, once snapshotBeforeChange is turned off", async () => {
      const { cluster, stack } = example;
      const vm = cluster.store.get(deckhouse.VirtualMachine, ns, "app");
      await stack.up({ version: "3.0.0", snapshotBeforeChange: "false" });
      assert.deepEqual(objectsOf(cluster, deckhouse.VirtualMachineSnapshot, ns), []);
      const after = cluster.store.get(deckhouse.VirtualMachine, ns, "app");
      assert.deepEqual(after?.spec, vm?.spec, "the VM is as it was");
    });

    it("destroy deletes the VM and its disk", async () => {
      const { cluster, stack } = example;
      await stack.destroy();
      assert.deepEqual(objectsOf(cluster, deckhouse.VirtualMachine, ns), []);
      assert.deepEqual(objectsOf(cluster, deckhouse.VirtualDisk, ns), []);
    });
  });

  describe("deckhouse-disk-from-snapshot", () => {
    const ns = "default";
    const example = exampleUnderTest(
      "deckhouse-v1.10",
      path.join(examples, "deckhouse-disk-from-snapshot"),
      async (cluster) => {
        createDeckhouseVm(cluster.store, { namespace: ns, name: "db", disks: ["db-root", "db-data"] });
        await deckhouseVmRunning(cluster, ns, "db");
      },
    );

    it("provisions db-data-copy from a Ready snapshot of db-data, and destroy deletes both", async () => {
      const { cluster, stack } = example;
      await stack.up();
      const snapshotName = stack.outputsOf("source").name;
      const snapshot = cluster.store.get(deckhouse.VirtualDiskSnapshot, ns, snapshotName);
      assert.equal(snapshot?.spec.virtualDiskName, "db-data");
      assert.equal(snapshot?.status.phase, "Ready");
      assert.equal(snapshot?.status.consistent, true);
      const copy = await waitFor(
        cluster.store,
        deckhouse.VirtualDisk,
        ns,
        "db-data-copy",
        inPhase("Ready"),
        10_000,
      );
      assert.deepEqual(copy?.spec.dataSource, {
        type: "ObjectRef",
        objectRef: { kind: "VirtualDiskSnapshot", name: snapshotName },
      });
      const claim = cluster.store.get(
        PersistentVolumeClaim,
        ns,
        copy?.status.target.persistentVolumeClaimName,
      );
      assert.equal(claim?.spec.dataSource.name, snapshot?.status.volumeSnapshotName, "the data came from it");

      await stack.destroy();
      assert.equal(cluster.store.get(deckhouse.VirtualDisk, ns, "db-data-copy"), undefined);
      assert.deepEqual(objectsOf(cluster, deckhouse.VirtualDiskSnapshot, ns), []);
      assert.equal(cluster.store.get(deckhouse.VirtualDisk, ns, "db-data")?.status.phase, "Ready");
    });
  });

  describe("kubevirt-ephemeral-env", () => {
    const ns = "default";
    const example = exampleUnderTest(
      "kubevirt",
      path.join(examples, "kubevirt-ephemeral-env"),
      async (cluster) => {
        createKubeVirtVm(cluster.store, { namespace: ns, name: "golden-vm", disks: ["root", "data"] });
        createVirtualMachineSnapshot(cluster.store, { namespace: ns, name: "golden", vm: "golden-vm" });
        await waitFor(
          cluster.store,
          KubeVirtVirtualMachineSnapshot,
          ns,
          "golden",
          (o) => o?.status?.readyToUse === true,
          10_000,
        );
      },
    );
    const goldenClaims: string[] = [];
    const restoredClaims: string[] = [];
    before(() => goldenClaims.push(...names(objectsOf(example.cluster, PersistentVolumeClaim, ns))));

    it("restores the golden snapshot into a new VM named after the stack, with its own memory size", async () => {
      const { cluster, stack } = example;
      await stack.up();
      const vm = cluster.store.get(KubeVirtVirtualMachine, ns, "env-test");
      assert.ok(vm, "the VM env-test exists");
      assert.equal(vm.spec.template.spec.domain.resources.requests.memory, "2Gi");
      restoredClaims.push(...stack.outputsOf("env").restores.map((r: any) => r.persistentVolumeClaim));
      assert.equal(restoredClaims.length, 2);
      for (const claim of restoredClaims)
        assert.ok(cluster.store.get(PersistentVolumeClaim, ns, claim), claim);
    });

    it("destroy leaves nothing behind but the golden VM, its disks and its snapshot", async () => {
      const { cluster, stack } = example;
      await stack.destroy();
      assert.deepEqual(names(objectsOf(cluster, KubeVirtVirtualMachine, ns)), ["golden-vm"]);
      assert.deepEqual(objectsOf(cluster, KubeVirtVirtualMachineRestore, ns), []);
      assert.deepEqual(objectsOf(cluster, DataVolume, ns), []);
      // Claims owned by the deleted VM go with the garbage collector, just after the VM.
      for (const claim of restoredClaims)
        await waitFor(cluster.store, PersistentVolumeClaim, ns, claim, gone);
      assert.deepEqual(names(objectsOf(cluster, PersistentVolumeClaim, ns)), goldenClaims);
      assert.equal(cluster.store.get(KubeVirtVirtualMachineSnapshot, ns, "golden")?.status.readyToUse, true);
    });
  });

  describe("deckhouse-restore", () => {
    const ns = "default";
    const example = exampleUnderTest(
      "deckhouse-v1.10",
      path.join(examples, "deckhouse-restore"),
      async (cluster) => {
        createDeckhouseVm(cluster.store, { namespace: ns, name: "db", disks: ["db-root"] });
        await deckhouseVmRunning(cluster, ns, "db");
      },
    );

    it("restores a snapshot of db into db-copy and db-root-copy", async () => {
      const { cluster, stack } = example;
      await stack.up();
      assert.equal(stack.outputsOf("copy").restoredVirtualMachineName, "db-copy");
      assert.deepEqual(stack.outputsOf("copy").restoredVirtualDiskNames, ["db-root-copy"]);
      const copy = cluster.store.get(deckhouse.VirtualMachine, ns, "db-copy");
      assert.deepEqual(copy?.spec.blockDeviceRefs, [{ kind: "VirtualDisk", name: "db-root-copy" }]);
      assert.ok(cluster.store.get(deckhouse.VirtualDisk, ns, "db-root-copy"));
    });

    it("fails with the platform's conflict message when another stack restores into the same names", async () => {
      const { cluster, stack } = example;
      const copyUid = cluster.store.get(deckhouse.VirtualMachine, ns, "db-copy")?.metadata.uid;
      const other = stack.sibling("other");
      const failure = await other.up().then(
        () => assert.fail("the second restore into db-copy should fail"),
        (e) => e,
      );
      assert.ok(failure instanceof ProgramFailed, String(failure));
      assert.match(failure.message, /VirtualMachine with name db-copy already exists/);
      assert.match(failure.message, /VirtualDisk with name db-root-copy already exists/);
      assert.equal(cluster.store.get(deckhouse.VirtualMachine, ns, "db-copy")?.metadata.uid, copyUid);
      assert.equal(
        objectsOf(cluster, deckhouse.VirtualMachineSnapshotOperation, ns).length,
        1,
        "the failed one is gone",
      );
      await other.destroy();
      assert.equal(objectsOf(cluster, deckhouse.VirtualMachineSnapshot, ns).length, 1, "the first stack's");
    });

    it("destroy deletes the copy's VM and disk, and keeps db", async () => {
      const { cluster, stack } = example;
      await stack.destroy();
      assert.deepEqual(names(objectsOf(cluster, deckhouse.VirtualMachine, ns)), ["db"]);
      assert.deepEqual(names(objectsOf(cluster, deckhouse.VirtualDisk, ns)), ["db-root"]);
      assert.deepEqual(objectsOf(cluster, deckhouse.VirtualMachineSnapshot, ns), []);
    });
  });
});
