// The engine's step logic (pkg/resource/deploy/step_generator.go and step.go) on top of a Host: which RPCs a
// `pulumi up`, `refresh` or `destroy` sends for one resource, and what ends up in the state.
import { isDeepStrictEqual } from "node:util";
import {
  PartialFailure,
  startHost,
  type CheckFailure,
  type Host,
  type HostOptions,
  type Properties,
} from "./driver";
import { makeUrn, parseUrn } from "./urn";

/** One resource as the state file holds it. */
export interface ResourceState {
  urn: string;
  type: string;
  id: string;
  inputs: Properties;
  outputs: Properties;
  /** Reasons of a partial failure; the next `up` updates such a resource whatever its diff says. */
  initErrors?: string[];
}

/** A failed `up`; `state` is what the engine keeps for the URN afterwards (undefined: nothing). */
export class UpFailed extends Error {
  constructor(
    message: string,
    readonly urn: string,
    readonly state: ResourceState | undefined,
    /** A replaced resource the engine still has to delete (create-before-delete stopped half way). */
    readonly pendingDelete?: ResourceState,
  ) {
    super(message);
    this.name = "UpFailed";
  }
}

/** Check returned failures, so the engine sent nothing else for this resource. */
export class CheckFailed extends UpFailed {
  constructor(
    urn: string,
    state: ResourceState | undefined,
    readonly failures: CheckFailure[],
  ) {
    const lines = failures.map((f) => `  ${f.property}: ${f.reason}`);
    super(`${urn} has invalid inputs:\n${lines.join("\n")}`, urn, state);
    this.name = "CheckFailed";
  }
}

/** The UpFailed (or CheckFailed) an `up` ends with; anything else, success included, is an error. */
export async function failureOf(up: Promise<unknown>): Promise<UpFailed> {
  try {
    await up;
  } catch (e) {
    if (e instanceof UpFailed) return e;
    throw e;
  }
  throw new Error("up succeeded where it should have failed");
}

/** The engine prints a partial failure's reasons in hashicorp/go-multierror's format, not the provider's message. */
export function initErrorMessage(reasons: string[]): string {
  if (reasons.length === 0) return "resource init failed";
  if (reasons.length === 1) return `1 error occurred:\n\t* ${reasons[0]}\n\n`;
  return `${reasons.length} errors occurred:\n\t${reasons.map((r) => `* ${r}`).join("\n\t")}\n\n`;
}

/** How a program's secret travels (`specialSigKey` and `specialSecretSig` in @pulumi/pulumi/runtime/rpc). */
const signatureKey = "4dabf18193072939515e22adb298388d";
const secretSignature = "1b47061264138c4ac30d75fd1eb44270";

/** Whether a program registered this value as a secret (`pulumi.secret`). */
export const isSecret = (value: any): boolean => value?.[signatureKey] === secretSignature;

/** The host's Configure does not accept secrets, so the engine sends a program's secret inputs as plain values. */
export function revealSecrets(value: any): any {
  if (Array.isArray(value)) return value.map(revealSecrets);
  if (!value || typeof value !== "object") return value;
  if (isSecret(value)) return revealSecrets(value.value);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revealSecrets(v)]));
}

/** Starts a host and runs the engine's provider start-up sequence on it. */
export async function startEngine(options: HostOptions): Promise<Engine> {
  const engine = new Engine(await startHost(options));
  try {
    await engine.start();
  } catch (e) {
    await engine.host.stop();
    throw e;
  }
  return engine;
}

export class Engine {
  /**
   * The step generator handles one registration at a time, and Check is a blocking call within it
   * (generateSteps in pkg/resource/deploy/step_generator.go): a resource's Check is sent once the one before it
   * was answered. Everything after Check (Create, Update, Delete, and Diff's own step) runs concurrently.
   */
  private stepGenerator: Promise<unknown> = Promise.resolve();

  constructor(
    readonly host: Host,
    readonly stack = "test",
  ) {}

  /** Handshake (UNIMPLEMENTED is fine), GetPluginInfo, CheckConfig (likewise), Configure with the stack config. */
  async start(): Promise<void> {
    await this.host.handshake();
    await this.host.getPluginInfo();
    await this.host.checkConfig();
    await this.host.configure();
  }

  urn(type: string, name: string): string {
    return makeUrn({ stack: this.stack, project: this.host.project, type, name });
  }

  /** The RPCs sent for `urn`, in order: e.g. ["Check", "Diff", "Check", "Delete", "Create"]. */
  sentFor(urn: string): string[] {
    return this.host.sent.filter((rpc) => rpc.urn === urn).map((rpc) => rpc.method);
  }

  /** One resource's part of `pulumi up`: create, same, update or replace. */
  async up(old: ResourceState | undefined, urn: string, news: Properties): Promise<ResourceState> {
    if (!old) return this.create(urn, await this.check(urn, {}, news, undefined), undefined);

    const inputs = await this.check(urn, old.inputs, news, old);
    const diff = await this.host.diff(urn, old.id, old.outputs, inputs, old.inputs);
    let changes = diff.changes;
    // DIFF_UNKNOWN: the engine compares old and new inputs itself, `__provider` included.
    if (changes === "DIFF_UNKNOWN") {
      changes = isDeepStrictEqual(old.inputs, inputs) ? "DIFF_NONE" : "DIFF_SOME";
    }
    if (old.initErrors?.length) changes = "DIFF_SOME";

    if (changes === "DIFF_NONE") return { ...old, inputs };
    if (diff.replaces.length === 0) return this.update(old, inputs);

    // The replacement is checked again with no olds, so the provider recomputes defaults such as names.
    const replacementInputs = await this.check(urn, {}, news, old);
    if (diff.deleteBeforeReplace) {
      await this.delete(old, old);
      return this.create(urn, replacementInputs, undefined);
    }
    const replacement = await this.create(urn, replacementInputs, old, old);
    await this.delete(old, replacement, old);
    return replacement;
  }

  /** Read: the refreshed state, or undefined when the provider says the object is gone. */
  async refresh(state: ResourceState): Promise<ResourceState | undefined> {
    const read = await this.host.read(state.urn, state.id, state.outputs, state.inputs);
    const gone = read.id === "" || Object.keys(read.properties).every((key) => key === "__provider");
    if (gone) return undefined;
    return { ...state, id: read.id, outputs: read.properties, inputs: read.inputs ?? state.inputs };
  }

  async destroy(state: ResourceState): Promise<void> {
    await this.host.delete(state.urn, state.id, state.outputs, state.inputs);
  }

  private async check(urn: string, olds: Properties, news: Properties, kept: ResourceState | undefined) {
    const checked = this.stepGenerator.then(() => this.host.check(urn, olds, revealSecrets(news)));
    this.stepGenerator = checked.catch(() => undefined);
    const { inputs, failures } = await checked;
    if (failures.length > 0) throw new CheckFailed(urn, kept, failures);
    return inputs;
  }

  /** `kept` is what stays in the state if the create fails outright. */
  private async create(
    urn: string,
    inputs: Properties,
    kept: ResourceState | undefined,
    pendingDelete?: ResourceState,
  ): Promise<ResourceState> {
    const type = parseUrn(urn).type;
    try {
      const { id, properties } = await this.host.create(urn, inputs);
      return { urn, type, id, inputs, outputs: properties };
    } catch (e) {
      if (!(e instanceof PartialFailure)) throw new UpFailed((e as Error).message, urn, kept, pendingDelete);
      const state = { urn, type, id: e.id, inputs, outputs: e.properties, initErrors: e.reasons };
      throw new UpFailed(initErrorMessage(e.reasons), urn, state, pendingDelete);
    }
  }

  private async update(old: ResourceState, inputs: Properties): Promise<ResourceState> {
    try {
      const { properties } = await this.host.update(old.urn, old.id, old.outputs, inputs, old.inputs);
      return { urn: old.urn, type: old.type, id: old.id, inputs, outputs: properties };
    } catch (e) {
      if (!(e instanceof PartialFailure)) throw new UpFailed((e as Error).message, old.urn, old);
      const state = { ...old, inputs, outputs: e.properties, initErrors: e.reasons };
      throw new UpFailed(initErrorMessage(e.reasons), old.urn, state);
    }
  }

  /** Deletes a replaced resource; on failure the state keeps `kept` and the old one is still to delete. */
  private async delete(
    old: ResourceState,
    kept: ResourceState,
    pendingDelete?: ResourceState,
  ): Promise<void> {
    try {
      await this.host.delete(old.urn, old.id, old.outputs, old.inputs);
    } catch (e) {
      throw new UpFailed((e as Error).message, old.urn, kept, pendingDelete);
    }
  }
}
