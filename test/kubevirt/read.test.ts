// The KubeVirt classifiers on objects built from the reference's tables (kubevirt-api.md §2.2-2.4 for
// snapshots, §4.2 for restores) and CSI VolumeSnapshot statuses, no cluster needed.
import assert from "node:assert/strict";
import type { KubeObject } from "../../provider/kube/objects";
import { readVolumeSnapshot, virtualDiskSnapshot } from "../../provider/kubevirt/virtualDiskSnapshot";
import { readRestore, virtualMachineRestore } from "../../provider/kubevirt/virtualMachineRestore";
import { readSnapshot, virtualMachineSnapshot } from "../../provider/kubevirt/virtualMachineSnapshot";

const condition = (type: string, status: string, reason: string) => ({
  type,
  status,
  reason,
  lastProbeTime: null,
  lastTransitionTime: "2026-01-01T00:00:00Z",
});
const indication = (name: string) => ({ indication: name, message: `KubeVirt's message for ${name}` });

const snapshot = (status: any, spec: any = {}): KubeObject => ({
  metadata: { name: "snap", namespace: "prod", creationTimestamp: "2026-01-01T00:00:00Z" },
  spec: { source: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: "web" }, ...spec },
  status,
});

describe("KubeVirt VirtualMachineSnapshot reading", () => {
  const read = (o: KubeObject, inputs = {}) => readSnapshot(o, inputs);

  it("waits on a snapshot the controller has not seen yet", () => {
    const r = read(snapshot(undefined));
    assert.deepEqual(r.verdict, { state: "waiting" });
    assert.equal(r.phase, "");
  });

  it("waits while InProgress and shows the lock reason and what kind of snapshot it will be", () => {
    const r = read(
      snapshot({
        phase: "InProgress",
        readyToUse: false,
        indications: ["GuestAgent", "Online"],
        sourceIndications: [indication("GuestAgent"), indication("Online")],
        conditions: [
          condition("Progressing", "True", "Source locked and operation in progress"),
          condition("Ready", "False", "Not ready"),
        ],
      }),
    );
    assert.deepEqual(r.verdict, { state: "waiting" });
    assert.equal(r.reason, "Source locked and operation in progress");
    assert.match(r.message, /online snapshot quiesced by the guest agent: application-consistent/);
  });

  it("never takes Succeeded alone for done: the volumes are cut but not ready to use", () => {
    const r = read(
      snapshot({
        phase: "Succeeded",
        readyToUse: false,
        creationTime: "2026-01-01T00:00:05Z",
        conditions: [
          condition("Progressing", "False", "Operation complete"),
          condition("Ready", "False", "Not ready"),
        ],
      }),
    );
    assert.deepEqual(r.verdict, { state: "waiting" });
    assert.equal(r.reason, "Not ready");
    assert.match(r.message, /cut; waiting until they are ready to use/);
  });

  it("is done at Succeeded with readyToUse, and says an offline snapshot is consistent", () => {
    const o = snapshot({
      phase: "Succeeded",
      readyToUse: true,
      conditions: [
        condition("Progressing", "False", "Operation complete"),
        condition("Ready", "True", "Ready"),
      ],
      snapshotVolumes: { includedVolumes: ["root", "data"] },
    });
    const r = read(o);
    assert.deepEqual(r.verdict, { state: "ready" });
    assert.equal(r.message, "offline snapshot of a stopped VM: consistent");
    const out = virtualMachineSnapshot.outputs(o, {} as any);
    assert.equal(out.online, false);
    assert.equal(out.consistent, true);
    assert.deepEqual(out.includedVolumes, ["root", "data"]);
  });

  it("is done at Succeeded with Ready=True (v1.0-v1.4 wrote the reason Operation complete)", () => {
    const r = read(
      snapshot({ phase: "Succeeded", conditions: [condition("Ready", "True", "Operation complete")] }),
    );
    assert.deepEqual(r.verdict, { state: "ready" });
  });

  it("reports an online snapshot without guest agent as crash-consistent, accepted by default", () => {
    const o = snapshot({
      phase: "Succeeded",
      readyToUse: true,
      indications: ["NoGuestAgent", "Online"],
      conditions: [condition("Ready", "True", "Ready")],
    });
    const r = read(o);
    assert.deepEqual(r.verdict, { state: "ready" });
    assert.match(r.message, /without a guest agent: crash-consistent only/);
    const out = virtualMachineSnapshot.outputs(o, {} as any);
    assert.deepEqual([out.online, out.guestAgent, out.consistent], [true, false, false]);
  });

  it("fails an online snapshot without guest agent when requireGuestAgent is set", () => {
    const r = read(
      snapshot({
        phase: "InProgress",
        indications: ["NoGuestAgent", "Online"],
        conditions: [condition("Progressing", "True", "Source locked and operation in progress")],
      }),
      { requireGuestAgent: true },
    );
    assert.equal(r.verdict.state, "failed");
    assert.equal(r.verdict.state === "failed" && r.verdict.reason, "NoGuestAgent");
    assert.match(r.message, /VirtualMachine prod\/web is running without a guest agent.*requireGuestAgent/);
  });

  it("counts a paused VM or a timed-out freeze as crash-consistent even with the guest agent", () => {
    for (const extra of ["Paused", "QuiesceTimeout", "QuiesceFailed"]) {
      const o = snapshot({
        phase: "Succeeded",
        readyToUse: true,
        sourceIndications: [indication("GuestAgent"), indication("Online"), indication(extra)],
      });
      assert.equal(virtualMachineSnapshot.outputs(o, {} as any).consistent, false, extra);
      assert.match(read(o).message, /crash-consistent only/, extra);
    }
  });

  it("fails at Failed with the Failure condition's reason, the deadline and the last error", () => {
    const r = read(
      snapshot(
        {
          phase: "Failed",
          readyToUse: false,
          error: { message: "VolumeSnapshot vmsnapshot-1-volume-root error: storage backend unavailable" },
          conditions: [
            condition("Failure", "True", "snapshot deadline exceeded"),
            condition("Progressing", "False", "Operation failed"),
            condition("Ready", "False", "Not ready"),
          ],
        },
        { failureDeadline: "90s" },
      ),
    );
    assert.deepEqual(r.verdict, {
      state: "failed",
      reason: "snapshot deadline exceeded",
      message:
        'the snapshot did not complete within failureDeadline "90s"; last error: ' +
        "VolumeSnapshot vmsnapshot-1-volume-root error: storage backend unavailable",
    });
  });

  it("treats status.error alone as informational before the deadline", () => {
    const r = read(
      snapshot({
        phase: "InProgress",
        error: { message: "VolumeSnapshots (vmsnapshot-1-volume-root) missing" },
        conditions: [condition("Progressing", "False", "In error state")],
      }),
    );
    assert.deepEqual(r.verdict, { state: "waiting" });
    assert.match(r.message, /error: VolumeSnapshots \(vmsnapshot-1-volume-root\) missing/);
  });

  it("keeps waiting on the Unknown phase of KubeVirt v1.0-v1.2", () => {
    assert.deepEqual(read(snapshot({ phase: "Unknown" })).verdict, { state: "waiting" });
  });

  it("names the volumes a partial snapshot left out", () => {
    const o = snapshot({
      phase: "Succeeded",
      readyToUse: true,
      indications: ["PartialSnapshot"],
      snapshotVolumes: { includedVolumes: ["root"], excludedVolumes: ["scratch"] },
    });
    assert.match(read(o).message, /volumes left out: scratch/);
    assert.deepEqual(virtualMachineSnapshot.outputs(o, {} as any).excludedVolumes, ["scratch"]);
  });
});

const restore = (status: any, extra: Partial<KubeObject["metadata"]> = {}): KubeObject => ({
  metadata: { name: "undo", namespace: "prod", ...extra },
  spec: {
    target: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: "web" },
    virtualMachineSnapshotName: "snap",
    targetReadinessPolicy: "FailImmediate",
  },
  status,
});
const both = (reason: string, progressing = "False") => [
  condition("Progressing", progressing, reason),
  condition("Ready", "False", reason),
];

describe("KubeVirt VirtualMachineRestore reading", () => {
  const read = (o: KubeObject) => readRestore(o, {});

  it("is in progress while initializing and creating claims", () => {
    for (const reason of [
      "Initializing VirtualMachineRestore",
      "Creating new PVCs",
      "Updating target spec",
    ]) {
      const r = read(restore({ complete: false, conditions: both(reason, "True") }));
      assert.deepEqual(r.verdict, { state: "waiting" });
      assert.deepEqual([r.phase, r.reason], ["InProgress", reason]);
    }
  });

  it("is done at complete: true", () => {
    const r = read(
      restore({
        complete: true,
        restoreTime: "2026-01-01T00:01:00Z",
        restores: [{ volumeName: "root", persistentVolumeClaim: "restore-1-root", volumeSnapshotName: "vs" }],
        conditions: [
          condition("Progressing", "False", "Operation complete"),
          condition("Ready", "True", "Operation complete"),
        ],
      }),
    );
    assert.deepEqual(r.verdict, { state: "ready" });
    assert.equal(r.phase, "Complete");
    assert.match(r.message, /restored 1 volume\(s\) into VirtualMachine prod\/web/);
  });

  it("fails on the Failure condition with its text and names the policy to change", () => {
    const text = "Restore target VMI must be powered off before restore operation";
    const r = read(
      restore({ complete: false, conditions: [...both(text), condition("Failure", "True", text)] }),
    );
    assert.equal(r.verdict.state, "failed");
    assert.equal(r.phase, "Failed");
    assert.match(r.message, /^Restore target VMI must be powered off before restore operation \(/);
    assert.match(r.message, /targetReadinessPolicy is FailImmediate: stop VirtualMachine prod\/web first/);
  });

  it("waits while the target runs under WaitGracePeriod, WaitEventually or StopTarget (and v1.5 wording)", () => {
    for (const reason of [
      "Waiting for target VM to be powered off. Please stop the restore target to proceed with restore, or the operation will fail after 5m0s",
      "Waiting for target VM to be powered off. Please stop the restore target to proceed with restore",
      "Automatically stopping restore target for restore operation",
      "Waiting for target to be ready",
    ]) {
      const r = read(restore({ complete: false, conditions: both(reason) }));
      assert.deepEqual([r.phase, r.verdict.state], ["WaitingForTarget", "waiting"], reason);
    }
  });

  it("keeps waiting on an error KubeVirt retries forever, showing its text", () => {
    const reason = "restore source and restore target are different but restore target already exists";
    const r = read(restore({ complete: false, conditions: both(reason) }));
    assert.deepEqual(r.verdict, { state: "waiting" });
    assert.deepEqual([r.phase, r.reason], ["Retrying", reason]);
  });

  it("records the target VM's UID from the ownerReference KubeVirt puts on the restore", () => {
    const o = restore(
      { complete: true },
      {
        ownerReferences: [{ apiVersion: "kubevirt.io/v1", kind: "VirtualMachine", name: "web", uid: "vm-1" }],
      },
    );
    assert.equal(virtualMachineRestore.outputs(o, {} as any).targetUID, "vm-1");
  });
});

describe("CSI VolumeSnapshot reading (kubevirt.VirtualDiskSnapshot)", () => {
  const created = "2026-01-01T00:00:00Z";
  const t0 = Date.parse(created);
  const vs = (status: any): KubeObject => ({
    metadata: { name: "root-snap", namespace: "prod", creationTimestamp: created },
    spec: { source: { persistentVolumeClaimName: "root" } },
    status,
  });
  const inputs = { failureDeadlineSeconds: 60 };

  it("waits while Pending, then while cut but not ready to use", () => {
    assert.equal(readVolumeSnapshot(vs(undefined), inputs, t0).phase, "Pending");
    const cut = readVolumeSnapshot(
      vs({ boundVolumeSnapshotContentName: "snapcontent-1", creationTime: created, readyToUse: false }),
      inputs,
      t0,
    );
    assert.deepEqual([cut.phase, cut.verdict.state], ["InProgress", "waiting"]);
  });

  it("is done at readyToUse", () => {
    const r = readVolumeSnapshot(vs({ readyToUse: true, restoreSize: "10Gi" }), inputs, t0);
    assert.deepEqual(r.verdict, { state: "ready" });
  });

  it("waits on an error until failureDeadlineSeconds, asking to be read again at the deadline", () => {
    const error = { message: "Failed to create snapshot: the PVC root is not yet bound to a PV" };
    const early = readVolumeSnapshot(vs({ error, readyToUse: false }), inputs, t0 + 20_000);
    assert.deepEqual(early.verdict, { state: "waiting" });
    assert.equal(early.message, error.message);
    assert.ok(early.recheckInMs! >= 40_000 && early.recheckInMs! < 41_000, String(early.recheckInMs));
    const late = readVolumeSnapshot(vs({ error, readyToUse: false }), inputs, t0 + 60_000);
    assert.equal(late.verdict.state, "failed");
    assert.match(late.message, /not yet bound.*60s after it was created: failureDeadlineSeconds/);
  });

  it("never fails on an error with failureDeadlineSeconds 0", () => {
    const r = readVolumeSnapshot(
      vs({ error: { message: "boom" } }),
      { failureDeadlineSeconds: 0 },
      t0 + 86_400_000,
    );
    assert.deepEqual(r.verdict, { state: "waiting" });
    assert.equal(r.recheckInMs, undefined);
  });

  it("outputs a dataSource for a new claim and a source for a new DataVolume", () => {
    const out = virtualDiskSnapshot.outputs(vs({ readyToUse: true }), {
      name: "root-snap",
      namespace: "prod",
      dataVolumeName: "root",
    });
    assert.equal(out.claimName, "root");
    assert.deepEqual(out.dataSource, {
      apiGroup: "snapshot.storage.k8s.io",
      kind: "VolumeSnapshot",
      name: "root-snap",
    });
    assert.deepEqual(out.dataVolumeSource, { snapshot: { namespace: "prod", name: "root-snap" } });
  });
});
