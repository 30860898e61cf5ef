// Core and CSI kinds the platforms build on.
import type { ResourceType } from "../store";

export const Secret: ResourceType = {
  group: "",
  version: "v1",
  kind: "Secret",
  plural: "secrets",
  namespaced: true,
  statusSubresource: false,
};
export const PersistentVolumeClaim: ResourceType = {
  group: "",
  version: "v1",
  kind: "PersistentVolumeClaim",
  plural: "persistentvolumeclaims",
  shortNames: ["pvc"],
  namespaced: true,
  statusSubresource: true,
};
export const VolumeSnapshot: ResourceType = {
  group: "snapshot.storage.k8s.io",
  version: "v1",
  kind: "VolumeSnapshot",
  plural: "volumesnapshots",
  shortNames: ["vs"],
  namespaced: true,
  statusSubresource: true,
};
