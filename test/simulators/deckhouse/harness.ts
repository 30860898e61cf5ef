// Test harness: a fresh store with the Deckhouse simulator running; stop() fails the test if a reconcile threw.
import { ObjectStore } from "../../emulator/store";
import { startDeckhouseController, type DeckhouseController, type DeckhouseControllerOptions } from "./index";

export interface Harness {
  store: ObjectStore;
  controller: DeckhouseController;
  stop(): void;
}

export function startHarness(opts: DeckhouseControllerOptions = {}): Harness {
  const store = new ObjectStore();
  const errors: unknown[] = [];
  const controller = startDeckhouseController(store, { onError: (e) => errors.push(e), ...opts });
  return {
    store,
    controller,
    stop() {
      controller.stop();
      if (errors.length) throw errors[0];
    },
  };
}
