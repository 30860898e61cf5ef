import assert from "node:assert/strict";
import type { KubeObject } from "../store";
import { refusal, testCluster, type TestCluster } from "./test-cluster";

const api = "virtualization.deckhouse.io/v1alpha2";
const webhookDenial = (webhook: string, message: string) =>
  `admission webhook "${webhook}.virtualization-controller.validate.d8-virtualization" denied the request: ${message}`;

/** Writes the object back with a change (PUT semantics, as the HTTP layer resolves a PATCH). */
const rewrite = (cluster: TestCluster, obj: KubeObject, change: (o: KubeObject) => void) => {
  const next = structuredClone(obj);
  change(next);
  return cluster.store.update(cluster.kind(api, obj.kind!), next);
};

describe("Deckhouse snapshots: defaults and immutability", () => {
  let cluster: TestCluster;
  beforeEach(() => (cluster = testCluster("deckhouse-v1.10")));

  it("VirtualDiskSnapshot: requiredConsistency defaults to true; virtualDiskName is required and non-empty", () => {
    const vds = cluster.create(api, {
      kind: "VirtualDiskSnapshot",
      metadata: { name: "s" },
      spec: { virtualDiskName: "d" },
    });
    assert.deepEqual(vds.spec, { virtualDiskName: "d", requiredConsistency: true });
    assert.equal(
      refusal(() => cluster.create(api, { kind: "VirtualDiskSnapshot", metadata: { name: "t" }, spec: {} }))
        .message,
      'VirtualDiskSnapshot.virtualization.deckhouse.io "t" is invalid: spec.virtualDiskName: Required value',
    );
    assert.equal(
      refusal(() =>
        cluster.create(api, {
          kind: "VirtualDiskSnapshot",
          metadata: { name: "u" },
          spec: { virtualDiskName: "" },
        }),
      ).message,
      'VirtualDiskSnapshot.virtualization.deckhouse.io "u" is invalid: spec.virtualDiskName: Invalid value: "": ' +
        "spec.virtualDiskName in body should be at least 1 chars long",
    );
  });

  it("VirtualDiskSnapshot: a spec change is denied by the webhook (403), a label change is not", () => {
    const vds = cluster.create(api, {
      kind: "VirtualDiskSnapshot",
      metadata: { name: "s" },
      spec: { virtualDiskName: "d" },
    });
    const error = refusal(() => rewrite(cluster, vds, (o) => (o.spec.requiredConsistency = false)));
    assert.equal(error.code, 403);
    assert.equal(error.reason, "Forbidden");
    assert.equal(
      error.message,
      webhookDenial(
        "vdsnapshot",
        "VirtualDiskSnapshot is an idempotent resource: specification changes are not available",
      ),
    );
    const labelled = rewrite(cluster, vds, (o) => (o.metadata.labels = { team: "a" }));
    assert.deepEqual(labelled.metadata.labels, { team: "a" });
    assert.equal(labelled.metadata.generation, 1);
  });

  it("VirtualMachineSnapshot: keepIPAddress and requiredConsistency default; spec changes are denied", () => {
    const vms = cluster.create(api, {
      kind: "VirtualMachineSnapshot",
      metadata: { name: "s" },
      spec: { virtualMachineName: "vm" },
    });
    assert.deepEqual(vms.spec, {
      virtualMachineName: "vm",
      keepIPAddress: "Always",
      requiredConsistency: true,
    });
    assert.equal(
      refusal(() => rewrite(cluster, vms, (o) => (o.spec.keepIPAddress = "Never"))).message,
      webhookDenial(
        "vmsnapshot",
        "VirtualMachineSnapshot is an idempotent resource: specification changes are not available",
      ),
    );
    // Sending the defaults explicitly is no change at all.
    const same = rewrite(cluster, vms, (o) => (o.spec = { virtualMachineName: "vm" }));
    assert.equal(same.metadata.resourceVersion, vms.metadata.resourceVersion);
  });

  it("unknown spec fields are pruned, not refused", () => {
    const vds = cluster.create(api, {
      kind: "VirtualDiskSnapshot",
      metadata: { name: "s" },
      spec: { virtualDiskName: "d", volumeSnapshotClassName: "removed-in-v0.24" },
    });
    assert.deepEqual(vds.spec, { virtualDiskName: "d", requiredConsistency: true });
  });
});

describe("Deckhouse VirtualMachineRestore (v1.8 only)", () => {
  it("is served by v1.8, not by v1.10", () => {
    assert.ok(testCluster("deckhouse-v1.8").kind(api, "VirtualMachineRestore"));
    assert.throws(() => testCluster("deckhouse-v1.10").kind(api, "VirtualMachineRestore"), /does not serve/);
  });

  it("defaults restoreMode to Safe, checks nameReplacements and denies spec changes", () => {
    const cluster = testCluster("deckhouse-v1.8");
    const vmr = cluster.create(api, {
      kind: "VirtualMachineRestore",
      metadata: { name: "r" },
      spec: { virtualMachineSnapshotName: "s", nameReplacements: [{ from: { name: "vm" }, to: "vm-2" }] },
    });
    assert.equal(vmr.spec.restoreMode, "Safe");
    assert.equal(
      refusal(() =>
        cluster.create(api, {
          kind: "VirtualMachineRestore",
          metadata: { name: "q" },
          spec: { virtualMachineSnapshotName: "s", nameReplacements: [{ from: { kind: "VirtualDisk" } }] },
        }),
      ).message,
      'VirtualMachineRestore.virtualization.deckhouse.io "q" is invalid: ' +
        "[spec.nameReplacements[0].to: Required value, spec.nameReplacements[0].from.name: Required value]",
    );
    const error = refusal(() => rewrite(cluster, vmr, (o) => (o.spec.restoreMode = "Forced")));
    assert.equal(error.code, 403);
    assert.equal(
      error.message,
      webhookDenial(
        "vmrestore",
        "VirtualMachineRestore is an idempotent resource: specification changes are not available",
      ),
    );
  });
});

describe("Deckhouse VirtualMachineOperation: CEL rules", () => {
  let cluster: TestCluster;
  beforeEach(() => (cluster = testCluster("deckhouse-v1.10")));
  const vmop = (name: string, spec: Record<string, unknown>) =>
    cluster.create(api, {
      kind: "VirtualMachineOperation",
      metadata: { name },
      spec: { virtualMachineName: "vm", ...spec },
    });
  const invalid = (name: string, rest: string) =>
    `VirtualMachineOperation.virtualization.deckhouse.io "${name}" is invalid: ${rest}`;

  it("Restore requires restore field, whose mode and snapshot name are required", () => {
    assert.equal(
      refusal(() => vmop("op", { type: "Restore" })).message,
      invalid("op", 'spec: Invalid value: "object": Restore requires restore field.'),
    );
    assert.equal(
      refusal(() => vmop("op", { type: "Restore", restore: { virtualMachineSnapshotName: "s" } })).message,
      invalid(
        "op",
        '[spec.restore.mode: Required value, <nil>: Invalid value: "null": some validation rules were not checked ' +
          "because the object was invalid; correct the existing errors to complete validation]",
      ),
    );
    assert.equal(
      vmop("ok", { type: "Restore", restore: { mode: "DryRun", virtualMachineSnapshotName: "s" } }).spec.type,
      "Restore",
    );
  });

  it("Clone: new names must be 1..59 characters, and some renaming must be asked for", () => {
    assert.equal(
      refusal(() => vmop("op", { type: "Clone" })).message,
      invalid("op", 'spec: Invalid value: "object": Clone requires clone field.'),
    );
    assert.equal(
      refusal(() => vmop("op", { type: "Clone", clone: { mode: "Strict" } })).message,
      invalid(
        "op",
        'spec.clone: Invalid value: "object": At least one of customization.namePrefix, customization.nameSuffix, or nameReplacement must be set',
      ),
    );
    const to = (length: number) => ({
      type: "Clone",
      clone: { mode: "Strict", nameReplacement: [{ from: { name: "vm" }, to: "x".repeat(length) }] },
    });
    assert.equal(
      refusal(() => vmop("op", to(60))).message,
      invalid(
        "op",
        'spec.clone.nameReplacement: Invalid value: "array": Each nameReplacement.to must be between 1 and 59 characters',
      ),
    );
    assert.ok(vmop("fits", to(59)));
    assert.equal(
      refusal(() =>
        vmop("op2", {
          type: "Clone",
          clone: { mode: "Strict", customization: { namePrefix: "p".repeat(60) } },
        }),
      ).message,
      invalid(
        "op2",
        'spec.clone.customization: Invalid value: "object": namePrefix length must be between 1 and 59 characters if set',
      ),
    );
  });

  it("the spec is immutable; Start cannot be forced; migrate only with Migrate", () => {
    const op = vmop("op", { type: "Restart" });
    assert.equal(
      refusal(() => rewrite(cluster, op, (o) => (o.spec.force = true))).message,
      invalid("op", 'spec: Invalid value: "object": .spec is immutable'),
    );
    assert.ok(
      rewrite(cluster, op, (o) => (o.metadata.finalizers = ["virtualization.deckhouse.io/vmop-cleanup"])),
    );
    assert.equal(
      refusal(() => vmop("start", { type: "Start", force: true })).message,
      invalid("start", 'spec: Invalid value: "object": The `Start` operation cannot be performed forcibly.'),
    );
    assert.equal(
      refusal(() => vmop("stop", { type: "Stop", migrate: {} })).message,
      invalid(
        "stop",
        "spec: Invalid value: \"object\": spec.migrate can only be set when spec.type is 'Migrate'",
      ),
    );
  });
});

describe("Deckhouse VirtualMachineOperation: one unfinished operation per VM (≥ v1.9)", () => {
  const create = (cluster: TestCluster, name: string, spec: Record<string, unknown>) =>
    cluster.create(api, {
      kind: "VirtualMachineOperation",
      metadata: { name },
      spec: { virtualMachineName: "vm", ...spec },
    });
  const restore = { type: "Restore", restore: { mode: "Strict", virtualMachineSnapshotName: "s" } };
  const setPhase = (cluster: TestCluster, obj: KubeObject, phase: string) =>
    cluster.store.update(
      cluster.kind(api, "VirtualMachineOperation"),
      { ...obj, status: { phase } },
      { subresource: "status" },
    );

  it("v1.10 denies a second operation on the same VM until the first one finishes", () => {
    const cluster = testCluster("deckhouse-v1.10");
    const first = create(cluster, "first", restore);
    const error = refusal(() => create(cluster, "second", { type: "Start" }));
    assert.equal(error.code, 403);
    assert.equal(
      error.message,
      webhookDenial(
        "vmop",
        'VMOP cannot be executed now. Previously created operation "first" should finish first',
      ),
    );
    assert.ok(
      cluster.create(api, {
        kind: "VirtualMachineOperation",
        metadata: { name: "other-vm" },
        spec: { virtualMachineName: "vm-2", type: "Start" },
      }),
    );
    setPhase(cluster, first, "InProgress");
    assert.throws(() => create(cluster, "second", { type: "Start" }), /should finish first/);
    setPhase(
      cluster,
      cluster.store.get(cluster.kind(api, "VirtualMachineOperation"), "ns", "first")!,
      "Completed",
    );
    assert.ok(create(cluster, "second", { type: "Start" }));
  });

  it("v1.10 lets a forced Stop supersede an unfinished Restart, never a Restore", () => {
    const cluster = testCluster("deckhouse-v1.10");
    create(cluster, "restart", { type: "Restart" });
    assert.ok(create(cluster, "stop", { type: "Stop", force: true }));
    assert.throws(() => create(cluster, "restore", restore), /Previously created operation "restart"/);
  });

  it("v1.8 has no such webhook and no Superseded phase", () => {
    const cluster = testCluster("deckhouse-v1.8");
    create(cluster, "first", restore);
    assert.ok(create(cluster, "second", { type: "Start" }));
    const vmop = cluster.kind(api, "VirtualMachineOperation");
    const superseded = { ...cluster.store.get(vmop, "ns", "first")!, status: { phase: "Superseded" } };
    assert.match(
      vmop.admit!(superseded, undefined, "UPDATE")?.message ?? "",
      /status.phase: Unsupported value: "Superseded"/,
    );
    const v110 = testCluster("deckhouse-v1.10").kind(api, "VirtualMachineOperation");
    assert.equal(v110.admit!(superseded, undefined, "UPDATE"), undefined);
  });
});

describe("Deckhouse VirtualMachineSnapshotOperation", () => {
  it("needs a renaming for the new VM and keeps its spec", () => {
    const cluster = testCluster("deckhouse-v1.8");
    const create = (name: string, createVirtualMachine: Record<string, unknown>) =>
      cluster.create(api, {
        kind: "VirtualMachineSnapshotOperation",
        metadata: { name },
        spec: { type: "CreateVirtualMachine", virtualMachineSnapshotName: "s", createVirtualMachine },
      });
    assert.match(
      refusal(() => create("a", { mode: "Strict" })).message,
      /At least one of customization.namePrefix/,
    );
    const op = create("b", { mode: "Strict", customization: { nameSuffix: "-copy" } });
    assert.equal(
      refusal(() => rewrite(cluster, op, (o) => (o.spec.virtualMachineSnapshotName = "t"))).message,
      'VirtualMachineSnapshotOperation.virtualization.deckhouse.io "b" is invalid: spec: Invalid value: "object": .spec is immutable',
    );
  });
});

describe("Deckhouse stand-ins: VirtualMachine and VirtualDisk", () => {
  const cluster = () => testCluster("deckhouse-v1.10");
  const vmSpec = {
    virtualMachineClassName: "generic",
    cpu: { cores: 1 },
    memory: { size: "1Gi" },
    blockDeviceRefs: [{ kind: "VirtualDisk", name: "root" }],
  };

  it("VirtualMachine: runPolicy defaults, the fields it does not model are kept", () => {
    const vm = cluster().create(api, {
      kind: "VirtualMachine",
      metadata: { name: "vm" },
      spec: { ...vmSpec, osType: "Windows" },
    });
    assert.equal(vm.spec.runPolicy, "AlwaysOnUnlessStoppedManually");
    assert.equal(vm.spec.osType, "Windows");
  });

  it("VirtualMachine: needs class, cpu, memory and at least one block device", () => {
    assert.equal(
      refusal(() =>
        cluster().create(api, {
          kind: "VirtualMachine",
          metadata: { name: "vm" },
          spec: { ...vmSpec, blockDeviceRefs: [] },
        }),
      ).message,
      'VirtualMachine.virtualization.deckhouse.io "vm" is invalid: spec.blockDeviceRefs: Invalid value: []interface {}{}: ' +
        "spec.blockDeviceRefs in body should have at least 1 items",
    );
    assert.match(
      refusal(() =>
        cluster().create(api, {
          kind: "VirtualMachine",
          metadata: { name: "vm" },
          spec: { runPolicy: "Sometimes" },
        }),
      ).message,
      /spec.virtualMachineClassName: Required value.*spec.runPolicy: Unsupported value: "Sometimes"/,
    );
  });

  it("VirtualDisk: the data source type must match the source given", () => {
    assert.equal(
      refusal(() =>
        cluster().create(api, {
          kind: "VirtualDisk",
          metadata: { name: "d" },
          spec: { dataSource: { type: "ObjectRef", http: { url: "https://example.com/a.img" } } },
        }),
      ).message,
      'VirtualDisk.virtualization.deckhouse.io "d" is invalid: spec.dataSource: Invalid value: "object": ' +
        "ObjectRef requires objectRef and cannot have HTTP, ContainerImage or Upload.",
    );
    const vd = cluster().create(api, {
      kind: "VirtualDisk",
      metadata: { name: "d" },
      spec: {
        persistentVolumeClaim: { size: "10Gi" },
        dataSource: { type: "ObjectRef", objectRef: { kind: "VirtualDiskSnapshot", name: "s" } },
      },
    });
    assert.equal(vd.spec.dataSource.objectRef.kind, "VirtualDiskSnapshot");
  });
});
