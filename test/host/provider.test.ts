// The provider through Pulumi's real dynamic-provider host, started in this repository's Pulumi project with the
// package resolved by name to its sources: every kind's lifecycle, partial failure, check failures, stack config
// and the watch the resources of one host share.
import assert from "node:assert/strict";
import { dump, load } from "js-yaml";
import { VirtualDiskSnapshot } from "../emulator/kinds/deckhouse";
import { startSimulatedCluster, type SimulatedCluster } from "../examples/cluster";
import { packageEnv } from "../examples/packageEnv";
import { KnobAnnotation } from "../simulators/knobs";
import { inPhase, waitFor } from "../simulators/waitFor";
import type { CapturedResource } from "./capture";
import type { Host } from "./driver";
import { CheckFailed, failureOf, initErrorMessage, type Engine } from "./engine";
import {
  captureFromRepo,
  declared,
  deckhouseVm,
  everyKind,
  kindTitled,
  programOf,
  releaseHang,
  startClusters,
  startWithProgram,
  walkLifecycle,
  type Clusters,
} from "./everyKind";
import { repoRoot } from "./repo";

const CONFIG_NAMESPACE = "from-config";

const diskKind = kindTitled("deckhouse.VirtualDiskSnapshot");

/** Resolves at the first line the host prints from now on that includes `text` once `ready()` holds. */
const nextLine = (host: Host, text: string, ready: () => boolean) =>
  new Promise<void>((resolve) => {
    const off = host.onLine(({ line }) => {
      if (!line.includes(text) || !ready()) return;
      off();
      resolve();
    });
  });

/** The kubeconfig with a second context, current and unreachable: only the `context` setting leads to the cluster. */
function withUnreachableCurrentContext(kubeconfig: string): string {
  const config = load(kubeconfig) as any;
  config.clusters.push({ name: "elsewhere", cluster: { server: "https://127.0.0.1:1" } });
  config.contexts.push({ name: "elsewhere", context: { cluster: "elsewhere", user: "emulator" } });
  return dump({ ...config, "current-context": "elsewhere" });
}

describe("the provider through the dynamic-provider host, from the repository's project", () => {
  let clusters: Clusters;
  let resources: CapturedResource[];
  let engine: Engine;
  const deckhouse = () => clusters.of("deckhouse-v1.10");
  /** The disk snapshot the program declares, as its own resource `name` would be declared. */
  const diskSnapshot = (name: string): { urn: string; inputs: Record<string, any> } => {
    const { type, inputs } = declared(resources, diskKind);
    return { urn: engine.urn(type, name), inputs: { ...inputs, resourceName: name } };
  };

  before(async () => {
    clusters = await startClusters();
    await deckhouseVm(deckhouse().store, CONFIG_NAMESPACE);
    // Stack config points at the Deckhouse cluster; every resource below that names its own kubeconfig and
    // namespace (the KubeVirt ones included) must use those instead.
    const config = {
      "pulumi-vm-snapshots:kubeconfig": withUnreachableCurrentContext(deckhouse().emulator.kubeconfig),
      "pulumi-vm-snapshots:context": "emulator",
      "pulumi-vm-snapshots:namespace": CONFIG_NAMESPACE,
    };
    // No default kubeconfig to fall back on: only the inputs and the stack config can name a cluster.
    const env = { ...packageEnv(true), KUBECONFIG: "/nonexistent/kubeconfig" };
    ({ engine, resources } = await startWithProgram(
      { cwd: repoRoot, env, config },
      captureFromRepo(programOf(), clusters.env),
    ));
  });
  after(async () => {
    await engine?.host.stop();
    await clusters?.stop();
  });

  for (const kind of everyKind) {
    it(`${kind.title}: create, update labels, replace by trigger, refresh, delete`, async () => {
      await walkLifecycle(engine, kind, declared(resources, kind), clusters.of(kind.platform).store);
    });
  }

  it("keeps a create that timed out as a partial failure with its id, and the next up resumes waiting", async () => {
    const { store } = deckhouse();
    const { urn, inputs } = diskSnapshot("slow-disk");
    const news = { ...inputs, annotations: { [KnobAnnotation.Hang]: "InProgress" }, waitTimeoutSeconds: 1 };

    const failure = await failureOf(engine.up(undefined, urn, news));
    const kept = failure.state!;
    const name = kept.outputs.name;
    assert.equal(kept.id, `${diskKind.namespace}/${name}`);
    const [reason, ...more] = kept.initErrors ?? [];
    assert.deepEqual(more, []);
    assert.ok(reason.startsWith(`VirtualDiskSnapshot ${kept.id} is still InProgress after 1s (`), reason);
    assert.ok(
      reason.endsWith(
        `; it is kept in the stack and the next "pulumi up" resumes waiting (raise waitTimeoutSeconds to wait longer)`,
      ),
      reason,
    );
    assert.equal(failure.message, initErrorMessage([reason]), "the engine prints the reasons");
    assert.equal(kept.outputs.phase, "InProgress");
    assert.equal(kept.outputs.__provider, inputs.__provider, "the stored outputs can delete it later");
    assert.equal(store.get(VirtualDiskSnapshot, diskKind.namespace, name)?.metadata.uid, kept.outputs.uid);

    // The platform finishes only once the next up's Update waits again.
    const waiting = nextLine(engine.host, `${kept.id}: InProgress`, () =>
      engine.sentFor(urn).includes("Update"),
    );
    const resumed = engine.up(kept, urn, { ...news, waitTimeoutSeconds: 60 });
    await Promise.race([waiting, resumed]);
    releaseHang(store, VirtualDiskSnapshot, diskKind.namespace, name);
    const done = await resumed;
    assert.equal(done.id, kept.id);
    assert.equal(done.outputs.phase, "Ready");
    assert.equal(done.initErrors, undefined);
    assert.deepEqual(engine.sentFor(urn), ["Check", "Create", "Check", "Diff", "Update"]);

    await engine.destroy(done);
    assert.equal(store.get(VirtualDiskSnapshot, diskKind.namespace, name), undefined);
  });

  it("refreshes and deletes a resource whose state holds the provider text of earlier versions", async () => {
    const { store } = deckhouse();
    const { urn, inputs } = diskSnapshot("older-state");
    const created = await engine.up(undefined, urn, inputs);
    // Earlier versions serialized every method by value, each calling `lifecycle(kindId)` of the runtime.
    const method = (name: string, params: string) =>
      `  ${name}: (${params}) => require("pulumi-vm-snapshots/runtime").lifecycle(kindId).${name}(${params}),`;
    const olderText = [
      `const kindId = "deckhouse:VirtualDiskSnapshot";`,
      `const provider = {`,
      method("check", "olds, news"),
      method("diff", "id, olds, news"),
      method("create", "inputs"),
      method("read", "id, props"),
      method("update", "id, olds, news"),
      method("delete", "id, props"),
      `};`,
      `exports.handler = () => provider;`,
    ].join("\n");
    const older = { ...created, outputs: { ...created.outputs, __provider: olderText } };

    const refreshed = await engine.host.read(urn, older.id, older.outputs, older.inputs);
    assert.equal(refreshed.properties.phase, "Ready");
    await engine.destroy(older);
    assert.equal(store.get(VirtualDiskSnapshot, diskKind.namespace, created.outputs.name), undefined);
  });

  it("returns bad inputs from Check as failures with their property paths, and sends no Create", async () => {
    const { requests } = clusters.of("deckhouse-v1.10").emulator;
    const creates = requests.count({ verb: "create" });
    const vm = declared(resources, kindTitled("deckhouse.VirtualMachineSnapshot"));
    const urn = engine.urn(vm.type, "bad-snapshot");
    const news = {
      ...vm.inputs,
      virtualMachineName: "Web_Server",
      keepIPAddress: "Sometimes",
      labels: { "team/": "db" },
      waitTimeoutSeconds: 0,
      volumeSnapshotClasses: [{ storageClassName: "Fast SSD", volumeSnapshotClassName: "csi" }],
    };

    const failure = await failureOf(engine.up(undefined, urn, news));
    assert.ok(failure instanceof CheckFailed);
    const name = "must be lowercase letters, digits, '-' and '.', starting and ending with a letter or digit";
    assert.deepEqual(failure.failures, [
      {
        property: "labels.team/",
        reason: `key "team/" must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
      },
      { property: "waitTimeoutSeconds", reason: "waitTimeoutSeconds must be greater than 0" },
      { property: "virtualMachineName", reason: `virtualMachineName ${name}` },
      {
        property: "keepIPAddress",
        reason: 'keepIPAddress must be one of "Always", "Never"; got "Sometimes"',
      },
      { property: "volumeSnapshotClasses.0.storageClassName", reason: `storageClassName ${name}` },
    ]);
    assert.equal(failure.state, undefined);
    assert.deepEqual(engine.sentFor(urn), ["Check"]);
    assert.equal(requests.count({ verb: "create" }), creates, "nothing reached the cluster");
  });

  it("uses the stack config's kubeconfig, context and namespace for a resource that names none", async () => {
    const { store } = deckhouse();
    const { urn, inputs } = diskSnapshot("configured-disk");
    const { kubeconfig: _k, namespace: _n, ...news } = inputs;

    const created = await engine.up(undefined, urn, news);
    assert.equal(created.outputs.namespace, CONFIG_NAMESPACE);
    assert.equal(created.outputs.phase, "Ready");
    const object = store.get(VirtualDiskSnapshot, CONFIG_NAMESPACE, created.outputs.name);
    assert.equal(object?.metadata.uid, created.outputs.uid);

    await engine.destroy(created);
    assert.deepEqual(store.list(VirtualDiskSnapshot, CONFIG_NAMESPACE).items, []);
  });

  it("prefers a namespace input to the stack config's", async () => {
    const { store } = deckhouse();
    const { urn, inputs } = diskSnapshot("namespaced-disk");
    const { kubeconfig: _k, ...news } = inputs;

    const created = await engine.up(undefined, urn, news);
    assert.equal(created.outputs.namespace, diskKind.namespace);
    assert.ok(store.get(VirtualDiskSnapshot, diskKind.namespace, created.outputs.name));
    assert.deepEqual(store.list(VirtualDiskSnapshot, CONFIG_NAMESPACE).items, []);
    await engine.destroy(created);
  });

  describe("resources of one kind waiting at once", () => {
    const ns = "shared";
    let cluster: SimulatedCluster;

    before(async () => {
      cluster = await startSimulatedCluster("deckhouse-v1.10", { phaseDelayMs: 5 });
      await deckhouseVm(cluster.store, ns);
    });
    after(() => cluster?.stop());

    it("share one watch connection in the host", async () => {
      const { store, emulator } = cluster;
      assert.equal(emulator.requests.openWatches(), 0, "a fresh cluster: no watch is open yet");
      const held = { [KnobAnnotation.Hang]: "InProgress" };
      const names = ["a", "b", "c", "d", "e"].map((suffix) => `disk-${suffix}`);
      const ups = names.map((name) => {
        const { urn, inputs } = diskSnapshot(name);
        const news = { ...inputs, kubeconfig: emulator.kubeconfig, namespace: ns, name, annotations: held };
        return engine.up(undefined, urn, news);
      });
      // Every create is waiting: none can finish while the platform holds it.
      await Promise.all(names.map((n) => waitFor(store, VirtualDiskSnapshot, ns, n, inPhase("InProgress"))));
      for (const n of names) releaseHang(store, VirtualDiskSnapshot, ns, n);
      const states = await Promise.all(ups);

      assert.deepEqual(
        states.map((s) => s.outputs.phase),
        names.map(() => "Ready"),
      );
      assert.equal(emulator.requests.peakWatches(), 1);
      assert.equal(emulator.requests.count({ watch: true }), 1, "one watch request, not one per resource");
      await Promise.all(states.map((s) => engine.destroy(s)));
      assert.deepEqual(store.list(VirtualDiskSnapshot, ns).items, []);
    });
  });
});
