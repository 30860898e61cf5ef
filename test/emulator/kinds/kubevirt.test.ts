import assert from "node:assert/strict";
import type { KubeObject } from "../store";
import { refusal, testCluster, type TestCluster } from "./test-cluster";

const snapshots = "snapshot.kubevirt.io/v1beta1";
const snapshotWebhook =
  'admission webhook "virtualmachinesnapshot-validator.snapshot.kubevirt.io" denied the request: ';
const restoreWebhook =
  'admission webhook "virtualmachinerestore-validator.snapshot.kubevirt.io" denied the request: ';
const vmSource = { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: "vm" };

const rewrite = (cluster: TestCluster, obj: KubeObject, change: (o: KubeObject) => void) => {
  const next = structuredClone(obj);
  change(next);
  const [group, version] = obj.apiVersion!.split("/");
  return cluster.store.update(cluster.kind(`${group}/${version}`, obj.kind!), next);
};

describe("KubeVirt VirtualMachineSnapshot webhook", () => {
  let cluster: TestCluster;
  beforeEach(() => (cluster = testCluster("kubevirt")));
  const create = (spec: Record<string, unknown>, apiVersion = snapshots) =>
    cluster.create(apiVersion, { kind: "VirtualMachineSnapshot", metadata: { name: "snap" }, spec });

  it("the source must be a kubevirt.io VirtualMachine (422 with a cause per field)", () => {
    const missing = refusal(() => create({ source: { kind: "VirtualMachine", name: "vm" } }));
    assert.equal(missing.code, 422);
    assert.equal(missing.reason, "Invalid");
    assert.equal(missing.message, `${snapshotWebhook}missing apiGroup`);
    assert.deepEqual(missing.details?.causes, [
      { reason: "FieldValueNotFound", message: "missing apiGroup", field: "spec.source.apiGroup" },
    ]);
    const group = refusal(() => create({ source: { ...vmSource, apiGroup: "virtualization.deckhouse.io" } }));
    assert.deepEqual(group.details?.causes, [
      { reason: "FieldValueInvalid", message: "invalid apiGroup", field: "spec.source.apiGroup" },
    ]);
    const kind = refusal(() => create({ source: { ...vmSource, kind: "VirtualMachineInstance" } }));
    assert.equal(kind.message, `${snapshotWebhook}invalid kind`);
    assert.equal(kind.details?.causes?.[0].field, "spec.source.kind");
  });

  it("v1alpha1 requests meet the same webhook and land in the same storage", () => {
    assert.equal(
      refusal(() =>
        create({ source: { kind: "VirtualMachine", name: "vm" } }, "snapshot.kubevirt.io/v1alpha1"),
      ).message,
      `${snapshotWebhook}missing apiGroup`,
    );
    create({ source: vmSource }, "snapshot.kubevirt.io/v1alpha1");
    assert.ok(cluster.store.get(cluster.kind(snapshots, "VirtualMachineSnapshot"), "ns", "snap"));
  });

  it("failureDeadline must be a Go duration: the webhook's decoding fails with 400", () => {
    const error = refusal(() => create({ source: vmSource, failureDeadline: "5 minutes" }));
    assert.equal(error.code, 400);
    assert.equal(error.message, `${snapshotWebhook}time: unknown unit " minutes" in duration "5 minutes"`);
    assert.equal(
      refusal(() => create({ source: vmSource, failureDeadline: "x" })).message,
      `${snapshotWebhook}time: invalid duration "x"`,
    );
    assert.equal(create({ source: vmSource, failureDeadline: "1h30m" }).spec.failureDeadline, "1h30m");
  });

  it("the spec is immutable after creation (sic: 'in immutable'); labels are not", () => {
    const vms = create({ source: vmSource, failureDeadline: "5m" });
    const error = refusal(() => rewrite(cluster, vms, (o) => (o.spec.deletionPolicy = "Retain")));
    assert.equal(error.code, 422);
    assert.equal(error.message, `${snapshotWebhook}spec in immutable after creation`);
    assert.deepEqual(error.details?.causes, [
      { reason: "FieldValueInvalid", message: "spec in immutable after creation", field: "spec" },
    ]);
    const labelled = rewrite(cluster, vms, (o) => (o.metadata.labels = { a: "b" }));
    // Decoded, "300s" is the same five minutes.
    assert.equal(
      rewrite(cluster, labelled, (o) => (o.spec.failureDeadline = "300s")).spec.failureDeadline,
      "300s",
    );
  });

  it("with the Snapshot feature gate off (before v1.9), creation is refused with 400", () => {
    const gated = testCluster("kubevirt", { snapshotFeatureGate: false });
    const error = refusal(() =>
      gated.create(snapshots, {
        kind: "VirtualMachineSnapshot",
        metadata: { name: "s" },
        spec: { source: vmSource },
      }),
    );
    assert.equal(error.code, 400);
    assert.equal(error.message, `${snapshotWebhook}snapshot feature gate not enabled`);
  });
});

describe("KubeVirt VirtualMachineRestore webhook", () => {
  let cluster: TestCluster;
  beforeEach(() => (cluster = testCluster("kubevirt")));
  const restore = (name: string, spec: Record<string, unknown>) =>
    cluster.create(snapshots, {
      kind: "VirtualMachineRestore",
      metadata: { name },
      spec: { target: vmSource, virtualMachineSnapshotName: "snap", ...spec },
    });
  const snapshotOf = (status: Record<string, unknown>) => {
    const vms = cluster.create(snapshots, {
      kind: "VirtualMachineSnapshot",
      metadata: { name: "snap" },
      spec: { source: vmSource },
    });
    cluster.store.update(
      cluster.kind(snapshots, "VirtualMachineSnapshot"),
      { ...vms, status },
      { subresource: "status" },
    );
  };

  it("targetReadinessPolicy defaults to WaitGracePeriod and accepts only its four values", () => {
    assert.equal(restore("r", {}).spec.targetReadinessPolicy, "WaitGracePeriod");
    assert.equal(
      refusal(() => restore("q", { target: { ...vmSource, name: "other" }, targetReadinessPolicy: "Later" }))
        .message,
      'VirtualMachineRestore.snapshot.kubevirt.io "q" is invalid: spec.targetReadinessPolicy: Unsupported value: "Later": ' +
        'supported values: "StopTarget", "WaitGracePeriod", "FailImmediate", "WaitEventually"',
    );
  });

  it("the target must be a kubevirt.io VirtualMachine", () => {
    assert.equal(
      refusal(() => restore("r", { target: { kind: "VirtualMachine", name: "vm" } })).message,
      `${restoreWebhook}missing apiGroup`,
    );
    assert.deepEqual(
      refusal(() => restore("r", { target: { ...vmSource, kind: "DataVolume" } })).details?.causes,
      [{ reason: "FieldValueInvalid", message: "invalid kind", field: "spec.target.kind" }],
    );
  });

  it("patches may only touch /spec/, labels and annotations (checked once the snapshot exists)", () => {
    const patches = [
      '{"op": "replace", "path": "/metadata/name", "value": "x"}',
      '{"op": "add", "path": "/metadata/labels/team", "value": "a"}',
      '{"op": "replace", "path": "/spec/runStrategy", "value": "a:b"}',
    ];
    // Without the snapshot virt-api returns before looking at the patches.
    assert.ok(restore("early", { target: { ...vmSource, name: "early" }, patches }));
    const vm = cluster.create("kubevirt.io/v1", {
      kind: "VirtualMachine",
      metadata: { name: "vm" },
      spec: {},
    });
    snapshotOf({ sourceUID: vm.metadata.uid, virtualMachineSnapshotContentName: "content" });
    const error = refusal(() => restore("r", { patches }));
    assert.equal(error.code, 422);
    assert.deepEqual(
      error.details?.causes?.map((c) => c.message),
      [
        'patching is valid only for elements under /spec/ only:  "path": "/metadata/name"',
        'patch format is not valid - one ":" expected in a single key-value json patch:  "value": "a:b"',
      ],
    );
    assert.equal(
      error.message,
      `${restoreWebhook}${error.details!.causes!.map((c) => c.message).join(", ")}`,
    );
  });

  it("unknown volume policies and empty overrides are refused, each with its field", () => {
    const error = refusal(() =>
      restore("r", {
        volumeRestorePolicy: "Shuffle",
        volumeOwnershipPolicy: "Pod",
        volumeRestoreOverrides: [{ restoreName: "x" }, { volumeName: "disk" }],
      }),
    );
    assert.deepEqual(error.details?.causes, [
      {
        reason: "FieldValueRequired",
        message: "must provide a volume name",
        field: "spec.volumeRestoreOverrides[0].volumeName",
      },
      {
        reason: "FieldValueRequired",
        message: "must provide at least one overriden field",
        field: "spec.volumeRestoreOverrides[1]",
      },
      {
        reason: "FieldValueInvalid",
        message: 'volume restore policy "Shuffle" doesn\'t exist',
        field: "spec.volumeRestorePolicy",
      },
      {
        reason: "FieldValueInvalid",
        message: 'volume ownership policy "Pod" doesn\'t exist',
        field: "spec.volumeOwnershipPolicy",
      },
    ]);
    assert.ok(restore("ok", { volumeRestorePolicy: "PrefixTargetName", volumeOwnershipPolicy: "None" }));
  });

  it("a restore that has not completed blocks the next one for the same target", () => {
    const first = restore("first", {});
    const error = refusal(() => restore("second", {}));
    assert.deepEqual(error.details?.causes, [
      {
        reason: "FieldValueInvalid",
        message: 'VirtualMachineRestore "first" in progress',
        field: "spec.target",
      },
    ]);
    assert.ok(restore("elsewhere", { target: { ...vmSource, name: "vm-2" } }));
    cluster.store.update(
      cluster.kind(snapshots, "VirtualMachineRestore"),
      { ...first, status: { complete: true } },
      { subresource: "status" },
    );
    assert.ok(restore("second", {}));
  });

  it("restoring to another VM is refused when the snapshotted VM has a persistent TPM", () => {
    snapshotOf({ sourceUID: "uid-of-the-source", virtualMachineSnapshotContentName: "content" });
    cluster.create(snapshots, {
      kind: "VirtualMachineSnapshotContent",
      metadata: { name: "content" },
      spec: {
        source: {
          virtualMachine: {
            spec: { template: { spec: { domain: { devices: { tpm: { persistent: true } } } } } },
          },
        },
        virtualMachineSnapshotName: "snap",
      },
    });
    assert.deepEqual(
      refusal(() => restore("r", { target: { ...vmSource, name: "new-vm" } })).details?.causes,
      [
        {
          reason: "FieldValueInvalid",
          message:
            "Restore to a different VM is not supported when snapshotted VM has backend storage (persistent TPM or EFI)",
          field: "spec",
        },
      ],
    );
  });

  it("a snapshot without its content name is a 400 from the webhook", () => {
    snapshotOf({});
    const error = refusal(() => restore("r", { target: { ...vmSource, name: "new-vm" } }));
    assert.equal(error.code, 400);
    assert.equal(error.message, `${restoreWebhook}snapshot content name is nil in vmSnapshot status`);
  });

  it("the spec is immutable after creation", () => {
    const vmr = restore("r", {});
    assert.equal(
      refusal(() => rewrite(cluster, vmr, (o) => (o.spec.targetReadinessPolicy = "StopTarget"))).message,
      `${restoreWebhook}spec in immutable after creation`,
    );
  });
});

describe("KubeVirt VirtualMachine locks", () => {
  it("while a snapshot or a restore holds the VM, its volumes and run strategy cannot change", () => {
    const cluster = testCluster("kubevirt");
    const vmType = cluster.kind("kubevirt.io/v1", "VirtualMachine");
    const vm = cluster.create("kubevirt.io/v1", {
      kind: "VirtualMachine",
      metadata: { name: "vm" },
      spec: { runStrategy: "Always", template: { spec: { volumes: [{ name: "root" }] } } },
    });
    const locked = cluster.store.update(
      vmType,
      { ...vm, status: { snapshotInProgress: "snap" } },
      { subresource: "status" },
    );
    const error = refusal(() =>
      rewrite(cluster, locked, (o) => o.spec.template.spec.volumes.push({ name: "data" })),
    );
    assert.equal(error.code, 422);
    assert.equal(
      error.message,
      'admission webhook "virtualmachine-validator.kubevirt.io" denied the request: Cannot update vm disks or volumes until snapshot "snap" completes',
    );
    assert.match(
      refusal(() => rewrite(cluster, locked, (o) => (o.spec.runStrategy = "Halted"))).message,
      /Cannot update vm running state until snapshot "snap" completes/,
    );
    const labelled = rewrite(cluster, locked, (o) => (o.metadata.labels = { a: "b" }));
    const restoring = cluster.store.update(
      vmType,
      { ...labelled, status: { restoreInProgress: "r" } },
      { subresource: "status" },
    );
    assert.match(
      refusal(() => rewrite(cluster, restoring, (o) => (o.spec.runStrategy = "Halted"))).message,
      /Cannot update VM runStrategy until restore "r" completes/,
    );
  });
});
