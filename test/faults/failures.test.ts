// The platform fails an object (Deckhouse phase Failed, KubeVirt's Failure condition): the error reaches the user
// within a second of the change, with the platform's reason and message and the object's namespace/name, and the
// failed object is deleted, so the cluster again holds exactly the state.
import assert from "node:assert/strict";
import { VirtualMachineOperation, VirtualMachineSnapshot } from "../emulator/kinds/deckhouse";
import { KubeVirtVirtualMachineRestore } from "../emulator/kinds/kubevirt";
import type { KubeObject, ObjectStore, ResourceType } from "../emulator/store";
import type { Properties } from "../host/driver";
import { withProgress } from "../fixtures/progress";
import { KnobAnnotation } from "../simulators/knobs";
import { inPhase, waitFor } from "../simulators/waitFor";
import { deckhouseScenarios, kubevirtScenarios, type Scenarios } from "./clusters";
import { finish } from "./consistency";
import { scenario } from "./summary";

/** How a platform shows that it failed an object, and what the error must follow within a second. */
interface FailedSign {
  failed: (o: KubeObject | undefined) => boolean;
  /** That moment, as the timing assertion names it. */
  after: string;
}

const phaseFailed: FailedSign = { failed: inPhase("Failed"), after: "the phase change" };
const failureCondition: FailedSign = {
  failed: (o) => !!o?.status?.conditions?.some((c: any) => c.type === "Failure" && c.status === "True"),
  after: "the condition",
};

/** A `pulumi up` of `kind` `name` whose object (`type`, named `name` too) the platform fails. */
interface PlatformFailure {
  kind: string;
  name: string;
  args: Properties;
  type: ResourceType;
  sign: FailedSign;
  /** The error the user must get. */
  error: RegExp;
}

/**
 * Runs the `up`, which must fail with the expected error within 1 s of the moment the object showed the failure (a
 * store event, so the moment it was written); resolves with the progress lines the user saw.
 */
async function failsPromptly(
  at: Scenarios<{ store: ObjectStore }>,
  { kind, name, args, type, sign, error: expected }: PlatformFailure,
): Promise<string[]> {
  const failed = waitFor(at.cluster.store, type, at.ns, name, sign.failed, 10_000).then(() => Date.now());
  const { error, lines } = await withProgress(() => at.stack.up(kind, name, args));
  assert.ok(error, "up should have failed");
  const late = Date.now() - (await failed);
  assert.ok(late < 1000, `the error came ${late} ms after ${sign.after}`);
  assert.match(error.message, expected);
  return lines;
}

describe("faults: the platform fails the object", function () {
  describe("on Deckhouse", () => {
    const at = deckhouseScenarios("failures");

    scenario(
      "Deckhouse sets a VM snapshot Failed",
      "error within 1 s of the phase change, naming namespace/name, the platform's reason and message; the failed object is deleted",
      async () => {
        const lines = await failsPromptly(at, {
          kind: "deckhouse:VirtualMachineSnapshot",
          name: "broken",
          args: {
            virtualMachineName: "db",
            name: "broken",
            annotations: {
              [KnobAnnotation.Fail]: "VolumeSnapshotFailed: the CSI driver lost volume pvc-7f3a",
            },
          },
          type: VirtualMachineSnapshot,
          sign: phaseFailed,
          error:
            /VirtualMachineSnapshot failures-\d+\/broken failed: VolumeSnapshotFailed: the CSI driver lost volume pvc-7f3a/,
        });
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
        await failsPromptly(at, {
          kind: "deckhouse:VirtualMachineRestore",
          name: "rollback",
          args: {
            virtualMachineSnapshotName: "before-change",
            name: "rollback",
            annotations: {
              [KnobAnnotation.Fail]: "RestoreFailed: the disk db-data is attached to another VM",
            },
          },
          type: VirtualMachineOperation,
          sign: phaseFailed,
          error:
            /VirtualMachineOperation failures-\d+\/rollback failed: RestoreFailed: the disk db-data is attached to another VM/,
        });
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
        await failsPromptly(at, {
          kind: "kubevirt:VirtualMachineRestore",
          name: "api-undo",
          args: {
            virtualMachineSnapshotName: "db-snap",
            targetName: "db",
            name: "api-undo",
            targetReadinessPolicy: "FailImmediate",
          },
          type: KubeVirtVirtualMachineRestore,
          sign: failureCondition,
          error:
            /VirtualMachineRestore failures-\d+\/api-undo failed: Failure: Restore target VMI must be powered off before restore operation \(targetReadinessPolicy is FailImmediate: stop VirtualMachine failures-\d+\/db first/,
        });
        return finish(at.stack, at.cluster.store, { platform: "kubevirt" });
      },
    );
  });
});
