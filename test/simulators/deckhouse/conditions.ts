// metav1.Condition handling as the platform's controllers do it: a transition time changes only with the status.
import type { KubeObject } from "../../emulator/store";
import { timestamp } from "../controller";

export type ConditionStatus = "True" | "False" | "Unknown";

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export type ConditionInput = Pick<Condition, "type" | "status" | "reason"> & { message?: string };

export const conditionIn = (status: Record<string, any> | undefined, type: string): Condition | undefined =>
  (status?.conditions as Condition[] | undefined)?.find((c) => c.type === type);

export const conditionOf = (obj: KubeObject | undefined, type: string) => conditionIn(obj?.status, type);

export const isTrue = (obj: KubeObject | undefined, type: string) =>
  conditionOf(obj, type)?.status === "True";

/** Sets a condition in `status.conditions` (status is mutated), keeping lastTransitionTime when status is unchanged. */
export function setCondition(status: Record<string, any>, input: ConditionInput, generation?: number): void {
  const conditions: Condition[] = status.conditions ?? [];
  const old = conditions.find((c) => c.type === input.type);
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: input.message ?? "",
    lastTransitionTime: old && old.status === input.status ? old.lastTransitionTime : timestamp(),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  status.conditions = old ? conditions.map((c) => (c === old ? next : c)) : [...conditions, next];
}

export function removeCondition(status: Record<string, any>, type: string): void {
  if (!status.conditions) return;
  status.conditions = (status.conditions as Condition[]).filter((c) => c.type !== type);
}
