// For the kinds' tests: a store serving one profile, and the refusal a write meets.
import assert from "node:assert/strict";
import { ObjectStore, StatusError, type KubeObject, type ResourceType } from "../store";
import { profile, type ProfileName, type ProfileOptions } from "./profiles";

export interface TestCluster {
  store: ObjectStore;
  /** The served type for an apiVersion and kind, as the HTTP layer would resolve it. */
  kind(apiVersion: string, kind: string): ResourceType;
  create(
    apiVersion: string,
    obj: Omit<KubeObject, "metadata"> & { metadata?: KubeObject["metadata"] },
  ): KubeObject;
}

export function testCluster(name: ProfileName, options?: ProfileOptions): TestCluster {
  const store = new ObjectStore();
  const kinds = profile(name, store, options);
  for (const k of kinds) store.register(k);
  const kind = (apiVersion: string, k: string) => {
    const found = kinds.find(
      (t) => (t.group ? `${t.group}/${t.version}` : t.version) === apiVersion && t.kind === k,
    );
    assert.ok(found, `profile ${name} does not serve ${k} ${apiVersion}`);
    return found;
  };
  return {
    store,
    kind,
    create: (apiVersion, obj) =>
      store.create(kind(apiVersion, obj.kind!), { ...obj, metadata: { namespace: "ns", ...obj.metadata } }),
  };
}

/** The StatusError a write fails with; fails the test when the write succeeds. */
export function refusal(write: () => unknown): StatusError {
  try {
    write();
  } catch (e) {
    if (e instanceof StatusError) return e;
    throw e;
  }
  assert.fail("the write was admitted");
}
