// Disk snapshots created through the provider's own client, for the tests of its connection and shared watch.
import type { Cluster } from "../../provider/kube/cluster";
import { createObject, type ApiKind, type KubeObject } from "../../provider/kube/objects";

export const api: ApiKind = {
  group: "virtualization.deckhouse.io",
  version: "v1alpha2",
  kind: "VirtualDiskSnapshot",
  plural: "virtualdisksnapshots",
};

/** Creates a VirtualDiskSnapshot of disk "root" named `name` in `namespace`. */
export function createDiskSnapshot(cluster: Cluster, namespace: string, name: string): Promise<KubeObject> {
  return createObject(
    cluster,
    { api, namespace, name },
    {
      apiVersion: "virtualization.deckhouse.io/v1alpha2",
      kind: "VirtualDiskSnapshot",
      metadata: { name, namespace },
      spec: { virtualDiskName: "root", requiredConsistency: true },
    },
  );
}
