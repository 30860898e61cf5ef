import assert from "node:assert/strict";
import { refusal, testCluster, type TestCluster } from "./test-cluster";

describe("core Secret and PersistentVolumeClaim", () => {
  let cluster: TestCluster;
  beforeEach(() => (cluster = testCluster("none")));

  it("a Secret's type defaults to Opaque and stringData is merged into data, never stored", () => {
    const secret = cluster.create("v1", {
      kind: "Secret",
      metadata: { name: "s" },
      data: { kept: Buffer.from("old").toString("base64"), replaced: "eA==" },
      stringData: { replaced: "new", added: "plain text" },
    });
    assert.equal(secret.type, "Opaque");
    assert.equal(secret.stringData, undefined);
    const decoded = Object.fromEntries(
      Object.entries(secret.data as Record<string, string>).map(([k, v]) => [
        k,
        Buffer.from(v, "base64").toString(),
      ]),
    );
    assert.deepEqual(decoded, { kept: "old", replaced: "new", added: "plain text" });
  });

  it("a claim needs an access mode and a storage request, and reads Pending until bound", () => {
    const error = refusal(() =>
      cluster.create("v1", { kind: "PersistentVolumeClaim", metadata: { name: "c" }, spec: {} }),
    );
    assert.equal(error.code, 422);
    assert.equal(
      error.message,
      'PersistentVolumeClaim "c" is invalid: [spec.accessModes: Required value: at least 1 access mode is required, ' +
        "spec.resources[storage]: Required value]",
    );
    assert.match(
      refusal(() =>
        cluster.create("v1", {
          kind: "PersistentVolumeClaim",
          metadata: { name: "c" },
          spec: { accessModes: ["ReadWriteSometimes"], resources: { requests: { storage: "1Gi" } } },
        }),
      ).message,
      /spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"/,
    );
    const claim = cluster.create("v1", {
      kind: "PersistentVolumeClaim",
      metadata: { name: "c" },
      spec: {
        accessModes: ["ReadWriteOnce"],
        resources: { requests: { storage: "1Gi" } },
        dataSourceRef: { kind: "X" },
      },
    });
    assert.equal(claim.spec.volumeMode, "Filesystem");
    assert.deepEqual(claim.spec.dataSourceRef, { kind: "X" }, "fields the stand-in does not model are kept");
    assert.deepEqual(claim.status, { phase: "Pending" });
  });
});

describe("CSI VolumeSnapshot (snapshot.storage.k8s.io/v1)", () => {
  const api = "snapshot.storage.k8s.io/v1";
  let cluster: TestCluster;
  beforeEach(() => (cluster = testCluster("kubevirt")));
  const create = (spec: Record<string, unknown>) =>
    cluster.create(api, { kind: "VolumeSnapshot", metadata: { name: "vs" }, spec });

  it("takes exactly one source", () => {
    const both = refusal(() =>
      create({ source: { persistentVolumeClaimName: "pvc", volumeSnapshotContentName: "c" } }),
    );
    assert.equal(
      both.message,
      'VolumeSnapshot.snapshot.storage.k8s.io "vs" is invalid: spec.source: Invalid value: "object": ' +
        "exactly one of volumeSnapshotContentName and persistentVolumeClaimName must be set",
    );
    assert.match(refusal(() => create({ source: {} })).message, /exactly one of/);
    assert.match(refusal(() => create({})).message, /spec.source: Required value/);
  });

  it("refuses an empty class name and a changed source", () => {
    assert.match(
      refusal(() => create({ source: { persistentVolumeClaimName: "pvc" }, volumeSnapshotClassName: "" }))
        .message,
      /spec.volumeSnapshotClassName: Invalid value: "string": volumeSnapshotClassName must not be the empty string when set/,
    );
    const vs = create({ source: { persistentVolumeClaimName: "pvc" }, volumeSnapshotClassName: "csi" });
    const type = cluster.kind(api, "VolumeSnapshot");
    assert.equal(
      refusal(() =>
        cluster.store.update(type, {
          ...vs,
          spec: { ...vs.spec, source: { persistentVolumeClaimName: "other" } },
        }),
      ).message,
      'VolumeSnapshot.snapshot.storage.k8s.io "vs" is invalid: spec.source.persistentVolumeClaimName: Invalid value: "string": ' +
        "persistentVolumeClaimName is immutable",
    );
    assert.match(
      refusal(() =>
        cluster.store.update(type, {
          ...vs,
          spec: { ...vs.spec, source: { volumeSnapshotContentName: "c" } },
        }),
      ).message,
      /persistentVolumeClaimName is required once set/,
    );
  });
});
