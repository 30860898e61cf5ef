// One `pulumi up` and `pulumi destroy` of N resources through a fresh dynamic-provider host, as the engine
// drives them: each resource's Check once the one before it was answered, its Create as soon as its Check was
// answered, all Creates at once; then every Delete at once. The stand-in runs in a process of its own
// (engineChild.ts), as `pulumi` does, so that its calls do not wait on the emulator's event loop.
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { startEngine, type ResourceState } from "../host/engine";
import { killOnExit, runningInGroup } from "../host/processes";
import { repoNode } from "../host/repo";
import { sharedClock } from "./clock";
import { processUsage, type ProcessUsage } from "./processUsage";

export interface HostWorkload {
  /** The Pulumi project directory the host runs in. */
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The resources' type token, and each one's inputs as the program sends them (`__provider` included). */
  type: string;
  inputs: Record<string, unknown>[];
  /** Resource names are `<prefix>-<i>`. */
  prefix: string;
}

export interface HostRun {
  /** From the first Check sent to the last Create answered. */
  createMs: number;
  /** From the first Delete sent to the last one answered. */
  deleteMs: number;
  /** When each Create's answer arrived (sharedClock()), by the object's name (from the id `namespace/name`). */
  createdAt: Map<string, number>;
  failures: string[];
  /** Spawn until the host printed its port. */
  coldStartMs: number;
  /** The host's node process: peak memory over its life, CPU spent on the creates and deletes. */
  peakRssMb?: number;
  cpuSeconds?: number;
  /** Of that CPU, its main thread's. */
  mainThreadCpuSeconds?: number;
  /** CPU the engine's stand-in spent meanwhile, on the same cores. */
  standInCpuSeconds: number;
  /** CPU the bench's own process (the emulator and the replayed controller) spent meanwhile. */
  emulatorCpuSeconds?: number;
}

export async function runThroughHost(work: HostWorkload): Promise<HostRun> {
  const engine = await startEngine({ cwd: work.cwd, env: work.env });
  try {
    // The host script runs `node` as its child; that process does the work.
    const node = runningInGroup(engine.host.pid).find((pid) => pid !== engine.host.pid) ?? engine.host.pid;
    const before = processUsage(node);
    const standInBefore = process.cpuUsage();
    const failures: string[] = [];
    const createdAt = new Map<string, number>();
    const names = work.inputs.map((_, i) => `${work.prefix}-${i}`);

    const createStart = performance.now();
    const created = await Promise.all(
      names.map((name, i) =>
        engine.up(undefined, engine.urn(work.type, name), { ...work.inputs[i], resourceName: name }).then(
          (state) => {
            createdAt.set(state.id.split("/").pop()!, sharedClock());
            return state;
          },
          (e: Error) => {
            failures.push(`create ${name}: ${e.message}`);
            return undefined;
          },
        ),
      ),
    );
    const createMs = performance.now() - createStart;

    const deleteStart = performance.now();
    await Promise.all(
      created
        .filter((s): s is ResourceState => s !== undefined)
        .map((state) =>
          engine.destroy(state).catch((e: Error) => failures.push(`delete ${state.urn}: ${e.message}`)),
        ),
    );
    const deleteMs = performance.now() - deleteStart;

    const after = processUsage(node);
    const standIn = process.cpuUsage(standInBefore);
    return {
      createMs,
      deleteMs,
      createdAt,
      failures,
      coldStartMs: engine.host.coldStartMs,
      standInCpuSeconds: (standIn.user + standIn.system) / 1e6,
      ...usageBetween(before, after),
    };
  } finally {
    await engine.host.stop();
  }
}

function usageBetween(before?: ProcessUsage, after?: ProcessUsage) {
  if (!before || !after) return {};
  return {
    peakRssMb: after.peakRssMb,
    cpuSeconds: after.cpuSeconds - before.cpuSeconds,
    mainThreadCpuSeconds: after.mainThreadCpuSeconds - before.mainThreadCpuSeconds,
  };
}

/** The engine's stand-in in its own process, which runs one workload at a time. */
export interface EngineProcess {
  run(work: HostWorkload): Promise<HostRun>;
  stop(): Promise<void>;
}

export function startEngineProcess(): EngineProcess {
  const child: ChildProcess = spawn(
    repoNode,
    ["--import", pathToFileURL(require.resolve("tsx")).href, path.join(__dirname, "engineChild.ts")],
    { stdio: ["ignore", "inherit", "inherit", "ipc"] },
  );
  const forget = killOnExit(child, false);
  // "exit", not "close": a child that shares the bench's stdio and whose IPC channel the bench closed is not
  // reported closed.
  const closed = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    async run(work) {
      const before = process.cpuUsage();
      const answer = new Promise<AnswerOfChild>((resolve, reject) => {
        child.once("message", (m) => resolve(m as AnswerOfChild));
        closed.then(() => reject(new Error("the engine's stand-in exited during a run")));
      });
      child.send(work);
      const m = await answer;
      if ("error" in m) throw new Error(`the engine's stand-in failed: ${m.error}`);
      const used = process.cpuUsage(before);
      return {
        ...m,
        createdAt: new Map(m.createdAt),
        emulatorCpuSeconds: (used.user + used.system) / 1e6,
      };
    },
    async stop() {
      child.disconnect();
      await closed;
      forget();
    },
  };
}

/** What engineChild.ts sends back: a HostRun with its Map as entries, or why it failed. */
export type AnswerOfChild =
  (Omit<HostRun, "createdAt"> & { createdAt: [string, number][] }) | { error: string };
