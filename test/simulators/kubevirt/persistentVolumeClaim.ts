// The storage provisioner stand-in: a claim becomes Bound; one restored from a VolumeSnapshot waits for it.
import { PersistentVolumeClaim, VolumeSnapshot } from "../../emulator/kinds/core";
import type { KubeObject } from "../../emulator/store";
import { knobsOf, phaseDelayOf } from "../knobs";
import type { ControllerContext } from "./context";
import { writeStatus } from "./status";

/** The VolumeSnapshot a claim is restored from, if any. */
export const snapshotSourceOf = (pvc: KubeObject): string | undefined => {
  const source = pvc.spec?.dataSourceRef ?? pvc.spec?.dataSource;
  return source?.kind === "VolumeSnapshot" ? source.name : undefined;
};

/** The Deckhouse simulator binds its VirtualDisks' claims itself, at its own pace. */
const boundByDeckhouse = (pvc: KubeObject) =>
  (pvc.metadata.ownerReferences ?? []).some((r) => r.apiVersion.startsWith("virtualization.deckhouse.io/"));

/** Knobs on a claim: `hang: Pending` keeps it unbound; `phase-delay-ms` paces the binding. */
export function reconcilePersistentVolumeClaim(ctx: ControllerContext) {
  const { store, reconciler } = ctx;
  return (namespace: string, name: string) => {
    const pvc = store.get(PersistentVolumeClaim, namespace, name);
    if (!pvc || pvc.metadata.deletionTimestamp || pvc.status?.phase === "Bound") return;
    if (boundByDeckhouse(pvc)) return;
    if (!pvc.status?.phase) {
      writeStatus(store, PersistentVolumeClaim, pvc, { phase: "Pending" });
      return;
    }
    if (knobsOf(pvc).hang === "Pending") return;
    let restoreSize: string | undefined;
    const snapshotName = snapshotSourceOf(pvc);
    if (snapshotName) {
      // The provisioner restores from a snapshot only once it is ready to use.
      const snapshot = store.get(VolumeSnapshot, namespace, snapshotName);
      if (snapshot?.status?.readyToUse !== true) return;
      restoreSize = snapshot.status.restoreSize;
    }
    if (!reconciler.due(PersistentVolumeClaim, pvc, "bind", phaseDelayOf(pvc, ctx.phaseDelayMs))) return;
    const storage = pvc.spec?.resources?.requests?.storage ?? restoreSize;
    writeStatus(store, PersistentVolumeClaim, pvc, {
      phase: "Bound",
      accessModes: pvc.spec?.accessModes ?? ["ReadWriteOnce"],
      ...(storage ? { capacity: { storage } } : {}),
    });
  };
}
