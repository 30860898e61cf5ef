// Create meets an object that already has the name (409 AlreadyExists): the provider continues with an object this
// resource made in an earlier run, and otherwise refuses with what exists and how to adopt it or rename, never
// writing to an object it does not own.
import assert from "node:assert/strict";
import { VirtualDiskSnapshot } from "../emulator/kinds/deckhouse";
import type { Emulator } from "../emulator";
import type { KubeObject } from "../emulator/store";
import { withProgress } from "../fixtures/progress";
import { deckhouseScenarios } from "./clusters";
import { assertClusterMatchesState, finish, objectLabel } from "./consistency";
import { inProcessEngine } from "./inProcessHost";
import { declared } from "./program";
import { FaultStack } from "./stack";
import { scenario } from "./summary";

const VDS = "deckhouse:VirtualDiskSnapshot";

/** Asserts the provider did not write to the object: the same labels, annotations and spec, no write request to it. */
function assertUntouched(emulator: Emulator, before: KubeObject) {
  const { name, namespace } = before.metadata;
  const now = emulator.store.get(VirtualDiskSnapshot, namespace, name!);
  const mine = (o: KubeObject | undefined) => ({
    labels: o?.metadata.labels,
    annotations: o?.metadata.annotations,
    deleting: !!o?.metadata.deletionTimestamp,
    spec: o?.spec,
  });
  assert.deepEqual(mine(now), mine(before), `${name} was changed`);
  const writes = emulator.requests
    .all()
    .filter(
      (r) =>
        r.path.endsWith(`/virtualdisksnapshots/${name}`) && ["patch", "update", "delete"].includes(r.verb),
    );
  assert.deepEqual(writes, [], `the provider wrote to ${name}, which it does not own`);
}

describe("faults: create finds an object of the same name", function () {
  const at = deckhouseScenarios("adopt", 10);

  /** An object someone made with kubectl: no provider annotation. */
  const someoneElses = (name: string, virtualDiskName = "db-root") =>
    at.cluster.store.create(VirtualDiskSnapshot, {
      metadata: { name, namespace: at.ns },
      spec: { virtualDiskName, requiredConsistency: true },
    });

  scenario(
    "Create finds the object this resource made in a run whose state was lost",
    "recognised by the provider's annotation and continued with: Ready, one object",
    async () => {
      await at.stack.up(VDS, "nightly", { virtualDiskName: "db-root", name: "kept" });
      // `pulumi up` was killed before it saved the state: the next run knows nothing of the object.
      const rerun = new FaultStack(at.stack.engine, { kubeconfig: at.cluster.kubeconfig, namespace: at.ns });
      const { result, lines } = await withProgress(() =>
        rerun.up(VDS, "nightly", { virtualDiskName: "db-root", name: "kept" }),
      );
      assert.equal(result?.outputs.phase, "Ready");
      assert.ok(
        lines.some((l) =>
          /adopt-\d+\/kept: already exists from an earlier attempt; continuing with it/.test(l),
        ),
        lines.join("\n"),
      );
      assert.equal(at.cluster.store.list(VirtualDiskSnapshot, at.ns).items.length, 1);
      return finish(rerun, at.cluster.store, { platform: "deckhouse" });
    },
  );

  scenario(
    "Create finds someone else's object of the same name",
    'refused: the error names the object and says to set "adopt: true" or choose another name; the object is untouched',
    async () => {
      const theirs = someoneElses("theirs");
      const failure = await at.stack.upFails(VDS, "mine", { virtualDiskName: "db-root", name: "theirs" });
      assert.match(
        failure.message,
        /VirtualDiskSnapshot adopt-\d+\/theirs already exists and was not created by this resource\. Set "adopt: true" to manage the existing object from this stack, or choose another name/,
      );
      assert.equal(at.stack.all().length, 0);
      assertUntouched(at.cluster.emulator, theirs);
      const foreign = [objectLabel(VirtualDiskSnapshot, at.ns, "theirs")];
      const left = await finish(at.stack, at.cluster.store, { platform: "deckhouse", foreign });
      assertUntouched(at.cluster.emulator, theirs);
      at.cluster.store.delete(VirtualDiskSnapshot, at.ns, "theirs");
      return left;
    },
  );

  scenario(
    "Create finds an object another resource of the same stack made (two resources, one fixed name)",
    "refused as someone else's; the other resource's object is untouched and stays in the state",
    async () => {
      await at.stack.up(VDS, "first", { virtualDiskName: "db-root", name: "shared" });
      const first = at.cluster.store.get(VirtualDiskSnapshot, at.ns, "shared")!;
      const failure = await at.stack.upFails(VDS, "second", { virtualDiskName: "db-root", name: "shared" });
      assert.match(
        failure.message,
        /VirtualDiskSnapshot adopt-\d+\/shared already exists and was not created by this resource/,
      );
      assertUntouched(at.cluster.emulator, first);
      return finish(at.stack, at.cluster.store, { platform: "deckhouse" });
    },
  );

  scenario(
    "Create finds an object the same resource name made in another stack (dev and prod, one namespace)",
    "refused as someone else's, so destroying one stack never deletes the other's snapshot",
    async function () {
      this.timeout(30_000); // the two stacks' programs run under mocks first
      const [dev, prod] = await Promise.all([declared("dev", VDS), declared("prod", VDS)]);
      const defaults = { kubeconfig: at.cluster.kubeconfig, namespace: at.ns };
      const devStack = new FaultStack(await inProcessEngine("dev"), defaults, () => dev.providerText);
      const prodStack = new FaultStack(await inProcessEngine("prod"), defaults, () => prod.providerText);
      await devStack.up(VDS, "disk", { ...dev.inputs, name: "nightly-db-root" });
      const devObject = at.cluster.store.get(VirtualDiskSnapshot, at.ns, "nightly-db-root")!;
      const outcome = await prodStack.up(VDS, "disk", { ...prod.inputs, name: "nightly-db-root" }).then(
        () => "the prod stack took over the dev stack's object, and its destroy would delete it",
        (e: Error) => e.message,
      );
      assert.match(outcome, /adopt-\d+\/nightly-db-root already exists and was not created by this resource/);
      await prodStack.destroyAll();
      assertUntouched(at.cluster.emulator, devObject);
      return finish(devStack, at.cluster.store, { platform: "deckhouse" });
    },
  );

  scenario(
    "adopt: true on someone else's object with the same spec",
    "adopted: Ready and in the state; pulumi destroy then deletes it",
    async () => {
      someoneElses("handmade");
      const { outputs } = await at.stack.up(VDS, "adopted", {
        virtualDiskName: "db-root",
        name: "handmade",
        adopt: true,
      });
      assert.equal(outputs.phase, "Ready");
      assertClusterMatchesState(at.stack, at.cluster.store, { platform: "deckhouse" });
      return finish(at.stack, at.cluster.store, { platform: "deckhouse" });
    },
  );

  scenario(
    "adopt: true on someone else's object with a different spec",
    "refused naming the differing spec field; the object is untouched",
    async () => {
      const other = someoneElses("other-disk", "db-data");
      const failure = await at.stack.upFails(VDS, "mismatch", {
        virtualDiskName: "db-root",
        name: "other-disk",
        adopt: true,
      });
      assert.match(
        failure.message,
        /VirtualDiskSnapshot adopt-\d+\/other-disk already exists with a different spec \(spec\.virtualDiskName\)/,
      );
      assertUntouched(at.cluster.emulator, other);
      const foreign = [objectLabel(VirtualDiskSnapshot, at.ns, "other-disk")];
      const left = await finish(at.stack, at.cluster.store, { platform: "deckhouse", foreign });
      at.cluster.store.delete(VirtualDiskSnapshot, at.ns, "other-disk");
      return left;
    },
  );
});
