// The cluster an example runs against: the API emulator with one platform's simulated controllers, and the
// store through which the program's own pulumi-kubernetes objects are created.
import type { Emulator } from "../emulator";
import type { ObjectStore } from "../emulator/store";
import type { PhaseDelay } from "../simulators/knobs";
import { startSimulatedPlatform } from "../fixtures/cluster";
import { KubernetesObjects } from "./kubernetesObjects";

export type Platform = "deckhouse-v1.10" | "kubevirt";

export interface SimulatedCluster {
  emulator: Emulator;
  store: ObjectStore;
  kubernetes: KubernetesObjects;
  /** For a host or the Pulumi CLI: KUBECONFIG names the emulator's kubeconfig. */
  env: { KUBECONFIG: string };
  /** Stops the controllers and the emulator; safe to call twice. */
  stop(): Promise<void>;
}

export async function startSimulatedCluster(
  platform: Platform,
  opts: { phaseDelayMs?: PhaseDelay; namespace?: string } = {},
): Promise<SimulatedCluster> {
  const { emulator, kinds, controller } = await startSimulatedPlatform(platform, opts);
  let stopped: Promise<void> | undefined;
  return {
    emulator,
    store: emulator.store,
    kubernetes: new KubernetesObjects(emulator.store, kinds),
    env: { KUBECONFIG: emulator.kubeconfigPath },
    stop() {
      stopped ??= (async () => {
        controller.stop();
        await emulator.stop();
      })();
      return stopped;
    },
  };
}
