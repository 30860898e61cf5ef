// Every resource kind of the package as a user's program declares it, what each needs in the cluster, and the
// walk `pulumi up` (create, update labels, replace by trigger), `pulumi refresh` and `pulumi destroy` take
// through the engine, checked against the emulator at every step.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { VolumeSnapshot } from "../emulator/kinds/core";
import * as deckhouse from "../emulator/kinds/deckhouse";
import * as kubevirt from "../emulator/kinds/kubevirt";
import type { ObjectStore, ResourceType } from "../emulator/store";
import { startSimulatedCluster, type Platform, type SimulatedCluster } from "../examples/cluster";
import { packageEnv } from "../examples/packageEnv";
import * as deckhouseFixtures from "../simulators/deckhouse/fixtures";
import { KnobAnnotation } from "../simulators/knobs";
import * as kubevirtFixtures from "../simulators/kubevirt/fixtures";
import { inPhase, waitFor } from "../simulators/waitFor";
import { captureResources, type CapturedResource } from "./capture";
import type { HostOptions } from "./driver";
import { startEngine, type Engine } from "./engine";
import { repoRoot } from "./repo";

export interface KindUnderTest {
  /** As a program names the class: "deckhouse.VirtualMachineSnapshot". */
  title: string;
  platform: Platform;
  /** The Pulumi resource name in the program. */
  name: string;
  /** One namespace per kind, so what is left in it after a destroy is this kind's alone. */
  namespace: string;
  /** The constructor's arguments besides namespace and kubeconfig (read from `kubeconfigVariable`). */
  args: Record<string, unknown>;
  /** The kind of the object the resource stands for. */
  objectType: ResourceType;
  /** The kinds a destroy leaves none of in the namespace: the object's and its dependents'. */
  cleanedUp: ResourceType[];
  /** The `phase` output once the platform has finished. */
  donePhase: string;
  /** Creates what the resource needs in its namespace: a VM with its disk, and a snapshot to restore. */
  prepare(store: ObjectStore, namespace: string): Promise<void>;
}

const VM = "vm";
const SNAPSHOT = "vm-snapshot";
const SETTLED_WITHIN_MS = 5_000;

/** A running Deckhouse VM `vm` with its disk `vm-root`. */
export async function deckhouseVm(store: ObjectStore, namespace: string): Promise<void> {
  deckhouseFixtures.createVirtualMachine(store, { namespace, name: VM, disks: [`${VM}-root`] });
  await waitFor(store, deckhouse.VirtualMachine, namespace, VM, inPhase("Running"), SETTLED_WITHIN_MS);
}

/** The Deckhouse VM and a Ready snapshot `vm-snapshot` of it. */
async function deckhouseSnapshot(store: ObjectStore, namespace: string): Promise<void> {
  await deckhouseVm(store, namespace);
  store.create(deckhouse.VirtualMachineSnapshot, {
    metadata: { name: SNAPSHOT, namespace },
    spec: { virtualMachineName: VM, keepIPAddress: "Never", requiredConsistency: true },
  });
  await waitFor(
    store,
    deckhouse.VirtualMachineSnapshot,
    namespace,
    SNAPSHOT,
    inPhase("Ready"),
    SETTLED_WITHIN_MS,
  );
}

/** A stopped KubeVirt VM `vm` with its claim `vm-root`. */
async function kubevirtVm(store: ObjectStore, namespace: string): Promise<void> {
  kubevirtFixtures.createVirtualMachine(store, { namespace, name: VM, disks: ["root"] });
  const stopped = (o: any) => o?.status?.printableStatus === "Stopped";
  await waitFor(store, kubevirt.KubeVirtVirtualMachine, namespace, VM, stopped, SETTLED_WITHIN_MS);
}

/** The KubeVirt VM and a snapshot `vm-snapshot` of it, ready to use. */
async function kubevirtSnapshot(store: ObjectStore, namespace: string): Promise<void> {
  await kubevirtVm(store, namespace);
  kubevirtFixtures.createVirtualMachineSnapshot(store, { namespace, name: SNAPSHOT, vm: VM });
  const ready = (o: any) => o?.status?.readyToUse === true;
  await waitFor(
    store,
    kubevirt.KubeVirtVirtualMachineSnapshot,
    namespace,
    SNAPSHOT,
    ready,
    SETTLED_WITHIN_MS,
  );
}

const onDeckhouse = { platform: "deckhouse-v1.10", donePhase: "Ready", prepare: deckhouseVm } as const;
const onKubeVirt = { platform: "kubevirt", prepare: kubevirtVm } as const;

export const everyKind: KindUnderTest[] = [
  {
    ...onDeckhouse,
    title: "deckhouse.VirtualDiskSnapshot",
    name: "disk-snapshot",
    args: { virtualDiskName: `${VM}-root` },
    objectType: deckhouse.VirtualDiskSnapshot,
    cleanedUp: [deckhouse.VirtualDiskSnapshot, VolumeSnapshot],
  },
  {
    ...onDeckhouse,
    title: "deckhouse.VirtualMachineSnapshot",
    name: "vm-snapshot",
    args: { virtualMachineName: VM },
    objectType: deckhouse.VirtualMachineSnapshot,
    cleanedUp: [deckhouse.VirtualMachineSnapshot, deckhouse.VirtualDiskSnapshot, VolumeSnapshot],
  },
  {
    ...onDeckhouse,
    title: "deckhouse.VirtualMachineRestore",
    name: "vm-restore",
    args: { virtualMachineSnapshotName: SNAPSHOT },
    // Deckhouse >= v1.2 restores in place with a VirtualMachineOperation of type Restore.
    objectType: deckhouse.VirtualMachineOperation,
    // The snapshot restored from stays, and the VM's disks are what the restore rewrote.
    cleanedUp: [deckhouse.VirtualMachineOperation],
    donePhase: "Completed",
    prepare: deckhouseSnapshot,
  },
  {
    ...onKubeVirt,
    title: "kubevirt.VirtualMachineSnapshot",
    name: "vm-snapshot",
    args: { virtualMachineName: VM },
    objectType: kubevirt.KubeVirtVirtualMachineSnapshot,
    cleanedUp: [
      kubevirt.KubeVirtVirtualMachineSnapshot,
      kubevirt.VirtualMachineSnapshotContent,
      VolumeSnapshot,
    ],
    donePhase: "Succeeded",
  },
  {
    ...onKubeVirt,
    title: "kubevirt.VirtualMachineRestore",
    name: "vm-restore",
    args: { virtualMachineSnapshotName: SNAPSHOT, targetName: VM },
    objectType: kubevirt.KubeVirtVirtualMachineRestore,
    cleanedUp: [kubevirt.KubeVirtVirtualMachineRestore],
    donePhase: "Complete",
    prepare: kubevirtSnapshot,
  },
  {
    ...onKubeVirt,
    title: "kubevirt.VirtualDiskSnapshot",
    name: "disk-snapshot",
    args: { persistentVolumeClaimName: `${VM}-root` },
    // KubeVirt has no disk snapshot kind: the resource stands for a CSI VolumeSnapshot of the disk's claim.
    objectType: VolumeSnapshot,
    cleanedUp: [VolumeSnapshot],
    donePhase: "Ready",
  },
].map((kind) => ({ ...kind, namespace: `${kind.title.split(".")[0]}-${kind.name}` }));

/** The kind a program names so: "deckhouse.VirtualDiskSnapshot". */
export function kindTitled(title: string): KindUnderTest {
  const kind = everyKind.find((k) => k.title === title);
  assert.ok(kind, `no kind is titled ${title}`);
  return kind;
}

/** The environment variable the program reads each platform's kubeconfig text from. */
export const kubeconfigVariable = (platform: Platform) =>
  platform === "kubevirt" ? "KUBEVIRT_KUBECONFIG" : "DECKHOUSE_KUBECONFIG";

/** A program that declares one resource of each kind, the kubeconfig read from the environment. */
export function programOf(kinds: KindUnderTest[] = everyKind): string {
  const declarations = kinds.map((k) => {
    const args = JSON.stringify({ namespace: k.namespace, ...k.args }).slice(1, -1);
    return `new ${k.title}(${JSON.stringify(k.name)}, { ${args}, kubeconfig: process.env.${kubeconfigVariable(k.platform)} });`;
  });
  return [`import { deckhouse, kubevirt } from "pulumi-vm-snapshots";`, "", ...declarations, ""].join("\n");
}

/** What the program registered for `kind`: its type, name and inputs, `__provider` included. */
export function declared(resources: CapturedResource[], kind: KindUnderTest): CapturedResource {
  const type = `pulumi-nodejs:dynamic/vm-snapshots/${kind.title.replace(".", ":")}`;
  const found = resources.find((r) => r.type === type && r.name === kind.name);
  assert.ok(found, `the program registered no ${type} named ${kind.name}`);
  return found;
}

/**
 * Runs `program` under mocks as if it were in this repository's project, the package resolved by name to its
 * TypeScript sources, and returns what it registered.
 */
export async function captureFromRepo(program: string, env: NodeJS.ProcessEnv): Promise<CapturedResource[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vm-snapshots-program-"));
  try {
    fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"), "dir");
    fs.writeFileSync(path.join(dir, "index.ts"), program);
    const { NODE_PATH } = packageEnv(true);
    return await captureResources(path.join(dir, "index.ts"), {
      cwd: repoRoot,
      development: true,
      env: { ...env, NODE_PATH },
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts the project's host while the program is captured; stops the host again if either fails. */
export async function startWithProgram(
  host: HostOptions,
  capturing: Promise<CapturedResource[]>,
): Promise<{ engine: Engine; resources: CapturedResource[] }> {
  const started = startEngine(host);
  started.catch(() => undefined); // its failure is reported below, after the capture's
  try {
    const resources = await capturing;
    return { engine: await started, resources };
  } catch (e) {
    await started.then(
      (engine) => engine.host.stop(),
      () => undefined,
    );
    throw e;
  }
}

/** An emulated cluster per platform, each with the simulated controllers and what every kind needs. */
export interface Clusters {
  of(platform: Platform): SimulatedCluster;
  /** The kubeconfig texts, in the variables the program reads. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startClusters(kinds: KindUnderTest[] = everyKind): Promise<Clusters> {
  const platforms = [...new Set(kinds.map((k) => k.platform))];
  const clusters = new Map<Platform, SimulatedCluster>();
  const stop = () => Promise.all([...clusters.values()].map((c) => c.stop())).then(() => undefined);
  try {
    for (const platform of platforms) {
      clusters.set(platform, await startSimulatedCluster(platform, { phaseDelayMs: 5 }));
    }
    await Promise.all(kinds.map((k) => k.prepare(clusters.get(k.platform)!.store, k.namespace)));
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    of: (platform) => clusters.get(platform)!,
    env: Object.fromEntries(
      platforms.map((p) => [kubeconfigVariable(p), clusters.get(p)!.emulator.kubeconfig]),
    ),
    stop,
  };
}

/** Lets an object the `hang` knob holds move on, as a platform that was slow eventually does. */
export function releaseHang(store: ObjectStore, type: ResourceType, namespace: string, name: string): void {
  const { resourceVersion: _latest, ...metadata } = store.mustGet(type, namespace, name).metadata;
  const { [KnobAnnotation.Hang]: _hang, ...annotations } = metadata.annotations ?? {};
  store.update(type, { ...store.mustGet(type, namespace, name), metadata: { ...metadata, annotations } });
}

/** Resolves once the namespace holds none of these kinds; dependents go in the background, as in Kubernetes. */
function untilNoneLeft(store: ObjectStore, types: ResourceType[], namespace: string): Promise<void> {
  const left = () =>
    types.flatMap((t) => store.list(t, namespace).items.map((o) => `${t.kind} ${o.metadata.name}`));
  return new Promise((resolve, reject) => {
    const settle = (outcome: () => void) => {
      clearTimeout(timer);
      unsubscribe();
      outcome();
    };
    const check = () => {
      if (left().length === 0) settle(resolve);
    };
    const timer = setTimeout(
      () => settle(() => reject(new Error(`left in ${namespace} after destroy: ${left().join(", ")}`))),
      SETTLED_WITHIN_MS,
    );
    const unsubscribe = store.subscribe(check);
    check();
  });
}

const LABELS = { "app.kubernetes.io/part-of": "host-test" };

/**
 * `pulumi up` creates the declared resource, an up with labels updates it in place, one with a trigger replaces
 * it, `pulumi refresh` reads it back and `pulumi destroy` deletes it: the cluster follows every step.
 */
export async function walkLifecycle(
  engine: Engine,
  kind: KindUnderTest,
  resource: CapturedResource,
  store: ObjectStore,
): Promise<void> {
  const urn = engine.urn(resource.type, resource.name);
  const objectOf = (name: string) => store.get(kind.objectType, kind.namespace, name);
  const left = () => store.list(kind.objectType, kind.namespace).items.map((o) => o.metadata.name);

  const created = await engine.up(undefined, urn, resource.inputs);
  const name = created.outputs.name;
  assert.equal(created.id, `${kind.namespace}/${name}`);
  assert.equal(created.outputs.phase, kind.donePhase);
  assert.equal(objectOf(name)?.metadata.uid, created.outputs.uid);
  for (const key of ["resourceName", "ownerId", "autoNamed"]) {
    assert.ok(
      key in created.inputs && !(key in created.outputs),
      `${key} stays an input, not a stack output`,
    );
  }

  const labelled = { ...resource.inputs, labels: LABELS };
  const updated = await engine.up(created, urn, labelled);
  assert.equal(updated.id, created.id, "labels change in place");
  assert.equal(updated.outputs.uid, created.outputs.uid);
  assert.deepEqual(objectOf(name)?.metadata.labels, LABELS);

  const replaced = await engine.up(updated, urn, { ...labelled, triggers: { release: "2" } });
  const newName = replaced.outputs.name;
  assert.notEqual(newName, name, "a changed trigger makes a new object");
  assert.equal(replaced.outputs.phase, kind.donePhase);
  assert.deepEqual(left(), [newName], "the replaced object was deleted");
  assert.deepEqual(objectOf(newName)?.metadata.labels, LABELS);

  // Refresh reads the object again (the platform may have reworded a condition since), keeping its identity.
  const refreshed = await engine.refresh(replaced);
  assert.equal(refreshed?.id, replaced.id);
  for (const key of ["name", "uid", "phase", "__provider"]) {
    assert.equal(refreshed?.outputs[key], replaced.outputs[key], key);
  }

  await engine.destroy(replaced);
  assert.deepEqual(left(), [], "destroy returns once the object is gone");
  await untilNoneLeft(store, kind.cleanedUp, kind.namespace);
  assert.deepEqual(engine.sentFor(urn), [
    ...["Check", "Create"],
    ...["Check", "Diff", "Update"],
    ...["Check", "Diff", "Check", "Create", "Delete"],
    "Read",
    "Delete",
  ]);
}
