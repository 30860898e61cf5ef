// Inputs of the KubeVirt resources at check (preview): defaults, and bad values reported with their
// property path and a plain reason before anything reaches the cluster; and what diff makes of them.
import assert from "node:assert/strict";
import { Lifecycle } from "../../provider/core/lifecycle";
import { durationMs } from "../../provider/kubevirt/duration";
import { virtualDiskSnapshot } from "../../provider/kubevirt/virtualDiskSnapshot";
import { virtualMachineRestore } from "../../provider/kubevirt/virtualMachineRestore";
import { virtualMachineSnapshot } from "../../provider/kubevirt/virtualMachineSnapshot";

// Check reads a kubeconfig input (to report a bad one at preview) but never contacts the cluster.
const kubeconfig = `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:1" } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: ctx, context: { cluster: c, user: u } }]
current-context: ctx
`;
const base = { namespace: "prod", kubeconfig };
const vms = new Lifecycle(virtualMachineSnapshot);
const vmr = new Lifecycle(virtualMachineRestore);
const vds = new Lifecycle(virtualDiskSnapshot);

const failuresOf = async (l: Lifecycle, news: Record<string, unknown>) =>
  Object.fromEntries(
    ((await l.check({}, { ...base, ...news })).failures ?? []).map((f) => [f.property, f.reason]),
  );

describe("KubeVirt inputs at check", () => {
  it("gives a snapshot KubeVirt's defaults: failureDeadline 5m, deletionPolicy Delete, no guest agent required", async () => {
    const { inputs } = await vms.check({}, { ...base, virtualMachineName: "web" });
    assert.equal(inputs!.failureDeadline, "5m");
    assert.equal(inputs!.deletionPolicy, "Delete");
    assert.equal(inputs!.requireGuestAgent, false);
    assert.deepEqual(virtualMachineSnapshot.spec(inputs as any), {
      source: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: "web" },
      failureDeadline: "5m",
    });
  });

  it("sends deletionPolicy Retain and the user's deadline as written", async () => {
    const { inputs } = await vms.check(
      {},
      { ...base, virtualMachineName: "web", deletionPolicy: "Retain", failureDeadline: "0" },
    );
    const spec = virtualMachineSnapshot.spec(inputs as any);
    assert.equal(spec.deletionPolicy, "Retain");
    assert.equal(spec.failureDeadline, "0");
  });

  it("rejects a failureDeadline Go cannot parse, and a deletionPolicy KubeVirt does not know", async () => {
    for (const bad of ["5 minutes", "-1m", "10", "1d", ""]) {
      const failures = await failuresOf(vms, { virtualMachineName: "web", failureDeadline: bad });
      assert.match(failures.failureDeadline, /must be a duration such as "90s", "5m" or "1h30m"/, bad);
    }
    const failures = await failuresOf(vms, { virtualMachineName: "web", deletionPolicy: "Orphan" });
    assert.match(failures.deletionPolicy, /must be one of "Delete", "Retain"; got "Orphan"/);
  });

  it("reads Go durations as Go does", () => {
    assert.equal(durationMs("1h30m"), 5_400_000);
    assert.equal(durationMs("1.5s"), 1_500);
    assert.equal(durationMs("+90s"), 90_000);
    assert.equal(durationMs("0"), 0);
    assert.equal(durationMs("0s"), 0);
    assert.equal(durationMs("1h 30m"), undefined);
    assert.equal(durationMs("m"), undefined);
  });

  it("gives a restore explicit policy defaults (KubeVirt >= v1.9 writes WaitGracePeriod back)", async () => {
    const { inputs } = await vmr.check(
      {},
      { ...base, virtualMachineSnapshotName: "snap", targetName: "web" },
    );
    assert.equal(inputs!.targetReadinessPolicy, "WaitGracePeriod");
    assert.equal(inputs!.volumeRestorePolicy, "RandomizeNames");
    assert.equal(inputs!.volumeOwnershipPolicy, "Vm");
    assert.equal(inputs!.deleteRestoredResources, false);
    assert.equal(virtualMachineRestore.spec(inputs as any).targetReadinessPolicy, "WaitGracePeriod");
  });

  it("sees no change between an absent targetReadinessPolicy and WaitGracePeriod", async () => {
    const news = { ...base, name: "undo", virtualMachineSnapshotName: "snap", targetName: "web" };
    const olds = (await vmr.check({}, { ...news, targetReadinessPolicy: "WaitGracePeriod" })).inputs!;
    const again = (await vmr.check(olds, news)).inputs!;
    assert.deepEqual(await vmr.diff("prod/undo", { ...olds, phase: "Complete" }, again), {
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
    const stop = (await vmr.check(olds, { ...news, targetReadinessPolicy: "StopTarget" })).inputs!;
    assert.deepEqual((await vmr.diff("prod/undo", olds, stop)).replaces, ["targetReadinessPolicy"]);
  });

  it("rejects unknown restore policies with the values KubeVirt accepts", async () => {
    const failures = await failuresOf(vmr, {
      virtualMachineSnapshotName: "snap",
      targetName: "web",
      targetReadinessPolicy: "Wait",
      volumeRestorePolicy: "Keep",
      volumeOwnershipPolicy: "VM",
    });
    assert.match(
      failures.targetReadinessPolicy,
      /"WaitGracePeriod", "StopTarget", "FailImmediate", "WaitEventually"; got "Wait"/,
    );
    assert.match(failures.volumeRestorePolicy, /"RandomizeNames", "InPlace", "PrefixTargetName"; got "Keep"/);
    assert.match(failures.volumeOwnershipPolicy, /"Vm", "None"; got "VM"/);
  });

  it("accepts patches under /spec/, /metadata/labels/ and /metadata/annotations/, as text or objects", async () => {
    const patches = [
      '{"op": "replace", "path": "/spec/template/spec/domain/cpu/cores", "value": 2}',
      { op: "add", path: "/metadata/labels/restored-from", value: "snap" },
      { op: "remove", path: "/metadata/annotations/owner" },
    ];
    const { inputs, failures } = await vmr.check(
      {},
      { ...base, virtualMachineSnapshotName: "snap", targetName: "web-copy", patches },
    );
    assert.equal(failures, undefined);
    assert.deepEqual(virtualMachineRestore.spec(inputs as any).patches, [
      patches[0],
      '{"op":"add","path":"/metadata/labels/restored-from","value":"snap"}',
      '{"op":"remove","path":"/metadata/annotations/owner"}',
    ]);
  });

  it("rejects patches the webhook would refuse, naming each by its index", async () => {
    const failures = await failuresOf(vmr, {
      virtualMachineSnapshotName: "snap",
      targetName: "web-copy",
      patches: [
        { op: "replace", path: "/metadata/name", value: "other" }, // the type's own example; the webhook refuses it
        { op: "add", path: "/spec/template/metadata/labels", value: { app: "web" } },
        { op: "replace", path: "/spec/runStrategy", value: "Always" },
        "not json",
        { op: "merge", path: "/spec/x" },
      ],
    });
    assert.match(
      failures["patches.0"],
      /path "\/metadata\/name" is not allowed: KubeVirt only patches paths under \/spec\//,
    );
    assert.match(failures["patches.1"], /flat "key": value pairs/);
    assert.equal(failures["patches.2"], undefined);
    assert.match(failures["patches.3"], /is not JSON/);
    assert.match(failures["patches.4"], /"op" must be one of add, remove, replace/);
  });

  it("requires exactly one of persistentVolumeClaimName and dataVolumeName for a disk snapshot", async () => {
    assert.deepEqual(await failuresOf(vds, { persistentVolumeClaimName: "root" }), {});
    assert.deepEqual(await failuresOf(vds, { dataVolumeName: "root" }), {});
    assert.match(
      (await failuresOf(vds, {})).persistentVolumeClaimName,
      /persistentVolumeClaimName or dataVolumeName is required/,
    );
    const both = await failuresOf(vds, { persistentVolumeClaimName: "a", dataVolumeName: "b" });
    assert.match(both.dataVolumeName, /set either persistentVolumeClaimName or dataVolumeName, not both/);
  });

  it("updates the provider-side inputs in place: a restore never runs again, a snapshot is never taken again", async () => {
    const restoreNews = { ...base, name: "copy", virtualMachineSnapshotName: "snap", targetName: "web-copy" };
    const restoreOlds = (await vmr.check({}, restoreNews)).inputs!;
    const deleting = (await vmr.check(restoreOlds, { ...restoreNews, deleteRestoredResources: true }))
      .inputs!;
    assert.deepEqual(await vmr.diff("prod/copy", restoreOlds, deleting), {
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
    const diskNews = { ...base, name: "root-snap", persistentVolumeClaimName: "root" };
    const diskOlds = (await vds.check({}, diskNews)).inputs!;
    const patient = (await vds.check(diskOlds, { ...diskNews, failureDeadlineSeconds: 900 })).inputs!;
    assert.deepEqual((await vds.diff("prod/root-snap", diskOlds, patient)).replaces, []);
    const other = (await vds.check(diskOlds, { ...diskNews, persistentVolumeClaimName: "data" })).inputs!;
    assert.deepEqual((await vds.diff("prod/root-snap", diskOlds, other)).replaces, [
      "persistentVolumeClaimName",
    ]);
  });

  it("checks a disk snapshot's deadline and names", async () => {
    const failures = await failuresOf(vds, {
      dataVolumeName: "Root_Disk",
      failureDeadlineSeconds: 1.5,
      volumeSnapshotClassName: "",
    });
    assert.match(failures.dataVolumeName, /lowercase letters, digits/);
    assert.match(failures.failureDeadlineSeconds, /whole number of seconds/);
    assert.match(failures.volumeSnapshotClassName, /volumeSnapshotClassName must/);
    const { inputs } = await vds.check({}, { ...base, persistentVolumeClaimName: "root" });
    assert.equal(inputs!.failureDeadlineSeconds, 300);
  });
});
