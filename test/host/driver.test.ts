import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PartialFailure, RpcError, startHost, type Host, type LogLine } from "./driver";
import {
  fixtureProjectDir,
  fixtureProviderText,
  fixtureStore,
  fixtureType,
  storedObjects,
} from "./fixtures/fixture-provider";
import { runningInGroup } from "./processes";
import { makeUrn } from "./urn";

const urn = (name: string) => makeUrn({ stack: "test", project: "host-fixture", type: fixtureType, name });

describe("dynamic-provider host driver", () => {
  let host: Host;
  let store: ReturnType<typeof fixtureStore>;
  let __provider: string;
  const heard: LogLine[] = [];

  before(async () => {
    __provider = await fixtureProviderText();
    store = fixtureStore();
    host = await startHost({
      cwd: fixtureProjectDir,
      config: store.config,
      onLine: (line) => heard.push(line),
    });
    await host.configure();
  });

  after(async () => {
    await host?.stop();
    if (store) fs.rmSync(store.dir, { recursive: true, force: true });
  });

  it("starts the project's host and answers the engine's start-up RPCs as the engine expects", async () => {
    assert.ok(host.port > 0);
    assert.ok(host.coldStartMs > 0 && host.coldStartMs < 30_000, `cold start ${host.coldStartMs} ms`);
    assert.equal(host.pulumiDir, path.dirname(require.resolve("@pulumi/pulumi/package.json")));
    assert.equal(await host.handshake(), undefined, "Handshake is UNIMPLEMENTED, which the engine tolerates");
    assert.deepEqual(await host.getPluginInfo(), { version: require("@pulumi/pulumi/package.json").version });
    assert.equal(await host.checkConfig(), undefined, "CheckConfig is UNIMPLEMENTED too");
    // supportsPreview:false is why `pulumi preview` never calls Create or Update on a dynamic provider.
    const configured = await host.configure();
    assert.deepEqual(configured, { acceptSecrets: false, supportsPreview: false, acceptResources: false });
    await host.cancel();
  });

  it("hands the stack config to the provider's configure(), short keys resolved in the project's namespace", async () => {
    const { inputs } = await host.check(urn("configured"), {}, { value: "v", __provider });
    const created = await host.create(urn("configured"), inputs);
    assert.equal(created.properties.greeting, "hello from config");
    assert.equal(storedObjects(store.dir)[created.id].greeting, "hello from config");
  });

  it("returns check failures with their property paths and the checked inputs with __provider", async () => {
    const { inputs, failures } = await host.check(
      urn("invalid"),
      {},
      { value: "", limits: { size: -1 }, __provider },
    );
    assert.deepEqual(failures, [
      { property: "value", reason: "must be a non-empty string" },
      { property: "limits.size", reason: "must be >= 0, got -1" },
    ]);
    assert.equal(inputs.__provider, __provider);
  });

  it("decodes a partial failure from the status details into id, properties and reasons", async () => {
    const { inputs } = await host.check(urn("partial"), {}, { value: "v", outcome: "partial", __provider });
    const error = await host.create(urn("partial"), inputs).then(
      () => assert.fail("create should have failed"),
      (e) => e,
    );
    assert.ok(error instanceof PartialFailure, String(error));
    assert.equal(error.id, inputs.name);
    assert.equal(error.properties.ready, false);
    assert.equal(
      error.properties.__provider,
      __provider,
      "the provider kept __provider, so Delete will work",
    );
    assert.deepEqual(error.reasons, [`fixture ${inputs.name} did not become ready`, `outcome was "partial"`]);
    assert.equal(error.details, `fixture ${inputs.name} is not ready`);
    assert.ok(storedObjects(store.dir)[inputs.name], "the object exists although create failed");
  });

  // The orphan trap: the host converts create's outputs after create() returned, so the object exists but the
  // engine records a failed create and never learns its id. The provider must not return undefined values.
  it("fails a create whose outputs hold undefined with 'Unexpected struct type', leaving the object orphaned", async () => {
    const { inputs } = await host.check(
      urn("orphan"),
      {},
      { value: "v", outcome: "undefined-output", __provider },
    );
    const error = await host.create(urn("orphan"), inputs).then(
      () => assert.fail("create should have failed"),
      (e) => e,
    );
    assert.ok(error instanceof RpcError && !(error instanceof PartialFailure), String(error));
    assert.equal(error.codeName, "UNKNOWN");
    assert.equal(error.details, "Unexpected struct type.");
    assert.ok(
      storedObjects(store.dir)[inputs.name],
      "the object was created although the engine saw a failure",
    );
  });

  // The reference's trap: outputs without __provider are stored as they are, and Delete needs that code.
  it("cannot delete a partial failure whose properties lack __provider, and logs why on stderr", async () => {
    const news = { value: "v", outcome: "partial-without-provider", __provider };
    const { inputs } = await host.check(urn("no-provider"), {}, news);
    const failure: PartialFailure = await host.create(urn("no-provider"), inputs).then(
      () => assert.fail("create should have failed"),
      (e) => e,
    );
    assert.equal(failure.properties.__provider, undefined);
    await assert.rejects(host.delete(urn("no-provider"), failure.id, failure.properties), (e: RpcError) => {
      assert.equal(e.details, "code must be a string, not undefined");
      return true;
    });
    assert.ok(storedObjects(store.dir)[failure.id], "the object is left behind");
    const logged = await host.waitForLine("code must be a string, not undefined");
    assert.equal(logged.stream, "stderr");
  });

  it("passes what the provider prints on stdout to host.logs and the line listener, as `pulumi up` shows it", async () => {
    const { inputs } = await host.check(
      urn("talkative"),
      {},
      { value: "v", say: "waiting for it", __provider },
    );
    await host.create(urn("talkative"), inputs);
    const line = await host.waitForLine(`fixture ${inputs.name}: waiting for it`);
    assert.deepEqual(line, { stream: "stdout", line: `fixture ${inputs.name}: waiting for it` });
    assert.ok(host.logs.includes(line));
    assert.ok(heard.some((l) => l.line === line.line));
  });

  it("records every RPC it sends, in order", async () => {
    const { inputs } = await host.check(urn("recorded"), {}, { value: "v", __provider });
    const { id, properties } = await host.create(urn("recorded"), inputs);
    await host.read(urn("recorded"), id, properties);
    await host.delete(urn("recorded"), id, properties);
    const sent = host.sent.filter((rpc) => rpc.urn === urn("recorded"));
    assert.deepEqual(
      sent.map((rpc) => rpc.method),
      ["Check", "Create", "Read", "Delete"],
    );
    assert.ok(sent.every((rpc, i) => i === 0 || rpc.at >= sent[i - 1].at));
  });
});

describe("dynamic-provider host process", () => {
  let host: Host;

  before(async () => {
    host = await startHost({ cwd: fixtureProjectDir });
  });

  after(() => host?.stop());

  it("stop() ends the host script and the node process it started", async () => {
    assert.equal(runningInGroup(host.pid).length, 2, "the script and the node host it runs");
    await host.stop();
    assert.deepEqual(runningInGroup(host.pid), []);
    await host.stop(); // a second stop is harmless
  });

  it("refuses a project with no @pulumi/pulumi, naming the project", async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "no-pulumi-"));
    try {
      await assert.rejects(startHost({ cwd: empty }), new RegExp(`${empty} has no @pulumi/pulumi`));
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
