// The CSI external-snapshotter stand-in: cuts a VolumeSnapshot of a Bound PVC, then makes it ready to use.
// Both platforms' simulators rely on it (Deckhouse disk snapshots, KubeVirt VM snapshots).
import { PersistentVolumeClaim, VolumeSnapshot } from "../emulator/kinds/core";
import type { KubeObject, ObjectStore } from "../emulator/store";
import { Reconciler, timestamp } from "./controller";
import { knobsOf, phaseDelayOf, type PhaseDelay } from "./knobs";

export interface CsiSnapshotControllerOptions {
  /** Delay before binding a snapshot and again before it becomes ready to use (default 0). */
  phaseDelayMs?: PhaseDelay;
  onError?: (error: unknown) => void;
}

/**
 * Knobs on a VolumeSnapshot: `fail` sets `status.error` for good; `hang` (any value) leaves it bound but
 * never `readyToUse`; `phase-delay-ms` paces both steps.
 */
export function startCsiSnapshotController(
  store: ObjectStore,
  opts: CsiSnapshotControllerOptions = {},
): { stop(): void } {
  const reconciler = new Reconciler(store, { onError: opts.onError && ((e) => opts.onError?.(e)) });

  const setStatus = (vs: KubeObject, status: Record<string, unknown>) =>
    store.update(VolumeSnapshot, { ...vs, status }, { subresource: "status" });

  const setError = (vs: KubeObject, message: string) => {
    if (vs.status?.error?.message === message) return;
    setStatus(vs, { ...vs.status, readyToUse: false, error: { message, time: timestamp() } });
  };

  reconciler.watch(VolumeSnapshot, (namespace, name) => {
    const vs = store.get(VolumeSnapshot, namespace, name);
    if (!vs || vs.metadata.deletionTimestamp || vs.status?.readyToUse === true) return;
    const pvcName: string | undefined = vs.spec?.source?.persistentVolumeClaimName;
    if (!pvcName) return; // pre-provisioned snapshots (volumeSnapshotContentName) are out of scope
    const knobs = knobsOf(vs);
    if (knobs.fail) return setError(vs, knobs.fail.message);
    const delay = phaseDelayOf(vs, opts.phaseDelayMs);

    if (!vs.status?.boundVolumeSnapshotContentName) {
      const pvc = store.get(PersistentVolumeClaim, namespace, pvcName);
      if (!pvc) {
        // Retried when the claim appears (the PVC watch below), as the real controller retries.
        return setError(
          vs,
          `Failed to create snapshot: failed to get input parameters to create snapshot ${name}: ` +
            `persistentvolumeclaims "${pvcName}" not found`,
        );
      }
      if (pvc.status?.phase !== "Bound") {
        return setError(
          vs,
          `Failed to create snapshot: the PVC ${pvcName} is not yet bound to a PV, will not attempt to take a snapshot`,
        );
      }
      if (!reconciler.due(VolumeSnapshot, vs, "bind", delay)) return;
      const restoreSize = pvc.spec?.resources?.requests?.storage;
      setStatus(vs, {
        boundVolumeSnapshotContentName: `snapcontent-${vs.metadata.uid}`,
        creationTime: timestamp(),
        readyToUse: false,
        ...(restoreSize ? { restoreSize } : {}),
      });
      return;
    }
    if (knobs.hang) return;
    if (!reconciler.due(VolumeSnapshot, vs, "ready", delay)) return;
    const { error: _cleared, ...status } = vs.status;
    setStatus(vs, { ...status, readyToUse: true });
  });

  reconciler.watchRelated(PersistentVolumeClaim, (pvc) =>
    store
      .list(
        VolumeSnapshot,
        pvc.metadata.namespace,
        (vs) => vs.spec?.source?.persistentVolumeClaimName === pvc.metadata.name,
      )
      .items.map((vs) => ({
        type: VolumeSnapshot,
        namespace: vs.metadata.namespace!,
        name: vs.metadata.name!,
      })),
  );

  return { stop: () => reconciler.stop() };
}
