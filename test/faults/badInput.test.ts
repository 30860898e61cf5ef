// Bad input across every kind, each rejected at check (so at preview, before anything reaches a cluster) with the
// property path and a reason a person understands. One table; one row of the summary.
import assert from "node:assert/strict";
import { CheckFailed } from "../host/engine";
import type { Properties } from "../host/driver";
import { inProcessEngine } from "./inProcessHost";
import { FaultStack } from "./stack";
import { scenario } from "./summary";

// A kubeconfig that loads without a cluster behind it: check never talks to the API server.
const kubeconfig = `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:1" } }]
users: [{ name: u, user: { token: not-a-real-token } }]
contexts: [{ name: ctx, context: { cluster: c, user: u } }]
current-context: ctx
`;

interface BadInput {
  kind: string;
  /** What is wrong, in the table's words. */
  what: string;
  args: Properties;
  /** The property path the failure must name. */
  property: string;
  reason: RegExp;
}

const VDS = "deckhouse:VirtualDiskSnapshot";
const VMS = "deckhouse:VirtualMachineSnapshot";
const VMR = "deckhouse:VirtualMachineRestore";
const KV_VMS = "kubevirt:VirtualMachineSnapshot";
const KV_VMR = "kubevirt:VirtualMachineRestore";
const KV_VDS = "kubevirt:VirtualDiskSnapshot";

/** Valid inputs of each kind; each row spoils one thing. */
const valid: Record<string, Properties> = {
  [VDS]: { virtualDiskName: "db-root" },
  [VMS]: { virtualMachineName: "db" },
  [VMR]: { virtualMachineSnapshotName: "before-change" },
  [KV_VMS]: { virtualMachineName: "web" },
  [KV_VMR]: { virtualMachineSnapshotName: "web-snap", targetName: "web" },
  [KV_VDS]: { persistentVolumeClaimName: "web-root" },
};

const DNS = /must be lowercase letters, digits, '-' and '\.', starting and ending with a letter or digit/;

/**
 * The rows of one kind: what is wrong → [the inputs it spoils, the reason, the property path the failure must name].
 * The path may be left out when it is the one input spoilt.
 */
function rowsOf(kind: string, rows: Record<string, [Properties, RegExp, string?]>): BadInput[] {
  return Object.entries(rows).map(([what, [args, reason, property]]) => {
    const spoilt = Object.keys(args);
    if (property === undefined && spoilt.length !== 1) {
      throw new Error(`${kind} ${what}: give the property path the failure must name`);
    }
    return { kind, what, args, property: property ?? spoilt[0], reason };
  });
}

const table: BadInput[] = [
  ...rowsOf(VDS, {
    "missing disk name": [{ virtualDiskName: undefined }, /^virtualDiskName is required$/],
    "empty disk name": [{ virtualDiskName: "" }, /must not be empty/],
    "disk name not DNS-1123": [{ virtualDiskName: "Root_Disk" }, DNS],
    "namespace in capitals": [{ namespace: "Prod" }, /namespace must be lowercase letters, digits and '-'/],
    "namespace of 64 characters": [{ namespace: "n".repeat(64) }, /at most 63 characters/],
    "negative wait timeout": [{ waitTimeoutSeconds: -5 }, /must be greater than 0/],
    "absurd wait timeout (a billion seconds)": [{ waitTimeoutSeconds: 1e9 }, /at most 86400 \(24 hours\)/],
    "unknown property (a typo)": [
      { virtualDisk: "db-root" },
      /"virtualDisk" is not an input of this resource; the inputs are: .*virtualDiskName/,
    ],
    "requiredConsistency as a string": [
      { requiredConsistency: "yes" },
      /requiredConsistency must be true or false/,
    ],
    "label key with a space": [
      { labels: { "team name": "db" } },
      /key "team name" must be at most 63 letters, digits/,
      "labels.team name",
    ],
    "label value of 64 characters": [
      { labels: { app: "v".repeat(64) } },
      /must be at most 63 letters, digits/,
      "labels.app",
    ],
  }),
  ...rowsOf(VMS, {
    "object name starting with '-'": [{ name: "-nightly" }, DNS],
    "object name of 254 characters": [{ name: "a".repeat(254) }, /at most 253 characters/],
    "empty object name": [{ name: "" }, /name must not be empty/],
    "fractional wait timeout": [{ waitTimeoutSeconds: 1.5 }, /whole number of seconds/],
    "wait timeout written as a duration": [{ waitTimeoutSeconds: "10m" }, /must be a number of seconds/],
    "keepIPAddress not a known value": [
      { keepIPAddress: "Sometimes" },
      /must be one of "Always", "Never"; got "Sometimes"/,
    ],
    "volumeSnapshotClasses entry missing a field": [
      { volumeSnapshotClasses: [{ storageClassName: "fast" }] },
      /is required/,
      "volumeSnapshotClasses.0.volumeSnapshotClassName",
    ],
    "volumeSnapshotClasses entry with an unknown field": [
      { volumeSnapshotClasses: [{ storageClassName: "fast", volumeSnapshotClassName: "csi", class: "x" }] },
      /"volumeSnapshotClasses\.0\.class" is not an input/,
      "volumeSnapshotClasses.0.class",
    ],
    "annotation key with an empty prefix": [
      { annotations: { "/note": "x" } },
      /has an invalid prefix/,
      "annotations./note",
    ],
    "description of 2049 characters": [{ description: "d".repeat(2049) }, /at most 2048 characters/],
  }),
  ...rowsOf(VMR, {
    "missing snapshot name": [{ virtualMachineSnapshotName: undefined }, /is required/],
    "unknown restore mode": [
      { mode: "Fast" },
      /must be one of "Strict", "BestEffort", "DryRun", "Safe", "Forced"; got "Fast"/,
    ],
    "unknown restore API": [
      { api: "VirtualMachineClone" },
      /must be one of "auto", .*got "VirtualMachineClone"/,
    ],
    "nameReplacements with a kind that cannot be renamed": [
      { nameReplacements: [{ from: { kind: "Pod", name: "db" }, to: "db-copy" }] },
      /must be one of "VirtualMachine", "VirtualDisk"/,
      "nameReplacements.0.from.kind",
    ],
    "nameReplacements to a name of 60 characters": [
      { nameReplacements: [{ from: { name: "db" }, to: "d".repeat(60) }] },
      /at most 59 characters/,
      "nameReplacements.0.to",
    ],
    "nameReplacements to a name that is not DNS-1123": [
      { nameReplacements: [{ from: { name: "db" }, to: "DB_Copy" }] },
      DNS,
      "nameReplacements.0.to",
    ],
    "namePrefix in capitals": [{ namePrefix: "Copy-" }, /lowercase letters, digits/],
    "virtualMachineName together with a restore into new names": [
      { nameSuffix: "-copy", virtualMachineName: "db" },
      /names the VM restored in place/,
      "virtualMachineName",
    ],
  }),
  ...rowsOf(KV_VMS, {
    "VM name with a slash": [{ virtualMachineName: "vms/web" }, DNS],
    "failureDeadline in words": [{ failureDeadline: "5 minutes" }, /duration such as "90s", "5m" or "1h30m"/],
    "negative failureDeadline": [{ failureDeadline: "-1m" }, /duration such as/],
    "unknown deletionPolicy": [{ deletionPolicy: "Keep" }, /must be one of "Delete", "Retain"/],
    "adopt as a string": [{ adopt: "true" }, /adopt must be true or false/],
    "requireGuestAgent as a number": [{ requireGuestAgent: 1 }, /requireGuestAgent must be true or false/],
    "empty kubeconfig": [{ kubeconfig: "" }, /kubeconfig must not be empty/],
  }),
  ...rowsOf(KV_VMR, {
    "missing target name": [{ targetName: undefined }, /^targetName is required$/],
    "zero delete timeout": [{ deleteTimeoutSeconds: 0 }, /must be greater than 0/],
    "unknown targetReadinessPolicy": [
      { targetReadinessPolicy: "Wait" },
      /must be one of "WaitGracePeriod", "StopTarget", "FailImmediate", "WaitEventually"/,
    ],
    "unknown volumeRestorePolicy": [
      { volumeRestorePolicy: "Random" },
      /must be one of "RandomizeNames", "InPlace", "PrefixTargetName"/,
    ],
    "patch of the VM's name (outside the allowed paths)": [
      { patches: [{ op: "replace", path: "/metadata/name", value: "x" }] },
      /path "\/metadata\/name" is not allowed: KubeVirt only patches paths under \/spec\/, \/metadata\/labels\/, \/metadata\/annotations\//,
      "patches.0",
    ],
    "patch with an unknown op": [
      { patches: [{ op: "merge", path: "/spec/running", value: false }] },
      /"op" must be one of add, remove, replace, move, copy, test; got "merge"/,
      "patches.0",
    ],
    "patch text that is not JSON": [{ patches: ["replace /spec/running false"] }, /is not JSON/, "patches.0"],
    "patches not a list": [{ patches: "/spec/running" }, /patches must be a list of JSON-patch operations/],
  }),
  ...rowsOf(KV_VDS, {
    "negative failureDeadlineSeconds": [{ failureDeadlineSeconds: -1 }, /0 \(no deadline\) or more/],
    "both a claim and a DataVolume": [
      { dataVolumeName: "web-root" },
      /either persistentVolumeClaimName or dataVolumeName, not both/,
    ],
    "neither a claim nor a DataVolume": [
      { persistentVolumeClaimName: undefined },
      /persistentVolumeClaimName or dataVolumeName is required/,
    ],
  }),
];

describe("faults: bad input", () => {
  scenario(
    `Bad input: ${table.length} cases across all six kinds (names, DNS-1123, enums, timeouts, durations, patches, nameReplacements, unknown properties, wrong types)`,
    "each rejected at check with its property path and a plain reason; nothing sent but Check",
    async () => {
      const stack = new FaultStack(await inProcessEngine(), { kubeconfig, namespace: "prod" });
      const wrong: string[] = [];
      for (const [i, row] of table.entries()) {
        const name = `bad-${i}`;
        const outcome = await stack.up(row.kind, name, { ...valid[row.kind], ...row.args }).then(
          (state) => `accepted (id ${state.id})`,
          (e: unknown) => e,
        );
        const sent = stack.engine.sentFor(stack.urn(row.kind, name));
        if (!(outcome instanceof CheckFailed)) {
          wrong.push(
            `${row.kind} ${row.what}: not rejected at check: ${String((outcome as Error)?.message ?? outcome)}`,
          );
        } else if (!outcome.failures.some((f) => f.property === row.property && row.reason.test(f.reason))) {
          wrong.push(
            `${row.kind} ${row.what}: expected ${row.property}: ${row.reason}, got ${JSON.stringify(outcome.failures)}`,
          );
        } else if (sent.join() !== "Check") {
          wrong.push(`${row.kind} ${row.what}: sent ${sent.join(", ")}`);
        }
      }
      assert.deepEqual(
        wrong,
        [],
        `${wrong.length} of ${table.length} bad inputs were not rejected as they should be:\n${wrong.join("\n")}`,
      );
      assert.ok(table.length >= 30);
      assert.equal(stack.all().length, 0, "nothing is in the state");
      return 0;
    },
  );
});
