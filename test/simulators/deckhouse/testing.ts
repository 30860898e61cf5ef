// What the Deckhouse simulator's own tests share: a harness per test with the steps most of them start from,
// and the checks they repeat.
import assert from "node:assert/strict";
import { VirtualDisk, VirtualMachine, VirtualMachineSnapshot } from "../../emulator/kinds/deckhouse";
import type { KubeObject, ObjectStore } from "../../emulator/store";
import { inPhase, waitFor } from "../waitFor";
import type { Condition } from "./conditions";
import { createVirtualMachine, createVirtualMachineSnapshot, type VirtualMachineFixture } from "./fixtures";
import { startHarness, type Harness } from "./harness";
import type { DeckhouseController, DeckhouseControllerOptions } from "./index";

export const ns = "default";

type VmPredicate = (vm: KubeObject | undefined) => boolean;

/** The harness of the test that runs, and steps on its store. */
export interface TestBench {
  readonly store: ObjectStore;
  readonly controller: DeckhouseController;
  /** Replaces this test's harness with one started with other options. */
  restart(opts: DeckhouseControllerOptions): void;
  /** Resolves with the VM once `predicate` holds for it. */
  untilVm(name: string, predicate: VmPredicate): Promise<KubeObject>;
  /** Resolves with the VM once it is in one of `phases`. */
  vmIn(name: string, ...phases: string[]): Promise<KubeObject>;
  /** Creates the VM (its disks first) and resolves with it once it is in `phase`. */
  createVmIn(phase: string, fixture: Omit<VirtualMachineFixture, "namespace">): Promise<KubeObject>;
  /** A VM in `phase` with its address, and a Ready snapshot "snap" of it; resolves with the snapshot. */
  vmWithReadySnapshot(
    phase: string,
    fixture: Omit<VirtualMachineFixture, "namespace">,
    snapshotSpec?: Record<string, unknown>,
  ): Promise<KubeObject>;
  /** Attaches `disk` to a second, stopped VM `vm` too, and waits until the disk reports both. */
  alsoAttachTo(vm: string, disk: string): Promise<void>;
}

/**
 * A fresh harness for each test of the enclosing `describe`, stopped after it; the stop fails the test if a
 * reconcile threw.
 */
export function harnessPerTest(opts: DeckhouseControllerOptions = {}): TestBench {
  let current: Harness | undefined;
  beforeEach(() => (current = startHarness(opts)));
  afterEach(() => current?.stop());
  const live = () => current ?? assert.fail("the harness runs only while a test does");
  const bench: TestBench = {
    get store() {
      return live().store;
    },
    get controller() {
      return live().controller;
    },
    restart(other) {
      live().stop();
      current = startHarness(other);
    },
    untilVm: (name, predicate) =>
      waitFor(bench.store, VirtualMachine, ns, name, predicate) as Promise<KubeObject>,
    vmIn: (name, ...phases) => bench.untilVm(name, inPhase(...phases)),
    async createVmIn(phase, fixture) {
      createVirtualMachine(bench.store, { namespace: ns, ...fixture });
      return bench.vmIn(fixture.name, phase);
    },
    async vmWithReadySnapshot(phase, fixture, snapshotSpec = {}) {
      createVirtualMachine(bench.store, { namespace: ns, ...fixture });
      await bench.untilVm(fixture.name, inPhaseWithAddress(phase));
      createVirtualMachineSnapshot(bench.store, { name: "snap", vm: fixture.name, spec: snapshotSpec });
      return (await waitFor(bench.store, VirtualMachineSnapshot, ns, "snap", inPhase("Ready"))) as KubeObject;
    },
    async alsoAttachTo(vm, disk) {
      createVirtualMachine(bench.store, { namespace: ns, name: vm, attach: [disk], running: false });
      const attachedToBoth = (d: KubeObject | undefined) =>
        d?.status?.attachedToVirtualMachines?.length === 2;
      await waitFor(bench.store, VirtualDisk, ns, disk, attachedToBoth);
    },
  };
  return bench;
}

/** A predicate: the VM is in one of `phases` and has its IP address. */
export const inPhaseWithAddress =
  (...phases: string[]): VmPredicate =>
  (vm) =>
    inPhase(...phases)(vm) && !!vm?.status?.ipAddress;

/** Checks the reason and message of a condition; a reason left out is not checked. */
export function assertCondition(
  condition: Condition | undefined,
  expected: { reason?: string; message: string },
): void {
  if (expected.reason !== undefined) assert.equal(condition?.reason, expected.reason);
  assert.equal(condition?.message, expected.message);
}
