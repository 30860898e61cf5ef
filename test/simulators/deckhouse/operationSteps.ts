// How a VirtualMachineOperation runs: an ordered list of idempotent steps re-run on every reconcile, the first
// one that is not done stops the pass (as the platform's step taker does).
import type { KubeObject } from "../../emulator/store";
import type { DeckhouseContext } from "./context";

export interface OperationRun {
  ctx: DeckhouseContext;
  /** The operation as last written (a step that updates its metadata replaces it). */
  op: KubeObject;
  /** The status being built; written once the pass ends. */
  status: Record<string, any>;
}

/** "done": go on with the next step; "wait": stop here until an event; an error fails the operation. */
export type StepOutcome = "done" | "wait" | { error: string };

export type Step = (run: OperationRun) => StepOutcome;

export function runSteps(run: OperationRun, steps: Step[]): StepOutcome {
  for (const step of steps) {
    const outcome = step(run);
    if (outcome !== "done") return outcome;
  }
  return "done";
}

/** What a kind of operation (Restore, Clone, Start, Stop) adds to the common lifecycle. */
export interface OperationKind {
  inProgressReason: string;
  /** VM phases the operation may start from. */
  phases: string[];
  /** Run policies it applies to; undefined: any. */
  runPolicies?: string[];
  steps: Step[];
  /** Undo what a failed run left behind (e.g. leave maintenance). */
  onFailure?(run: OperationRun): void;
}

/** Operations are ordered by creation time, then by name (as the platform orders them). */
export const createdBefore = (a: KubeObject, b: KubeObject) =>
  a.metadata.creationTimestamp !== b.metadata.creationTimestamp
    ? a.metadata.creationTimestamp! < b.metadata.creationTimestamp!
    : a.metadata.name! < b.metadata.name!;
