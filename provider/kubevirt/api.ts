// The KubeVirt, CDI and CSI kinds these resources address, always by group: Harvester and Deckhouse
// reuse the kind names (VirtualMachineRestore, VirtualMachineSnapshot).
import type { KindContext, KindVariant } from "../core/kind";
import { apiVersionOf, serves, type ApiKind } from "../kube/objects";

const SNAPSHOT_GROUP = "snapshot.kubevirt.io";
const ENABLE_SNAPSHOTS =
  'install KubeVirt (before v1.9.0 also list "Snapshot" in the KubeVirt CR\'s developerConfiguration.featureGates), ' +
  "or point kubeconfig/context at a cluster that has it";

export const snapshotKind = (kind: string, plural: string, version = "v1beta1"): ApiKind => ({
  group: SNAPSHOT_GROUP,
  version,
  kind,
  plural,
  enableHint: ENABLE_SNAPSHOTS,
});

export const virtualMachineKind: ApiKind = {
  group: "kubevirt.io",
  version: "v1",
  kind: "VirtualMachine",
  plural: "virtualmachines",
  enableHint: "install KubeVirt",
};

export const dataVolumeKind: ApiKind = {
  group: "cdi.kubevirt.io",
  version: "v1beta1",
  kind: "DataVolume",
  plural: "datavolumes",
  enableHint: "install the Containerized Data Importer (CDI)",
};

export const persistentVolumeClaimKind: ApiKind = {
  group: "",
  version: "v1",
  kind: "PersistentVolumeClaim",
  plural: "persistentvolumeclaims",
};

export const volumeSnapshotKind: ApiKind = {
  group: "snapshot.storage.k8s.io",
  version: "v1",
  kind: "VolumeSnapshot",
  plural: "volumesnapshots",
  enableHint: "install the CSI snapshot CRDs and snapshot controller (kubernetes-csi/external-snapshotter)",
};

/**
 * The snapshot.kubevirt.io version to use: the one recorded in a resource's outputs, else v1beta1 when
 * served (KubeVirt >= v1.3.0), else v1alpha1 (older clusters; both versions share one schema).
 */
export async function snapshotApi(
  ctx: KindContext,
  recorded: unknown,
  kind: string,
  plural: string,
): Promise<ApiKind> {
  const at = (version: string) => snapshotKind(kind, plural, version);
  if (typeof recorded === "string" && recorded.startsWith(`${SNAPSHOT_GROUP}/`)) {
    return at(recorded.slice(SNAPSHOT_GROUP.length + 1));
  }
  if (await serves(ctx.cluster, at("v1beta1"), ctx.signal)) return at("v1beta1");
  if (await serves(ctx.cluster, at("v1alpha1"), ctx.signal)) return at("v1alpha1");
  return at("v1beta1"); // served by neither: the first request explains how to enable it
}

/** A kind at the API version chosen for this cluster, recording that version in its outputs. */
export function servedAs<Inputs extends Record<string, any>>(
  kind: KindVariant<Inputs>,
  api: ApiKind,
): KindVariant<Inputs> {
  return {
    api,
    spec: kind.spec,
    read: kind.read,
    outputs: (o, i) => ({ ...kind.outputs(o, i), apiVersion: apiVersionOf(api) }),
  };
}
