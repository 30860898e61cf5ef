// The engine's steps (../host/engine.ts) over the provider's lifecycles called in this process: the state
// `pulumi up` would keep (partial failures with their id, failed creates forgotten), with the emulator's fault
// switches at hand and no host start. Property bags cross a google.protobuf.Struct as they do in the real host.
import { performance } from "node:perf_hooks";
import { PartialFailure as ProviderPartialFailure } from "../../provider/core/lifecycle";
import { configure, lifecycle } from "../../provider/runtime";
import { Engine } from "../host/engine";
import { PartialFailure, RpcError, type Host, type Properties, type SentRpc } from "../host/driver";
import { loadProtocol } from "../host/protocol";
import { repoRoot } from "../host/repo";
import { parseUrn } from "../host/urn";

const { Struct } = loadProtocol(repoRoot).struct;
const UNKNOWN_CODE = 2; // grpc.status.UNKNOWN: what the host answers for anything a provider throws

/** "deckhouse:VirtualDiskSnapshot" -> the type token its Resource class registers. */
export const typeOf = (kindId: string) => {
  const [platform, kind] = kindId.split(":");
  return `pulumi-nodejs:dynamic/vm-snapshots/${platform}:${kind}`;
};

/** The type token -> the provider's kind id. */
export const kindIdOf = (type: string) => {
  const m = /^pulumi-nodejs:dynamic\/vm-snapshots\/(\w+):(\w+)$/.exec(type);
  if (!m) throw new Error(`${type} is not a pulumi-vm-snapshots resource type`);
  return `${m[1]}:${m[2]}`;
};

/** What the engine receives: outputs through a Struct, which refuses `undefined` as the real host does. */
const overTheWire = (p: Properties): Properties => Struct.fromJavaScript(p).toJavaScript() as Properties;

class InProcessHost {
  constructor(readonly project: string) {}

  readonly sent: SentRpc[] = [];
  private readonly started = performance.now();

  private call<T>(method: string, urn: string, run: () => Promise<T>): Promise<T> {
    this.sent.push({ method, urn, at: performance.now() - this.started });
    return run().catch((e: unknown) => {
      if (e instanceof ProviderPartialFailure) {
        throw new PartialFailure(method, urn, e.message, e.id, overTheWire(e.properties), e.reasons);
      }
      throw new RpcError(method, urn, UNKNOWN_CODE, "UNKNOWN", (e as Error).message);
    });
  }

  private lifecycleOf(urn: string) {
    return lifecycle(kindIdOf(parseUrn(urn).type));
  }

  async handshake() {
    return undefined;
  }
  async getPluginInfo() {
    return { version: "" };
  }
  async checkConfig() {
    return undefined;
  }
  async configure() {
    configure({ get: () => undefined });
    return { acceptSecrets: false, supportsPreview: false, acceptResources: false };
  }

  check(urn: string, olds: Properties, news: Properties) {
    return this.call("Check", urn, async () => {
      const { inputs, failures } = await this.lifecycleOf(urn).check(olds, news);
      return {
        inputs: overTheWire({ ...(inputs ?? news), __provider: news.__provider }),
        failures: failures ?? [],
      };
    });
  }

  diff(urn: string, id: string, olds: Properties, news: Properties) {
    return this.call("Diff", urn, async () => {
      const d = await this.lifecycleOf(urn).diff(id, olds, news);
      return {
        changes: d.changes ? ("DIFF_SOME" as const) : ("DIFF_NONE" as const),
        replaces: d.replaces,
        deleteBeforeReplace: d.deleteBeforeReplace,
      };
    });
  }

  create(urn: string, properties: Properties) {
    return this.call("Create", urn, async () => {
      const { id, outs } = await this.lifecycleOf(urn).create(properties);
      return { id, properties: overTheWire({ ...outs, __provider: properties.__provider }) };
    });
  }

  read(urn: string, id: string, properties: Properties) {
    return this.call("Read", urn, async () => {
      const r = await this.lifecycleOf(urn).read(id, properties);
      const props = r.props ? { ...r.props, __provider: properties.__provider } : {};
      return { id: r.id ?? "", properties: overTheWire(props), inputs: undefined };
    });
  }

  update(urn: string, id: string, olds: Properties, news: Properties) {
    return this.call("Update", urn, async () => {
      const { outs } = await this.lifecycleOf(urn).update(id, olds, news);
      return { properties: overTheWire({ ...outs, __provider: news.__provider }) };
    });
  }

  delete(urn: string, id: string, properties: Properties) {
    return this.call("Delete", urn, () => this.lifecycleOf(urn).delete(id, properties));
  }
}

/** An engine of `stack` (of `project`) whose provider runs in this process; its host has nothing to stop. */
export async function inProcessEngine(stack = "test", project = "faults"): Promise<Engine> {
  const host = Object.assign(new InProcessHost(project), { stop: async () => {} });
  const engine = new Engine(host as unknown as Host, stack);
  await engine.start();
  return engine;
}
