// The part of pulumi-kubernetes an example's own objects need, done in the emulator's store: the dynamic host
// cannot run `kubernetes:<apiVersion>:<Kind>` resources, so a registration becomes a create or a spec update here.
import { randomBytes } from "node:crypto";
import { apiVersionOf, type KubeObject, type ObjectStore, type ResourceType } from "../emulator/store";
import { gone, waitFor } from "../simulators/waitFor";

export const isKubernetesType = (type: string) => type.startsWith("kubernetes:");

/** How long a delete waits for finalizers, as pulumi-kubernetes waits until the object is gone. */
const deleteTimeoutMs = 30_000;

export class KubernetesObjects {
  constructor(
    readonly store: ObjectStore,
    /** The kinds the cluster serves. */
    readonly kinds: ResourceType[],
  ) {}

  /** The served kind of a type token such as "kubernetes:virtualization.deckhouse.io/v1alpha2:VirtualMachine". */
  kindOf(type: string): ResourceType {
    const [, apiVersion, kind] = type.split(":");
    const wanted = apiVersion === "core/v1" ? "v1" : apiVersion;
    const served = this.kinds.find((k) => apiVersionOf(k) === wanted && k.kind === kind);
    if (!served) throw new Error(`${type}: the cluster serves no kind ${kind} in ${wanted}`);
    return served;
  }

  /**
   * Creates the object, or replaces the spec (and labels, annotations) of the one `previous` names. Without
   * metadata.name the object is named `<resource name>-<random>` once, as pulumi-kubernetes does.
   */
  apply(type: string, resourceName: string, inputs: Record<string, any>, previous?: KubeObject): KubeObject {
    const kind = this.kindOf(type);
    const { apiVersion: _a, kind: _k, metadata = {}, ...body } = inputs;
    const name =
      metadata.name ?? previous?.metadata.name ?? `${resourceName}-${randomBytes(4).toString("hex")}`;
    const namespace = kind.namespaced ? (metadata.namespace ?? "default") : undefined;
    const existing = this.store.get(kind, namespace, name);
    if (!existing) return this.store.create(kind, { ...body, metadata: { ...metadata, name } }, namespace);
    const { labels, annotations } = metadata;
    return this.store.update(kind, {
      ...body,
      status: existing.status,
      metadata: { ...existing.metadata, labels, annotations },
    });
  }

  /** Deletes the object and waits until its finalizers let it go. */
  async remove(type: string, object: KubeObject): Promise<void> {
    const kind = this.kindOf(type);
    const { namespace, name } = object.metadata;
    if (!this.store.get(kind, namespace, name!)) return;
    this.store.delete(kind, namespace, name!);
    await waitFor(this.store, kind, namespace ?? "", name!, gone, deleteTimeoutMs);
  }
}
