// Objects as a user writes them for `kubectl apply` (apiVersion and kind included), and the shortcut the
// simulators' own tests take: writing them straight into an emulator's store.
import { apiVersionOf, type KubeObject, type ObjectStore, type ResourceType } from "../emulator/store";

export const manifest = (type: ResourceType, object: KubeObject): KubeObject => ({
  apiVersion: apiVersionOf(type),
  kind: type.kind,
  ...object,
});

/** Creates manifests in order, each as the one of `types` its kind names; returns the last one as created. */
export function createInStore(
  store: ObjectStore,
  types: ResourceType[],
  manifests: KubeObject[],
): KubeObject {
  const created = manifests.map((m) =>
    store.create(
      types.find((t) => t.kind === m.kind)!,
      m,
    ),
  );
  return created.at(-1)!;
}
