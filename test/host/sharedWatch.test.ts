// The shared watch through Pulumi's real dynamic-provider host: N snapshots created and deleted at once in one
// host process wait on one watch connection, and each wait ends with its own object's event. The test plays
// the controller, so nothing is timed: every step waits for the store to show the state it needs.
import assert from "node:assert/strict";
import { startEmulator, type Emulator } from "../emulator";
import { VirtualDiskSnapshot } from "../emulator/kinds/deckhouse";
import { profile } from "../emulator/kinds/profiles";
import { collectionOf, type KubeObject } from "../emulator/store";
import { declaredResources, projectDir, type DeclaredResource } from "../bench/kinds";
import { packageEnv } from "../examples/packageEnv";
import { startEngine, type Engine, type ResourceState } from "./engine";

const ns = "prod";
const count = 40;
const cleanup = "virtualization.deckhouse.io/vdsnapshot-cleanup";

describe("the shared watch through the real host", function () {
  let emulator: Emulator;
  let engine: Engine;
  let disk: DeclaredResource;

  before(async () => {
    emulator = await startEmulator({ types: profile("deckhouse-v1.10"), namespace: ns });
    disk = (await declaredResources({ development: true })).get("disk")!;
    engine = await startEngine({
      cwd: projectDir,
      env: { ...packageEnv(true), KUBECONFIG: emulator.kubeconfigPath },
    });
  });
  after(async () => {
    await engine?.host.stop();
    await emulator?.stop();
  });

  /** Resolves with the snapshots (in event order) once `count` of them satisfy `seen`. */
  const snapshotsWhen = (seen: (e: { type: string; object: KubeObject }) => boolean) =>
    new Promise<KubeObject[]>((resolve) => {
      const objects: KubeObject[] = [];
      const stop = emulator.store.subscribe((e) => {
        if (e.collection !== collectionOf(VirtualDiskSnapshot) || !seen(e)) return;
        objects.push(e.object);
        if (objects.length === count) {
          stop();
          resolve(objects);
        }
      });
    });
  const writeStatus = (o: KubeObject, status: Record<string, unknown>) =>
    emulator.store.update(
      VirtualDiskSnapshot,
      { ...emulator.store.get(VirtualDiskSnapshot, ns, o.metadata.name!)!, status },
      { subresource: "status" },
    );
  const setFinalizers = (o: KubeObject, finalizers: string[]) => {
    const current = emulator.store.get(VirtualDiskSnapshot, ns, o.metadata.name!)!;
    emulator.store.update(VirtualDiskSnapshot, { ...current, metadata: { ...current.metadata, finalizers } });
  };

  it(`waits for ${count} creates and ${count} deletes on one watch connection, each ended by its own object`, async () => {
    const answered = new Set<string>();
    const created = snapshotsWhen((e) => e.type === "ADDED");
    const creates = Array.from({ length: count }, (_, i) => {
      const name = `snapshot-${i}`;
      const inputs = { ...disk.inputs, virtualDiskName: `disk-${i}`, resourceName: name };
      return engine.up(undefined, engine.urn(disk.type, name), inputs).then((state) => {
        answered.add(state.id);
        return state;
      });
    });

    // Every object exists and none is Ready, so no create can have been answered.
    const objects = await created;
    assert.equal(answered.size, 0);
    // Progress first, then Ready in the reverse order of creation, each with its own volume snapshot.
    for (const o of objects) writeStatus(o, { phase: "InProgress", observedGeneration: 1 });
    for (const o of objects) setFinalizers(o, [cleanup]);
    for (const o of [...objects].reverse()) {
      writeStatus(o, { phase: "Ready", observedGeneration: 1, volumeSnapshotName: `vs-${o.metadata.name}` });
    }
    const states: ResourceState[] = await Promise.all(creates);
    for (const state of states) {
      const name = state.id.split("/")[1];
      assert.equal(state.outputs.phase, "Ready", state.id);
      assert.equal(
        state.outputs.volumeSnapshotName,
        `vs-${name}`,
        `${state.id} was answered with another object's event`,
      );
    }
    assert.equal(emulator.requests.count({ watch: true }), 1, "one watch request for all the creates");
    assert.equal(emulator.requests.peakWatches(), 1);
    assert.equal(emulator.requests.count({ verb: "create" }), count);
    // Each wait starts from its create's answer. Only an answer that overtook an older one on the way back
    // (the watch then started after it) makes that older create read its object once.
    assert.ok(
      emulator.requests.count({ watch: false }) - count <= count / 10,
      `nothing but the creates and at most a few reads: ${emulator.requests.count({ watch: false })} requests`,
    );

    // Deletes wait while the controller's finalizer holds each object, then end one by one.
    emulator.requests.reset();
    const marked = snapshotsWhen((e) => e.type === "MODIFIED" && !!e.object.metadata.deletionTimestamp);
    const gone = new Set<string>();
    const deletes = states.map((state) => engine.destroy(state).then(() => gone.add(state.id)));
    const deleting = await marked;
    assert.equal(gone.size, 0, "no delete was answered while its object still had a finalizer");
    for (const o of [...deleting].reverse()) {
      writeStatus(o, { ...o.status, phase: "Terminating" });
      setFinalizers(o, []);
      assert.equal(emulator.store.get(VirtualDiskSnapshot, ns, o.metadata.name!), undefined);
    }
    await Promise.all(deletes);
    assert.equal(gone.size, count);
    // The creates' watch may still be open (it lingers briefly for the next waiter) or a new one was opened.
    assert.ok(emulator.requests.count({ watch: true }) <= 1, "at most one watch request for all the deletes");
    assert.equal(emulator.requests.peakWatches(), 1);
  });
});
