// The platform fails an object (Deckhouse phase Failed, KubeVirt's Failure condition): the error reaches the user
// within a second of the change, with the platform's reason and message and the object's namespace/name, and the
// failed object is deleted, so the cluster again holds exactly the state.
import assert from "node:assert/strict";
import { VirtualMachineOperation, VirtualMachineSnapshot } from "../emulator/kinds/deckhouse";
import { KubeVirtVirtualMachineRestore } from "../emulator/kinds/kubevirt";
import type { KubeObject, ObjectStore, ResourceType } from "../emulator/store";
import { withProgress } from "../fixtures/progress";
import { KnobAnnotation } from "../simulators/knobs";
import { inPhase, waitFor } from "../simulators/waitFor";
import { deckhouseScenarios, kubevirtScenarios } from "./clusters";
import { finish } from "./consistency";
import { scenario } from "./summary";

/** Resolves with the moment the object first shows `failed` (a store event, so the moment it was written). */
function failedAt(
  store: ObjectStore,
  type: ResourceType,
  ns: string,
  name: string,
  failed: (o: KubeObject | undefined) => boolean,
): Promise<number> {
  return waitFor(store, type, ns, name, failed, 10_000).then(() => Date.now());
}

/** Runs `up`, which must fail; resolves with its error and when the user got it. */
async function failingUp(
  up: () => Promise<unknown>,
): Promise<{ error: Error; when: number; lines: string[] }> {
  const { error, lines } = await withProgress(up);
  assert.ok(error, "up should have failed");
  return { error, when: Date.now(), lines };
}

describe("faults: the platform fails the object", function () {
  describe("on Deckhouse", () => {
    const at = deckhouseScenarios("failures");

    scenario(
      "Deckhouse sets a VM snapshot Failed",
      "error within 1 s of the phase change, naming namespace/name, the platform's reason and message; the failed object is deleted",
      async () => {
        const fail = { [KnobAnnotation.Fail]: "VolumeSnapshotFailed: the CSI driver lost volume pvc-7f3a" };
        const failed = failedAt(at.cluster.store, VirtualMachineSnapshot, at.ns, "broken", inPhase("Failed"));
        const { error, when, lines } = await failingUp(() =>
          at.stack.up("deckhouse:VirtualMachineSnapshot", "broken", {
            virtualMachineName: "db",
            name: "broken",
            annotations: fail,
          }),
        );
        assert.ok(
          when - (await failed) < 1000,
          `the error came ${when - (await failed)} ms after the phase change`,
        );
        assert.match(
          error.message,
          /VirtualMachineSnapshot failures-\d+\/broken failed: VolumeSnapshotFailed: the CSI driver lost volume pvc-7f3a/,
        );
        assert.ok(
          lines.some((l) => /broken: Failed \(VolumeSnapshotFailed/.test(l)),
          lines.join("\n"),
        );
        assert.equal(at.stack.all().length, 0, "nothing is kept in the state");
        return finish(at.stack, at.cluster.store, { platform: "deckhouse" });
      },
    );

    scenario(
      "Deckhouse fails an in-place restore (VirtualMachineOperation Failed)",
      "error within 1 s of the phase change with the operation's reason and message; the snapshot stays, the failed record is deleted",
      async () => {
        const snapshot = await at.stack.up("deckhouse:VirtualMachineSnapshot", "before-change", {
          virtualMachineName: "db",
          name: "before-change",
        });
        assert.equal(snapshot.outputs.phase, "Ready");
        const fail = { [KnobAnnotation.Fail]: "RestoreFailed: the disk db-data is attached to another VM" };
        const failed = failedAt(
          at.cluster.store,
          VirtualMachineOperation,
          at.ns,
          "rollback",
          inPhase("Failed"),
        );
        const { error, when } = await failingUp(() =>
          at.stack.up("deckhouse:VirtualMachineRestore", "rollback", {
            virtualMachineSnapshotName: "before-change",
            name: "rollback",
            annotations: fail,
          }),
        );
        assert.ok(
          when - (await failed) < 1000,
          `the error came ${when - (await failed)} ms after the phase change`,
        );
        assert.match(
          error.message,
          /VirtualMachineOperation failures-\d+\/rollback failed: RestoreFailed: the disk db-data is attached to another VM/,
        );
        return finish(at.stack, at.cluster.store, { platform: "deckhouse" });
      },
    );
  });

  describe("on KubeVirt", () => {
    const at = kubevirtScenarios("failures");

    scenario(
      "KubeVirt sets the Failure condition on a restore (target VM running, FailImmediate)",
      "error within 1 s of the condition, with KubeVirt's text, namespace/name and what to change; the failed restore is deleted",
      async () => {
        const snapshot = await at.stack.up("kubevirt:VirtualMachineSnapshot", "db-snap", {
          virtualMachineName: "db",
          name: "db-snap",
        });
        assert.equal(snapshot.outputs.readyToUse, true);
        const failure = (o: KubeObject | undefined) =>
          !!o?.status?.conditions?.some((c: any) => c.type === "Failure" && c.status === "True");
        const failed = failedAt(at.cluster.store, KubeVirtVirtualMachineRestore, at.ns, "api-undo", failure);
        const { error, when } = await failingUp(() =>
          at.stack.up("kubevirt:VirtualMachineRestore", "api-undo", {
            virtualMachineSnapshotName: "db-snap",
            targetName: "db",
            name: "api-undo",
            targetReadinessPolicy: "FailImmediate",
          }),
        );
        assert.ok(
          when - (await failed) < 1000,
          `the error came ${when - (await failed)} ms after the condition`,
        );
        assert.match(
          error.message,
          /VirtualMachineRestore failures-\d+\/api-undo failed: Failure: Restore target VMI must be powered off before restore operation \(targetReadinessPolicy is FailImmediate: stop VirtualMachine failures-\d+\/db first/,
        );
        return finish(at.stack, at.cluster.store, { platform: "kubevirt" });
      },
    );
  });
});
