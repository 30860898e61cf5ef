// KubeVirt's snapshot and restore conditions: Ready, Progressing and Failure, each carrying only a reason
// (KubeVirt leaves `message` empty and puts its text in the reason).
import type { KubeObject } from "../kube/objects";

export interface Condition {
  type: "Ready" | "Progressing" | "Failure";
  status: "True" | "False" | "Unknown";
  reason?: string;
}

export const conditionOf = (o: KubeObject, type: Condition["type"]): Condition | undefined =>
  (o.status?.conditions as Condition[] | undefined)?.find((c) => c.type === type);

export const isTrue = (c: Condition | undefined) => c?.status === "True";
