// "The cluster holds exactly what the state says": the objects a stack's resources stand for, listed from the
// emulator's store, against the ids in the state. Orphans (in the cluster only) and lost objects (in the state only)
// are named in the failure.
import assert from "node:assert/strict";
import { VolumeSnapshot } from "../emulator/kinds/core";
import * as deckhouse from "../emulator/kinds/deckhouse";
import { KubeVirtVirtualMachineRestore, KubeVirtVirtualMachineSnapshot } from "../emulator/kinds/kubevirt";
import type { KubeObject, ObjectStore, ResourceType } from "../emulator/store";
import type { ResourceState } from "../host/engine";
import { parseUrn } from "../host/urn";
import { kindIdOf } from "./inProcessHost";
import type { FaultStack } from "./stack";

export type Platform = "deckhouse" | "kubevirt";

/** The kinds whose objects only a stack creates, per platform. */
const MANAGED: Record<Platform, ResourceType[]> = {
  deckhouse: [
    deckhouse.VirtualDiskSnapshot,
    deckhouse.VirtualMachineSnapshot,
    deckhouse.VirtualMachineOperation,
    deckhouse.VirtualMachineSnapshotOperation,
    deckhouse.VirtualMachineRestore,
  ],
  kubevirt: [KubeVirtVirtualMachineSnapshot, KubeVirtVirtualMachineRestore, VolumeSnapshot],
};

/** Objects the platform makes for a snapshot (a VM snapshot's disk snapshots, a content's VolumeSnapshots). */
const SNAPSHOT_OWNERS = ["VirtualMachineSnapshot", "VirtualMachineSnapshotContent", "VirtualDiskSnapshot"];
const madeByPlatform = (o: KubeObject) =>
  (o.metadata.ownerReferences ?? []).some((r) => SNAPSHOT_OWNERS.includes(r.kind));

const label = (type: Pick<ResourceType, "kind" | "group">, id: string) => `${type.kind}.${type.group} ${id}`;

/** How an object is named in these comparisons (and in `foreign` lists). */
export const objectLabel = (type: ResourceType, namespace: string, name: string) =>
  label(type, `${namespace}/${name}`);

/** Which objects of the cluster a comparison looks at. */
export interface Scope {
  platform: Platform;
  /** Only these namespaces (a scenario's own). */
  namespaces: Iterable<string>;
  /** Objects the scenario made itself, as `Kind.group namespace/name` (see objectLabel). */
  foreign?: string[];
}

/** The stack-level objects in the scope: objects of the managed kinds, minus what the platform made for a snapshot. */
export function clusterObjects(store: ObjectStore, { platform, namespaces, foreign = [] }: Scope): string[] {
  const inScope = new Set(namespaces);
  return MANAGED[platform]
    .flatMap((type) =>
      store
        .list(type)
        .items.filter((o) => inScope.has(o.metadata.namespace!) && !madeByPlatform(o))
        .map((o) => objectLabel(type, o.metadata.namespace!, o.metadata.name!)),
    )
    .filter((l) => !foreign.includes(l))
    .sort();
}

/** The object a resource in the state stands for. */
export function objectOf(state: ResourceState): string {
  const kindId = kindIdOf(parseUrn(state.urn).type);
  const type: Pick<ResourceType, "kind" | "group"> | undefined = {
    "deckhouse:VirtualDiskSnapshot": deckhouse.VirtualDiskSnapshot,
    "deckhouse:VirtualMachineSnapshot": deckhouse.VirtualMachineSnapshot,
    // The restore API the provider chose for this cluster, as recorded.
    "deckhouse:VirtualMachineRestore": (deckhouse as unknown as Record<string, ResourceType>)[
      state.outputs.apiKind
    ],
    "kubevirt:VirtualMachineSnapshot": KubeVirtVirtualMachineSnapshot,
    "kubevirt:VirtualMachineRestore": KubeVirtVirtualMachineRestore,
    "kubevirt:VirtualDiskSnapshot": VolumeSnapshot,
  }[kindId];
  assert.ok(type, `${state.urn}: no object kind for ${kindId} with outputs ${JSON.stringify(state.outputs)}`);
  return label(type, state.id);
}

/** Fails naming every orphan and every lost object; returns how many objects the cluster holds for the stack. */
export function assertClusterMatchesState(
  stack: FaultStack,
  store: ObjectStore,
  scope: Omit<Scope, "namespaces"> & Partial<Scope>,
): number {
  const inCluster = clusterObjects(store, { namespaces: stack.namespaces, ...scope });
  const inState = stack.all().map(objectOf).sort();
  const orphans = inCluster.filter((o) => !inState.includes(o));
  const lost = inState.filter((o) => !inCluster.includes(o));
  assert.deepEqual(
    { orphans, lost },
    { orphans: [], lost: [] },
    `the cluster and the state disagree:\n  cluster: ${inCluster.join(", ") || "(nothing)"}\n  state: ${inState.join(", ") || "(nothing)"}`,
  );
  return inCluster.length;
}

/** Ends a scenario: the cluster matches the state, `pulumi destroy` succeeds, and nothing is left behind. */
export async function finish(
  stack: FaultStack,
  store: ObjectStore,
  scope: Omit<Scope, "namespaces"> & Partial<Scope>,
): Promise<number> {
  assertClusterMatchesState(stack, store, scope);
  await stack.destroyAll();
  const left = clusterObjects(store, { namespaces: stack.namespaces, ...scope });
  assert.deepEqual(left, [], "pulumi destroy left objects behind");
  return left.length;
}
