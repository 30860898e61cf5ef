// The cluster an example runs against: the API emulator with one platform's simulated controllers, and the
// store through which the program's own pulumi-kubernetes objects are created.
import { startEmulator, type Emulator } from "../emulator";
import { profile } from "../emulator/kinds/profiles";
import type { ObjectStore } from "../emulator/store";
import type { PhaseDelay } from "../simulators/knobs";
import { startDeckhouseController } from "../simulators/deckhouse";
import { startKubeVirtController } from "../simulators/kubevirt";
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
  const emulator = await startEmulator({ types: [], namespace: opts.namespace });
  // Served after start, so admission rules that look at other objects see this emulator's store.
  const kinds = profile(platform, emulator.store);
  kinds.forEach((kind) => emulator.serve(kind));
  const { phaseDelayMs } = opts;
  const controller =
    platform === "kubevirt"
      ? startKubeVirtController(emulator.store, { phaseDelayMs })
      : startDeckhouseController(emulator.store, { phaseDelayMs });
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
