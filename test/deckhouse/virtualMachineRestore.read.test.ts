// The restore APIs' classifiers, mode mapping and renaming, on objects built from the reference's tables
// (deckhouse-api.md §4 VirtualMachineRestore, §5 VirtualMachineOperation and VirtualMachineSnapshotOperation).
import assert from "node:assert/strict";
import type { KubeObject } from "../../provider/kube/objects";
import { refusal, RESTORE_APIS, type RestoreRequest } from "../../provider/deckhouse/restoreApis";
import { objectsOf, renamed, spelledOut } from "../../provider/deckhouse/restoredObjects";
import { inputProblems, type RestoreInputs } from "../../provider/deckhouse/virtualMachineRestore";

/** An object as its controller last wrote it: a phase and `[type, status, reason, message]` condition rows. */
function reported(
  kind: string,
  phase: string,
  rows: string[][],
  extra: object = {},
  generation = 1,
): KubeObject {
  const conditions = rows.map(([type, status, reason, message = ""]) => ({ type, status, reason, message }));
  return {
    kind,
    metadata: { name: "restore", namespace: "prod", generation },
    status: { observedGeneration: generation, phase, conditions, ...extra },
  };
}

describe("Deckhouse VirtualMachineRestore (≤ v1.8.x) reading", () => {
  const { read, underway } = RESTORE_APIS.VirtualMachineRestore;
  const restore = (phase: string, ...rows: string[][]) => reported("VirtualMachineRestore", phase, rows);
  const ready = (status: string, reason: string, message = "") => [
    "VirtualMachineRestoreReady",
    status,
    reason,
    message,
  ];
  const snapshot = (reason: string, message: string) => [
    "VirtualMachineSnapshotReadyToUse",
    "False",
    reason,
    message,
  ];

  it("is done at Ready", () => {
    const r = read(restore("Ready", ready("True", "VirtualMachineRestoreReady")));
    assert.deepEqual(r.verdict, { state: "ready" });
  });

  it("fails with the conflict the platform names", () => {
    const message = 'The virtual disk "copy-root" already exists.';
    const r = read(restore("Failed", ready("False", "VirtualMachineRestoreConflict", message)));
    assert.deepEqual(r.verdict, { state: "failed", reason: "VirtualMachineRestoreConflict", message });
  });

  it("fails fast on a snapshot that does not exist instead of waiting in Pending forever", () => {
    const r = read(
      restore(
        "Pending",
        snapshot("VirtualMachineSnapshotNotFound", 'The virtual machine snapshot "gone" not found.'),
        ready(
          "False",
          "VirtualMachineSnapshotNotReadyToUse",
          'Waiting for the virtual machine snapshot "gone" to be ready to use.',
        ),
      ),
    );
    assert.equal(r.verdict.state, "failed");
    assert.equal(r.reason, "VirtualMachineSnapshotNotFound");
    assert.match(
      r.message,
      /The virtual machine snapshot "gone" not found\. .*waits for its snapshot forever/,
    );
  });

  it("keeps waiting while the snapshot exists but is not ready yet", () => {
    const r = read(
      restore(
        "Pending",
        snapshot(
          "VirtualMachineSnapshotNotReady",
          'Waiting for the virtual machine snapshot "s" to be ready for use.',
        ),
        ready(
          "False",
          "VirtualMachineSnapshotNotReadyToUse",
          'Waiting for the virtual machine snapshot "s".',
        ),
      ),
    );
    assert.deepEqual(r.verdict, { state: "waiting" });
    assert.equal(r.reason, "VirtualMachineSnapshotNotReadyToUse");
  });

  it("does not trust a status written for an older generation", () => {
    const stale = { ...restore("Ready"), metadata: { name: "restore", generation: 2 } };
    assert.deepEqual(read(stale).verdict, { state: "waiting" });
  });

  it("counts a Forced restore stopping the VM as underway, but not one waiting for its snapshot", () => {
    const stopping = ready(
      "False",
      "VirtualMachineIsNotStopped",
      "Waiting for the virtual machine will be stopped.",
    );
    assert.equal(underway(restore("Pending", stopping)), true);
    assert.equal(underway(restore("InProgress")), true);
    assert.equal(underway(restore("Pending", ready("False", "VirtualMachineSnapshotNotReadyToUse"))), false);
    assert.equal(underway(restore("Ready")), false);
  });
});

describe("Deckhouse VirtualMachineOperation and VirtualMachineSnapshotOperation reading", () => {
  const { read } = RESTORE_APIS.VirtualMachineOperation;
  const operation = (phase: string, reason: string, message = "", resources?: object[]) =>
    reported(
      "VirtualMachineOperation",
      phase,
      [["Completed", phase === "Completed" ? "True" : "False", reason, message]],
      resources ? { resources } : {},
    );

  it("waits while InProgress, showing the platform's reason", () => {
    const r = read(operation("InProgress", "RestoreInProgress", "Waiting for the operation to complete."));
    assert.deepEqual(r.verdict, { state: "waiting" });
    assert.equal(r.reason, "RestoreInProgress");
  });

  it("is done at Completed", () => {
    assert.deepEqual(read(operation("Completed", "OperationCompleted")).verdict, { state: "ready" });
  });

  it("names every conflicting object with the platform's message", () => {
    const r = read(
      operation(
        "Failed",
        "OperationFailed",
        "Restore is failed: fail to validate the resources: check the status",
        [
          {
            apiVersion: "v1alpha2",
            kind: "VirtualMachine",
            name: "db",
            status: "Completed",
            message: "db is valid",
          },
          {
            apiVersion: "v1alpha2",
            kind: "VirtualDisk",
            name: "root",
            status: "Failed",
            message: 'the virtual disk "root" already in use',
          },
          {
            apiVersion: "v1alpha2",
            kind: "VirtualMachineIPAddress",
            name: "db-ip",
            status: "Failed",
            message:
              'the IP Address "10.66.10.2" cannot be used for restore: it is taken by VirtualMachineIPAddress/web and already in use by the different virtual machine',
          },
        ],
      ),
    );
    assert.equal(r.verdict.state, "failed");
    const { message } = r.verdict as { message: string };
    assert.match(message, /^Restore is failed: fail to validate the resources: check the status; /);
    assert.match(message, /VirtualDisk "root": the virtual disk "root" already in use/);
    assert.match(message, /VirtualMachineIPAddress "db-ip": the IP Address "10\.66\.10\.2" cannot be used/);
    assert.doesNotMatch(message, /VirtualMachine "db"/);
  });

  it("fails at once when the snapshot is not ready (the platform does not wait)", () => {
    const message = 'Restore is failed: virtual machine snapshot "s" is not ready to use';
    const r = read(operation("Failed", "OperationFailed", message));
    assert.deepEqual(r.verdict, { state: "failed", reason: "OperationFailed", message });
  });

  it("treats Superseded (≥ v1.10.0) as a failure", () => {
    assert.equal(read(operation("Superseded", "Superseded", "Superseded by x")).verdict.state, "failed");
  });

  it("reads a snapshot operation the same way", () => {
    const o = { ...operation("Completed", "OperationCompleted"), kind: "VirtualMachineSnapshotOperation" };
    assert.deepEqual(RESTORE_APIS.VirtualMachineSnapshotOperation.read(o).verdict, { state: "ready" });
  });
});

describe("Deckhouse restore specs and mode mapping", () => {
  const request: RestoreRequest = {
    virtualMachineSnapshotName: "s",
    platformMode: "Strict",
    virtualMachineName: "db",
    nameReplacements: [{ from: { kind: "VirtualMachine", name: "db" }, to: "db-copy" }],
  };

  it("maps Strict to Forced in place and to Safe under new names on VirtualMachineRestore", () => {
    const { modes } = RESTORE_APIS.VirtualMachineRestore;
    assert.equal(modes["in place"].Strict, "Forced");
    assert.equal(modes["into new names"].Strict, "Safe");
  });

  it("refuses what an API cannot do, saying why", () => {
    assert.match(refusal("VirtualMachineRestore", "DryRun", "in place")!, /no DryRun mode/);
    assert.match(refusal("VirtualMachineOperation", "Strict", "into new names")!, /in place only/);
    assert.match(refusal("VirtualMachineSnapshotOperation", "Strict", "in place")!, /under new names/);
    assert.match(refusal("VirtualMachineOperation", "Safe", "in place")!, /Safe never overwrites/);
    assert.match(
      refusal("VirtualMachineSnapshotOperation", "Forced", "into new names")!,
      /Forced overwrites/,
    );
    assert.equal(refusal("VirtualMachineOperation", "Forced", "in place"), undefined);
  });

  it("sends VirtualMachineSnapshotOperation's singular nameReplacement and its customization", () => {
    const spec = RESTORE_APIS.VirtualMachineSnapshotOperation.spec({ ...request, namePrefix: "t-" });
    assert.deepEqual(spec, {
      type: "CreateVirtualMachine",
      virtualMachineSnapshotName: "s",
      createVirtualMachine: {
        mode: "Strict",
        nameReplacement: [{ from: { kind: "VirtualMachine", name: "db" }, to: "db-copy" }],
        customization: { namePrefix: "t-" },
      },
    });
  });

  it("sends a VirtualMachineOperation of type Restore for the snapshot's VM", () => {
    assert.deepEqual(RESTORE_APIS.VirtualMachineOperation.spec({ ...request, nameReplacements: [] }), {
      type: "Restore",
      virtualMachineName: "db",
      restore: { mode: "Strict", virtualMachineSnapshotName: "s" },
    });
  });
});

describe("Deckhouse restore names", () => {
  const snapshot: KubeObject = {
    metadata: { name: "s", uid: "u1" },
    spec: { virtualMachineName: "db" },
    status: {
      resources: [
        { kind: "VirtualMachine", name: "db" },
        { kind: "VirtualMachineIPAddress", name: "db-ip" },
        { kind: "VirtualDisk", name: "root" },
      ],
    },
  };

  it("applies a matching replacement first, then the prefix and suffix (not to IP addresses)", () => {
    const r = {
      nameReplacements: [{ from: { name: "root" }, to: "disk" }],
      namePrefix: "t-",
      nameSuffix: "-2",
    };
    assert.deepEqual(
      objectsOf(snapshot).map((o) => renamed(o, r)),
      ["t-db-2", "db-ip", "t-disk-2"],
    );
  });

  it("spells a prefix out as one replacement per object for VirtualMachineRestore", () => {
    assert.deepEqual(spelledOut(objectsOf(snapshot), { namePrefix: "t-" }), [
      { from: { kind: "VirtualMachine", name: "db" }, to: "t-db" },
      { from: { kind: "VirtualDisk", name: "root" }, to: "t-root" },
    ]);
  });

  it("lists the VM and disks of a snapshot older than v0.18 from its disk snapshot names", () => {
    const old = { ...snapshot, status: { virtualDiskSnapshotNames: ["root-u1", "data-u1"] } };
    assert.deepEqual(objectsOf(old), [
      { kind: "VirtualMachine", name: "db" },
      { kind: "VirtualDisk", name: "root" },
      { kind: "VirtualDisk", name: "data" },
    ]);
  });
});

describe("Deckhouse restore input combinations", () => {
  const base: RestoreInputs = {
    name: "r",
    virtualMachineSnapshotName: "s",
    mode: "Strict",
    api: "auto",
    deleteRestoredResources: false,
    force: false,
  };

  it("accepts every mode with api auto", () => {
    for (const mode of ["Strict", "BestEffort", "DryRun", "Safe", "Forced"] as const) {
      assert.deepEqual(inputProblems({ ...base, mode }), []);
      assert.deepEqual(inputProblems({ ...base, mode, namePrefix: "t-" }), []);
    }
  });

  it("names the property that cannot go with the chosen API", () => {
    assert.deepEqual(
      inputProblems({ ...base, api: "VirtualMachineRestore", mode: "DryRun" }).map((p) => p.property),
      ["mode"],
    );
    assert.deepEqual(
      inputProblems({ ...base, api: "VirtualMachineOperation", nameSuffix: "-copy" }).map((p) => p.property),
      ["api"],
    );
    assert.deepEqual(
      inputProblems({ ...base, namePrefix: "t-", virtualMachineName: "db" }).map((p) => p.property),
      ["virtualMachineName"],
    );
  });
});
