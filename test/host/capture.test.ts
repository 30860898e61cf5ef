import * as assert from "node:assert/strict";
import * as path from "node:path";
import { captureResources } from "./capture";
import { fixtureProjectDir, fixtureType } from "./fixtures/fixture-provider";

const conditionsProjectDir = path.join(__dirname, "fixtures", "conditions");

describe("capturing a program's resources under mocks", () => {
  it("records a dynamic Resource class's type, name and inputs, with the serialized provider", async () => {
    const [fixture, ...others] = await captureResources("index.ts", { cwd: fixtureProjectDir });
    assert.deepEqual(others, []);
    const { __provider, ...inputs } = fixture.inputs;
    assert.deepEqual(
      { ...fixture, inputs },
      { type: fixtureType, name: "first", inputs: { value: "one", zone: "a" }, additionalSecretOutputs: [] },
    );
    // The text the host turns back into the provider: a module whose handler returns it.
    const module = { exports: {} as { handler?: () => Record<string, unknown> } };
    new Function("module", "exports", "require", __provider)(module, module.exports, require);
    const provider = module.exports.handler!();
    assert.deepEqual(Object.keys(provider), [
      "configure",
      "check",
      "diff",
      "create",
      "read",
      "update",
      "delete",
    ]);
  });

  it("fails promptly with the serializer's error when a provider cannot be serialized", async () => {
    const started = Date.now();
    await assert.rejects(captureResources("unserializable.ts", { cwd: fixtureProjectDir }), (e: Error) => {
      assert.match(e.message, /unserializable\.ts failed under mocks/);
      assert.match(e.message, /error serializing property "__provider"/);
      assert.match(e.message, /it was a native code function/);
      return true;
    });
    assert.ok(Date.now() - started < 10_000, "well before the capture's deadline");
  });

  it("fails with the runtime's explanation when a registration can never complete", async () => {
    await assert.rejects(captureResources("never-resolves.ts", { cwd: fixtureProjectDir }), (e: Error) => {
      assert.match(e.message, /never-resolves\.ts exited \(1\) under mocks without a result/);
      assert.match(
        e.message,
        /"stuck" \[fixture:index:Stuck\] was waiting for the value of its input property "value"/,
      );
      return true;
    });
  });

  it("gives up at its deadline on a program that never ends", async () => {
    const started = Date.now();
    await assert.rejects(
      captureResources("keeps-running.ts", { cwd: fixtureProjectDir, timeoutMs: 2_500 }),
      /keeps-running\.ts did not finish under mocks within 2500 ms/,
    );
    assert.ok(Date.now() - started < 5_000);
  });

  it("resolves packages through the development condition only when asked", async () => {
    const flavour = async (development: boolean) =>
      (await captureResources("index.ts", { cwd: conditionsProjectDir, development }))[0].inputs.flavour;
    assert.deepEqual(await Promise.all([flavour(false), flavour(true)]), ["default", "development"]);
  });
});
