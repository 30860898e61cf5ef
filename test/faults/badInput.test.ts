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

const table: BadInput[] = [
  // Names
  {
    kind: VDS,
    what: "missing disk name",
    args: { virtualDiskName: undefined },
    property: "virtualDiskName",
    reason: /^virtualDiskName is required$/,
  },
  {
    kind: VDS,
    what: "empty disk name",
    args: { virtualDiskName: "" },
    property: "virtualDiskName",
    reason: /must not be empty/,
  },
  {
    kind: VDS,
    what: "disk name not DNS-1123",
    args: { virtualDiskName: "Root_Disk" },
    property: "virtualDiskName",
    reason: DNS,
  },
  {
    kind: VMS,
    what: "object name starting with '-'",
    args: { name: "-nightly" },
    property: "name",
    reason: DNS,
  },
  {
    kind: VMS,
    what: "object name of 254 characters",
    args: { name: "a".repeat(254) },
    property: "name",
    reason: /at most 253 characters/,
  },
  {
    kind: VMS,
    what: "empty object name",
    args: { name: "" },
    property: "name",
    reason: /name must not be empty/,
  },
  {
    kind: VDS,
    what: "namespace in capitals",
    args: { namespace: "Prod" },
    property: "namespace",
    reason: /namespace must be lowercase letters, digits and '-'/,
  },
  {
    kind: VDS,
    what: "namespace of 64 characters",
    args: { namespace: "n".repeat(64) },
    property: "namespace",
    reason: /at most 63 characters/,
  },
  {
    kind: VMR,
    what: "missing snapshot name",
    args: { virtualMachineSnapshotName: undefined },
    property: "virtualMachineSnapshotName",
    reason: /is required/,
  },
  {
    kind: KV_VMR,
    what: "missing target name",
    args: { targetName: undefined },
    property: "targetName",
    reason: /^targetName is required$/,
  },
  {
    kind: KV_VMS,
    what: "VM name with a slash",
    args: { virtualMachineName: "vms/web" },
    property: "virtualMachineName",
    reason: DNS,
  },
  // Timeouts and durations
  {
    kind: VDS,
    what: "negative wait timeout",
    args: { waitTimeoutSeconds: -5 },
    property: "waitTimeoutSeconds",
    reason: /must be greater than 0/,
  },
  {
    kind: VDS,
    what: "absurd wait timeout (a billion seconds)",
    args: { waitTimeoutSeconds: 1e9 },
    property: "waitTimeoutSeconds",
    reason: /at most 86400 \(24 hours\)/,
  },
  {
    kind: VMS,
    what: "fractional wait timeout",
    args: { waitTimeoutSeconds: 1.5 },
    property: "waitTimeoutSeconds",
    reason: /whole number of seconds/,
  },
  {
    kind: VMS,
    what: "wait timeout written as a duration",
    args: { waitTimeoutSeconds: "10m" },
    property: "waitTimeoutSeconds",
    reason: /must be a number of seconds/,
  },
  {
    kind: KV_VMR,
    what: "zero delete timeout",
    args: { deleteTimeoutSeconds: 0 },
    property: "deleteTimeoutSeconds",
    reason: /must be greater than 0/,
  },
  {
    kind: KV_VMS,
    what: "failureDeadline in words",
    args: { failureDeadline: "5 minutes" },
    property: "failureDeadline",
    reason: /duration such as "90s", "5m" or "1h30m"/,
  },
  {
    kind: KV_VMS,
    what: "negative failureDeadline",
    args: { failureDeadline: "-1m" },
    property: "failureDeadline",
    reason: /duration such as/,
  },
  {
    kind: KV_VDS,
    what: "negative failureDeadlineSeconds",
    args: { failureDeadlineSeconds: -1 },
    property: "failureDeadlineSeconds",
    reason: /0 \(no deadline\) or more/,
  },
  // Enums
  {
    kind: VMS,
    what: "keepIPAddress not a known value",
    args: { keepIPAddress: "Sometimes" },
    property: "keepIPAddress",
    reason: /must be one of "Always", "Never"; got "Sometimes"/,
  },
  {
    kind: VMR,
    what: "unknown restore mode",
    args: { mode: "Fast" },
    property: "mode",
    reason: /must be one of "Strict", "BestEffort", "DryRun", "Safe", "Forced"; got "Fast"/,
  },
  {
    kind: VMR,
    what: "unknown restore API",
    args: { api: "VirtualMachineClone" },
    property: "api",
    reason: /must be one of "auto", .*got "VirtualMachineClone"/,
  },
  {
    kind: KV_VMS,
    what: "unknown deletionPolicy",
    args: { deletionPolicy: "Keep" },
    property: "deletionPolicy",
    reason: /must be one of "Delete", "Retain"/,
  },
  {
    kind: KV_VMR,
    what: "unknown targetReadinessPolicy",
    args: { targetReadinessPolicy: "Wait" },
    property: "targetReadinessPolicy",
    reason: /must be one of "WaitGracePeriod", "StopTarget", "FailImmediate", "WaitEventually"/,
  },
  {
    kind: KV_VMR,
    what: "unknown volumeRestorePolicy",
    args: { volumeRestorePolicy: "Random" },
    property: "volumeRestorePolicy",
    reason: /must be one of "RandomizeNames", "InPlace", "PrefixTargetName"/,
  },
  // Patches
  {
    kind: KV_VMR,
    what: "patch of the VM's name (outside the allowed paths)",
    args: { patches: [{ op: "replace", path: "/metadata/name", value: "x" }] },
    property: "patches.0",
    reason:
      /path "\/metadata\/name" is not allowed: KubeVirt only patches paths under \/spec\/, \/metadata\/labels\/, \/metadata\/annotations\//,
  },
  {
    kind: KV_VMR,
    what: "patch with an unknown op",
    args: { patches: [{ op: "merge", path: "/spec/running", value: false }] },
    property: "patches.0",
    reason: /"op" must be one of add, remove, replace, move, copy, test; got "merge"/,
  },
  {
    kind: KV_VMR,
    what: "patch text that is not JSON",
    args: { patches: ["replace /spec/running false"] },
    property: "patches.0",
    reason: /is not JSON/,
  },
  {
    kind: KV_VMR,
    what: "patches not a list",
    args: { patches: "/spec/running" },
    property: "patches",
    reason: /patches must be a list of JSON-patch operations/,
  },
  // Name replacements
  {
    kind: VMR,
    what: "nameReplacements with a kind that cannot be renamed",
    args: { nameReplacements: [{ from: { kind: "Pod", name: "db" }, to: "db-copy" }] },
    property: "nameReplacements.0.from.kind",
    reason: /must be one of "VirtualMachine", "VirtualDisk"/,
  },
  {
    kind: VMR,
    what: "nameReplacements to a name of 60 characters",
    args: { nameReplacements: [{ from: { name: "db" }, to: "d".repeat(60) }] },
    property: "nameReplacements.0.to",
    reason: /at most 59 characters/,
  },
  {
    kind: VMR,
    what: "nameReplacements to a name that is not DNS-1123",
    args: { nameReplacements: [{ from: { name: "db" }, to: "DB_Copy" }] },
    property: "nameReplacements.0.to",
    reason: DNS,
  },
  {
    kind: VMR,
    what: "namePrefix in capitals",
    args: { namePrefix: "Copy-" },
    property: "namePrefix",
    reason: /lowercase letters, digits/,
  },
  // Combinations
  {
    kind: VMR,
    what: "virtualMachineName together with a restore into new names",
    args: { nameSuffix: "-copy", virtualMachineName: "db" },
    property: "virtualMachineName",
    reason: /names the VM restored in place/,
  },
  {
    kind: KV_VDS,
    what: "both a claim and a DataVolume",
    args: { dataVolumeName: "web-root" },
    property: "dataVolumeName",
    reason: /either persistentVolumeClaimName or dataVolumeName, not both/,
  },
  {
    kind: KV_VDS,
    what: "neither a claim nor a DataVolume",
    args: { persistentVolumeClaimName: undefined },
    property: "persistentVolumeClaimName",
    reason: /persistentVolumeClaimName or dataVolumeName is required/,
  },
  // Unknown properties and wrong types
  {
    kind: VDS,
    what: "unknown property (a typo)",
    args: { virtualDisk: "db-root" },
    property: "virtualDisk",
    reason: /"virtualDisk" is not an input of this resource; the inputs are: .*virtualDiskName/,
  },
  {
    kind: VDS,
    what: "requiredConsistency as a string",
    args: { requiredConsistency: "yes" },
    property: "requiredConsistency",
    reason: /requiredConsistency must be true or false/,
  },
  {
    kind: VMS,
    what: "volumeSnapshotClasses entry missing a field",
    args: { volumeSnapshotClasses: [{ storageClassName: "fast" }] },
    property: "volumeSnapshotClasses.0.volumeSnapshotClassName",
    reason: /is required/,
  },
  {
    kind: VMS,
    what: "volumeSnapshotClasses entry with an unknown field",
    args: {
      volumeSnapshotClasses: [{ storageClassName: "fast", volumeSnapshotClassName: "csi", class: "x" }],
    },
    property: "volumeSnapshotClasses.0.class",
    reason: /"volumeSnapshotClasses\.0\.class" is not an input/,
  },
  {
    kind: VDS,
    what: "label key with a space",
    args: { labels: { "team name": "db" } },
    property: "labels.team name",
    reason: /key "team name" must be at most 63 letters, digits/,
  },
  {
    kind: VDS,
    what: "label value of 64 characters",
    args: { labels: { app: "v".repeat(64) } },
    property: "labels.app",
    reason: /must be at most 63 letters, digits/,
  },
  {
    kind: VMS,
    what: "annotation key with an empty prefix",
    args: { annotations: { "/note": "x" } },
    property: "annotations./note",
    reason: /has an invalid prefix/,
  },
  {
    kind: VMS,
    what: "description of 2049 characters",
    args: { description: "d".repeat(2049) },
    property: "description",
    reason: /at most 2048 characters/,
  },
  {
    kind: KV_VMS,
    what: "adopt as a string",
    args: { adopt: "true" },
    property: "adopt",
    reason: /adopt must be true or false/,
  },
  {
    kind: KV_VMS,
    what: "requireGuestAgent as a number",
    args: { requireGuestAgent: 1 },
    property: "requireGuestAgent",
    reason: /requireGuestAgent must be true or false/,
  },
  {
    kind: KV_VMS,
    what: "empty kubeconfig",
    args: { kubeconfig: "" },
    property: "kubeconfig",
    reason: /kubeconfig must not be empty/,
  },
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
