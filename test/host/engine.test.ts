import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { CheckFailed, Engine, failureOf, initErrorMessage, startEngine, type ResourceState } from "./engine";
import {
  fixtureProjectDir,
  fixtureProviderText,
  fixtureStore,
  fixtureType,
  storedObjects,
} from "./fixtures/fixture-provider";

describe("engine steps through the real host", () => {
  let engine: Engine;
  let store: ReturnType<typeof fixtureStore>;
  let __provider: string;
  const urn = (name: string) => engine.urn(fixtureType, name);

  before(async () => {
    __provider = await fixtureProviderText();
    store = fixtureStore();
    engine = await startEngine({ cwd: fixtureProjectDir, config: store.config });
  });

  after(async () => {
    await engine?.host.stop();
    if (store) fs.rmSync(store.dir, { recursive: true, force: true });
  });

  it("creates with Check then Create, and sends no Update when nothing changed", async () => {
    const created = await engine.up(undefined, urn("steady"), { value: "one", __provider });
    assert.equal(storedObjects(store.dir)[created.id].value, "one");
    const same = await engine.up(created, urn("steady"), { value: "one", __provider });
    assert.deepEqual(same, created);
    assert.deepEqual(engine.sentFor(urn("steady")), ["Check", "Create", "Check", "Diff"]);
  });

  it("updates in place, keeping the id and the name check generated", async () => {
    const created = await engine.up(undefined, urn("updated"), { value: "one", __provider });
    const updated = await engine.up(created, urn("updated"), { value: "two", __provider });
    assert.equal(updated.id, created.id);
    assert.equal(updated.outputs.value, "two");
    assert.equal(storedObjects(store.dir)[created.id].createdBy, "update");
    assert.deepEqual(engine.sentFor(urn("updated")), ["Check", "Create", "Check", "Diff", "Update"]);
  });

  it("replaces create-before-delete by default: the replacement gets a fresh name beside the old object", async () => {
    const old = await engine.up(undefined, urn("moved"), { value: "v", zone: "a", __provider });
    const replacement = await engine.up(old, urn("moved"), { value: "v", zone: "b", __provider });
    assert.notEqual(replacement.id, old.id, "the second Check, with empty olds, named the replacement anew");
    assert.deepEqual(engine.sentFor(urn("moved")).slice(2), ["Check", "Diff", "Check", "Create", "Delete"]);
    const objects = storedObjects(store.dir);
    assert.equal(objects[replacement.id].zone, "b");
    assert.equal(objects[old.id], undefined);
  });

  it("replaces delete-before-create when diff asks for it, so a fixed name can be reused", async () => {
    const news = { value: "v", name: "fixed-dbr", deleteBeforeReplace: true, __provider };
    const old = await engine.up(undefined, urn("dbr"), { ...news, zone: "a" });
    const replacement = await engine.up(old, urn("dbr"), { ...news, zone: "b" });
    assert.equal(replacement.id, "fixed-dbr");
    assert.equal(storedObjects(store.dir)["fixed-dbr"].zone, "b");
    assert.deepEqual(engine.sentFor(urn("dbr")).slice(2), ["Check", "Diff", "Check", "Delete", "Create"]);
  });

  it("fails a create-before-delete replacement of a fixed name, keeping the old resource", async () => {
    const news = { value: "v", name: "fixed-cbd", __provider };
    const old = await engine.up(undefined, urn("collision"), { ...news, zone: "a" });
    const failure = await failureOf(engine.up(old, urn("collision"), { ...news, zone: "b" }));
    assert.match(failure.message, /fixture object "fixed-cbd" already exists/);
    assert.deepEqual(failure.state, old);
    assert.ok(!engine.sentFor(urn("collision")).includes("Delete"), "the old object was not deleted");
    assert.equal(storedObjects(store.dir)["fixed-cbd"].zone, "a");
  });

  it("aborts on check failures, listing each property and reason, before any Create is sent", async () => {
    const failure = await failureOf(
      engine.up(undefined, urn("invalid"), { value: "", limits: { size: -1 }, __provider }),
    );
    assert.ok(failure instanceof CheckFailed);
    assert.equal(
      failure.message,
      `${urn("invalid")} has invalid inputs:\n  value: must be a non-empty string\n  limits.size: must be >= 0, got -1`,
    );
    assert.equal(failure.state, undefined);
    assert.deepEqual(engine.sentFor(urn("invalid")), ["Check"]);
  });

  it("keeps a partially failed resource with its init errors, and the next up updates it", async () => {
    const failure = await failureOf(
      engine.up(undefined, urn("partial"), { value: "v", outcome: "partial", __provider }),
    );
    const kept = failure.state!;
    assert.equal(failure.message, initErrorMessage(kept.initErrors!));
    assert.equal(
      failure.message,
      `2 errors occurred:\n\t* fixture ${kept.id} did not become ready\n\t* outcome was "partial"\n\n`,
    );
    assert.equal(kept.outputs.ready, false);
    assert.ok(storedObjects(store.dir)[kept.id], "the object exists");

    // The provider's diff sees no change (value and zone are the same); the init errors force the Update.
    const healed = await engine.up(kept, urn("partial"), { value: "v", __provider });
    assert.deepEqual(engine.sentFor(urn("partial")), ["Check", "Create", "Check", "Diff", "Update"]);
    assert.equal(healed.id, kept.id);
    assert.equal(healed.outputs.ready, true);
    assert.equal(healed.initErrors, undefined);
  });

  it("compares inputs itself when diff answers DIFF_UNKNOWN", async () => {
    const created = await engine.up(undefined, urn("unknown"), { value: "v", diffUnknown: true, __provider });
    await engine.up(created, urn("unknown"), { value: "v", diffUnknown: true, __provider });
    assert.deepEqual(engine.sentFor(urn("unknown")).slice(2), ["Check", "Diff"], "same inputs: no Update");
    await engine.up(created, urn("unknown"), { value: "v", diffUnknown: true, say: "changed", __provider });
    assert.deepEqual(engine.sentFor(urn("unknown")).slice(4), ["Check", "Diff", "Update"]);
  });

  it("cannot destroy a partial failure stored without __provider until an update restores it", async () => {
    const news = { value: "v", outcome: "partial-without-provider", __provider };
    const { state: kept } = await failureOf(engine.up(undefined, urn("stuck"), news));
    assert.equal(kept!.outputs.__provider, undefined);
    await assert.rejects(engine.destroy(kept!), /code must be a string, not undefined/);
    assert.ok(storedObjects(store.dir)[kept!.id], "the object is left behind");

    const repaired = await engine.up(kept, urn("stuck"), { value: "v", __provider }); // Update uses the new code
    assert.equal(repaired.outputs.__provider, __provider);
    await engine.destroy(repaired);
    assert.equal(storedObjects(store.dir)[kept!.id], undefined);
  });

  it("refreshes drift from the object and reports a deleted object as gone", async () => {
    const created = await engine.up(undefined, urn("drifting"), { value: "v", __provider });
    const file = path.join(store.dir, `${created.id}.json`);
    fs.writeFileSync(
      file,
      JSON.stringify({ ...storedObjects(store.dir)[created.id], value: "changed outside" }),
    );
    const refreshed = await engine.refresh(created);
    assert.equal(refreshed!.outputs.value, "changed outside");
    assert.equal(refreshed!.outputs.__provider, __provider, "the host keeps __provider in refreshed outputs");
    fs.rmSync(file);
    assert.equal(await engine.refresh(created), undefined);
  });

  it("destroys with the stored outputs", async () => {
    const created = await engine.up(undefined, urn("destroyed"), { value: "v", __provider });
    await engine.destroy(created);
    assert.equal(storedObjects(store.dir)[created.id], undefined);
    assert.deepEqual(engine.sentFor(urn("destroyed")), ["Check", "Create", "Delete"]);
  });

  it("sends one Check at a time, as the step generator does, and each Create as soon as its Check is answered", async () => {
    const urns = ["serial-a", "serial-b", "serial-c"].map(urn);
    await Promise.all(urns.map((u) => engine.up(undefined, u, { value: "v", checkMs: 100, __provider })));
    const sent = (method: string, u: string) =>
      engine.host.sent.find((r) => r.method === method && r.urn === u)!.at;
    for (let i = 1; i < urns.length; i++) {
      const gap = sent("Check", urns[i]) - sent("Check", urns[i - 1]);
      assert.ok(
        gap >= 95,
        `Check of ${urns[i]} sent ${gap.toFixed(0)} ms after the one before, which takes 100 ms`,
      );
    }
    assert.ok(
      sent("Create", urns[0]) < sent("Check", urns[2]),
      "the first resource's Create does not wait for the other resources' Checks",
    );
  });

  it("runs 1000 resources concurrently through one host", async function () {
    this.timeout(60_000); // about 3 s on an idle two-core machine: the host is one single-threaded process
    const urns = Array.from({ length: 1000 }, (_, i) => urn(`many-${i}`));
    const states: ResourceState[] = await Promise.all(
      urns.map((u, i) => engine.up(undefined, u, { value: `v${i}`, __provider })),
    );
    assert.equal(new Set(states.map((s) => s.id)).size, 1000);
    const objects = storedObjects(store.dir);
    assert.ok(states.every((s, i) => objects[s.id].value === `v${i}`));
    await Promise.all(states.map((s) => engine.destroy(s)));
    const left = Object.keys(storedObjects(store.dir));
    assert.ok(!states.some((s) => left.includes(s.id)), "every one was deleted");
  });
});
