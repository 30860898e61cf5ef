// The CDI stand-in: a DataVolume gets a claim of the same name and Succeeds once that claim is Bound.
import { PersistentVolumeClaim } from "../../emulator/kinds/core";
import { DataVolume } from "../../emulator/kinds/kubevirt";
import type { KubeObject } from "../../emulator/store";
import { phaseDelayOf } from "../knobs";
import { controllerRef, type ControllerContext } from "./context";
import { writeStatus } from "./status";

/** CDI does not populate a DataVolume marked pre-populated; it adopts the claim someone else made. */
export const PrePopulatedAnnotation = "cdi.kubevirt.io/storage.prePopulated";
/** On a claim: the DataVolume that should adopt it. */
export const PopulatedForAnnotation = "cdi.kubevirt.io/storage.populatedFor";

function claimFor(dv: KubeObject): KubeObject {
  const spec = structuredClone(dv.spec?.pvc ?? dv.spec?.storage ?? {});
  spec.accessModes ??= ["ReadWriteOnce"];
  return {
    metadata: { name: dv.metadata.name, labels: dv.metadata.labels, ownerReferences: [controllerRef(dv)] },
    spec,
  };
}

export function reconcileDataVolume(ctx: ControllerContext) {
  const { store, reconciler } = ctx;
  return (namespace: string, name: string) => {
    const dv = store.get(DataVolume, namespace, name);
    if (!dv || dv.metadata.deletionTimestamp) return;
    let pvc = store.get(PersistentVolumeClaim, namespace, name);
    if (!pvc) {
      if (!dv.metadata.annotations?.[PrePopulatedAnnotation]) {
        store.create(PersistentVolumeClaim, claimFor(dv), namespace);
      }
      writeStatus(store, DataVolume, dv, { phase: "Pending", progress: "N/A" });
      return;
    }
    const owners = pvc.metadata.ownerReferences ?? [];
    if (!owners.some((r) => r.uid === dv.metadata.uid) && !owners.some((r) => r.controller)) {
      pvc = store.update(PersistentVolumeClaim, {
        ...pvc,
        metadata: { ...pvc.metadata, ownerReferences: [...owners, controllerRef(dv)] },
      });
    }
    if (pvc.status?.phase !== "Bound") {
      writeStatus(store, DataVolume, dv, { phase: "Pending", progress: "N/A" });
      return;
    }
    if (dv.status?.phase === "Succeeded") return;
    if (!reconciler.due(DataVolume, dv, "populate", phaseDelayOf(dv, ctx.phaseDelayMs))) return;
    writeStatus(store, DataVolume, dv, { phase: "Succeeded", progress: "100.0%", claimName: name });
  };
}
