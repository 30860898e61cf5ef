// `npm run bench`: N concurrent snapshot creates then deletes against the emulator, through Pulumi's real
// dynamic-provider host, beside the host's own floor and the ways users wait today. Progress goes to stderr,
// the table (Markdown) and the targets to stdout.
//   node --import tsx test/bench/run.ts [--sizes 1,100,1000] [--kinds VirtualDiskSnapshot,VirtualMachineSnapshot]
//     [--controllers instant,delayed] [--peers poller,kubectl] [--repeat 5]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { connect, disconnectAll, type Cluster } from "../../provider/kube/cluster";
import { sleep } from "../../provider/kube/request";
import { startEmulator, type Emulator } from "../emulator";
import { profile } from "../emulator/kinds/profiles";
import { makeConsumerProject } from "../host/consumer";
import {
  benchKinds,
  declaredResources,
  inputsFor,
  programFiles,
  recordedSnapshots,
  type BenchKind,
} from "./kinds";
import { runKubectlWait, kubectlOnPath } from "./kubectlWait";
import { latencyOf, percentile, recordTerminalPhases, waitsAfterTerminal } from "./latency";
import type { PeerRun } from "./peer";
import { runPoller } from "./poller";
import { recordSimulator, startReplay, type Pace, type Recording } from "./replay";
import {
  checkTargets,
  renderChecks,
  renderTable,
  whoLabel,
  type Measured,
  type Scenario,
  type Who,
} from "./table";
import { startEngineProcess, type EngineProcess, type HostRun } from "./throughHost";

const namespace = "bench";
/** "Realistically delayed": each snapshot reaches its terminal phase 1-3 s after it was created. */
const delayedPace: Pace = { minMs: 1_000, maxMs: 3_000 };
/** More `kubectl wait` processes at once than this (about 45 MB each) are not started. */
const kubectlLimit = 100;

interface Options {
  sizes: number[];
  kinds: BenchKind[];
  controllers: Scenario["controller"][];
  peers: Who[];
  /** Runs of the floor and of this provider per scenario, alternating; the table shows their medians. */
  repeat: number;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      sizes: { type: "string", default: "1,100,1000" },
      kinds: { type: "string", default: benchKinds.map((k) => k.name).join(",") },
      controllers: { type: "string", default: "instant,delayed" },
      peers: { type: "string", default: "poller,kubectl" },
      repeat: { type: "string", default: "5" },
    },
  });
  const list = (value: string) => value.split(",").filter(Boolean);
  const oneOf = <T extends string>(option: string, value: string, allowed: readonly T[]): T => {
    if (!allowed.includes(value as T)) {
      throw new Error(`--${option}: "${value}" is not one of ${allowed.join(", ")}`);
    }
    return value as T;
  };
  const sizes = list(values.sizes).map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--sizes: "${s}" is not a positive whole number`);
    return n;
  });
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) {
    throw new Error(`--repeat: "${values.repeat}" is not a positive whole number`);
  }
  const kindNames = benchKinds.map((k) => k.name);
  return {
    sizes,
    kinds: list(values.kinds).map((k) => benchKinds[kindNames.indexOf(oneOf("kinds", k, kindNames))]),
    controllers: list(values.controllers).map((c) =>
      oneOf("controllers", c, ["instant", "delayed"] as const),
    ),
    peers: list(values.peers).map((p) => oneOf("peers", p, ["poller", "kubectl"] as const)),
    repeat,
  };
}

const progress = (line: string) => process.stderr.write(`${line}\n`);

/** What every run of the bench shares. */
interface Bench {
  emulator: Emulator;
  /** The bench's own connection (the kubectl peer's creates and deletes). */
  cluster: Cluster;
  /** The project the hosts run in: the bench's program, with this package installed from its tarball. */
  projectDir: string;
  hostEnv: NodeJS.ProcessEnv;
  declared: Awaited<ReturnType<typeof declaredResources>>;
  kubectlCache: string;
  kubectlWarm?: Promise<void>;
  coldStarts: number[];
  /** The engine's stand-in, in its own process. */
  engine: EngineProcess;
}

async function main() {
  const options = parseOptions();
  const loadBefore = os.loadavg();
  const speedBefore = machineSpeedMs();
  progress("installing the package in a project, recording the Deckhouse simulator...");
  const { "index.ts": program, ...files } = programFiles();
  const [project, recordings] = await Promise.all([
    makeConsumerProject({ program, files }),
    recordSimulator(recordedSnapshots),
  ]);
  progress("capturing the program's resources under mocks...");
  const declared = await declaredResources({ cwd: project.dir });
  // Watches start from recent versions only; a longer history is heap the bench's collector keeps scanning.
  const emulator = await startEmulator({
    types: profile("deckhouse-v1.10"),
    namespace,
    historyWindow: 20_000,
  });
  // The replayed controller's writes carry its field manager, as the platform's do.
  emulator.store.controllers = "virtualization-controller";
  const kubectlCache = mkdtempSync(path.join(os.tmpdir(), "bench-kubectl-cache-"));
  const bench: Bench = {
    emulator,
    cluster: await connect({ kubeconfig: emulator.kubeconfig }),
    projectDir: project.dir,
    hostEnv: { KUBECONFIG: emulator.kubeconfigPath },
    declared,
    kubectlCache,
    coldStarts: [],
    engine: startEngineProcess(),
  };
  const rows: Measured[] = [];
  const pairs: Pair[] = [];
  try {
    for (const controller of options.controllers) {
      const replay = startReplay(
        emulator.store,
        recordings,
        controller === "instant" ? "instant" : delayedPace,
      );
      try {
        if (controller === options.controllers[0]) await warmUp(bench, options, controller);
        for (const kind of options.kinds) {
          for (const count of options.sizes) {
            const scenario: Scenario = { kind: kind.name, controller, count };
            // The host's runs vary from one to the next on a shared machine: the floor and this provider
            // take turns, so both see the same moments, and each is summarised over its runs.
            const hostRuns: Record<"floor" | "ours", Run[]> = { floor: [], ours: [] };
            for (let r = 0; r < options.repeat; r++) {
              for (const who of ["floor", "ours"] as const) {
                const run = await measure(bench, kind, scenario, who);
                progress(describe(run));
                hostRuns[who].push(run);
              }
            }
            rows.push(summarise(hostRuns.floor), summarise(hostRuns.ours));
            pairs.push({ scenario, floor: hostRuns.floor, ours: hostRuns.ours });
            for (const who of options.peers) {
              const row = await measure(bench, kind, scenario, who);
              progress(describe(row));
              rows.push(row);
            }
          }
        }
      } finally {
        replay.stop();
      }
    }
  } finally {
    await bench.engine.stop();
    await disconnectAll();
    await emulator.stop();
    await project.cleanup();
    rmSync(kubectlCache, { recursive: true, force: true });
  }
  const speed = { before: speedBefore, after: machineSpeedMs() };
  console.log(report(rows, pairs, options.repeat, bench, recordings, loadBefore, os.loadavg(), speed));
}

/**
 * How fast this machine runs JavaScript now: a fixed workload of small objects made and written as JSON, in
 * milliseconds. A shared machine's speed moves by half within minutes; this says how fast it was for a run.
 */
function machineSpeedMs(): number {
  const start = performance.now();
  let kept: object[] = [];
  let length = 0;
  for (let i = 0; i < 3_000_000; i++) {
    const o = { a: i, b: String(i) };
    kept.push(o);
    if (kept.length > 1000) kept = [];
    length += JSON.stringify(o).length;
  }
  if (length < 0) throw new Error("unreachable");
  return performance.now() - start;
}

/**
 * One uncounted run of the floor and of this provider at the largest N: the engine's stand-in and the bench's
 * own process (the emulator) compile their hot paths on their first runs, which would otherwise slow whichever
 * row comes first. Each host is a fresh process either way, as in every `pulumi up`.
 */
async function warmUp(bench: Bench, options: Options, controller: Scenario["controller"]) {
  const kind = options.kinds[0];
  const scenario: Scenario = { kind: kind.name, controller, count: Math.max(...options.sizes) };
  progress(
    `warming up the engine's stand-in and the emulator (${kind.name} N=${scenario.count}, not counted)...`,
  );
  const coldStarts = bench.coldStarts.length;
  for (const who of ["floor", "ours"] as const) await measure(bench, kind, scenario, who);
  bench.coldStarts.length = coldStarts;
}

/**
 * One run of one contender; `waits` are its latencies, which a summary of several runs pools. Through the host,
 * also where the CPU went: the host's main thread, the engine's stand-in, and the emulator, on the same cores.
 */
type Run = Measured & {
  waits?: number[];
  mainThreadCpuSeconds?: number;
  standInCpuSeconds?: number;
  emulatorCpuSeconds?: number;
};

/** A scenario's runs through the host, in the order they ran. */
interface Pair {
  scenario: Scenario;
  floor: Run[];
  ours: Run[];
}

const median = (values: (number | undefined)[]): number | undefined => {
  const known = values.filter((v): v is number => v !== undefined).sort((a, b) => a - b);
  if (!known.length) return undefined;
  const mid = Math.floor(known.length / 2);
  return known.length % 2 ? known[mid] : (known[mid - 1] + known[mid]) / 2;
};
const highest = (values: (number | undefined)[]) => {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length ? Math.max(...known) : undefined;
};

/**
 * Several runs as one row: the median of the times and CPU, latency percentiles over every wait of every run,
 * the highest request count, watch count and memory, and all the failures.
 */
function summarise(runs: Run[]): Measured {
  const waits = runs.flatMap((r) => r.waits ?? []);
  return {
    scenario: runs[0].scenario,
    who: runs[0].who,
    runs: runs.length,
    createMs: median(runs.map((r) => r.createMs)),
    totalMs: median(runs.map((r) => r.totalMs)),
    latency: latencyOf(waits),
    requestsPerObject: highest(runs.map((r) => r.requestsPerObject)),
    peakWatches: highest(runs.map((r) => r.peakWatches)),
    peakRssMb: highest(runs.map((r) => r.peakRssMb)),
    cpuSeconds: median(runs.map((r) => r.cpuSeconds)),
    failures: runs.reduce((sum, r) => sum + (r.failures ?? 0), 0),
  };
}

async function measure(bench: Bench, kind: BenchKind, scenario: Scenario, who: Who): Promise<Run> {
  const { emulator } = bench;
  const { count } = scenario;
  if (who === "kubectl" && !kubectlOnPath()) return { scenario, who, skipped: "kubectl is not on PATH" };
  if (who === "kubectl" && count > kubectlLimit) {
    return { scenario, who, skipped: `${count} kubectl processes at once (run up to ${kubectlLimit})` };
  }
  // A watch of the previous run may still be closing; each run's peak starts from none.
  for (let i = 0; i < 300 && emulator.requests.openWatches() > 0; i++) await sleep(10);
  emulator.requests.reset();
  const terminal = recordTerminalPhases(emulator.store, kind.type);
  const prefix = `${kind.resourceName}-${scenario.controller}-${count}`;
  const objects = Array.from({ length: count }, (_, i) => ({
    name: `${who}-${prefix}-${i}`,
    spec: kind.spec(i),
  }));
  const peer = { kubeconfigPath: emulator.kubeconfigPath, namespace, api: kind.api, objects };
  try {
    let run: HostRun | PeerRun;
    if (who === "floor" || who === "ours") {
      const declared = bench.declared.get(who === "ours" ? kind.resourceName : "nothing")!;
      run = await bench.engine.run({
        cwd: bench.projectDir,
        env: bench.hostEnv,
        type: declared.type,
        inputs: Array.from({ length: count }, (_, i) =>
          inputsFor(who === "ours" ? kind : undefined, declared, i),
        ),
        prefix,
      });
      bench.coldStarts.push(run.coldStartMs);
    } else if (who === "poller") {
      run = await runPoller(peer);
    } else {
      bench.kubectlWarm ??= warmKubectlCache(bench, kind);
      await bench.kubectlWarm;
      run = await runKubectlWait({ ...peer, cluster: bench.cluster, cacheDir: bench.kubectlCache });
    }
    for (const failure of run.failures.slice(0, 3)) progress(`  failure: ${failure}`);
    const endedAt = "createdAt" in run ? run.createdAt : run.endedAt;
    const waits = who === "floor" ? undefined : waitsAfterTerminal(terminal.at, endedAt);
    return {
      scenario,
      who,
      createMs: run.createMs,
      totalMs: run.createMs + run.deleteMs,
      latency: waits && latencyOf(waits),
      waits,
      requestsPerObject: emulator.requests.count({ watch: false }) / count,
      peakWatches: emulator.requests.peakWatches(),
      peakRssMb: run.peakRssMb,
      cpuSeconds: run.cpuSeconds,
      failures: run.failures.length,
      ...("standInCpuSeconds" in run && {
        mainThreadCpuSeconds: run.mainThreadCpuSeconds,
        standInCpuSeconds: run.standInCpuSeconds,
        emulatorCpuSeconds: run.emulatorCpuSeconds,
      }),
    };
  } finally {
    terminal.stop();
  }
}

/** kubectl caches discovery for ten minutes; a user's cache is warm, so the bench warms it once (not counted). */
function warmKubectlCache(bench: Bench, kind: BenchKind): Promise<void> {
  return new Promise<void>((resolve) =>
    spawn(
      "kubectl",
      [
        "--kubeconfig",
        bench.emulator.kubeconfigPath,
        "--cache-dir",
        bench.kubectlCache,
        "get",
        kind.api.plural,
      ],
      { stdio: "ignore" },
    ).once("close", () => resolve()),
  );
}

function describe(row: Measured): string {
  const { kind, controller, count } = row.scenario;
  const head = `[${kind} ${controller} N=${count}] ${whoLabel[row.who]}:`;
  if (row.skipped) return `${head} skipped (${row.skipped})`;
  const latency = row.latency ? `, latency p99 ${row.latency.p99.toFixed(0)} ms` : "";
  return (
    `${head} create ${(row.createMs! / 1000).toFixed(2)} s, total ${(row.totalMs! / 1000).toFixed(2)} s${latency}, ` +
    `${row.requestsPerObject!.toFixed(2)} requests/object, ${row.peakWatches} watches, ${row.failures} failures`
  );
}

/** Each N = 1000 turn with the instant controller: its ratio to the floor's run before it, and where the CPU went. */
function turnLines(pairs: Pair[]): string[] {
  const lines = pairs
    .filter((p) => p.scenario.controller === "instant" && p.scenario.count === 1000)
    .map(
      (p) =>
        `${p.scenario.kind} instant N=1000, each turn's total ÷ the floor's run before it: ` +
        p.ours.map((o, i) => `${(o.totalMs! / p.floor[i].totalMs!).toFixed(2)}×`).join(", ") +
        ` (floor ${p.floor.map((f) => (f.totalMs! / 1000).toFixed(2)).join(", ")} s); ` +
        `CPU s per turn, floor and this provider: ` +
        p.ours.map((o, i) => `${cpuSplit(p.floor[i])} and ${cpuSplit(o)}`).join("; ") +
        ".",
    );
  if (!lines.length) return [];
  return [
    ...lines,
    "CPU s: the host's main thread + its other threads (V8's optimizing compiler and collector helpers) / the " +
      "engine's stand-in / the emulator and the replayed controller, which run on the same cores.",
  ];
}

/** "host main + other threads / engine's stand-in / emulator", in seconds. */
function cpuSplit(run: Run): string {
  const { cpuSeconds: all, mainThreadCpuSeconds: main, standInCpuSeconds: standIn } = run;
  if (all === undefined || main === undefined || standIn === undefined) return "—";
  const emulator = run.emulatorCpuSeconds?.toFixed(2) ?? "—";
  return `${main.toFixed(2)} + ${(all - main).toFixed(2)} / ${standIn.toFixed(2)} / ${emulator}`;
}

function report(
  rows: Measured[],
  pairs: Pair[],
  repeat: number,
  bench: Bench,
  recordings: Recording[],
  loadBefore: number[],
  loadAfter: number[],
  speed: { before: number; after: number },
): string {
  const cpus = os.cpus();
  const load = (l: number[]) => l.map((v) => v.toFixed(2)).join(" ");
  const cold = [...bench.coldStarts].sort((a, b) => a - b);
  const sizes = [...bench.declared.entries()].map(
    ([name, d]) => `${d.type.split(":").pop()} (${name}) ${d.providerBytes} bytes`,
  );
  const phases = (r: Recording) =>
    r.create.map((s) => ("status" in s ? s.status.phase : "finalizer")).join(" → ");
  return [
    `Machine: ${cpus.length} × ${cpus[0]?.model.trim()}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GB, ` +
      `Node ${process.version}, load average ${load(loadBefore)} before and ${load(loadAfter)} after the run. ` +
      `A fixed JavaScript workload took ${speed.before.toFixed(0)} ms before and ${speed.after.toFixed(0)} ms ` +
      `after the run (the machine's speed; compare it between runs).`,
    "",
    renderTable(rows),
    "",
    `Through the host, the floor and this provider ran ${repeat} time${repeat > 1 ? "s" : ""} each per scenario, ` +
      "taking turns; their rows show the median wall and CPU times, latency percentiles over every wait of " +
      "every run, and the highest request count, watch count and memory. The peers ran once.",
    ...turnLines(pairs),
    "",
    "Targets:",
    renderChecks(checkTargets(rows)),
    "",
    `Serialized provider (\`__provider\`, stored twice per resource): ${sizes.join(", ")}.`,
    cold.length
      ? `Host cold start (spawn until it printed its port), ${cold.length} hosts: median ` +
        `${percentile(cold, 50).toFixed(0)} ms, min ${cold[0].toFixed(0)} ms, max ${cold.at(-1)!.toFixed(0)} ms.`
      : "",
    "Controller: each snapshot gets the writes the Deckhouse simulator made for a consistent snapshot of a running " +
      "VM with one disk (recorded at start: " +
      recordings.map((r) => `${r.type.kind} ${phases(r)}`).join("; ") +
      "), instant or spread evenly until the terminal phase 1-3 s after creation; deletes are finished at once. " +
      "Each snapshot is of its own VM (or disk), one namespace.",
  ].join("\n");
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});
