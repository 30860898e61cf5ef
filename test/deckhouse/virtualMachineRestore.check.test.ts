// What `pulumi preview` decides for a restore before any cluster is touched: input validation, and which
// changes run the restore again (replace) and which only change how the provider treats it (update).
import assert from "node:assert/strict";
import { Lifecycle } from "../../provider/core/lifecycle";
import { virtualMachineRestore } from "../../provider/deckhouse/virtualMachineRestore";

describe("deckhouse.VirtualMachineRestore check", () => {
  const restore = new Lifecycle(virtualMachineRestore);
  const check = (news: Record<string, unknown>) =>
    restore.check({}, { namespace: "prod", virtualMachineSnapshotName: "before-upgrade", ...news });

  it("applies the defaults: mode Strict, api auto, nothing deleted beyond the record", async () => {
    const { inputs, failures } = await check({ resourceName: "rollback" });
    assert.equal(failures, undefined);
    assert.equal(inputs!.mode, "Strict");
    assert.equal(inputs!.api, "auto");
    assert.equal(inputs!.deleteRestoredResources, false);
    assert.equal(inputs!.force, false);
    assert.match(inputs!.name, /^rollback-[a-z0-9]{7}$/);
  });

  it("requires the snapshot", async () => {
    const { failures } = await restore.check({}, { namespace: "prod" });
    assert.deepEqual(failures, [
      { property: "virtualMachineSnapshotName", reason: "virtualMachineSnapshotName is required" },
    ]);
  });

  it("names the replacement that is wrong and why", async () => {
    const { failures } = await check({
      nameReplacements: [
        { from: { kind: "VirtualMachine", name: "db" }, to: "db-copy" },
        { from: { kind: "VirtualDisk", name: "root" }, to: "Root_Copy" },
        { from: { kind: "Pod", name: "x" }, to: "y" },
      ],
    });
    assert.deepEqual(
      failures!.map((f) => f.property),
      ["nameReplacements.1.to", "nameReplacements.2.from.kind"],
    );
    assert.match(failures![0].reason, /the new name must be lowercase letters/);
    assert.match(failures![1].reason, /must be one of "VirtualMachine", "VirtualDisk"/);
  });

  it("limits new names and affixes to the platform's 59 characters", async () => {
    const { failures } = await check({
      nameReplacements: [{ from: { name: "db" }, to: "a".repeat(60) }],
      namePrefix: "p".repeat(60),
    });
    assert.deepEqual(failures, [
      { property: "nameReplacements.0.to", reason: "the new name must be at most 59 characters" },
      { property: "namePrefix", reason: "namePrefix must be at most 59 characters" },
    ]);
  });

  it("rejects an affix that would make names invalid", async () => {
    const { failures } = await check({ namePrefix: "-copy", nameSuffix: "copy-" });
    assert.deepEqual(
      failures!.map((f) => f.property),
      ["namePrefix", "nameSuffix"],
    );
    assert.match(failures![0].reason, /starting with a letter or digit/);
    assert.match(failures![1].reason, /ending with a letter or digit/);
  });

  it("lists the modes and APIs it knows", async () => {
    const { failures } = await check({ mode: "Rollback", api: "VirtualMachineClone" });
    assert.match(
      failures![0].reason,
      /mode must be one of "Strict", "BestEffort", "DryRun", "Safe", "Forced"/,
    );
    assert.match(failures![1].reason, /api must be one of "auto", "VirtualMachineOperation"/);
  });
});

describe("deckhouse.VirtualMachineRestore diff", () => {
  const restore = new Lifecycle(virtualMachineRestore);
  const outputs = {
    name: "rollback-abc1234",
    autoNamed: true,
    namespace: "prod",
    virtualMachineSnapshotName: "before-upgrade",
    namePrefix: "test-",
    mode: "Strict",
    api: "auto",
    deleteRestoredResources: false,
    force: false,
    phase: "Completed",
    apiKind: "VirtualMachineSnapshotOperation",
    restoredVirtualMachineName: "test-db",
    __provider: "old code",
  };
  const news = (change: Record<string, unknown>) => {
    const { phase: _p, apiKind: _a, restoredVirtualMachineName: _r, ...inputs } = outputs;
    return { ...inputs, __provider: "new code", ...change };
  };

  it("runs nothing when nothing but the provider code changed", async () => {
    const d = await restore.diff("prod/x", outputs, news({}));
    assert.deepEqual(d, { changes: false, replaces: [], deleteBeforeReplace: false });
  });

  it("restores again for another snapshot or other names", async () => {
    for (const change of [
      { virtualMachineSnapshotName: "after-upgrade" },
      { namePrefix: "staging-" },
      { nameReplacements: [{ from: { name: "db" }, to: "db2" }] },
      { mode: "DryRun" },
    ]) {
      const d = await restore.diff("prod/x", outputs, news(change));
      assert.deepEqual(d.replaces, Object.keys(change), JSON.stringify(change));
      assert.equal(d.changes, true);
    }
  });

  it("changes how the record is deleted, or which API is preferred, without running the restore again", async () => {
    const d = await restore.diff(
      "prod/x",
      outputs,
      news({
        deleteRestoredResources: true,
        force: true,
        api: "VirtualMachineRestore",
        waitTimeoutSeconds: 60,
      }),
    );
    assert.deepEqual(d, { changes: true, replaces: [], deleteBeforeReplace: false });
  });
});
