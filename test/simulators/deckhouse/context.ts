// What every Deckhouse kind controller of the simulator shares.
import type { KubeObject, ObjectStore, ResourceType } from "../../emulator/store";
import type { Reconciler } from "../controller";
import { knobsOf, phaseDelayOf, type ForcedFailure, type PhaseDelay } from "../knobs";
import type { Hypervisor } from "./hypervisor";

/** The platform release the simulator behaves as. */
export type DeckhouseVersion = "v1.8" | "v1.10";

export interface DeckhouseContext {
  store: ObjectStore;
  reconciler: Reconciler;
  hypervisor: Hypervisor;
  version: DeckhouseVersion;
  phaseDelayMs: PhaseDelay;
}

/** True once the object's next transition `step` is due (its phase-delay knob, else the controller default). */
export const due = (ctx: DeckhouseContext, type: ResourceType, obj: KubeObject, step: string) =>
  ctx.reconciler.due(type, obj, step, phaseDelayOf(obj, ctx.phaseDelayMs));

/** Writes status through the status subresource, stamping observedGeneration as the platform does. */
export function writeStatus(ctx: DeckhouseContext, type: ResourceType, obj: KubeObject, status: object) {
  return ctx.store.update(
    type,
    { ...obj, status: { ...status, observedGeneration: obj.metadata.generation } },
    { subresource: "status" },
  );
}

/** The `hang` knob names the current phase: the object stays there. */
export const hangs = (obj: KubeObject) => {
  const hang = knobsOf(obj).hang;
  return hang !== undefined && hang === (obj.status?.phase ?? "");
};

/** The `fail` knob: the failure to force at the object's next step, with the kind's default reason. */
export const forcedFailure = (
  obj: KubeObject,
  defaultReason: string,
): Required<ForcedFailure> | undefined => {
  const fail = knobsOf(obj).fail;
  return fail && { reason: fail.reason ?? defaultReason, message: fail.message };
};

export const refOf = (type: ResourceType, obj: KubeObject) => ({
  type,
  namespace: obj.metadata.namespace!,
  name: obj.metadata.name!,
});
