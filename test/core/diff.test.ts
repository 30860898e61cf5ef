import assert from "node:assert/strict";
import { Lifecycle } from "../../provider/core/lifecycle";
import { UNKNOWN } from "../../provider/core/inputs";
import { virtualMachineSnapshot } from "../../provider/deckhouse/virtualMachineSnapshot";

describe("diff", () => {
  const vms = new Lifecycle(virtualMachineSnapshot);
  const outputs = {
    name: "pre-upgrade-abc1234",
    autoNamed: true,
    namespace: "prod",
    virtualMachineName: "db",
    requiredConsistency: true,
    keepIPAddress: "Always",
    triggers: { version: "15.2" },
    labels: { team: "db" },
    phase: "Ready",
    uid: "1234",
    __provider: "old code",
  };
  const news = (change: Record<string, unknown>) => {
    const { phase: _p, uid: _u, ...inputs } = outputs;
    return { ...inputs, __provider: "new code", ...change };
  };

  it("finds no change when only the provider code changed", async () => {
    assert.deepEqual(await vms.diff("prod/x", outputs, news({})), {
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
  });

  it("replaces on a trigger change, creating the new snapshot before deleting the old one", async () => {
    const d = await vms.diff("prod/x", outputs, news({ triggers: { version: "16.0" } }));
    assert.deepEqual(d, { changes: true, replaces: ["triggers"], deleteBeforeReplace: false });
  });

  it("replaces on a spec change", async () => {
    const d = await vms.diff("prod/x", outputs, news({ keepIPAddress: "Never" }));
    assert.deepEqual(d.replaces, ["keepIPAddress"]);
  });

  it("deletes first when the name is fixed, since two objects cannot share it", async () => {
    const d = await vms.diff(
      "prod/x",
      { ...outputs, autoNamed: false },
      news({ autoNamed: false, namespace: "staging" }),
    );
    assert.deepEqual(d, { changes: true, replaces: ["namespace"], deleteBeforeReplace: true });
  });

  it("updates labels, annotations and description in place", async () => {
    const d = await vms.diff(
      "prod/x",
      outputs,
      news({ labels: { team: "platform" }, description: "before 16" }),
    );
    assert.deepEqual(d, { changes: true, replaces: [], deleteBeforeReplace: false });
  });

  it("never replaces for timeouts or credentials", async () => {
    const d = await vms.diff("prod/x", outputs, news({ waitTimeoutSeconds: 1200, kubeconfig: "other" }));
    assert.deepEqual(d, { changes: true, replaces: [], deleteBeforeReplace: false });
  });

  it("counts a value that is not known yet as a change (preview)", async () => {
    const d = await vms.diff("prod/x", outputs, news({ virtualMachineName: UNKNOWN }));
    assert.deepEqual(d.replaces, ["virtualMachineName"]);
    assert.equal(d.changes, true);
  });
});
