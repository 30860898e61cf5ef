// One `pulumi up` and `pulumi destroy` of N resources through a fresh dynamic-provider host, as the engine
// drives them: every resource's Check then Create at once, then every Delete at once.
import { performance } from "node:perf_hooks";
import { startEngine, type ResourceState } from "../host/engine";
import { runningInGroup } from "../host/processes";
import { processUsage, type ProcessUsage } from "./processUsage";

export interface HostWorkload {
  /** The Pulumi project directory the host runs in. */
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The resources' type token, and the i-th one's inputs as the program sends them (`__provider` included). */
  type: string;
  inputs(i: number): Record<string, unknown>;
  count: number;
  /** Resource names are `<prefix>-<i>`. */
  prefix: string;
}

export interface HostRun {
  /** From the first Check sent to the last Create answered. */
  createMs: number;
  /** From the first Delete sent to the last one answered. */
  deleteMs: number;
  /** When each Create's answer arrived, by the object's name (from the id `namespace/name`). */
  createdAt: Map<string, number>;
  failures: string[];
  /** Spawn until the host printed its port. */
  coldStartMs: number;
  /** The host's node process: peak memory over its life, CPU spent on the creates and deletes. */
  peakRssMb?: number;
  cpuSeconds?: number;
  /** Of that CPU, its main thread's. */
  mainThreadCpuSeconds?: number;
  /** CPU the bench's own process spent meanwhile (emulator, controller, engine's stand-in), on the same cores. */
  benchCpuSeconds: number;
}

export async function runThroughHost(work: HostWorkload): Promise<HostRun> {
  const engine = await startEngine({ cwd: work.cwd, env: work.env });
  try {
    // The host script runs `node` as its child; that process does the work.
    const node = runningInGroup(engine.host.pid).find((pid) => pid !== engine.host.pid) ?? engine.host.pid;
    const before = processUsage(node);
    const benchBefore = process.cpuUsage();
    const failures: string[] = [];
    const createdAt = new Map<string, number>();
    const names = Array.from({ length: work.count }, (_, i) => `${work.prefix}-${i}`);

    const createStart = performance.now();
    const created = await Promise.all(
      names.map((name, i) =>
        engine.up(undefined, engine.urn(work.type, name), { ...work.inputs(i), resourceName: name }).then(
          (state) => {
            createdAt.set(state.id.split("/").pop()!, performance.now());
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
    const bench = process.cpuUsage(benchBefore);
    return {
      createMs,
      deleteMs,
      createdAt,
      failures,
      coldStartMs: engine.host.coldStartMs,
      benchCpuSeconds: (bench.user + bench.system) / 1e6,
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
