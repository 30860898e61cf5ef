import assert from "node:assert/strict";
import { Lifecycle } from "../../provider/core/lifecycle";
import { UNKNOWN } from "../../provider/core/inputs";
import { virtualDiskSnapshot } from "../../provider/deckhouse/virtualDiskSnapshot";
import { virtualMachineSnapshot } from "../../provider/deckhouse/virtualMachineSnapshot";

// A kubeconfig that loads without a cluster behind it: check never talks to the API server.
const kubeconfig = `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:1" } }]
users: [{ name: u, user: { token: secret-token-value } }]
contexts:
  - { name: ctx, context: { cluster: c, user: u, namespace: team-a } }
  - { name: other, context: { cluster: c, user: u } }
current-context: ctx
`;

describe("check", () => {
  const vds = new Lifecycle(virtualDiskSnapshot);
  const vms = new Lifecycle(virtualMachineSnapshot);

  it("applies the platform's defaults and the kubeconfig context's namespace", async () => {
    const { inputs, failures } = await vms.check(
      {},
      { virtualMachineName: "db", kubeconfig, resourceName: "pre-upgrade" },
    );
    assert.equal(failures, undefined);
    assert.equal(inputs!.requiredConsistency, true);
    assert.equal(inputs!.keepIPAddress, "Always");
    assert.equal(inputs!.namespace, "team-a");
    assert.match(inputs!.name, /^pre-upgrade-[a-z0-9]{7}$/);
    assert.equal(inputs!.autoNamed, true);
  });

  it("falls back to the default namespace when the context names none", async () => {
    const { inputs } = await vds.check({}, { virtualDiskName: "root", kubeconfig, context: "other" });
    assert.equal(inputs!.namespace, "default");
  });

  it("keeps a generated name across updates and makes a new one when the engine replaces", async () => {
    const first = (await vds.check({}, { virtualDiskName: "root", kubeconfig, resourceName: "snap" }))
      .inputs!;
    const update = (
      await vds.check(first, {
        virtualDiskName: "root",
        kubeconfig,
        resourceName: "snap",
        labels: { a: "b" },
      })
    ).inputs!;
    assert.equal(update.name, first.name);
    const replacement = (await vds.check({}, { virtualDiskName: "root", kubeconfig, resourceName: "snap" }))
      .inputs!;
    assert.notEqual(replacement.name, first.name);
  });

  it("uses a name the user gives and records that it is fixed", async () => {
    const { inputs } = await vds.check(
      {},
      { virtualDiskName: "root", name: "root-before-upgrade", kubeconfig },
    );
    assert.equal(inputs!.name, "root-before-upgrade");
    assert.equal(inputs!.autoNamed, false);
  });

  it("lets values that are not known yet pass unvalidated (preview)", async () => {
    const { inputs, failures } = await vms.check(
      {},
      { virtualMachineName: UNKNOWN, namespace: "prod", kubeconfig },
    );
    assert.equal(failures, undefined);
    assert.equal(inputs!.virtualMachineName, UNKNOWN);
  });

  it("reports each bad input with its property path and a plain reason", async () => {
    const { failures } = await vms.check(
      {},
      {
        virtualMachineName: "DB_1",
        keepIPAddress: "Sometimes",
        waitTimeoutSeconds: -5,
        labels: { "bad key!": "x" },
        colour: "blue",
        kubeconfig,
      },
    );
    const byProperty = Object.fromEntries(failures!.map((f) => [f.property, f.reason]));
    assert.match(byProperty.virtualMachineName, /lowercase letters, digits/);
    assert.match(byProperty.keepIPAddress, /must be one of "Always", "Never"; got "Sometimes"/);
    assert.match(byProperty.waitTimeoutSeconds, /greater than 0/);
    assert.match(byProperty["labels.bad key!"], /key "bad key!"/);
    assert.match(byProperty.colour, /not an input of this resource/);
  });

  it("says a required input is required", async () => {
    const { failures } = await vds.check({}, { kubeconfig });
    assert.deepEqual(failures, [{ property: "virtualDiskName", reason: "virtualDiskName is required" }]);
  });

  it("rejects a kubeconfig that cannot be read without echoing its content", async () => {
    const { failures } = await vds.check(
      {},
      { virtualDiskName: "root", kubeconfig: "token: hunter2-secret\n: : [" },
    );
    assert.equal(failures![0].property, "kubeconfig");
    assert.match(failures![0].reason, /Cannot read the kubeconfig input/);
    assert.doesNotMatch(failures![0].reason, /hunter2-secret/);
  });

  it("names the contexts a kubeconfig has when the requested one is missing", async () => {
    const { failures } = await vds.check({}, { virtualDiskName: "root", kubeconfig, context: "prod" });
    assert.equal(failures![0].property, "context");
    assert.match(failures![0].reason, /Context "prod" is not in the kubeconfig input; it has "ctx", "other"/);
  });
});
