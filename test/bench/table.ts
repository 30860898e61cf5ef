// The bench's output: one Markdown table of every run, then the targets checked against it.
import type { Latency } from "./latency";

export type Who = "ours" | "floor" | "poller" | "kubectl";

export const whoLabel: Record<Who, string> = {
  ours: "this provider, through the host",
  floor: "no-op provider, same host (floor)",
  poller: "GET every 1 s",
  kubectl: "`kubectl wait` per object",
};

/** One (kind, controller, N) combination; each is run by every `Who`. */
export interface Scenario {
  kind: string;
  controller: "instant" | "delayed";
  count: number;
}

export interface Measured {
  scenario: Scenario;
  who: Who;
  /** How many runs the row summarises (one when unset). */
  runs?: number;
  /** Why the run was skipped; nothing else is set then. */
  skipped?: string;
  createMs?: number;
  totalMs?: number;
  latency?: Latency;
  /** Requests other than watches, per object, creates and deletes together. */
  requestsPerObject?: number;
  /** Watch streams open at once at the busiest moment. */
  peakWatches?: number;
  peakRssMb?: number;
  cpuSeconds?: number;
  failures?: number;
}

const seconds = (ms?: number) => (ms === undefined ? "—" : (ms / 1000).toFixed(2));
const ms = (v?: number) => (v === undefined ? "—" : v < 10 ? v.toFixed(1) : v.toFixed(0));
const fixed = (v: number | undefined, digits: number) => (v === undefined ? "—" : v.toFixed(digits));
const times = (ours?: number, other?: number) =>
  ours === undefined || other === undefined || other === 0 ? "—" : `${(ours / other).toFixed(2)}×`;

const sameScenario = (a: Scenario, b: Scenario) =>
  a.kind === b.kind && a.controller === b.controller && a.count === b.count;

export function renderTable(rows: Measured[]): string {
  const header = [
    "kind",
    "controller",
    "N",
    "who",
    "create s",
    "total s",
    "latency p50 / p99 / max ms",
    "requests / object",
    "watches at peak",
    "peak RSS MB",
    "CPU s",
    "failures",
    "ours ÷ this: total",
    "ours ÷ this: p99",
  ];
  const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`];
  for (const row of rows) {
    const { kind, controller, count } = row.scenario;
    const ours = rows.find((r) => r.who === "ours" && sameScenario(r.scenario, row.scenario));
    const vsOurs = row.who !== "ours" && !row.skipped && ours && !ours.skipped;
    const cells = row.skipped
      ? [whoLabel[row.who], `skipped: ${row.skipped}`, ...Array(10).fill("")]
      : [
          row.runs && row.runs > 1 ? `${whoLabel[row.who]}, median of ${row.runs} runs` : whoLabel[row.who],
          seconds(row.createMs),
          seconds(row.totalMs),
          row.latency ? `${ms(row.latency.p50)} / ${ms(row.latency.p99)} / ${ms(row.latency.max)}` : "—",
          fixed(row.requestsPerObject, 2),
          fixed(row.peakWatches, 0),
          fixed(row.peakRssMb, 0),
          fixed(row.cpuSeconds, 2),
          fixed(row.failures, 0),
          vsOurs ? times(ours.totalMs, row.totalMs) : "",
          vsOurs && row.who !== "floor" ? times(ours.latency?.p99, row.latency?.p99) : "",
        ];
    lines.push(`| ${[kind, controller, count, ...cells].join(" | ")} |`);
  }
  return lines.join("\n");
}

interface Check {
  target: string;
  measured: string;
  met: boolean;
}

/** The targets, each with the figures it was judged on; targets with no run to judge are left out. */
export function checkTargets(rows: Measured[]): Check[] {
  const ran = rows.filter((r) => !r.skipped);
  const ours = ran.filter((r) => r.who === "ours");
  const checks: Check[] = [];
  const worst = (values: number[]) => Math.max(...values);
  const add = (
    target: string,
    subjects: Measured[],
    measured: (r: Measured) => string,
    met: (r: Measured) => boolean,
  ) => {
    if (!subjects.length) return;
    const describe = (r: Measured) =>
      `${r.scenario.kind} ${r.scenario.controller} N=${r.scenario.count}: ${measured(r)}`;
    const missed = subjects.filter((r) => !met(r));
    checks.push({
      target,
      measured: (missed.length ? missed : subjects).map(describe).join("; "),
      met: missed.length === 0,
    });
  };

  if (ours.length) {
    checks.push({
      target: "open watch connections ≤ 1 per kind and namespace, at every N",
      measured: `at most ${worst(ours.map((r) => r.peakWatches ?? 0))} (one kind and one namespace per run)`,
      met: ours.every((r) => (r.peakWatches ?? 0) <= 1),
    });
  }
  add(
    "requests other than watches ≤ 2.5 per resource for create + delete at N = 1000",
    ours.filter((r) => r.scenario.count === 1000),
    (r) => fixed(r.requestsPerObject, 2),
    (r) => (r.requestsPerObject ?? Infinity) <= 2.5,
  );
  add(
    "delayed controller: latency p50 ≤ 20 ms and p99 ≤ 50 ms at every N",
    ours.filter((r) => r.scenario.controller === "delayed"),
    (r) => `p50 ${ms(r.latency?.p50)} ms, p99 ${ms(r.latency?.p99)} ms`,
    (r) => !!r.latency && r.latency.p50 <= 20 && r.latency.p99 <= 50,
  );
  const instant1000 = ours.filter((r) => r.scenario.controller === "instant" && r.scenario.count === 1000);
  const floorOf = (r: Measured) =>
    ran.find((f) => f.who === "floor" && sameScenario(f.scenario, r.scenario))?.totalMs;
  add(
    "instant controller, N = 1000: create + delete ≤ 2× the host's floor",
    instant1000,
    (r) => `${seconds(r.totalMs)} s vs floor ${seconds(floorOf(r))} s (${times(r.totalMs, floorOf(r))})`,
    (r) => floorOf(r) !== undefined && r.totalMs! <= 2 * floorOf(r)!,
  );
  add(
    "instant controller, N = 1000: latency p99 ≤ 500 ms",
    instant1000,
    (r) => `${ms(r.latency?.p99)} ms`,
    (r) => !!r.latency && r.latency.p99 <= 500,
  );
  add(
    "instant controller, N = 1000: host peak RSS ≤ 300 MB",
    instant1000,
    (r) => `${fixed(r.peakRssMb, 0)} MB`,
    (r) => (r.peakRssMb ?? Infinity) <= 300,
  );
  add(
    "instant controller, N = 1000: zero failures",
    instant1000,
    (r) => `${r.failures}`,
    (r) => r.failures === 0,
  );
  const kubectlAt = (r: Measured) =>
    ran.find((k) => k.who === "kubectl" && sameScenario(k.scenario, r.scenario))?.latency?.p99;
  add(
    "against `kubectl wait` per object at N = 100: p99 latency ≥ 10× lower",
    ours.filter((r) => r.scenario.count === 100 && kubectlAt(r) !== undefined),
    (r) =>
      `${ms(r.latency?.p99)} ms vs ${ms(kubectlAt(r))} ms (${times(kubectlAt(r), r.latency?.p99)} lower)`,
    (r) => !!r.latency && kubectlAt(r)! >= 10 * r.latency.p99,
  );
  return checks;
}

export function renderChecks(checks: Check[]): string {
  return checks.map((c) => `- ${c.met ? "met" : "**missed**"}: ${c.target} — ${c.measured}`).join("\n");
}
