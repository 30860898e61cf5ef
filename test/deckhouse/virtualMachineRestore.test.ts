// One user program — snapshot a VM, then restore it in place, into new names, as a dry run, through a garbage-
// collected record, and for an ephemeral copy — run as the engine would against three emulated Deckhouse
// releases: v1.10 and v1.8 (auto picks VirtualMachineOperation / VirtualMachineSnapshotOperation) and a release
// before v1.1 that serves only VirtualMachineRestore. The outcome in the cluster must be the same on each.
// On a real cluster the program runs once, expecting what the release the cluster serves does.
import assert from "node:assert/strict";
import type { Context } from "mocha";
import { PartialFailure } from "../../provider/core/lifecycle";
import { forgetDiscovery } from "../../provider/kube/objects";
import { lifecycle } from "../../provider/runtime";
import {
  VirtualDisk,
  VirtualMachine,
  VirtualMachineOperation,
  VirtualMachineRestore,
  VirtualMachineSnapshot,
  VirtualMachineSnapshotOperation,
} from "../emulator/kinds/deckhouse";
import {
  deckhouseCluster,
  needsSimulator,
  scaled,
  usesRealCluster,
  type TestCluster,
} from "../fixtures/cluster";
import { withProgress } from "../fixtures/progress";
import { deckhouseDisk, deckhouseVirtualMachine, deckhouseVmRunning } from "../fixtures/workload";
import type { DeckhouseController } from "../simulators/deckhouse";
import { KnobAnnotation } from "../simulators/knobs";
import { manifest } from "../simulators/manifests";
import { inPhase } from "../simulators/waitFor";

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

/** The release a real cluster behaves as, from the restore APIs it serves (README: API selection). */
async function releaseOf(cluster: TestCluster): Promise<Release> {
  const [restores, snapshotOperations] = await Promise.all([
    cluster.api.serves(VirtualMachineRestore),
    cluster.api.serves(VirtualMachineSnapshotOperation),
  ]);
  if (!snapshotOperations) return releases[2];
  return restores ? releases[1] : releases[0];
}

const onlyVirtualMachineRestore = (kind: { kind: string }) =>
  kind.kind !== VirtualMachineOperation.kind && kind.kind !== VirtualMachineSnapshotOperation.kind;

// One suite per emulated release; one for a real cluster, whose release is known once it is asked.
const suites: Array<Release | undefined> = usesRealCluster() ? [undefined] : releases;

for (const emulated of suites) {
  describe(`deckhouse.VirtualMachineRestore on ${emulated?.title ?? "the cluster's release"}`, function () {
    this.timeout(scaled(60_000));
    let cluster: TestCluster<DeckhouseController>;
    let release: Release;
    let ns: string;
    let operationTypes: typeof OPERATION_TYPES;

    /** A test for some releases: only in their emulated suites; on a real cluster, skipped on the others. */
    const itOn = (
      applies: (r: Release) => boolean,
      title: string,
      test: (this: Context) => Promise<void>,
    ) => {
      if (emulated && !applies(emulated)) return;
      it(title, async function () {
        if (!applies(release)) this.skip();
        await test.call(this);
      });
    };

    before(async () => {
      cluster = await deckhouseCluster(
        emulated && {
          version: emulated.version,
          serves: emulated.onlyVirtualMachineRestore ? onlyVirtualMachineRestore : undefined,
        },
      );
      ns = cluster.namespace;
      release = emulated ?? (await releaseOf(cluster));
      const served = await Promise.all(OPERATION_TYPES.map((t) => cluster.api.serves(t)));
      operationTypes = OPERATION_TYPES.filter((_, i) => served[i]);
      for (const name of ["db", "web"]) {
        await cluster.api.apply(deckhouseVirtualMachine(cluster, { name, disks: [`${name}-root`] }));
      }
      for (const name of ["db", "web"]) await deckhouseVmRunning(cluster, name);
      // The user's snapshots; keepIPAddress Never lets a copy run beside the original with its own address.
      for (const [name, vm] of [
        ["before-change", "db"],
        ["web-snapshot", "web"],
      ]) {
        await withProgress(async () =>
          snapshots.create(
            await cluster.inputs(snapshots, { name, virtualMachineName: vm, keepIPAddress: "Never" }),
          ),
        );
        assert.equal((await cluster.api.get(VirtualMachineSnapshot, ns, name))?.status?.phase, "Ready");
      }
    });
    after(async () => cluster?.stop());

    const checked = (news: Record<string, unknown>, olds: Record<string, unknown> = {}) =>
      cluster.inputs(restore, { virtualMachineSnapshotName: "before-change", ...news }, olds);
    /** `pulumi up` of a new restore resource; `inputs` are what the state keeps as its inputs. */
    const up = async (news: Record<string, unknown>) => {
      const inputs = await checked(news);
      const { result, error, lines } = await withProgress(() => restore.create(inputs));
      if (error) throw error;
      return { ...result!, inputs, lines };
    };
    const destroy = (id: string, outs: Record<string, any>) => withProgress(() => restore.delete(id, outs));
    const operations = async () =>
      (await Promise.all(operationTypes.map((t) => cluster.api.list(t, ns)))).flatMap((l) => l.items);
    const vm = (name: string) => cluster.api.get(VirtualMachine, ns, name);
    const disk = (name: string) => cluster.api.get(VirtualDisk, ns, name);

    it("restores the VM in place and waits until it is done", async () => {
      await cluster.api.patch(VirtualMachine, ns, "db", { spec: { cpu: { cores: 4 } } });

      const { id, outs, lines } = await up({ resourceName: "rollback" });

      assert.equal(outs.apiKind, release.inPlace);
      assert.equal(outs.phase, release.succeeded);
      assert.equal(outs.restoredVirtualMachineName, "db");
      assert.deepEqual(outs.restoredVirtualDiskNames, ["db-root"]);
      assert.ok(outs.resources.some((r: any) => r.kind === "VirtualMachine" && r.name === "db"));
      assert.equal((await vm("db"))!.spec.cpu.cores, 1, "the VM has the snapshot's configuration again");
      assert.ok(
        lines.some((l) => l.includes(`restoring in place with ${release.inPlace}`)),
        lines.join("\n"),
      );

      await destroy(id, { ...outs, deleteRestoredResources: true });
      assert.equal(
        await cluster.api.get(restoreType(outs.apiKind), ns, outs.name),
        undefined,
        "the record is gone",
      );
      assert.ok(
        (await vm("db")) && (await disk("db-root")),
        "an in-place restore's VM and disks are never deleted",
      );
    });

    it("restores into new names beside the original", async () => {
      const { id, outs } = await up({ namePrefix: "copy-", name: "copy" });

      assert.equal(outs.apiKind, release.newNames);
      assert.equal(outs.phase, release.succeeded);
      assert.equal(outs.restoredVirtualMachineName, "copy-db");
      assert.deepEqual(outs.restoredVirtualDiskNames, ["copy-db-root"]);
      assert.equal((await vm("copy-db"))?.spec.blockDeviceRefs[0].name, "copy-db-root");
      assert.ok(await disk("copy-db-root"));
      assert.ok((await vm("db")) && (await disk("db-root")), "the original is untouched");

      await destroy(id, outs);
      assert.ok(
        (await vm("copy-db")) && (await disk("copy-db-root")),
        "by default delete removes only the record",
      );
    });

    it("fails naming the object whose name is taken, and leaves nothing behind", async () => {
      await cluster.api.create(deckhouseDisk(cluster, "clash-db-root"));
      const count = (await operations()).length;

      await assert.rejects(up({ namePrefix: "clash-", name: "clash" }), (e: Error) => {
        assert.ok(!(e instanceof PartialFailure), "nothing is kept in state");
        assert.match(e.message, /failed: .*clash-db-root"? already exists/);
        return true;
      });
      assert.equal(await vm("clash-db"), undefined);
      assert.equal((await operations()).length, count, "the failed record was deleted");
    });

    it("fails before creating anything when the snapshot does not exist", async () => {
      const count = (await operations()).length;
      await assert.rejects(
        up({ virtualMachineSnapshotName: "missing", name: "missing" }),
        new RegExp(`virtualMachineSnapshotName: VirtualMachineSnapshot ${ns}/missing does not exist`),
      );
      assert.equal((await operations()).length, count);
    });

    it("waits for a snapshot that is still being taken", async () => {
      // The in-place restore above restarted db: a snapshot that requires consistency needs its agent again.
      await deckhouseVmRunning(cluster, "db");
      // The knob paces the simulator's snapshot as disks pace a real one: it is not Ready when the restore starts.
      await cluster.api.create(
        manifest(VirtualMachineSnapshot, {
          metadata: { name: "late", namespace: ns, annotations: { [KnobAnnotation.PhaseDelayMs]: "100" } },
          spec: { virtualMachineName: "db", keepIPAddress: "Never", requiredConsistency: true },
        }),
      );
      const { outs, lines } = await up({
        virtualMachineSnapshotName: "late",
        namePrefix: "late-",
        name: "late",
      });
      assert.ok(
        lines.some((l) => l.includes(`waiting for VirtualMachineSnapshot ${ns}/late to be Ready`)),
        lines.join("\n"),
      );
      assert.equal(outs.restoredVirtualMachineName, "late-db");
    });

    itOn(
      (r) => !!r.onlyVirtualMachineRestore,
      "fails fast when the snapshot disappears instead of staying Pending forever",
      async function () {
        needsSimulator(this, cluster);
        await withProgress(async () =>
          snapshots.create(
            await cluster.inputs(snapshots, {
              name: "doomed",
              virtualMachineName: "web",
              keepIPAddress: "Never",
            }),
          ),
        );
        const started = Date.now();
        const running = up({
          virtualMachineSnapshotName: "doomed",
          namePrefix: "doomed-",
          name: "doomed",
          annotations: { [KnobAnnotation.PhaseDelayMs]: "60000" },
          waitTimeoutSeconds: 60,
        });
        await cluster.api.waitFor(VirtualMachineRestore, ns, "doomed", inPhase("Pending"));
        await cluster.api.delete(VirtualMachineSnapshot, ns, "doomed");
        await assert.rejects(
          running,
          new RegExp(
            `VirtualMachineRestore ${ns}/doomed failed: VirtualMachineSnapshotNotFound: The virtual machine snapshot "doomed" not found\\.`,
          ),
        );
        assert.ok(Date.now() - started < 5000, "failed long before the timeout");
        assert.equal(await cluster.api.get(VirtualMachineRestore, ns, "doomed"), undefined);
      },
    );

    it("reports what a DryRun would do and changes nothing", async () => {
      const machine = (await vm("db"))!;
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
      const after = (await vm("db"))!;
      assert.deepEqual(after.spec, machine.spec, "the VM's spec is unchanged");
      assert.equal(after.metadata.generation, machine.metadata.generation);
      // A real VM's status moves on by itself; on the emulator nothing else writes the VM.
      if (!cluster.real) {
        assert.equal(after.metadata.resourceVersion, machine.metadata.resourceVersion, "the VM is unchanged");
      }
      await destroy(id, outs);
    });

    itOn(
      (r) => !!r.onlyVirtualMachineRestore,
      "keeps the outcome and destroys cleanly after an upgrade removed VirtualMachineRestore (v1.9.0)",
      async function () {
        needsSimulator(this, cluster);
        const { id, outs } = await up({ namePrefix: "upgraded-", resourceName: "upgraded" });
        cluster.emulator.unserve(VirtualMachineRestore);
        try {
          assert.deepEqual(await restore.read(id, outs), { id, props: outs });
          const { error } = await destroy(id, outs);
          assert.equal(error, undefined);
        } finally {
          cluster.emulator.serve(VirtualMachineRestore);
          forgetDiscovery(); // the next `pulumi up` is a new process that asks the cluster again
        }
      },
    );

    it("keeps the outcome when the platform garbage-collects the record, and runs nothing again", async () => {
      const news = { namePrefix: "gc-", resourceName: "gc" };
      const { id, outs, inputs } = await up(news);
      const type = restoreType(outs.apiKind);
      if (cluster.controller && outs.apiKind !== "VirtualMachineRestore") {
        cluster.controller.collectFinishedOperations(); // as the nightly run does 24 h later
      } else {
        await cluster.api.delete(type, ns, outs.name); // what that run does (VirtualMachineRestore has none)
      }
      await cluster.api.waitFor(type, ns, outs.name, (o) => !o, scaled(2000));
      const count = (await operations()).length;

      // pulumi refresh
      const refreshed = await restore.read(id, outs);
      assert.deepEqual(refreshed, { id, props: outs });
      // the second pulumi up: same program, nothing to do (Check gets the stored inputs, Diff the outputs)
      const again = await checked(news, inputs);
      assert.equal(again.name, outs.name);
      assert.deepEqual(await restore.diff(id, refreshed.props!, again), {
        changes: false,
        replaces: [],
        deleteBeforeReplace: false,
      });
      // a change that is not a new restore updates the state only
      const labelled = await checked({ ...news, labels: { team: "db" } }, inputs);
      assert.deepEqual((await restore.diff(id, refreshed.props!, labelled)).replaces, []);
      const { outs: updated } = await restore.update(id, refreshed.props!, labelled);
      assert.equal(updated.phase, outs.phase);
      assert.equal(updated.restoredVirtualMachineName, "gc-db");
      assert.deepEqual(updated.labels, { team: "db" });
      assert.equal((await operations()).length, count, "no restore ran again");
    });

    it("deletes exactly the VM and disks it created when deleteRestoredResources is set", async () => {
      const { id, outs } = await up({ namePrefix: "eph-", name: "ephemeral", deleteRestoredResources: true });
      assert.ok((await vm("eph-db")) && (await disk("eph-db-root")));

      const { error, lines } = await destroy(id, outs);
      assert.equal(error, undefined);
      assert.equal(await vm("eph-db"), undefined);
      assert.equal(await disk("eph-db-root"), undefined);
      assert.ok(
        (await vm("db")) && (await disk("db-root")) && (await vm("copy-db")) && (await disk("copy-db-root")),
        "nothing else is deleted",
      );
      assert.ok(await cluster.api.get(VirtualMachineSnapshot, ns, "before-change"), "the snapshot stays");
      assert.ok(
        lines.some((l) => l.includes(`VirtualDisk ${ns}/eph-db-root, which this restore created`)),
        lines.join("\n"),
      );
    });

    it("never deletes an object under a restored name that the restore did not create", async () => {
      const { id, outs } = await up({ namePrefix: "mine-", name: "mine", deleteRestoredResources: true });
      // The user replaced the restored disk by one of their own under the same name. As a user must: the VM is
      // stopped first, since Deckhouse holds a disk a running VM uses (its vd-protection finalizer). The disk
      // is the VM's only one, so it cannot be detached instead (blockDeviceRefs needs one).
      await cluster.api.patch(VirtualMachine, ns, "mine-db", { spec: { runPolicy: "AlwaysOff" } });
      await cluster.api.waitFor(VirtualMachine, ns, "mine-db", inPhase("Stopped"), scaled(5000));
      await cluster.api.deleteAndWait(VirtualDisk, ns, "mine-db-root", scaled(2000));
      const own = await cluster.api.create(deckhouseDisk(cluster, "mine-db-root"));

      const { error, lines } = await destroy(id, outs);
      assert.equal(error, undefined);
      assert.equal(await vm("mine-db"), undefined);
      assert.equal((await disk("mine-db-root"))?.metadata.uid, own.metadata.uid);
      assert.ok(
        lines.some((l) => l.includes(`VirtualDisk ${ns}/mine-db-root was not created by this restore`)),
        lines.join("\n"),
      );
    });

    it("refuses to delete a restore that is still running unless forced", async function () {
      needsSimulator(this, cluster);
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
        new RegExp(`${release.inPlace} ${ns}/stuck is still InProgress.*set "force: true"`),
      );
      assert.ok(await cluster.api.get(restoreType(release.inPlace), ns, "stuck"), "the record is kept");

      const forced = await destroy(error.id, { ...error.properties, force: true });
      assert.equal(forced.error, undefined);
      assert.equal(await cluster.api.get(restoreType(release.inPlace), ns, "stuck"), undefined);
    });

    itOn(
      (r) => r.version === "v1.10",
      "names what is still being deleted after deleteTimeoutSeconds, and finishes on the next destroy",
      async function () {
        // Long enough for the VM to shut down and go on a real cluster (minutes), since only the disk is held.
        const deleteTimeoutSeconds = cluster.real ? scaled(5) : 1;
        this.timeout(scaled(20_000) + 2 * deleteTimeoutSeconds * 1000);
        const { id, outs } = await up({
          namePrefix: "held-",
          name: "held",
          deleteRestoredResources: true,
          deleteTimeoutSeconds,
        });
        const backup = "example.com/backup";
        await cluster.api.editFinalizers(VirtualDisk, ns, "held-db-root", (f) => [...f, backup]);

        const first = await destroy(id, outs);
        assert.match(
          String(first.error?.message),
          new RegExp(
            `still being deleted after ${deleteTimeoutSeconds}s: VirtualDisk ${ns}/held-db-root \\(finalizers: ([^,)]+, )*example\\.com/backup(, [^,)]+)*\\)`,
          ),
        );
        assert.equal(await vm("held-db"), undefined);

        const second = destroy(id, outs);
        await cluster.api.editFinalizers(VirtualDisk, ns, "held-db-root", (f) =>
          f.filter((x) => x !== backup),
        );
        assert.equal((await second).error, undefined);
        assert.equal(await disk("held-db-root"), undefined);
      },
    );

    itOn(
      (r) => r.version === "v1.10",
      "says which release an explicitly chosen API needs",
      async () => {
        await assert.rejects(
          up({ api: "VirtualMachineRestore", name: "old-api" }),
          /this cluster does not serve VirtualMachineRestore \(Deckhouse virtualization v0\.14\.0 to v1\.8\.x\)/,
        );
      },
    );
  });
}

function restoreType(kind: string) {
  return OPERATION_TYPES.find((t) => t.kind === kind)!;
}
