// How long after its terminal phase was written each wait ended, and the summary the table prints.
import { collectionOf, type ObjectStore, type ResourceType } from "../emulator/store";
import { isTerminal } from "./replay";

/** When each object of a kind first reached a terminal phase (performance.now()), from the store's events. */
export function recordTerminalPhases(store: ObjectStore, type: ResourceType) {
  const at = new Map<string, number>();
  const collection = collectionOf(type);
  const stop = store.subscribe((e) => {
    if (e.collection !== collection || !isTerminal(e.object)) return;
    const name = e.object.metadata.name!;
    if (!at.has(name)) at.set(name, performance.now());
  });
  return { at, stop };
}

export interface Latency {
  p50: number;
  p99: number;
  max: number;
}

/** Latency per object: when its wait ended minus when its terminal phase was written; undefined if none. */
export function latencyOf(
  terminalAt: Map<string, number>,
  endedAt: Map<string, number>,
): Latency | undefined {
  const values: number[] = [];
  for (const [name, ended] of endedAt) {
    const terminal = terminalAt.get(name);
    if (terminal !== undefined) values.push(ended - terminal);
  }
  if (!values.length) return undefined;
  values.sort((a, b) => a - b);
  return { p50: percentile(values, 50), p99: percentile(values, 99), max: values[values.length - 1] };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}
