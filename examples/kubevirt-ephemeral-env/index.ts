// An ephemeral environment: a new KubeVirt VM restored from a golden VirtualMachineSnapshot. With
// deleteRestoredResources, `pulumi destroy` removes the VM and its restored disks too, leaving nothing behind.
import * as pulumi from "@pulumi/pulumi";
import { kubevirt } from "pulumi-vm-snapshots";

const config = new pulumi.Config();
const namespace = config.get("namespace") ?? "default";
const goldenSnapshot = config.get("goldenSnapshot") ?? "golden";
const vmName = config.get("vmName") ?? `env-${pulumi.getStack()}`;
const memory = config.get("memory") ?? "2Gi";

const env = new kubevirt.VirtualMachineRestore("env", {
  namespace,
  virtualMachineSnapshotName: goldenSnapshot,
  targetName: vmName,
  // Applied to the new VM only. Not runStrategy: a VM that starts before the restore completes blocks it.
  patches: [{ op: "replace", path: "/spec/template/spec/domain/resources/requests/memory", value: memory }],
  deleteRestoredResources: true,
});

export const virtualMachineName = vmName;
export const restorePhase = env.phase;
export const restoredClaims = env.restores.apply((restores) => restores.map((r) => r.persistentVolumeClaim));
