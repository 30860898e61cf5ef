// The API server misbehaves while resources are created and waited for: watches cut again and again, 410 Gone,
// throttling, 5xx bursts, an outage with a restart. Each wait resumes, misses no terminal event, and ends right.
import assert from "node:assert/strict";
import { watchStats } from "../../provider/runtime";
import { VirtualMachineSnapshot } from "../emulator/kinds/deckhouse";
import { withProgress } from "../fixtures/progress";
import { KnobAnnotation } from "../simulators/knobs";
import { inPhase, waitFor } from "../simulators/waitFor";
import { deckhouseScenarios } from "./clusters";
import { finish } from "./consistency";
import { scenario } from "./summary";
import { until } from "./until";

const VMS = "deckhouse:VirtualMachineSnapshot";
const VDS = "deckhouse:VirtualDiskSnapshot";

describe("faults: the API server misbehaves during a wait", function () {
  // Each scenario in its own namespace, so no watch of an earlier one carries its faults over.
  const at = deckhouseScenarios("api");

  const watches = () => at.cluster.emulator.requests.count({ verb: "watch" });
  /** Until the provider has seen every watch stream end (it counts them as it notices). */
  const providerSawWatchesEnd = () => until(() => watchStats.open === 0, "the provider noticed the cut");

  scenario(
    "Watch cut after every event, again and again, while a VM snapshot is taken",
    "the wait resumes after each cut and returns Ready",
    async () => {
      at.cluster.emulator.faults.cutWatchesAfter({ events: 1 });
      const { outputs } = await at.stack.up(VMS, "cut", { virtualMachineName: "db" });
      assert.equal(outputs.phase, "Ready");
      assert.ok(watches() >= 3, `the watch was opened ${watches()} times: it resumed after cuts`);
      return finish(at.stack, at.cluster.store, { platform: "deckhouse" });
    },
  );

  scenario(
    "Watch events arrive cut short (a broken proxy) while a VM snapshot is taken",
    "the snapshot is read once per broken event and the wait returns Ready; the watch stays open",
    async () => {
      at.cluster.emulator.faults.truncateNextWatchEvents(2);
      const { outputs } = await at.stack.up(VMS, "truncated", { virtualMachineName: "db" });
      assert.equal(outputs.phase, "Ready");
      const reads = at.cluster.emulator.requests.all({
        verb: "get",
        pathIncludes: "/virtualmachinesnapshots/",
      });
      assert.ok(reads.length >= 1 && reads.length <= 2, `read ${reads.length} times: once per broken event`);
      assert.equal(watches(), 1, "the watch was not reopened");
      return finish(at.stack, at.cluster.store, { platform: "deckhouse" });
    },
  );

  scenario(
    "Watch connection lost between two snapshots' waits (while the shared watch lingers)",
    "the second wait reopens the watch and returns Ready",
    async () => {
      const first = await at.stack.up(VDS, "first", { virtualDiskName: "db-root" });
      assert.equal(first.outputs.phase, "Ready");
      // The connection the first wait used breaks after its waiter left, before the next one arrives.
      at.cluster.emulator.faults.cutAllWatchesNow();
      await providerSawWatchesEnd();
      const second = await at.stack.up(VDS, "second", { virtualDiskName: "db-data", waitTimeoutSeconds: 5 });
      assert.equal(second.outputs.phase, "Ready");
      return finish(at.stack, at.cluster.store, { platform: "deckhouse" });
    },
  );

  scenario(
    "410 Gone on every watch reconnect during the wait",
    "the wait relists, sees the terminal phase and returns Ready",
    async () => {
      at.cluster.emulator.faults.cutWatchesAfter({ events: 1 });
      at.cluster.emulator.faults.goneOnNextWatch(4);
      const { outputs } = await at.stack.up(VMS, "gone", { virtualMachineName: "db" });
      assert.equal(outputs.phase, "Ready");
      assert.ok(at.cluster.emulator.requests.count({ verb: "list" }) >= 1, "relisted after 410 Gone");
      return finish(at.stack, at.cluster.store, { platform: "deckhouse" });
    },
  );

  scenario(
    "API answers 429 with Retry-After: 1 to the create",
    "the create waits as asked, then succeeds once, and the snapshot is Ready",
    async () => {
      at.cluster.emulator.faults.throttle({ count: 1, retryAfterSeconds: 1, match: { verb: "create" } });
      const { outputs } = await at.stack.up(VDS, "throttled", { virtualDiskName: "db-root" });
      assert.equal(outputs.phase, "Ready");
      const [refused, accepted] = at.cluster.emulator.requests.all({ verb: "create" });
      assert.equal(refused.code, 429);
      assert.equal(accepted.code, 201);
      assert.ok(accepted.time - refused.time >= 1000, "retried no sooner than Retry-After");
      return finish(at.stack, at.cluster.store, { platform: "deckhouse" });
    },
  );

  scenario(
    "Bursts of 500 and 503 on the create, the watch and the reads",
    "each request is retried with back-off and the snapshot is Ready, created once",
    async () => {
      const { faults } = at.cluster.emulator;
      faults.failNext({ count: 2, code: 503, match: { verb: "create" } });
      faults.failNext({ count: 3, code: 500, match: { verb: "watch" } });
      faults.cutWatchesAfter({ events: 2 });
      const { outputs } = await at.stack.up(VMS, "bursts", { virtualMachineName: "db" });
      assert.equal(outputs.phase, "Ready");
      assert.equal(at.cluster.emulator.requests.count({ verb: "create", code: 503 }), 2);
      assert.equal(at.cluster.emulator.requests.count({ verb: "watch", code: 500 }), 3);
      return finish(at.stack, at.cluster.store, { platform: "deckhouse" });
    },
  );

  scenario(
    "API answers 503 to every create of two resources at once",
    "each gives up after 6 attempts with HTTP 503 named; the retries are jittered apart; nothing is created",
    async () => {
      at.cluster.emulator.faults.failNext({ count: 100, code: 503, match: { verb: "create" } });
      const started = Date.now();
      const [a, b] = await Promise.all([
        at.stack.upFails(VDS, "jitter-a", { virtualDiskName: "db-root", namespace: `${at.ns}-a` }),
        at.stack.upFails(VDS, "jitter-b", { virtualDiskName: "db-root", namespace: `${at.ns}-b` }),
      ]);
      const elapsed = Date.now() - started;
      assert.match(
        a.message,
        /Cannot create VirtualDiskSnapshot api-\d+-a\/jitter-a-\w+: HTTP 503 ServiceUnavailable/,
      );
      assert.match(
        b.message,
        /Cannot create VirtualDiskSnapshot api-\d+-b\/jitter-b-\w+: HTTP 503 ServiceUnavailable/,
      );
      const times = (namespace: string) =>
        at.cluster.emulator.requests
          .all({ verb: "create", pathIncludes: `/namespaces/${namespace}/` })
          .map((r) => r.time);
      const [ta, tb] = [times(`${at.ns}-a`), times(`${at.ns}-b`)];
      assert.equal(ta.length, 6, "bounded: 6 attempts");
      assert.equal(tb.length, 6, "bounded: 6 attempts");
      // Full jitter: each pause is at most the exponential cap (200 ms doubling), and two clients drift apart.
      const caps = [200, 400, 800, 1600, 3200];
      for (const t of [ta, tb]) {
        t.slice(1).forEach((time, i) =>
          assert.ok(time - t[i] <= caps[i] + 300, `pause ${i + 1} within its cap`),
        );
      }
      assert.ok(
        ta.some((time, i) => Math.abs(time - tb[i]) > 20),
        "the two resources retried at the same moments",
      );
      assert.ok(elapsed < 8000, `gave up after ${elapsed} ms`);
      return finish(at.stack, at.cluster.store, { platform: "deckhouse" });
    },
  );

  scenario(
    "API server down for 3 s and restarted while the snapshot becomes Ready",
    "the wait reconnects and returns Ready: the terminal event during the outage is not missed",
    async () => {
      const hang = { [KnobAnnotation.Hang]: "InProgress" };
      const up = withProgress(() =>
        at.stack.up(VMS, "outage", { virtualMachineName: "db", name: "outage", annotations: hang }),
      );
      const held = await waitFor(
        at.cluster.store,
        VirtualMachineSnapshot,
        at.ns,
        "outage",
        inPhase("InProgress"),
      );
      const restarted = at.cluster.emulator.restart({ downForMs: 3000 });
      // While the API server is down the controller finishes the snapshot.
      const { [KnobAnnotation.Hang]: _released, ...annotations } = held!.metadata.annotations!;
      at.cluster.store.update(VirtualMachineSnapshot, {
        ...held!,
        metadata: { ...held!.metadata, annotations },
      });
      await waitFor(at.cluster.store, VirtualMachineSnapshot, at.ns, "outage", inPhase("Ready"));
      await restarted;
      const { result, error, lines } = await up;
      assert.equal(error, undefined, String(error));
      assert.equal(result!.outputs.phase, "Ready");
      assert.match(lines.at(-1)!, /outage: Ready/);
      return finish(at.stack, at.cluster.store, { platform: "deckhouse" });
    },
  );
});
