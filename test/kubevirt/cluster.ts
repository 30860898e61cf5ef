// The KubeVirt cluster the integration tests run against: the emulator serving the kubevirt profile
// (with the admission rules that look at other objects) and the simulated KubeVirt controllers.
import assert from "node:assert/strict";
import type { Lifecycle } from "../../provider/core/lifecycle";
import { connect, disconnectAll } from "../../provider/kube/cluster";
import { forgetDiscovery } from "../../provider/kube/objects";
import type { Emulator } from "../emulator";
import type { ObjectStore } from "../emulator/store";
import { startSimulatedPlatform, type SimulatedPlatformOptions } from "../fixtures/cluster";

export interface KubeVirtCluster {
  kubeconfig: string;
  emulator: Emulator;
  store: ObjectStore;
  /** Checked inputs as the engine sends them to create (with a provider text). */
  inputs(l: Lifecycle, news: Record<string, unknown>): Promise<Record<string, any>>;
  stop(): Promise<void>;
}

export interface KubeVirtClusterOptions extends Pick<
  SimulatedPlatformOptions,
  "phaseDelayMs" | "targetGracePeriodMs"
> {
  /** Serve snapshot.kubevirt.io only as v1alpha1, as KubeVirt before v1.3.0 does. */
  v1alpha1Only?: boolean;
}

export const namespace = "vms";

export async function kubevirtCluster(opts: KubeVirtClusterOptions = {}): Promise<KubeVirtCluster> {
  const errors: unknown[] = [];
  const { emulator, controller } = await startSimulatedPlatform("kubevirt", {
    phaseDelayMs: opts.phaseDelayMs,
    targetGracePeriodMs: opts.targetGracePeriodMs,
    onError: (e) => errors.push(e),
    serves: (kind) =>
      !(opts.v1alpha1Only && kind.group === "snapshot.kubevirt.io" && kind.version === "v1beta1"),
  });
  await connect({ kubeconfig: emulator.kubeconfig }); // loads the Kubernetes client once, outside the tests' time
  return {
    kubeconfig: emulator.kubeconfig,
    emulator,
    store: emulator.store,
    async inputs(l, news) {
      // Short waits, so a test that goes wrong fails with the provider's reason rather than mocha's timeout.
      const defaults = {
        kubeconfig: emulator.kubeconfig,
        namespace,
        waitTimeoutSeconds: 20,
        deleteTimeoutSeconds: 20,
      };
      const checked = await l.check({}, { ...defaults, ...news });
      assert.equal(checked.failures, undefined, JSON.stringify(checked.failures));
      return { ...checked.inputs!, __provider: "provider text" };
    },
    async stop() {
      controller.stop();
      await disconnectAll();
      forgetDiscovery();
      await emulator.stop();
      assert.deepEqual(errors, [], "the simulated controllers failed unexpectedly");
    },
  };
}
