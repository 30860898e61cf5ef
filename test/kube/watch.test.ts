// The shared watch against the emulator: one connection for many waits, resumed after cuts, relisted on
// 410, surviving an API server restart. The test plays the controller by writing status directly.
import assert from "node:assert/strict";
import { connect, disconnectAll, type Cluster } from "../../provider/kube/cluster";
import type { KubeObject } from "../../provider/kube/objects";
import { observe, watchStats } from "../../provider/kube/watch";
import { startEmulator, type Emulator } from "../emulator";
import { VirtualDiskSnapshot } from "../emulator/kinds/deckhouse";
import { api, createDiskSnapshot } from "./diskSnapshots";

const ns = "watch-test";

describe("shared watch", function () {
  let emu: Emulator;
  let cluster: Cluster;

  beforeEach(async () => {
    emu = await startEmulator({ types: [VirtualDiskSnapshot] });
    cluster = await connect({ kubeconfig: emu.kubeconfig });
  });
  afterEach(async () => {
    await disconnectAll();
    await emu.stop();
  });

  const create = (name: string) => createDiskSnapshot(cluster, ns, name);
  const setPhase = (name: string, phase: string) => {
    const o = emu.store.get(VirtualDiskSnapshot, ns, name)!;
    emu.store.update(
      VirtualDiskSnapshot,
      { ...o, status: { ...o.status, phase, observedGeneration: 1 } },
      { subresource: "status" },
    );
  };
  const untilPhase = (known: KubeObject, phase: string, ms = 10_000) =>
    observe(
      { cluster, api, namespace: ns, name: known.metadata.name },
      known,
      (o) => (o?.status?.phase === phase ? o : undefined),
      AbortSignal.timeout(ms),
    );

  it("multiplexes many waits onto one watch connection, each resolved by its own object", async () => {
    const names = Array.from({ length: 40 }, (_, i) => `snap-${i}`);
    const created = await Promise.all(names.map(create));
    const waits = created.map((o) => untilPhase(o, "Ready"));
    for (const name of [...names].reverse()) setPhase(name, "Ready");
    const done = await Promise.all(waits);
    assert.deepEqual(
      done.map((o) => o.metadata.name),
      names,
    );
    assert.equal(emu.requests.peakWatches(), 1);
    // Beyond the shared watch, only the creates: the watch started from the create's resourceVersion.
    assert.equal(emu.requests.count({ watch: false }), names.length);
  });

  it("parses only the changes a waiter has not seen: not the creation its create's answer already showed", async () => {
    const names = Array.from({ length: 20 }, (_, i) => `parse-${i}`);
    const created = await Promise.all(names.map(create));
    const parsed = watchStats.parsed;
    // The watch starts from the first create's answer, so it carries every other object's creation too.
    const waits = created.map((o) => untilPhase(o, "Ready"));
    await new Promise((r) => setTimeout(r, 100)); // those creations have arrived
    for (const name of names) setPhase(name, "Ready");
    await Promise.all(waits);
    assert.equal(watchStats.parsed - parsed, names.length); // each Ready, once
  });

  it("gives a late waiter the newest state the watch already carried, without reading the object", async () => {
    const first = await create("first");
    const firstReady = untilPhase(first, "Ready"); // opens the shared watch
    const late = await create("late");
    for (const phase of ["Pending", "InProgress", "Ready"]) setPhase("late", phase);
    setPhase("first", "Ready");
    await firstReady; // the watch has carried every change of "late" too
    const seen: string[] = [];
    const done = await observe(
      { cluster, api, namespace: ns, name: "late" },
      late,
      (o) => (seen.push(o?.status?.phase ?? "none"), o?.status?.phase === "Ready" ? o : undefined),
      AbortSignal.timeout(5000),
    );
    assert.equal(done.status.phase, "Ready");
    assert.equal(
      done.metadata.resourceVersion,
      emu.store.get(VirtualDiskSnapshot, ns, "late")!.metadata.resourceVersion,
    );
    assert.deepEqual(seen, ["none", "Ready"]); // the create's answer, then the newest change
    assert.equal(emu.requests.count({ watch: false }), 2); // the two creates
  });

  it("reads the object when its event arrives cut short, and keeps the watch for the others", async () => {
    const [broken, other] = await Promise.all([create("broken"), create("other")]);
    const waits = [untilPhase(broken, "Ready"), untilPhase(other, "Ready")];
    await new Promise((r) => setTimeout(r, 50)); // the watch is open
    emu.faults.truncateNextWatchEvents(1);
    setPhase("broken", "Ready");
    setPhase("other", "Ready");
    const [b, o] = await Promise.all(waits);
    assert.equal(b.status.phase, "Ready");
    assert.equal(o.status.phase, "Ready");
    assert.equal(emu.requests.count({ verb: "get", watch: false }), 1); // only the object whose event broke
    assert.equal(emu.requests.count({ watch: true }), 1); // the watch went on
  });

  it("misses no terminal event when every watch is cut after each event", async () => {
    const o = await create("cut");
    emu.faults.cutWatchesAfter({ events: 1 });
    const wait = untilPhase(o, "Ready");
    for (const phase of ["Pending", "InProgress", "InProgress", "Ready"]) {
      await new Promise((r) => setTimeout(r, 30));
      setPhase("cut", phase);
    }
    assert.equal((await wait).status.phase, "Ready");
    assert.ok(emu.requests.count({ watch: true }) >= 2, "the watch was resumed");
  });

  it("relists after 410 Gone and still sees the change", async () => {
    const o = await create("expired");
    const relists = watchStats.relists;
    emu.store.compact();
    emu.faults.goneOnNextWatch(1);
    setPhase("expired", "Ready");
    assert.equal((await untilPhase(o, "Ready")).status.phase, "Ready");
    assert.equal(watchStats.relists, relists + 1);
  });

  it("resumes after the API server was down for a second and restarted", async () => {
    const o = await create("restart");
    const wait = untilPhase(o, "Ready", 20_000);
    await new Promise((r) => setTimeout(r, 100));
    const restarted = emu.restart({ downForMs: 1000 });
    setPhase("restart", "Ready"); // written while the server is down; kept in the store's history
    await restarted;
    assert.equal((await wait).status.phase, "Ready");
  });

  it("resolves a wait for deletion with the DELETED event", async () => {
    const o = await create("deleting");
    const gone = observe(
      { cluster, api, namespace: ns, name: "deleting" },
      o,
      (x) => (x ? undefined : true),
      AbortSignal.timeout(5000),
    );
    emu.store.delete(VirtualDiskSnapshot, ns, "deleting");
    assert.equal(await gone, true);
  });

  it("stops waiting when the caller's deadline passes", async () => {
    const o = await create("never");
    await assert.rejects(untilPhase(o, "Ready", 300), (e: Error) => e.name === "TimeoutError");
  });
});
