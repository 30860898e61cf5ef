// Ready-made objects for tests and the demo: what a user would have created (a VM and its disks), and the
// snapshots and restores the provider creates. Manifests for a cluster's API, and wrappers that write them
// straight into an emulator's store for the simulators' own tests.
// Nothing here writes status; the simulator brings the objects to life.
import { PersistentVolumeClaim } from "../../emulator/kinds/core";
import {
  DataVolume,
  KubeVirtVirtualMachine,
  KubeVirtVirtualMachineRestore,
  KubeVirtVirtualMachineSnapshot,
} from "../../emulator/kinds/kubevirt";
import type { KubeObject, ObjectStore } from "../../emulator/store";
import { KnobAnnotation } from "../knobs";
import { createInStore, manifest } from "../manifests";
import type { RunStrategy } from "./virtualMachine";

export interface DiskFixture {
  /** The volume (and disk) name in the VM. */
  name: string;
  /** Default `<vm>-<disk>`. */
  claimName?: string;
  /** Default "10Gi". */
  size?: string;
  /** Default the VM's; `null`: a claim without storage class (a real cluster's default class, none here). */
  storageClassName?: string | null;
  /** How the VM gets the disk: a claim (default), a DataVolume, or one of its dataVolumeTemplates. */
  source?: "persistentVolumeClaim" | "dataVolume" | "dataVolumeTemplate";
  /** Annotations on the claim or DataVolume (knobs such as phase-delay-ms). */
  annotations?: Record<string, string>;
}

export interface VirtualMachineFixture {
  namespace?: string;
  name: string;
  disks?: Array<string | DiskFixture>;
  /** Storage class of the disks that do not name one: default "standard"; `null`: none. */
  storageClassName?: string | null;
  /** Shorthand for runStrategy Always (true) or Halted (false, the default). */
  running?: boolean;
  runStrategy?: RunStrategy;
  /** Default true; false sets the `guest-agent: "false"` knob. */
  guestAgent?: boolean;
  /** A container image the VM boots from (a containerDisk volume "os", after the claims). */
  containerDisk?: string;
  /** Adds a cloud-init volume, which no snapshot can include: true for an empty one, or its user data. */
  cloudInit?: boolean | string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

const diskOf = (d: string | DiskFixture): DiskFixture => (typeof d === "string" ? { name: d } : d);

/** The VM's claims or DataVolumes, then the VM. */
export function virtualMachineManifests(f: VirtualMachineFixture): KubeObject[] {
  const namespace = f.namespace ?? "default";
  const disks = (f.disks ?? ["root"]).map(diskOf);
  const sources: KubeObject[] = [];
  const volumes: Array<{ name: string; [source: string]: unknown }> = [];
  const dataVolumeTemplates: unknown[] = [];
  for (const disk of disks) {
    const claimName = disk.claimName ?? `${f.name}-${disk.name}`;
    const storageClassName =
      disk.storageClassName !== undefined
        ? disk.storageClassName
        : f.storageClassName !== undefined
          ? f.storageClassName
          : "standard";
    const spec = {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: disk.size ?? "10Gi" } },
      ...(storageClassName ? { storageClassName } : {}),
    };
    const metadata = { name: claimName, ...(disk.annotations ? { annotations: disk.annotations } : {}) };
    const blank = { blank: {} };
    switch (disk.source ?? "persistentVolumeClaim") {
      case "persistentVolumeClaim":
        sources.push(manifest(PersistentVolumeClaim, { metadata: { ...metadata, namespace }, spec }));
        volumes.push({ name: disk.name, persistentVolumeClaim: { claimName } });
        break;
      case "dataVolume":
        sources.push(
          manifest(DataVolume, { metadata: { ...metadata, namespace }, spec: { source: blank, pvc: spec } }),
        );
        volumes.push({ name: disk.name, dataVolume: { name: claimName } });
        break;
      case "dataVolumeTemplate":
        dataVolumeTemplates.push({ metadata, spec: { source: blank, pvc: spec } });
        volumes.push({ name: disk.name, dataVolume: { name: claimName } });
        break;
    }
  }
  if (f.containerDisk) volumes.push({ name: "os", containerDisk: { image: f.containerDisk } });
  if (f.cloudInit !== undefined && f.cloudInit !== false) {
    const userData = typeof f.cloudInit === "string" ? f.cloudInit : "#cloud-config\n";
    volumes.push({ name: "cloudinitdisk", cloudInitNoCloud: { userData } });
  }
  const annotations = { ...f.annotations };
  if (f.guestAgent === false) annotations[KnobAnnotation.GuestAgent] = "false";
  // The VM boots from its image when it has one, not from the first (blank) claim.
  const diskDevices = volumes.map((v) => ({
    name: v.name,
    disk: { bus: "virtio" },
    ...(v.name === "os" ? { bootOrder: 1 } : {}),
  }));
  const vm = manifest(KubeVirtVirtualMachine, {
    metadata: {
      name: f.name,
      namespace,
      ...(f.labels ? { labels: f.labels } : {}),
      ...(Object.keys(annotations).length ? { annotations } : {}),
    },
    spec: {
      runStrategy: f.runStrategy ?? (f.running ? "Always" : "Halted"),
      ...(dataVolumeTemplates.length ? { dataVolumeTemplates } : {}),
      template: {
        metadata: { labels: { "kubevirt.io/domain": f.name } },
        spec: {
          domain: { devices: { disks: diskDevices }, resources: { requests: { memory: "1Gi" } } },
          volumes,
        },
      },
    },
  });
  return [...sources, vm];
}

/** Creates the disks (claims or DataVolumes) and then the VM; returns the VM as created. */
export function createVirtualMachine(store: ObjectStore, f: VirtualMachineFixture): KubeObject {
  return createInStore(
    store,
    [PersistentVolumeClaim, DataVolume, KubeVirtVirtualMachine],
    virtualMachineManifests(f),
  );
}

const vmRef = (name: string) => ({ apiGroup: "kubevirt.io", kind: "VirtualMachine", name });
const metadataOf = (f: { namespace?: string; name: string; annotations?: Record<string, string> }) => ({
  name: f.name,
  namespace: f.namespace ?? "default",
  ...(f.annotations ? { annotations: f.annotations } : {}),
});

export interface SnapshotFixture {
  namespace?: string;
  name: string;
  /** The source VM's name. */
  vm: string;
  /** deletionPolicy, failureDeadline... */
  spec?: Record<string, unknown>;
  /** Knobs: phase-delay-ms, hang, fail, hold-deletion. */
  annotations?: Record<string, string>;
}

/** A VirtualMachineSnapshot as the provider (or kubectl) would create it. */
export function virtualMachineSnapshotManifest(f: SnapshotFixture): KubeObject {
  return manifest(KubeVirtVirtualMachineSnapshot, {
    metadata: metadataOf(f),
    spec: { source: vmRef(f.vm), ...f.spec },
  });
}

export function createVirtualMachineSnapshot(store: ObjectStore, f: SnapshotFixture): KubeObject {
  return store.create(KubeVirtVirtualMachineSnapshot, virtualMachineSnapshotManifest(f));
}

export interface RestoreFixture {
  namespace?: string;
  name: string;
  /** The target VM's name: the snapshot's source, or a VM that does not exist yet. */
  target: string;
  snapshot: string;
  /** targetReadinessPolicy, volumeRestorePolicy, patches... */
  spec?: Record<string, unknown>;
  annotations?: Record<string, string>;
}

export function virtualMachineRestoreManifest(f: RestoreFixture): KubeObject {
  return manifest(KubeVirtVirtualMachineRestore, {
    metadata: metadataOf(f),
    spec: { target: vmRef(f.target), virtualMachineSnapshotName: f.snapshot, ...f.spec },
  });
}

export function createVirtualMachineRestore(store: ObjectStore, f: RestoreFixture): KubeObject {
  return store.create(KubeVirtVirtualMachineRestore, virtualMachineRestoreManifest(f));
}
