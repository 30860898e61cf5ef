// A snapshot taken before every change rolls out. The snapshot's triggers carry what is about to change (the
// image and the app version), so a change replaces the snapshot; the VM depends on the snapshot, so the new
// snapshot is Ready before the VM is touched. See README.md for the ordering trap this avoids.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { deckhouse } from "pulumi-vm-snapshots";

const config = new pulumi.Config();
const namespace = config.get("namespace") ?? "default";
const vmName = config.get("vmName") ?? "app";
const image = config.get("image") ?? "ubuntu-24-04";
const version = config.get("version") ?? "1.0.0";
// Off for the first deployment only: there is no VM to snapshot yet.
const snapshotBeforeChange = config.getBoolean("snapshotBeforeChange") ?? true;

const apiVersion = "virtualization.deckhouse.io/v1alpha2";

const snapshot = snapshotBeforeChange
  ? new deckhouse.VirtualMachineSnapshot("before-change", {
      namespace,
      // The name, not `vm.metadata.name`: an output of the VM would make the snapshot wait for the change.
      virtualMachineName: vmName,
      triggers: { image, version },
      description: `${vmName} before rolling out ${image} / ${version}`,
    })
  : undefined;

const rootDisk = new k8s.apiextensions.CustomResource(
  "root-disk",
  {
    apiVersion,
    kind: "VirtualDisk",
    metadata: { name: `${vmName}-root`, namespace },
    spec: {
      persistentVolumeClaim: { size: "20Gi" },
      dataSource: { type: "ObjectRef", objectRef: { kind: "ClusterVirtualImage", name: image } },
    },
  },
  { dependsOn: snapshot ? [snapshot] : [] },
);

const vm = new k8s.apiextensions.CustomResource(
  "vm",
  {
    apiVersion,
    kind: "VirtualMachine",
    metadata: { name: vmName, namespace, labels: { "app.kubernetes.io/version": version } },
    spec: {
      virtualMachineClassName: "generic",
      runPolicy: "AlwaysOnUnlessStoppedManually",
      cpu: { cores: 2, coreFraction: "100%" },
      memory: { size: "4Gi" },
      blockDeviceRefs: [{ kind: "VirtualDisk", name: rootDisk.metadata.name }],
      provisioning: {
        type: "UserData",
        userData: [
          "#cloud-config",
          "packages: [qemu-guest-agent]",
          "runcmd:",
          "  - systemctl enable --now qemu-guest-agent",
          `  - /opt/app/install.sh ${version}`,
        ].join("\n"),
      },
    },
  },
  { dependsOn: snapshot ? [snapshot] : [] },
);

export const virtualMachine = vm.metadata.name;
export const snapshotName = snapshot?.name;
export const snapshotPhase = snapshot?.phase;
