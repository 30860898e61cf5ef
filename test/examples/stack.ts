// A Pulumi stack without the CLI: `up` runs the project's program and takes each resource it declares through
// the engine's steps on the real dynamic-provider host (pulumi-kubernetes objects go to the emulator's store),
// deleting what the program no longer declares; `destroy` deletes everything, dependents first.
import * as fs from "node:fs";
import * as path from "node:path";
import { load } from "js-yaml";
import type { KubeObject } from "../emulator/store";
import { Engine, startEngine, UpFailed, type ResourceState } from "../host/engine";
import { parseUrn } from "../host/urn";
import { isKubernetesType, type KubernetesObjects } from "./kubernetesObjects";
import { packageEnv, runsFromSources } from "./packageEnv";
import { runProgram, type Registration } from "./program";

export type StepOp = "create" | "update" | "replace" | "same" | "delete";

/** One resource's step; `op` is final once `ms` is set (before that, "update" stands for "bring up to date"). */
export interface Step {
  op: StepOp;
  urn: string;
  type: string;
  name: string;
  /** Set when the step has finished. */
  ms?: number;
  error?: string;
}

export interface StackOptions {
  /** The project directory, with Pulumi.yaml. */
  dir: string;
  /** Default "test". */
  stack?: string;
  /** Stack config; keys without a namespace belong to the project. */
  config?: Record<string, string>;
  /** For the host and the program, e.g. KUBECONFIG. */
  env?: NodeJS.ProcessEnv;
  /** Where `kubernetes:*` resources are created; a program that declares one fails without it. */
  kubernetes?: KubernetesObjects;
  /** Run the package from its TypeScript sources (default: as this process resolves it). */
  fromSources?: boolean;
  /** Called when a step starts and when it ends. */
  onStep?: (step: Step) => void;
  /** Cancels a running `up` (Ctrl-C): the program ends at once; stop() ends what the host is doing. */
  signal?: AbortSignal;
}

export class Stack {
  /** The resources in the state, in the order they were last declared (dependencies first). */
  readonly resources = new Map<string, ResourceState>();
  private readonly pendingDeletes: ResourceState[] = [];

  private constructor(
    readonly engine: Engine,
    private readonly project: Project,
    private readonly options: StackOptions & { stack: string; fromSources: boolean },
    /** The stack that started the host, which ends it. */
    private readonly hostOwner?: Stack,
  ) {}

  /**
   * Starts the project's host, as the engine does for a stack's first dynamic resource. The host keeps the
   * config it started with (the provider reads only `pulumi-vm-snapshots:*` keys from it).
   */
  static async start(options: StackOptions): Promise<Stack> {
    const project = projectOf(options.dir);
    const settings = {
      ...options,
      stack: options.stack ?? "test",
      fromSources: options.fromSources ?? runsFromSources(),
    };
    const env = { ...options.env, ...packageEnv(settings.fromSources) };
    const engine = await startEngine({
      cwd: options.dir,
      env,
      config: namespaced(project.name, options.config),
    });
    return new Stack(engine, project, settings);
  }

  /** Another stack of the same project, its resources served by this stack's host (the provider code is the same). */
  sibling(stack: string, config?: Record<string, string>): Stack {
    const engine = new Engine(this.engine.host, stack);
    return new Stack(engine, this.project, { ...this.options, stack, config }, this);
  }

  /** The object a `kubernetes:*` resource stands for, or a dynamic resource's outputs. */
  outputsOf(name: string): Record<string, any> {
    const state = [...this.resources.values()].find((s) => parseUrn(s.urn).name === name);
    if (!state) throw new Error(`the stack has no resource named "${name}"`);
    return state.outputs;
  }

  /** `pulumi up`: `config` replaces the stack config for this run; fails as `pulumi up` would, keeping the state. */
  async up(config?: Record<string, string>): Promise<void> {
    if (config) this.options.config = config;
    const declared = new Map<string, ResourceState>();
    let undeclared: ResourceState[] = [];
    try {
      await runProgram(
        this.project.program,
        {
          cwd: this.options.dir,
          project: this.project.name,
          stack: this.options.stack,
          config: namespaced(this.project.name, this.options.config),
          env: { ...this.options.env, ...packageEnv(this.options.fromSources) },
          fromSources: this.options.fromSources,
          signal: this.options.signal,
        },
        async (registration) => {
          const state = await this.step(registration);
          declared.set(state.urn, state);
          return { id: state.id, outputs: state.outputs };
        },
      );
    } finally {
      // The state lists what this run declared, in its order, then what it no longer declares.
      undeclared = [...this.resources.values()].filter((s) => !declared.has(s.urn));
      this.resources.clear();
      for (const s of [...declared.values(), ...undeclared]) this.resources.set(s.urn, s);
    }
    for (const old of undeclared.reverse()) await this.delete(old);
    await this.deletePending();
  }

  /** `pulumi destroy`: deletes every resource, the last declared first. */
  async destroy(): Promise<void> {
    await this.deletePending();
    for (const state of [...this.resources.values()].reverse()) await this.delete(state);
  }

  /** Ends the host, unless it belongs to the stack this one is a sibling of. */
  async stop(): Promise<void> {
    if (!this.hostOwner) await this.engine.host.stop();
  }

  private async step({ type, name, inputs }: Registration): Promise<ResourceState> {
    const urn = this.engine.urn(type, name);
    const old = this.resources.get(urn);
    const step: Step = { op: old ? "update" : "create", urn, type, name };
    this.options.onStep?.({ ...step });
    const started = performance.now();
    const sentBefore = this.engine.sentFor(urn).length;
    const end = (op: StepOp, error?: unknown) =>
      this.options.onStep?.({
        ...step,
        op,
        ms: performance.now() - started,
        ...(error ? { error: (error as Error).message } : {}),
      });
    try {
      if (isKubernetesType(type)) {
        const { state, op } = this.applyObject(urn, type, name, inputs, old);
        end(op);
        return state;
      }
      const state = await this.engine.up(old, urn, inputs);
      const sent = this.engine.sentFor(urn).slice(sentBefore);
      end(
        !old ? "create" : sent.includes("Create") ? "replace" : sent.includes("Update") ? "update" : "same",
      );
      return state;
    } catch (e) {
      end(step.op, e);
      if (e instanceof UpFailed) {
        if (e.state) this.resources.set(urn, e.state);
        else this.resources.delete(urn);
        if (e.pendingDelete) this.pendingDeletes.push(e.pendingDelete);
      }
      throw e;
    }
  }

  private applyObject(
    urn: string,
    type: string,
    name: string,
    inputs: Record<string, any>,
    old: ResourceState | undefined,
  ): { state: ResourceState; op: StepOp } {
    const objects = this.kubernetes(type);
    const previous = old?.outputs as KubeObject | undefined;
    const object = objects.apply(type, name, inputs, previous);
    const op: StepOp = !old
      ? "create"
      : object.metadata.resourceVersion === previous?.metadata.resourceVersion
        ? "same"
        : "update";
    const id = [object.metadata.namespace, object.metadata.name].filter(Boolean).join("/");
    return { state: { urn, type, id, inputs, outputs: object }, op };
  }

  private async delete(state: ResourceState): Promise<void> {
    const { name } = parseUrn(state.urn);
    const step: Step = { op: "delete", urn: state.urn, type: state.type, name };
    this.options.onStep?.({ ...step });
    const started = performance.now();
    try {
      if (isKubernetesType(state.type))
        await this.kubernetes(state.type).remove(state.type, state.outputs as KubeObject);
      else await this.engine.destroy(state);
    } catch (e) {
      this.options.onStep?.({ ...step, ms: performance.now() - started, error: (e as Error).message });
      throw e;
    }
    this.resources.delete(state.urn);
    this.options.onStep?.({ ...step, ms: performance.now() - started });
  }

  private async deletePending(): Promise<void> {
    while (this.pendingDeletes.length) {
      await this.engine.destroy(this.pendingDeletes[0]);
      this.pendingDeletes.shift();
    }
  }

  private kubernetes(type: string): KubernetesObjects {
    if (!this.options.kubernetes)
      throw new Error(`${type}: this stack was started without a Kubernetes store`);
    return this.options.kubernetes;
  }
}

interface Project {
  name: string;
  /** The program file. */
  program: string;
}

/** The project's name, and its program: the `main:` of Pulumi.yaml, else the directory's index.ts. */
function projectOf(dir: string): Project {
  const file = path.join(dir, "Pulumi.yaml");
  const project = load(fs.readFileSync(file, "utf8")) as { name?: string; main?: string };
  if (!project?.name) throw new Error(`${file}: name: a Pulumi project needs a name`);
  const main = path.resolve(dir, project.main ?? ".");
  return {
    name: project.name,
    program: fs.statSync(main).isDirectory() ? path.join(main, "index.ts") : main,
  };
}

/** Config keys as the engine passes them: a key without a namespace belongs to the project. */
const namespaced = (project: string, config: Record<string, string> = {}) =>
  Object.fromEntries(Object.entries(config).map(([k, v]) => [k.includes(":") ? k : `${project}:${k}`, v]));
