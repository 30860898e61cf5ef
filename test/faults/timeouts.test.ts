// Waits that run out: on create, on delete (finalizers still present), on restore, and on a replacement. After a
// timeout the object is in the state exactly when it is in the cluster, and the next run continues with it.
import assert from "node:assert/strict";
import {
  VirtualDiskSnapshot,
  VirtualMachineOperation,
  VirtualMachineSnapshot,
} from "../emulator/kinds/deckhouse";
import { KubeVirtVirtualMachineSnapshot } from "../emulator/kinds/kubevirt";
import type { ObjectStore, ResourceType } from "../emulator/store";
import { RpcError, type Properties } from "../host/driver";
import { KnobAnnotation } from "../simulators/knobs";
import { deckhouseScenarios, kubevirtScenarios } from "./clusters";
import { assertClusterMatchesState, finish } from "./consistency";
import type { FaultStack } from "./stack";
import { scenario } from "./summary";

const VDS = "deckhouse:VirtualDiskSnapshot";
const VMS = "deckhouse:VirtualMachineSnapshot";
const VMR = "deckhouse:VirtualMachineRestore";
const KV_VMS = "kubevirt:VirtualMachineSnapshot";

const count = (store: ObjectStore, type: ResourceType, ns: string) => store.list(type, ns).items.length;

/** Removes a knob from an object in the cluster, as if the controller got unstuck. */
function release(store: ObjectStore, type: ResourceType, ns: string, name: string, knob: string) {
  const o = store.get(type, ns, name)!;
  const { [knob]: _released, ...annotations } = o.metadata.annotations ?? {};
  store.update(type, { ...o, metadata: { ...o.metadata, annotations } });
}

/** `up` of an object its controller leaves InProgress, waiting 1 s for it: fails with `message`. */
async function upTimesOut(
  stack: FaultStack,
  kind: string,
  name: string,
  args: Properties,
  message: RegExp,
): Promise<void> {
  const failure = await stack.upFails(kind, name, {
    ...args,
    annotations: { [KnobAnnotation.Hang]: "InProgress" },
    waitTimeoutSeconds: 1,
  });
  assert.match(failure.message, message);
}

describe("faults: waits that time out", function () {
  describe("on Deckhouse", () => {
    const at = deckhouseScenarios("timeouts");

    scenario(
      "Create times out (waitTimeoutSeconds 1, disk snapshot stuck InProgress), then the next up",
      "partial failure keeps the object in the state with its id; the next up updates it to Ready, no duplicate",
      async () => {
        const args = { virtualDiskName: "db-root" };
        await upTimesOut(
          at.stack,
          VDS,
          "slow",
          args,
          /VirtualDiskSnapshot timeouts-\d+\/slow-\w+ is still InProgress after 1s .*it is kept in the stack and the next "pulumi up" resumes waiting/,
        );
        const kept = at.stack.state(VDS, "slow")!;
        assert.deepEqual(kept.initErrors?.length, 1);
        assertClusterMatchesState(at.stack, at.cluster.store, { platform: "deckhouse" });

        const next = await at.stack.up(VDS, "slow", args);
        assert.equal(next.id, kept.id);
        assert.equal(next.outputs.phase, "Ready");
        assert.deepEqual(at.stack.engine.sentFor(at.stack.urn(VDS, "slow")).slice(-3), [
          "Check",
          "Diff",
          "Update",
        ]);
        assert.equal(count(at.cluster.store, VirtualDiskSnapshot, at.ns), 1);
        return finish(at.stack, at.cluster.store, { platform: "deckhouse" });
      },
    );

    scenario(
      "Restore times out (VirtualMachineOperation stuck InProgress), then the next up",
      "partial failure keeps the operation in the state; the next up waits for the same one until Completed, no second restore",
      async () => {
        await at.stack.up(VMS, "before-change", { virtualMachineName: "db" });
        const args = { virtualMachineSnapshotName: at.stack.state(VMS, "before-change")!.outputs.name };
        await upTimesOut(
          at.stack,
          VMR,
          "rollback",
          args,
          /VirtualMachineOperation timeouts-\d+\/rollback-\w+ is still InProgress after 1s/,
        );
        assert.equal(at.stack.state(VMR, "rollback")!.outputs.apiKind, "VirtualMachineOperation");
        assertClusterMatchesState(at.stack, at.cluster.store, { platform: "deckhouse" });

        const next = await at.stack.up(VMR, "rollback", args);
        assert.equal(next.outputs.phase, "Completed");
        assert.equal(count(at.cluster.store, VirtualMachineOperation, at.ns), 1);
        return finish(at.stack, at.cluster.store, { platform: "deckhouse" });
      },
    );

    scenario(
      "Restore of a snapshot that never becomes Ready",
      "times out before creating anything, naming the snapshot and its phase; the snapshot's own partial failure stays in the state",
      async () => {
        const stuck = { virtualMachineName: "db", name: "stuck" };
        await upTimesOut(at.stack, VMS, "stuck", stuck, /is still InProgress after 1s/);
        const failure = await at.stack.upFails(VMR, "from-stuck", {
          virtualMachineSnapshotName: "stuck",
          waitTimeoutSeconds: 1,
        });
        assert.match(
          failure.message,
          /VirtualMachineSnapshot timeouts-\d+\/stuck is still InProgress after 1s; a restore needs a Ready snapshot/,
        );
        assert.equal(count(at.cluster.store, VirtualMachineOperation, at.ns), 0);
        return finish(at.stack, at.cluster.store, { platform: "deckhouse" });
      },
    );

    scenario(
      "Replacement (create before delete) times out on the new snapshot, then the next up",
      "the new object is kept with its id and the old one stays pending delete; the next up finishes both",
      async () => {
        const old = await at.stack.up(VMS, "nightly", {
          virtualMachineName: "db",
          triggers: { version: "1" },
        });
        const changed = { virtualMachineName: "db", triggers: { version: "2" } };
        await upTimesOut(at.stack, VMS, "nightly", changed, /is still InProgress after 1s/);
        assert.equal(at.stack.pendingDeletes[0]?.id, old.id, "the old snapshot is still to delete");
        assert.notEqual(at.stack.state(VMS, "nightly")!.id, old.id);
        assertClusterMatchesState(at.stack, at.cluster.store, { platform: "deckhouse" });

        const next = await at.stack.up(VMS, "nightly", changed);
        assert.equal(next.outputs.phase, "Ready");
        assert.equal(at.stack.pendingDeletes.length, 0);
        assert.deepEqual(
          at.cluster.store
            .list(VirtualMachineSnapshot, at.ns)
            .items.map((o) => `${at.ns}/${o.metadata.name}`),
          [next.id],
        );
        return finish(at.stack, at.cluster.store, { platform: "deckhouse" });
      },
    );
  });

  describe("on KubeVirt", () => {
    const at = kubevirtScenarios("timeouts");

    scenario(
      "Delete times out (deleteTimeoutSeconds 1) on a VM snapshot whose finalizer stays, then the next destroy",
      "the error names the finalizer still present; the snapshot stays in the state while it is in the cluster; the next destroy removes it",
      async () => {
        const { outputs } = await at.stack.up(KV_VMS, "held", {
          virtualMachineName: "db",
          name: "held",
          annotations: { [KnobAnnotation.HoldDeletion]: "true" },
          deleteTimeoutSeconds: 1,
        });
        assert.equal(outputs.readyToUse, true);
        const error = await at.stack.destroy(KV_VMS, "held").then(
          () => assert.fail("destroy should have timed out"),
          (e: unknown) => e,
        );
        assert.ok(error instanceof RpcError, String(error));
        assert.match(
          error.details,
          /^VirtualMachineSnapshot timeouts-\d+\/held is still being deleted after 1s: finalizers "snapshot.kubevirt.io\/vmsnapshot-protection" are still present/,
        );
        assert.ok(at.stack.state(KV_VMS, "held"), "a failed delete keeps the resource in the state");
        assertClusterMatchesState(at.stack, at.cluster.store, { platform: "kubevirt" });

        release(at.cluster.store, KubeVirtVirtualMachineSnapshot, at.ns, "held", KnobAnnotation.HoldDeletion);
        return finish(at.stack, at.cluster.store, { platform: "kubevirt" });
      },
    );
  });
});
