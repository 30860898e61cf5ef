// What the KubeVirt simulator's own tests share: a simulation per test, and the states they wait for.
import assert from "node:assert/strict";
import type { KubeObject, ObjectStore } from "../../emulator/store";
import type { KubeVirtControllerOptions } from "./index";
import { simulate, type Simulation } from "./simulation";

type Options = Omit<KubeVirtControllerOptions, "onError">;

/** The simulation of the test that runs. */
export interface SimulationPerTest {
  readonly store: ObjectStore;
  /** Replaces this test's simulation with one started with other options. */
  restart(opts: Options): void;
}

/** Stops the simulation; a reconcile that failed on the way is a simulator bug, so it fails the test. */
function finish(sim: Simulation) {
  sim.stop();
  assert.deepEqual(sim.errors, []);
}

/** A fresh simulation for each test of the enclosing `describe`, finished after it. */
export function simulationPerTest(opts: Options = {}): SimulationPerTest {
  let current: Simulation | undefined;
  beforeEach(() => (current = simulate(opts)));
  afterEach(() => current && finish(current));
  const live = () => current ?? assert.fail("the simulation runs only while a test does");
  return {
    get store() {
      return live().store;
    },
    restart(other) {
      finish(live());
      current = simulate(other);
    },
  };
}

/** Each condition's type with "<status> <reason>", to compare an object's conditions at once. */
export const reasons = (o: KubeObject | undefined): Record<string, string> =>
  Object.fromEntries(
    (o?.status?.conditions ?? []).map((c: { type: string; status: string; reason: string }) => [
      c.type,
      `${c.status} ${c.reason}`,
    ]),
  );

/** A predicate: the VM reports ready (it runs, its VMI is up). */
export const vmReady = (vm: KubeObject | undefined) => vm?.status?.ready === true;

/** A predicate: the VM shows this printableStatus (Stopped, Running...). */
export const printableStatusIs = (status: string) => (vm: KubeObject | undefined) =>
  vm?.status?.printableStatus === status;

/** A predicate: the snapshot (or VolumeSnapshot) is ready to use. */
export const readyToUse = (o: KubeObject | undefined) => o?.status?.readyToUse === true;
