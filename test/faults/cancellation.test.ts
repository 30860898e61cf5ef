// Stopping a run: Ctrl-C sends SIGINT to Pulumi's dynamic-provider host, whose waits must stop at once and answer
// the engine with what exists, so the state stays consistent and the next run continues. SIGINT is played on the
// real host; the moments a signal cannot be timed from outside (mid-request, mid-delete) through cancelAll(), which
// is what the provider's SIGINT handler calls.
import assert from "node:assert/strict";
import { cancelAll } from "../../provider/runtime";
import { packageEnv } from "../examples/packageEnv";
import { VirtualDiskSnapshot } from "../emulator/kinds/deckhouse";
import { collectionOf, type ObjectStore } from "../emulator/store";
import { RpcError } from "../host/driver";
import type { Host, Properties } from "../host/driver";
import { startEngine, type Engine } from "../host/engine";
import { kill, runningInGroup } from "../host/processes";
import { KnobAnnotation } from "../simulators/knobs";
import { inPhase, waitFor } from "../simulators/waitFor";
import { deckhouseScenarios } from "./clusters";
import { assertClusterMatchesState, finish } from "./consistency";
import { projectDir, providerTexts } from "./program";
import { inProcessEngine } from "./inProcessHost";
import { FaultStack } from "./stack";
import { scenario } from "./summary";
import { until } from "./until";

const VDS = "deckhouse:VirtualDiskSnapshot";

/** Resolves when the provider prints a progress line containing `text` (it prints with console.log). */
function progressLine(text: string): Promise<void> {
  const original = console.log;
  return new Promise((resolve) => {
    console.log = (...args: unknown[]) => {
      original(...args);
      if (args.map(String).join(" ").includes(text)) {
        console.log = original;
        resolve();
      }
    };
  });
}

/** Lets the held snapshot's finalizer go, as its controller would once it recovered. */
function release(at: { cluster: { store: ObjectStore }; ns: string }, name: string) {
  const o = at.cluster.store.get(VirtualDiskSnapshot, at.ns, name)!;
  const {
    [KnobAnnotation.HoldDeletion]: _held,
    [KnobAnnotation.Hang]: _hang,
    ...annotations
  } = o.metadata.annotations ?? {};
  at.cluster.store.update(VirtualDiskSnapshot, { ...o, metadata: { ...o.metadata, annotations } });
}

describe("faults: cancellation", function () {
  const at = deckhouseScenarios("cancel");

  describe("through the real dynamic-provider host", function () {
    this.timeout(60_000);
    let texts: (type: string) => string;
    let engine: Engine | undefined;

    before(async () => (texts = await providerTexts("dev")));
    after(async () => engine?.host.stop());

    /** The host the next RPC goes to: the running one, or a new one (a new `pulumi up`) after one ended. */
    async function running(): Promise<Engine> {
      engine ??= await startEngine({ cwd: projectDir, env: packageEnv() });
      return engine;
    }

    /** Ctrl-C: the terminal sends SIGINT to the host's process group; the next run starts a new host. */
    function interrupt(): Host {
      const host = engine!.host;
      engine = undefined;
      kill(-host.pid, "SIGINT");
      return host;
    }

    /**
     * Starts `up` (through the host) of a disk snapshot its controller leaves InProgress; returns once the provider
     * reports it waiting, with the stack and the pending `up`.
     */
    async function whileCreateWaits<T>(
      up: (stack: FaultStack, args: Properties) => Promise<T>,
    ): Promise<{ stack: FaultStack; up: Promise<T> }> {
      const stack = new FaultStack(
        await running(),
        { kubeconfig: at.cluster.kubeconfig, namespace: at.ns },
        texts,
      );
      const pending = up(stack, {
        virtualDiskName: "db-root",
        name: "slow",
        annotations: { [KnobAnnotation.Hang]: "InProgress" },
      });
      await stack.engine.host.waitForLine(`${at.ns}/slow: InProgress`, 10_000);
      return { stack, up: pending };
    }

    scenario(
      "The engine's Cancel RPC while a create waits (no signal)",
      "acknowledged by the host, but the wait goes on and ends normally (Pulumi's Node host ignores Cancel; Ctrl-C's SIGINT is what stops waits)",
      async () => {
        const { stack, up } = await whileCreateWaits((stack, args) => stack.up(VDS, "slow", args));
        await stack.engine.host.cancel();
        release(at, "slow");
        const { outputs } = await up;
        assert.equal(outputs.phase, "Ready");
        return finish(stack, at.cluster.store, { platform: "deckhouse" });
      },
    );

    scenario(
      "Ctrl-C (SIGINT to the host) while a create waits, then the next up",
      "the create answers within 1 s with a partial failure carrying the id, so the state holds the object; the next up finishes it",
      async () => {
        const { stack, up } = await whileCreateWaits((stack, args) => stack.upFails(VDS, "slow", args));
        const sent = Date.now();
        const host = interrupt();
        const failure = await up;
        assert.ok(Date.now() - sent < 1000, `answered ${Date.now() - sent} ms after SIGINT`);
        assert.equal(failure.state?.id, `${at.ns}/slow`);
        assert.match(
          failure.message,
          new RegExp(`waiting for VirtualDiskSnapshot ${at.ns}/slow was cancelled; it is kept in the stack`),
        );
        // The host exits by itself a second later, as Ctrl-C asked.
        await until(() => runningInGroup(host.pid).length === 0, "the host exited after SIGINT", 5000);
        await host.stop();
        assertClusterMatchesState(stack, at.cluster.store, { platform: "deckhouse" });

        // The next `pulumi up` of the same project: the same provider code, run in this process.
        stack.engine = await inProcessEngine("test", stack.engine.host.project);
        const next = await stack.up(VDS, "slow", { virtualDiskName: "db-root", name: "slow" });
        assert.equal(next.outputs.phase, "Ready");
        return finish(stack, at.cluster.store, { platform: "deckhouse" });
      },
    );
  });

  scenario(
    "Cancelled (as by SIGINT) while a destroy waits for a finalizer, then the next destroy",
    "the delete stops at once with an error naming the object; it stays in the state while it is in the cluster; the next destroy removes it",
    async () => {
      await at.stack.up(VDS, "held", {
        virtualDiskName: "db-root",
        name: "held",
        annotations: { [KnobAnnotation.HoldDeletion]: "true" },
      });
      const waiting = progressLine(`${at.ns}/held: deleting (finalizers`);
      const destroy = at.stack.destroy(VDS, "held").then(
        () => assert.fail("the destroy should have been stopped"),
        (e: unknown) => e,
      );
      await waiting;
      const sent = Date.now();
      cancelAll("cancelled by SIGINT");
      const error = await destroy;
      assert.ok(Date.now() - sent < 1000, `answered ${Date.now() - sent} ms after the signal`);
      assert.ok(error instanceof RpcError, String(error));
      assert.ok(at.stack.state(VDS, "held"), "a stopped delete keeps the resource in the state");
      assertClusterMatchesState(at.stack, at.cluster.store, { platform: "deckhouse" });
      release(at, "held");
      const left = await finish(at.stack, at.cluster.store, { platform: "deckhouse" });
      assert.match(
        error.details,
        new RegExp(`VirtualDiskSnapshot ${at.ns}/held`),
        "the error names the object",
      );
      return left;
    },
  );

  scenario(
    "Cancelled while the create request is in flight (the API server stores the object, the answer is lost)",
    "the create answers with a partial failure carrying the id, so the object the server stored is in the state, not orphaned",
    async () => {
      const { store } = at.cluster;
      const collection = collectionOf(VirtualDiskSnapshot);
      // SIGINT lands after the server stored the object and before its answer reached the provider.
      const stop = store.subscribe((e) => {
        if (e.type === "ADDED" && e.collection === collection && e.object.metadata.name === "inflight") {
          cancelAll("cancelled by SIGINT");
        }
      });
      try {
        await at.stack.upFails(VDS, "inflight", { virtualDiskName: "db-root", name: "inflight" });
      } finally {
        stop();
      }
      await waitFor(store, VirtualDiskSnapshot, at.ns, "inflight", inPhase("Ready"));
      return finish(at.stack, store, { platform: "deckhouse" });
    },
  );
});
