// The sets of kinds an emulated cluster serves: one Deckhouse release before the VirtualMachineRestore
// removal, one after, a KubeVirt cluster, and a cluster with neither.
import type { ObjectStore, ResourceType } from "../store";
import { coreKinds, VolumeSnapshot } from "./core";
import { deckhouseKinds } from "./deckhouse";
import { kubevirtKinds, type KubeVirtOptions } from "./kubevirt";

export type ProfileName = "deckhouse-v1.8" | "deckhouse-v1.10" | "kubevirt" | "none";
export const profileNames: readonly ProfileName[] = ["deckhouse-v1.8", "deckhouse-v1.10", "kubevirt", "none"];

export type ProfileOptions = KubeVirtOptions;

/**
 * The kinds a profile serves. Pass the store the kinds are registered in: admission rules that look at
 * other objects (Deckhouse ≥ v1.9 one VMOP per VM, KubeVirt restores in progress) need it and are
 * skipped without it.
 */
export function profile(
  name: ProfileName,
  store?: ObjectStore,
  options: ProfileOptions = {},
): ResourceType[] {
  switch (name) {
    case "deckhouse-v1.8":
      // The Deckhouse controller cuts VolumeSnapshots of the disks' PVCs, so CSI snapshots are served too.
      return [...coreKinds, VolumeSnapshot, ...deckhouseKinds("v1.8", store)];
    case "deckhouse-v1.10":
      return [...coreKinds, VolumeSnapshot, ...deckhouseKinds("v1.10", store)];
    case "kubevirt":
      return [...coreKinds, VolumeSnapshot, ...kubevirtKinds(store, options)];
    case "none":
      return [...coreKinds];
  }
}

/** Every profile without a store: the rules that look at other objects are off (see profile()). */
export const profiles: Record<ProfileName, ResourceType[]> = {
  "deckhouse-v1.8": profile("deckhouse-v1.8"),
  "deckhouse-v1.10": profile("deckhouse-v1.10"),
  kubevirt: profile("kubevirt"),
  none: profile("none"),
};
