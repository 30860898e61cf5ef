// One user program — snapshot a VM, then restore it in place, into new names, as a dry run, through a garbage-
// collected record, and for an ephemeral copy — run as the engine would against three emulated Deckhouse
// releases: v1.10 and v1.8 (auto picks VirtualMachineOperation / VirtualMachineSnapshotOperation) and a release
// before v1.1 that serves only VirtualMachineRestore. The outcome in the cluster must be the same on each.
import assert from "node:assert/strict";
import { PartialFailure } from "../../provider/core/lifecycle";
import { disconnectAll } from "../../provider/kube/cluster";
import { forgetDiscovery } from "../../provider/kube/objects";
import { lifecycle } from "../../provider/runtime";
import { startEmulator, type Emulator } from "../emulator";
import {
  VirtualDisk,
  VirtualMachine,
  VirtualMachineOperation,
  VirtualMachineRestore,
  VirtualMachineSnapshot,
  VirtualMachineSnapshotOperation,
} from "../emulator/kinds/deckhouse";
import { profile } from "../emulator/kinds/profiles";
import type { ObjectStore, ResourceType } from "../emulator/store";
import { withProgress } from "../fixtures/progress";
import { startDeckhouseController, type DeckhouseController } from "../simulators/deckhouse";
import { createVirtualDisk, createVirtualMachine } from "../simulators/deckhouse/fixtures";
import { KnobAnnotation } from "../simulators/knobs";
import { waitFor } from "../simulators/waitFor";

const ns = "prod";
const restore = lifecycle("deckhouse:VirtualMachineRestore");
const snapshots = lifecycle("deckhouse:VirtualMachineSnapshot");
const OPERATION_TYPES = [VirtualMachineOperation, VirtualMachineSnapshotOperation, VirtualMachineRestore];

interface Release {
  title: string;
  version: "v1.8" | "v1.10";
  /** Serve neither successor API, as releases before v1.1.0 did. */
  onlyVirtualMachineRestore?: boolean;
  inPlace: string;
  newNames: string;
  succeeded: string;
}

const releases: Release[] = [
  {
    title: "Deckhouse v1.10",
    version: "v1.10",
    inPlace: "VirtualMachineOperation",
    newNames: "VirtualMachineSnapshotOperation",
    succeeded: "Completed",
  },
  {
    title: "Deckhouse v1.8",
    version: "v1.8",
    inPlace: "VirtualMachineOperation",
    newNames: "VirtualMachineSnapshotOperation",
    succeeded: "Completed",
  },
  {
    title: "Deckhouse before v1.1 (VirtualMachineRestore only)",
    version: "v1.8",
    onlyVirtualMachineRestore: true,
    inPlace: "VirtualMachineRestore",
    newNames: "VirtualMachineRestore",
    succeeded: "Ready",
  },
];

for (const release of releases) {
  describe(`deckhouse.VirtualMachineRestore on ${release.title}`, function () {
    let store: ObjectStore;
    let controller: DeckhouseController;
    let stop: () => Promise<void>;
    let kubeconfig: string;
    let emulator: Emulator;
    let served: ResourceType[];

    before(async () => {
      served = profile(release.version === "v1.8" ? "deckhouse-v1.8" : "deckhouse-v1.10");
      emulator = await startEmulator({ types: served });
      if (release.onlyVirtualMachineRestore) {
        emulator.unserve(VirtualMachineOperation);
        emulator.unserve(VirtualMachineSnapshotOperation);
      }
      store = emulator.store;
      kubeconfig = emulator.kubeconfig;
      controller = startDeckhouseController(store, { version: release.version });
      stop = async () => {
        controller.stop();
        await disconnectAll();
        forgetDiscovery();
        await emulator.stop();
      };
      for (const name of ["db", "web"]) {
        createVirtualMachine(store, { namespace: ns, name, disks: [`${name}-root`] });
        await waitFor(store, VirtualMachine, ns, name, (o) => o?.status?.phase === "Running", 5000);
      }
      // The user's snapshots; keepIPAddress Never lets a copy run beside the original with its own address.
      for (const [name, vm] of [
        ["before-change", "db"],
        ["web-snapshot", "web"],
      ]) {
        const checked = await snapshots.check(
          {},
          { kubeconfig, namespace: ns, name, virtualMachineName: vm, keepIPAddress: "Never" },
        );
        await withProgress(() => snapshots.create({ ...checked.inputs!, __provider: "provider text" }));
        assert.equal(store.get(VirtualMachineSnapshot, ns, name)?.status?.phase, "Ready");
      }
    });
    after(async () => stop?.());

    const program = (news: Record<string, unknown>) => ({
      kubeconfig,
      namespace: ns,
      virtualMachineSnapshotName: "before-change",
      ...news,
    });
    const checked = async (
      news: Record<string, unknown>,
      olds: Record<string, unknown> = {},
    ): Promise<Record<string, any>> => {
      const { inputs, failures } = await restore.check(olds, program(news));
      assert.equal(failures, undefined, JSON.stringify(failures));
      return { ...inputs!, __provider: "provider text" };
    };
    /** `pulumi up` of a new restore resource. */
    const up = async (news: Record<string, unknown>) => {
      const { result, error, lines } = await withProgress(async () => restore.create(await checked(news)));
      if (error) throw error;
      return { ...result!, lines };
    };
    const destroy = (id: string, outs: Record<string, any>) => withProgress(() => restore.delete(id, outs));
    const operations = () => OPERATION_TYPES.flatMap((t) => store.list(t, ns).items);
    const vm = (name: string) => store.get(VirtualMachine, ns, name);
    const disk = (name: string) => store.get(VirtualDisk, ns, name);

    it("restores the VM in place and waits until it is done", async () => {
      const before = vm("db")!;
      store.update(VirtualMachine, {
        ...before,
        spec: { ...before.spec, cpu: { ...before.spec.cpu, cores: 4 } },
      });

      const { id, outs, lines } = await up({ resourceName: "rollback" });

      assert.equal(outs.apiKind, release.inPlace);
      assert.equal(outs.phase, release.succeeded);
      assert.equal(outs.restoredVirtualMachineName, "db");
      assert.deepEqual(outs.restoredVirtualDiskNames, ["db-root"]);
      assert.ok(outs.resources.some((r: any) => r.kind === "VirtualMachine" && r.name === "db"));
      assert.equal(vm("db")!.spec.cpu.cores, 1, "the VM has the snapshot's configuration again");
      assert.ok(
        lines.some((l) => l.includes(`restoring in place with ${release.inPlace}`)),
        lines.join("\n"),
      );

      await destroy(id, { ...outs, deleteRestoredResources: true });
      assert.equal(store.get(restoreType(outs.apiKind), ns, outs.name), undefined, "the record is gone");
      assert.ok(vm("db") && disk("db-root"), "an in-place restore's VM and disks are never deleted");
    });

    it("restores into new names beside the original", async () => {
      const { id, outs } = await up({ namePrefix: "copy-", name: "copy" });

      assert.equal(outs.apiKind, release.newNames);
      assert.equal(outs.phase, release.succeeded);
      assert.equal(outs.restoredVirtualMachineName, "copy-db");
      assert.deepEqual(outs.restoredVirtualDiskNames, ["copy-db-root"]);
      assert.equal(vm("copy-db")?.spec.blockDeviceRefs[0].name, "copy-db-root");
      assert.ok(disk("copy-db-root"));
      assert.ok(vm("db") && disk("db-root"), "the original is untouched");

      await destroy(id, outs);
      assert.ok(vm("copy-db") && disk("copy-db-root"), "by default delete removes only the record");
    });

    it("fails naming the object whose name is taken, and leaves nothing behind", async () => {
      createVirtualDisk(store, ns, "clash-db-root");
      const count = operations().length;

      await assert.rejects(up({ namePrefix: "clash-", name: "clash" }), (e: Error) => {
        assert.ok(!(e instanceof PartialFailure), "nothing is kept in state");
        assert.match(e.message, /failed: .*clash-db-root"? already exists/);
        return true;
      });
      assert.equal(vm("clash-db"), undefined);
      assert.equal(operations().length, count, "the failed record was deleted");
    });

    it("fails before creating anything when the snapshot does not exist", async () => {
      const count = operations().length;
      await assert.rejects(
        up({ virtualMachineSnapshotName: "missing", name: "missing" }),
        /virtualMachineSnapshotName: VirtualMachineSnapshot prod\/missing does not exist/,
      );
      assert.equal(operations().length, count);
    });

    it("waits for a snapshot that is still being taken", async () => {
      store.create(VirtualMachineSnapshot, {
        metadata: { name: "late", namespace: ns, annotations: { [KnobAnnotation.PhaseDelayMs]: "100" } },
        spec: { virtualMachineName: "db", keepIPAddress: "Never", requiredConsistency: true },
      });
      const { outs, lines } = await up({
        virtualMachineSnapshotName: "late",
        namePrefix: "late-",
        name: "late",
      });
      assert.ok(
        lines.some((l) => l.includes("waiting for VirtualMachineSnapshot prod/late to be Ready")),
        lines.join("\n"),
      );
      assert.equal(outs.restoredVirtualMachineName, "late-db");
    });

    if (release.onlyVirtualMachineRestore) {
      it("fails fast when the snapshot disappears instead of staying Pending forever", async () => {
        const doomed = {
          kubeconfig,
          namespace: ns,
          name: "doomed",
          virtualMachineName: "web",
          keepIPAddress: "Never",
        };
        await withProgress(async () =>
          snapshots.create({ ...(await snapshots.check({}, doomed)).inputs!, __provider: "provider text" }),
        );
        const started = Date.now();
        const running = up({
          virtualMachineSnapshotName: "doomed",
          namePrefix: "doomed-",
          name: "doomed",
          annotations: { [KnobAnnotation.PhaseDelayMs]: "60000" },
          waitTimeoutSeconds: 60,
        });
        await waitFor(store, VirtualMachineRestore, ns, "doomed", (o) => o?.status?.phase === "Pending");
        store.delete(VirtualMachineSnapshot, ns, "doomed");
        await assert.rejects(
          running,
          /VirtualMachineRestore prod\/doomed failed: VirtualMachineSnapshotNotFound: The virtual machine snapshot "doomed" not found\./,
        );
        assert.ok(Date.now() - started < 5000, "failed long before the timeout");
        assert.equal(store.get(VirtualMachineRestore, ns, "doomed"), undefined);
      });
    }

    it("reports what a DryRun would do and changes nothing", async () => {
      const machine = vm("db")!;
      const dryRun = up({ mode: "DryRun", name: "dry-run" });
      if (release.onlyVirtualMachineRestore) {
        await assert.rejects(
          dryRun,
          /No restore API of this cluster can restore in place with mode DryRun: this cluster does not serve VirtualMachineOperation .*VirtualMachineRestore has no DryRun mode/,
        );
        return;
      }
      const { id, outs } = await dryRun;
      assert.equal(outs.phase, "Completed");
      assert.equal(outs.restoredVirtualMachineName, null);
      assert.deepEqual(outs.restoredVirtualDiskNames, []);
      assert.ok(
        outs.resources.some(
          (r: any) => r.kind === "VirtualDisk" && r.name === "db-root" && r.status === "Completed",
        ),
        JSON.stringify(outs.resources),
      );
      assert.equal(
        vm("db")!.metadata.resourceVersion,
        machine.metadata.resourceVersion,
        "the VM is unchanged",
      );
      await destroy(id, outs);
    });

    if (release.onlyVirtualMachineRestore) {
      it("keeps the outcome and destroys cleanly after an upgrade removed VirtualMachineRestore (v1.9.0)", async () => {
        const { id, outs } = await up({ namePrefix: "upgraded-", resourceName: "upgraded" });
        const removed = served.find((t) => t.kind === "VirtualMachineRestore")!;
        emulator.unserve(removed);
        try {
          assert.deepEqual(await restore.read(id, outs), { id, props: outs });
          const { error } = await destroy(id, outs);
          assert.equal(error, undefined);
        } finally {
          emulator.serve(removed);
          forgetDiscovery(); // the next `pulumi up` is a new process that asks the cluster again
        }
      });
    }

    it("keeps the outcome when the platform garbage-collects the record, and runs nothing again", async () => {
      const news = { namePrefix: "gc-", resourceName: "gc" };
      const { id, outs } = await up(news);
      if (outs.apiKind === "VirtualMachineRestore") store.delete(VirtualMachineRestore, ns, outs.name);
      else controller.collectFinishedOperations(); // as the nightly run does 24 h later
      await waitFor(store, restoreType(outs.apiKind), ns, outs.name, (o) => !o);
      const count = operations().length;

      // pulumi refresh
      const refreshed = await restore.read(id, outs);
      assert.deepEqual(refreshed, { id, props: outs });
      // the second pulumi up: same program, nothing to do
      const again = await checked(news, refreshed.props);
      assert.equal(again.name, outs.name);
      assert.deepEqual(await restore.diff(id, refreshed.props!, again), {
        changes: false,
        replaces: [],
        deleteBeforeReplace: false,
      });
      // a change that is not a new restore updates the state only
      const labelled = await checked({ ...news, labels: { team: "db" } }, refreshed.props);
      assert.deepEqual((await restore.diff(id, refreshed.props!, labelled)).replaces, []);
      const { outs: updated } = await restore.update(id, refreshed.props!, labelled);
      assert.equal(updated.phase, outs.phase);
      assert.equal(updated.restoredVirtualMachineName, "gc-db");
      assert.deepEqual(updated.labels, { team: "db" });
      assert.equal(operations().length, count, "no restore ran again");
    });

    it("deletes exactly the VM and disks it created when deleteRestoredResources is set", async () => {
      const { id, outs } = await up({ namePrefix: "eph-", name: "ephemeral", deleteRestoredResources: true });
      assert.ok(vm("eph-db") && disk("eph-db-root"));

      const { error, lines } = await destroy(id, outs);
      assert.equal(error, undefined);
      assert.equal(vm("eph-db"), undefined);
      assert.equal(disk("eph-db-root"), undefined);
      assert.ok(
        vm("db") && disk("db-root") && vm("copy-db") && disk("copy-db-root"),
        "nothing else is deleted",
      );
      assert.ok(store.get(VirtualMachineSnapshot, ns, "before-change"), "the snapshot stays");
      assert.ok(lines.some((l) => /VirtualDisk prod\/eph-db-root, which this restore created/.test(l)));
    });

    it("never deletes an object under a restored name that the restore did not create", async () => {
      const { id, outs } = await up({ namePrefix: "mine-", name: "mine", deleteRestoredResources: true });
      // The user replaced the restored disk by one of their own under the same name.
      store.delete(VirtualDisk, ns, "mine-db-root");
      await waitFor(store, VirtualDisk, ns, "mine-db-root", (o) => !o);
      const own = createVirtualDisk(store, ns, "mine-db-root");

      const { error, lines } = await destroy(id, outs);
      assert.equal(error, undefined);
      assert.equal(vm("mine-db"), undefined);
      assert.equal(disk("mine-db-root")?.metadata.uid, own.metadata.uid);
      assert.ok(lines.some((l) => /VirtualDisk prod\/mine-db-root was not created by this restore/.test(l)));
    });

    it("refuses to delete a restore that is still running unless forced", async function () {
      this.timeout(10_000);
      const { error } = await withProgress(async () =>
        restore.create(
          await checked({
            virtualMachineSnapshotName: "web-snapshot",
            name: "stuck",
            annotations: { [KnobAnnotation.Hang]: "InProgress" },
            waitTimeoutSeconds: 1,
          }),
        ),
      );
      assert.ok(error instanceof PartialFailure, String(error));
      assert.equal(error.properties.phase, "InProgress");

      const refused = await destroy(error.id, error.properties);
      assert.match(
        String(refused.error?.message),
        new RegExp(`${release.inPlace} prod/stuck is still InProgress.*set "force: true"`),
      );
      assert.ok(store.get(restoreType(release.inPlace), ns, "stuck"), "the record is kept");

      const forced = await destroy(error.id, { ...error.properties, force: true });
      assert.equal(forced.error, undefined);
      assert.equal(store.get(restoreType(release.inPlace), ns, "stuck"), undefined);
    });

    if (release.version === "v1.10") {
      it("names what is still being deleted after deleteTimeoutSeconds, and finishes on the next destroy", async function () {
        this.timeout(10_000);
        const { id, outs } = await up({
          namePrefix: "held-",
          name: "held",
          deleteRestoredResources: true,
          deleteTimeoutSeconds: 1,
        });
        const held = disk("held-db-root")!;
        store.update(VirtualDisk, {
          ...held,
          metadata: { ...held.metadata, finalizers: ["example.com/backup"] },
        });

        const first = await destroy(id, outs);
        assert.match(
          String(first.error?.message),
          /still being deleted after 1s: VirtualDisk prod\/held-db-root \(finalizers: example\.com\/backup\)/,
        );
        assert.equal(vm("held-db"), undefined);

        const waiting = disk("held-db-root")!;
        const second = destroy(id, outs);
        store.update(VirtualDisk, { ...waiting, metadata: { ...waiting.metadata, finalizers: [] } });
        assert.equal((await second).error, undefined);
        assert.equal(disk("held-db-root"), undefined);
      });

      it("says which release an explicitly chosen API needs", async () => {
        await assert.rejects(
          up({ api: "VirtualMachineRestore", name: "old-api" }),
          /this cluster does not serve VirtualMachineRestore \(Deckhouse virtualization v0\.14\.0 to v1\.8\.x\)/,
        );
      });
    }
  });
}

function restoreType(kind: string) {
  return OPERATION_TYPES.find((t) => t.kind === kind)!;
}
