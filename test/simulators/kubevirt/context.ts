// What every KubeVirt stand-in controller shares: the store it writes through, the reconcile loop and the pace.
import type { ObjectStore } from "../../emulator/store";
import type { Reconciler } from "../controller";
import type { PhaseDelay } from "../knobs";

export interface ControllerContext {
  store: ObjectStore;
  reconciler: Reconciler;
  /** Default delay before each phase transition; an object's `phase-delay-ms` knob overrides it. */
  phaseDelayMs: PhaseDelay;
  /** How long a WaitGracePeriod restore waits for its target to power off (KubeVirt: 5 minutes). */
  targetGracePeriodMs: number;
}

/** An ownerReference naming `owner` as the controller of the object it is put on. */
export const controllerRef = (owner: {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; uid?: string };
}) => ({
  apiVersion: owner.apiVersion!,
  kind: owner.kind!,
  name: owner.metadata.name!,
  uid: owner.metadata.uid!,
  controller: true,
  blockOwnerDeletion: true,
});
