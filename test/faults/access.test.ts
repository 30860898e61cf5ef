// The cluster cannot be used as asked: it does not serve the kind (module or CRD missing), RBAC forbids a verb, it
// cannot be reached, or the kubeconfig is wrong. Each ends in one clear error within a bounded time, and the state
// holds exactly what was created before it.
import assert from "node:assert/strict";
import * as net from "node:net";
import { disconnectAll } from "../../provider/kube/cluster";
import { forgetDiscovery } from "../../provider/kube/objects";
import { startEmulator, StatusError, type Emulator } from "../emulator";
import { VolumeSnapshot } from "../emulator/kinds/core";
import { profile } from "../emulator/kinds/profiles";
import { CheckFailed, type UpFailed } from "../host/engine";
import { RpcError } from "../host/driver";
import { KnobAnnotation } from "../simulators/knobs";
import { deckhouseScenarios, kubevirtScenarios } from "./clusters";
import { finish } from "./consistency";
import { inProcessEngine } from "./inProcessHost";
import { FaultStack } from "./stack";
import { scenario } from "./summary";

const VDS = "deckhouse:VirtualDiskSnapshot";

/** What the engine shows for a failed create: the provider's message. */
const shown = (e: UpFailed) => e.message.replace(/^Create \S+: UNKNOWN: /, "");

const forbidden = (verb: string, resource: string, ns: string) =>
  new StatusError(
    403,
    "Forbidden",
    `${resource} is forbidden: User "ci" cannot ${verb} resource "${resource.split(".")[0]}" in API group ` +
      `"${resource.split(".").slice(1).join(".")}" in the namespace "${ns}"`,
    {},
  );

describe("faults: the cluster cannot be used as asked", function () {
  describe("a cluster without Deckhouse virtualization or KubeVirt", () => {
    let bare: Emulator;
    let stack: FaultStack;
    const ns = "bare";

    before(async () => (bare = await startEmulator({ types: profile("none") })));
    after(async () => {
      await disconnectAll();
      forgetDiscovery();
      await bare?.stop();
    });
    beforeEach(async () => {
      stack = new FaultStack(await inProcessEngine(), { kubeconfig: bare.kubeconfig, namespace: ns });
    });

    scenario(
      "Deckhouse virtualization module not enabled: a disk snapshot",
      "one sentence naming virtualization.deckhouse.io/v1alpha2 VirtualDiskSnapshot and the module to enable; nothing created",
      async () => {
        const failure = await stack.upFails(VDS, "root", { virtualDiskName: "db-root", name: "root" });
        assert.equal(
          shown(failure),
          "The cluster does not serve virtualization.deckhouse.io/v1alpha2 VirtualDiskSnapshot (resource " +
            'virtualdisksnapshots.virtualization.deckhouse.io): enable the Deckhouse "virtualization" module ' +
            "(or point kubeconfig/context at a cluster that has it).",
        );
        return finish(stack, bare.store, { platform: "deckhouse" });
      },
    );

    scenario(
      "Deckhouse virtualization module not enabled: a restore",
      "one sentence naming the virtualization.deckhouse.io kinds it looked for and the module to enable; nothing created",
      async () => {
        const failure = await stack.upFails("deckhouse:VirtualMachineRestore", "rollback", {
          virtualMachineSnapshotName: "before-change",
        });
        assert.match(shown(failure), /virtualization\.deckhouse\.io\/v1alpha2/);
        assert.match(shown(failure), /enable the Deckhouse "virtualization" module/);
        assert.equal(shown(failure).split(/\.\s+(?=[A-Z])/).length, 1, `one sentence: ${shown(failure)}`);
        return finish(stack, bare.store, { platform: "deckhouse" });
      },
    );

    scenario(
      "KubeVirt not installed: a VM snapshot",
      "one sentence naming snapshot.kubevirt.io/v1beta1 VirtualMachineSnapshot and what to install; nothing created",
      async () => {
        const failure = await stack.upFails("kubevirt:VirtualMachineSnapshot", "web", {
          virtualMachineName: "web",
        });
        assert.match(
          shown(failure),
          /^The cluster does not serve snapshot\.kubevirt\.io\/v1beta1 VirtualMachineSnapshot \(resource virtualmachinesnapshots\.snapshot\.kubevirt\.io\): install KubeVirt/,
        );
        return finish(stack, bare.store, { platform: "kubevirt" });
      },
    );
  });

  describe("a KubeVirt cluster without the CSI snapshot CRDs", () => {
    const at = kubevirtScenarios("no-csi");

    scenario(
      "CSI snapshot CRDs missing: a KubeVirt disk snapshot",
      "one sentence naming snapshot.storage.k8s.io/v1 VolumeSnapshot and what to install; nothing created",
      async () => {
        at.cluster.emulator.unserve(VolumeSnapshot);
        forgetDiscovery(); // a new `pulumi up` asks the cluster again
        try {
          const failure = await at.stack.upFails("kubevirt:VirtualDiskSnapshot", "root", {
            persistentVolumeClaimName: "db-root",
          });
          assert.match(
            shown(failure),
            /^The cluster does not serve snapshot\.storage\.k8s\.io\/v1 VolumeSnapshot \(resource volumesnapshots\.snapshot\.storage\.k8s\.io\): install the CSI snapshot CRDs/,
          );
        } finally {
          at.cluster.emulator.serve(VolumeSnapshot);
          forgetDiscovery();
        }
        return finish(at.stack, at.cluster.store, { platform: "kubevirt" });
      },
    );
  });

  describe("RBAC forbids a verb", () => {
    const at = deckhouseScenarios("rbac", 10);
    const resource = "virtualdisksnapshots.virtualization.deckhouse.io";

    scenario(
      "RBAC 403 on create",
      'names the verb, the resource and the namespace ("Grant "create" on ... in namespace ..."); nothing created',
      async () => {
        at.cluster.emulator.faults.rejectNext({
          error: forbidden("create", resource, at.ns),
          match: { verb: "create" },
        });
        const failure = await at.stack.upFails(VDS, "root", { virtualDiskName: "db-root", name: "root" });
        assert.match(
          shown(failure),
          new RegExp(
            `^Cannot create VirtualDiskSnapshot ${at.ns}/root: HTTP 403 Forbidden: .*Grant "create" on ${resource} in namespace "${at.ns}"`,
          ),
        );
        return finish(at.stack, at.cluster.store, { platform: "deckhouse" });
      },
    );

    scenario(
      "RBAC 403 on watch while the snapshot is waited for, then access is granted",
      "partial failure naming watch, resource and namespace keeps the object in the state; the next up continues to Ready",
      async () => {
        const { faults } = at.cluster.emulator;
        faults.rejectNext({
          count: 100,
          error: forbidden("watch", resource, at.ns),
          match: { verb: "watch" },
        });
        const failure = await at.stack.upFails(VDS, "root", {
          virtualDiskName: "db-root",
          name: "root",
          annotations: { [KnobAnnotation.PhaseDelayMs]: "200" },
        });
        assert.match(
          failure.message,
          new RegExp(
            `waiting for VirtualDiskSnapshot ${at.ns}/root failed: Cannot watch VirtualDiskSnapshot ${at.ns}/root: ` +
              `HTTP 403 Forbidden: .*Grant "watch" on ${resource} in namespace "${at.ns}"`,
          ),
        );
        assert.ok(at.stack.state(VDS, "root"), "the object is kept in the state");
        faults.reset();
        const next = await at.stack.up(VDS, "root", { virtualDiskName: "db-root", name: "root" });
        assert.equal(next.outputs.phase, "Ready");
        return finish(at.stack, at.cluster.store, { platform: "deckhouse" });
      },
    );

    scenario(
      "RBAC 403 on delete, then access is granted",
      "destroy fails naming delete, resource and namespace; the snapshot stays in the state; the next destroy removes it",
      async () => {
        await at.stack.up(VDS, "root", { virtualDiskName: "db-root", name: "root" });
        at.cluster.emulator.faults.rejectNext({
          error: forbidden("delete", resource, at.ns),
          match: { verb: "delete" },
        });
        const error = await at.stack.destroy(VDS, "root").then(
          () => assert.fail("destroy should have failed"),
          (e: unknown) => e,
        );
        assert.ok(error instanceof RpcError, String(error));
        assert.match(error.details, new RegExp(`Grant "delete" on ${resource} in namespace "${at.ns}"`));
        assert.ok(at.stack.state(VDS, "root"));
        return finish(at.stack, at.cluster.store, { platform: "deckhouse" });
      },
    );
  });

  describe("the cluster cannot be reached or the kubeconfig is wrong", () => {
    const at = deckhouseScenarios("reach", 10);

    /** The emulator's kubeconfig, pointing at another address. */
    const pointedAt = (url: string) => at.cluster.kubeconfig.replace(at.cluster.emulator.url, url);

    scenario(
      "Unreachable cluster (connection refused)",
      "error naming the server and ECONNREFUSED after a few bounded retries (under 8 s); nothing in the state",
      async () => {
        const port = await closedPort();
        const started = Date.now();
        const failure = await at.stack.upFails(VDS, "root", {
          virtualDiskName: "db-root",
          kubeconfig: pointedAt(`https://127.0.0.1:${port}`),
        });
        assert.ok(Date.now() - started < 8000, `failed after ${Date.now() - started} ms`);
        assert.match(
          shown(failure),
          new RegExp(
            `^Cannot create VirtualDiskSnapshot ${at.ns}/root-\\w+: the API server https://127.0.0.1:${port} is unreachable \\(ECONNREFUSED\\)`,
          ),
        );
        return finish(at.stack, at.cluster.store, { platform: "deckhouse" });
      },
    );

    scenario(
      "API server accepts connections but never answers (waitTimeoutSeconds 2)",
      "error naming the server within the wait timeout; nothing in the state (nothing got through the TLS handshake)",
      async () => {
        const blackhole = await startBlackhole();
        try {
          const started = Date.now();
          const up = at.stack.upFails(VDS, "root", {
            virtualDiskName: "db-root",
            name: "root",
            waitTimeoutSeconds: 2,
            kubeconfig: pointedAt(blackhole.url),
          });
          const failure = await Promise.race([up, deadline(6000, "the create still hangs after 6 s")]);
          assert.ok(Date.now() - started < 4000, `failed after ${Date.now() - started} ms`);
          assert.match(failure.message, new RegExp(blackhole.url.replace(/[.]/g, "\\.")));
          assert.equal(failure.state, undefined, "nothing got through the TLS handshake, so nothing is kept");
        } finally {
          await blackhole.stop();
        }
        return finish(at.stack, at.cluster.store, { platform: "deckhouse" });
      },
    );

    scenario(
      "Malformed kubeconfig (namespace set in the program)",
      "rejected at check (preview) on the kubeconfig property, without quoting it; nothing sent to a cluster",
      async () => {
        const token = at.cluster.emulator.token;
        const broken = `apiVersion: v1\nusers: [{ name: u, user: { token: ${token} }\ncontexts: [`;
        const failure = await at.stack.upFails(VDS, "root", {
          virtualDiskName: "db-root",
          kubeconfig: broken,
        });
        assert.ok(failure instanceof CheckFailed, `rejected at check, not ${failure.message}`);
        assert.equal(failure.failures[0].property, "kubeconfig");
        assert.match(
          failure.failures[0].reason,
          /^Cannot read the kubeconfig input: .+ Check that it is a valid kubeconfig\.$/,
        );
        assert.ok(!failure.message.includes(token), "the token is quoted");
        assert.deepEqual(at.stack.engine.sentFor(at.stack.urn(VDS, "root")), ["Check"]);
        return finish(at.stack, at.cluster.store, { platform: "deckhouse" });
      },
    );

    scenario(
      "Unknown kubeconfig context (namespace taken from the kubeconfig)",
      "rejected at check on the context property, listing the contexts the kubeconfig has",
      async () => {
        const failure = await at.stack.upFails(VDS, "root", {
          virtualDiskName: "db-root",
          namespace: undefined,
          context: "staging",
        });
        assert.ok(failure instanceof CheckFailed, `rejected at check, not ${failure.message}`);
        assert.deepEqual(failure.failures, [
          {
            property: "context",
            reason: 'Context "staging" is not in the kubeconfig input; it has "emulator".',
          },
        ]);
        return finish(at.stack, at.cluster.store, { platform: "deckhouse" });
      },
    );
  });
});

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A TCP server that accepts every connection and never sends a byte (a hung API server or proxy). */
async function startBlackhole(): Promise<{ url: string; stop(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function deadline(ms: number, what: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(what)), ms).unref());
}
