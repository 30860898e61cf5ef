// Credentials through Pulumi's real dynamic-provider host: a program passes each resource a kubeconfig with a
// token, and the token must reach nothing the engine stores or prints in plaintext: not the serialized provider,
// not the outputs (but `kubeconfig`, which the engine encrypts), not a log line, not an error.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { VirtualDiskSnapshot } from "../emulator/kinds/deckhouse";
import { packageEnv } from "../examples/packageEnv";
import { KnobAnnotation } from "../simulators/knobs";
import type { CapturedResource } from "./capture";
import { CheckFailed, failureOf, isSecret, type Engine, type ResourceState } from "./engine";
import {
  captureFromRepo,
  declared,
  everyKind,
  kindTitled,
  kubeconfigVariable,
  programOf,
  startClusters,
  startWithProgram,
  type Clusters,
} from "./everyKind";
import { repoRoot } from "./repo";

/** The budget for the provider text the engine stores in every resource's state and sends with every RPC. */
const PROVIDER_BUDGET_BYTES = 8 * 1024;

describe("credentials through the dynamic-provider host", () => {
  let clusters: Clusters;
  let resources: CapturedResource[];
  let engine: Engine;
  /** Every credential a test hands out; none may appear anywhere but in `kubeconfig`. */
  const tokens: string[] = [];
  const diskKind = kindTitled("deckhouse.VirtualDiskSnapshot");
  const diskSnapshot = () => declared(resources, diskKind);

  /** Fails naming where a credential showed up. */
  const assertNoCredential = (where: string, value: unknown) => {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    const leaked = tokens.filter((t) => text.includes(t));
    assert.deepEqual(leaked, [], `${where} holds a credential`);
  };
  /** State the engine keeps in plaintext: everything but `kubeconfig`, which it stores encrypted. */
  const plaintextOf = (state: ResourceState | undefined) => {
    const { kubeconfig: _i, ...inputs } = state?.inputs ?? {};
    const { kubeconfig: _o, ...outputs } = state?.outputs ?? {};
    return { ...state, inputs, outputs };
  };

  before(async () => {
    clusters = await startClusters();
    tokens.push(clusters.of("deckhouse-v1.10").emulator.token, clusters.of("kubevirt").emulator.token);
    const config = { "pulumi-vm-snapshots:kubeconfig": clusters.of("deckhouse-v1.10").emulator.kubeconfig };
    ({ engine, resources } = await startWithProgram(
      { cwd: repoRoot, env: packageEnv(true), config },
      captureFromRepo(programOf(), clusters.env),
    ));
  });
  after(async () => {
    await engine?.host.stop();
    await clusters?.stop();
  });
  afterEach(() => assertNoCredential("a line the host printed", engine.host.logs));

  it(`keeps every kind's serialized provider under ${PROVIDER_BUDGET_BYTES} bytes and free of credentials`, () => {
    for (const kind of everyKind) {
      const text = declared(resources, kind).inputs.__provider;
      assert.ok(typeof text === "string" && text.includes("pulumi-vm-snapshots/runtime"), kind.title);
      const bytes = Buffer.byteLength(text);
      assert.ok(bytes < PROVIDER_BUDGET_BYTES, `${kind.title}'s provider is ${bytes} bytes`);
      assertNoCredential(`${kind.title}'s provider`, text);
    }
  });

  it("has every Resource class send kubeconfig as a secret and have the engine encrypt it in the outputs", () => {
    for (const kind of everyKind) {
      const { inputs, additionalSecretOutputs } = declared(resources, kind);
      assert.ok(isSecret(inputs.kubeconfig), `${kind.title} sends kubeconfig as a secret input`);
      assert.deepEqual(additionalSecretOutputs, ["kubeconfig"], kind.title);
    }
  });

  it("leaves the token only in kubeconfig through create, refresh and delete of every kind", async () => {
    await Promise.all(
      everyKind.map(async (kind) => {
        const { type, name, inputs } = declared(resources, kind);
        const created = await engine.up(undefined, engine.urn(type, name), inputs);
        assert.equal(created.outputs.kubeconfig, clusters.env[kubeconfigVariable(kind.platform)]);
        assertNoCredential(`${kind.title}'s state`, plaintextOf(created));
        const refreshed = await engine.refresh(created);
        assertNoCredential(`${kind.title}'s refreshed state`, plaintextOf(refreshed));
        await engine.destroy(refreshed!);
      }),
    );
  });

  it("never copies the stack config's kubeconfig into a resource's state", async () => {
    const { type, inputs } = diskSnapshot();
    const { kubeconfig: _k, ...news } = inputs;
    const created = await engine.up(undefined, engine.urn(type, "configured"), {
      ...news,
      resourceName: "configured",
    });
    assert.equal(created.outputs.phase, "Ready", "the stack config's kubeconfig reached the cluster");
    assertNoCredential("the state of a resource configured by the stack", created);
    await engine.destroy(created);
  });

  it("keeps credentials out of a partial failure's reasons and state, which delete can still use", async () => {
    const { type, inputs } = diskSnapshot();
    const urn = engine.urn(type, "slow-disk");
    const news = {
      ...inputs,
      resourceName: "slow-disk",
      annotations: { [KnobAnnotation.Hang]: "InProgress" },
      waitTimeoutSeconds: 1,
    };
    const failure = await failureOf(engine.up(undefined, urn, news));
    assert.match(failure.message, /is still InProgress after 1s/);
    assertNoCredential("the partial failure", failure.message);
    assertNoCredential("the state kept after the partial failure", plaintextOf(failure.state));

    await engine.destroy(failure.state!);
    const { store } = clusters.of("deckhouse-v1.10");
    assert.equal(store.get(VirtualDiskSnapshot, diskKind.namespace, failure.state!.outputs.name), undefined);
  });

  it("does not quote a token the cluster refused", async () => {
    const { emulator } = clusters.of("deckhouse-v1.10");
    const wrong = randomBytes(24).toString("base64url");
    tokens.push(wrong);
    const { type, inputs } = diskSnapshot();
    const news = {
      ...inputs,
      resourceName: "refused",
      kubeconfig: emulator.kubeconfig.replace(emulator.token, wrong),
    };

    const failure = await failureOf(engine.up(undefined, engine.urn(type, "refused"), news));
    const what = `VirtualDiskSnapshot ${diskKind.namespace}/refused-`;
    assert.ok(failure.message.includes(`Cannot create ${what}`), failure.message);
    assert.match(failure.message, /: HTTP 401 Unauthorized: .*The cluster rejected the credentials/);
    assertNoCredential("the error", failure.message);
  });

  it("does not quote an unreadable kubeconfig's token in the check failure", async () => {
    const token = randomBytes(24).toString("base64url");
    tokens.push(token);
    const { type, inputs } = diskSnapshot();
    const { namespace: _n, ...rest } = inputs;
    const kubeconfig = `apiVersion: v1\nusers:\n- name: admin\n  user:\n    token: ${token}\n  clusters: [\n`;

    const failure = await failureOf(
      engine.up(undefined, engine.urn(type, "unreadable"), { ...rest, kubeconfig }),
    );
    assert.ok(failure instanceof CheckFailed);
    assert.deepEqual(
      failure.failures.map((f) => f.property),
      ["kubeconfig"],
    );
    assert.match(failure.failures[0].reason, /^Cannot read the kubeconfig input: deficient indentation/);
    assertNoCredential("the check failure", failure.failures);
  });
});
