// How KubeVirt's snapshot controllers write status: reason-only conditions and second-precision times.
import type { KubeObject, ObjectStore, ResourceType } from "../../emulator/store";

/** metav1.Time as the API serializes it (RFC 3339, whole seconds). */
export const timestamp = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

export type ConditionType = "Ready" | "Progressing" | "Failure";

export interface Condition {
  type: ConditionType;
  status: "True" | "False";
  reason: string;
  lastProbeTime: null;
  lastTransitionTime: string;
}

/** Sets one condition; its transition time changes only when its status or reason does. */
export function setCondition(
  conditions: Condition[] | undefined,
  type: ConditionType,
  status: boolean,
  reason: string,
): Condition[] {
  const next: Condition = {
    type,
    status: status ? "True" : "False",
    reason,
    lastProbeTime: null,
    lastTransitionTime: timestamp(),
  };
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === type);
  if (i < 0) list.push(next);
  else if (list[i].status !== next.status || list[i].reason !== reason) list[i] = next;
  return list;
}

/** Writes status through the status subresource when it changed; a stale object is a 409 to retry. */
export function writeStatus(
  store: ObjectStore,
  type: ResourceType,
  obj: KubeObject,
  status: unknown,
): KubeObject {
  if (JSON.stringify(obj.status) === JSON.stringify(status)) return obj;
  return store.update(type, { ...obj, status }, { subresource: "status" });
}
