// The least-privilege Role of each platform (roles.ts), held against every request that whole lifecycles of every
// kind make: each request is granted, and nothing is granted that no lifecycle uses. The Roles go into the summary.
import assert from "node:assert/strict";
import { disconnectAll } from "../../provider/kube/cluster";
import { forgetDiscovery } from "../../provider/kube/objects";
import { startEmulator } from "../emulator";
import {
  VirtualDiskSnapshot,
  VirtualMachine,
  VirtualMachineOperation,
  VirtualMachineSnapshotOperation,
} from "../emulator/kinds/deckhouse";
import { profile } from "../emulator/kinds/profiles";
import type { RequestRecord } from "../emulator/requestLog";
import { startDeckhouseController } from "../simulators/deckhouse";
import { KnobAnnotation } from "../simulators/knobs";
import { createVirtualMachine as createDeckhouseVm } from "../simulators/deckhouse/fixtures";
import { createVirtualMachine as createKubeVirtVm } from "../simulators/kubevirt/fixtures";
import { inPhase, waitFor } from "../simulators/waitFor";
import { deckhouseScenarios, kubevirtScenarios } from "./clusters";
import { finish } from "./consistency";
import { inProcessEngine } from "./inProcessHost";
import { grantsOf, grantsUsed, ROLES, roleYaml, type Rule } from "./roles";
import { FaultStack } from "./stack";
import { addSection, scenario } from "./summary";

addSection(() =>
  [
    "### Least-privilege Roles",
    "",
    "Checked by `test/faults/rbac.test.ts` against every request of whole lifecycles of every kind: each request is",
    "granted, and nothing is granted that no lifecycle uses. Bind the Role to the user or service account of the",
    "kubeconfig, in each namespace the stack manages.",
    "",
    "Deckhouse virtualization:",
    "",
    "```yaml",
    roleYaml("pulumi-vm-snapshots-deckhouse", ROLES.deckhouse),
    "```",
    "",
    "KubeVirt:",
    "",
    "```yaml",
    roleYaml("pulumi-vm-snapshots-kubevirt", ROLES.kubevirt),
    "```",
    "",
  ].join("\n"),
);

/**
 * What the requests seen imply on other clusters: an object that finalizers hold after a delete is waited for with
 * a watch (the simulators' VMs and claims have none), and a watch relists after 410 Gone.
 */
function implied(used: Set<string>): Set<string> {
  const all = new Set(used);
  for (const u of used) if (u.endsWith(" delete")) all.add(u.replace(/ delete$/, " watch"));
  for (const u of [...all]) if (u.endsWith(" watch")) all.add(u.replace(/ watch$/, " list"));
  return all;
}

function assertLeastPrivilege(role: Rule[], requests: RequestRecord[]) {
  const used = implied(grantsUsed(requests));
  const granted = grantsOf(role);
  assert.deepEqual(
    {
      requestedButNotGranted: [...used].filter((u) => !granted.has(u)).sort(),
      grantedButNeverUsed: [...granted].filter((g) => !used.has(g)).sort(),
    },
    { requestedButNotGranted: [], grantedButNeverUsed: [] },
  );
}

const VDS = "deckhouse:VirtualDiskSnapshot";
const VMS = "deckhouse:VirtualMachineSnapshot";
const VMR = "deckhouse:VirtualMachineRestore";

describe("faults: least-privilege RBAC", function () {
  describe("on Deckhouse", () => {
    const at = deckhouseScenarios("rbac");

    /** Every kind's lifecycle, restores in place and into new names (deleting what they created) included. */
    async function everyLifecycle(stack: FaultStack) {
      // Each kind is created, then relabelled (an update), then read (a refresh); destroy comes at the end.
      const upUpdateRefresh = async (kind: string, name: string, args: Record<string, unknown>) => {
        await stack.up(kind, name, args);
        await stack.up(kind, name, { ...args, labels: { tier: "db" } });
        await stack.refresh(kind, name);
      };
      await upUpdateRefresh(VDS, "disk", { virtualDiskName: "db-root" });
      await upUpdateRefresh(VMS, "vm", {
        virtualMachineName: "db",
        name: "before-change",
        keepIPAddress: "Never",
      });
      await upUpdateRefresh(VMR, "copy", {
        virtualMachineSnapshotName: "before-change",
        namePrefix: "copy-",
        deleteRestoredResources: true,
      });
      await stack.destroy(VMR, "copy");
      await upUpdateRefresh(VMR, "rollback", { virtualMachineSnapshotName: "before-change" });
    }

    scenario(
      "Least-privilege Role for Deckhouse: every lifecycle of every kind, on a current release and on one with only VirtualMachineRestore",
      "every request is granted by the Role, and the Role grants nothing no lifecycle uses",
      async function () {
        const requests: RequestRecord[] = [];
        // Someone's disk snapshot, adopted: a read and a patch of an object the stack did not create.
        at.cluster.store.create(VirtualDiskSnapshot, {
          metadata: { name: "handmade", namespace: at.ns },
          spec: { virtualDiskName: "db-data", requiredConsistency: true },
        });
        await at.stack.up(VDS, "adopted", { virtualDiskName: "db-data", name: "handmade", adopt: true });
        await everyLifecycle(at.stack);
        const left = await finish(at.stack, at.cluster.store, { platform: "deckhouse" });
        requests.push(...at.cluster.emulator.requests.all());

        // A release before v1.1: restores go through VirtualMachineRestore.
        const old = await startEmulator({ types: [] });
        try {
          for (const type of profile("deckhouse-v1.8", old.store)) {
            if (type !== VirtualMachineOperation && type !== VirtualMachineSnapshotOperation) old.serve(type);
          }
          const controller = startDeckhouseController(old.store, { version: "v1.8", phaseDelayMs: 10 });
          try {
            createDeckhouseVm(old.store, { namespace: "old", name: "db", disks: ["db-root", "db-data"] });
            await waitFor(old.store, VirtualMachine, "old", "db", inPhase("Running"), 5000);
            const stack = new FaultStack(await inProcessEngine(), {
              kubeconfig: old.kubeconfig,
              namespace: "old",
            });
            await everyLifecycle(stack);
            assert.equal(stack.state(VMR, "rollback")?.outputs.apiKind, "VirtualMachineRestore");
            await finish(stack, old.store, { platform: "deckhouse" });
            requests.push(...old.requests.all());
          } finally {
            controller.stop();
          }
        } finally {
          await disconnectAll();
          forgetDiscovery();
          await old.stop();
        }
        assertLeastPrivilege(ROLES.deckhouse, requests);
        return left;
      },
    );
  });

  describe("on KubeVirt", () => {
    const at = kubevirtScenarios("rbac");

    scenario(
      "Least-privilege Role for KubeVirt: every lifecycle of every kind",
      "every request is granted by the Role, and the Role grants nothing no lifecycle uses",
      async () => {
        const { stack, cluster, ns } = at;
        const upUpdateRefresh = async (kind: string, name: string, args: Record<string, unknown>) => {
          await stack.up(kind, name, args);
          await stack.up(kind, name, { ...args, labels: { tier: "db" } });
          await stack.refresh(kind, name);
        };
        // A disk still being populated: the disk snapshot waits for the DataVolume and its claim.
        const slow = { [KnobAnnotation.PhaseDelayMs]: "100" };
        createKubeVirtVm(cluster.store, {
          namespace: ns,
          name: "dv",
          disks: [{ name: "data", source: "dataVolume", annotations: slow }],
        });
        await upUpdateRefresh("kubevirt:VirtualDiskSnapshot", "data", { dataVolumeName: "dv-data" });
        await upUpdateRefresh("kubevirt:VirtualMachineSnapshot", "vm", {
          virtualMachineName: "db",
          name: "db-snap",
        });
        await upUpdateRefresh("kubevirt:VirtualMachineRestore", "copy", {
          virtualMachineSnapshotName: "db-snap",
          targetName: "db-copy",
          volumeOwnershipPolicy: "None",
          deleteRestoredResources: true,
        });
        await upUpdateRefresh("kubevirt:VirtualDiskSnapshot", "root", {
          persistentVolumeClaimName: "db-root",
        });
        const left = await finish(stack, cluster.store, { platform: "kubevirt" });
        assertLeastPrivilege(ROLES.kubevirt, cluster.emulator.requests.all());
        return left;
      },
    );
  });
});
