// Reading Deckhouse status: the deciding condition, and whether the status describes the current spec.
import type { Reading } from "../core/kind";
import type { KubeObject } from "../kube/objects";

export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

export const conditionOf = (o: KubeObject, type: string): Condition | undefined =>
  (o.status?.conditions as Condition[] | undefined)?.find((c) => c.type === type);

/** Controllers write `status.observedGeneration`; a status older than the spec says nothing yet. */
export const isStale = (o: KubeObject) =>
  typeof o.status?.observedGeneration === "number" &&
  o.status.observedGeneration < (o.metadata.generation ?? 0);

/**
 * Deckhouse snapshots and restores share one phase model: Ready (or Completed) is done, Failed is final,
 * anything else is still moving (Pending can last forever before v1.3.0, which is why waits have a timeout).
 */
export function readPhase(o: KubeObject, readyCondition: string, precondition?: string): Reading {
  const phase: string = o.status?.phase ?? "";
  const ready = conditionOf(o, readyCondition);
  const pre = precondition ? conditionOf(o, precondition) : undefined;
  const deciding =
    ready?.reason && ready.reason !== "Unknown" ? ready : pre?.status === "False" ? pre : ready;
  const reading = { phase, reason: deciding?.reason ?? "", message: deciding?.message ?? "" };
  if (isStale(o)) return { ...reading, verdict: { state: "waiting" } };
  if (phase === "Ready" || phase === "Completed") return { ...reading, verdict: { state: "ready" } };
  if (phase === "Failed") {
    return {
      ...reading,
      verdict: {
        state: "failed",
        reason: ready?.reason || "Failed",
        message: ready?.message || "the controller set phase Failed without a message",
      },
    };
  }
  return { ...reading, verdict: { state: "waiting" } };
}
