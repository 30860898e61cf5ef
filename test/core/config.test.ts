import assert from "node:assert/strict";
import { clusterSettings, setStackSettings, stackSettings } from "../../provider/core/config";

describe("stack settings", () => {
  const config = (values: Record<string, string>) => ({ get: (key: string) => values[key] });
  afterEach(() => setStackSettings(config({})));

  it("reads the pulumi-vm-snapshots namespace of the stack config", () => {
    setStackSettings(
      config({
        "pulumi-vm-snapshots:kubeconfig": "k",
        "pulumi-vm-snapshots:context": "c",
        "other:namespace": "x",
      }),
    );
    assert.deepEqual(stackSettings(), { kubeconfig: "k", context: "c", namespace: undefined });
  });

  it("lets a resource's inputs win over the stack's", () => {
    setStackSettings(
      config({ "pulumi-vm-snapshots:kubeconfig": "stack", "pulumi-vm-snapshots:context": "prod" }),
    );
    assert.deepEqual(clusterSettings({}), { kubeconfig: "stack", context: "prod" });
    assert.deepEqual(clusterSettings({ context: "lab" }), { kubeconfig: "stack", context: "lab" });
  });

  it("never applies the stack's context to a kubeconfig the resource brings", () => {
    setStackSettings(config({ "pulumi-vm-snapshots:context": "prod" }));
    assert.deepEqual(clusterSettings({ kubeconfig: "own" }), { kubeconfig: "own", context: undefined });
  });
});
