// Test scaffolding: a fresh object store with the KubeVirt simulator running on it.
import { ObjectStore } from "../../emulator/store";
import { startKubeVirtController, type KubeVirtControllerOptions } from "./index";

export interface Simulation {
  store: ObjectStore;
  /** Unexpected reconcile failures; a test that ends with any has found a simulator bug. */
  errors: unknown[];
  stop(): void;
}

export function simulate(opts: Omit<KubeVirtControllerOptions, "onError"> = {}): Simulation {
  const store = new ObjectStore();
  const errors: unknown[] = [];
  const controller = startKubeVirtController(store, { ...opts, onError: (e) => errors.push(e) });
  return { store, errors, stop: () => controller.stop() };
}
