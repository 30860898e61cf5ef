// How long after its terminal phase was written each wait ended, and the summary the table prints.
import { collectionOf, type ObjectStore, type ResourceType } from "../emulator/store";
import { sharedClock } from "./clock";
import { isTerminal } from "./replay";

/** When each object of a kind first reached a terminal phase (sharedClock()), from the store's events. */
export function recordTerminalPhases(store: ObjectStore, type: ResourceType) {
  const at = new Map<string, number>();
  const collection = collectionOf(type);
  const stop = store.subscribe((e) => {
    if (e.collection !== collection || !isTerminal(e.object)) return;
    const name = e.object.metadata.name!;
    if (!at.has(name)) at.set(name, sharedClock());
  });
  return { at, stop };
}

export interface Latency {
  p50: number;
  p99: number;
  max: number;
}

/** How long each wait ended after its object's terminal phase was written, ms (objects in both maps). */
export function waitsAfterTerminal(terminalAt: Map<string, number>, endedAt: Map<string, number>): number[] {
  const values: number[] = [];
  for (const [name, ended] of endedAt) {
    const terminal = terminalAt.get(name);
    if (terminal !== undefined) values.push(ended - terminal);
  }
  return values;
}

/** p50, p99 and max of some waits; undefined for none. */
export function latencyOf(waits: number[]): Latency | undefined {
  if (!waits.length) return undefined;
  const sorted = [...waits].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}
