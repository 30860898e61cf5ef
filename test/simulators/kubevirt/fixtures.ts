// Ready-made objects for tests and the demo: what a user would have created (a VM and its disks), and the
// snapshots and restores the provider creates.
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
import type { RunStrategy } from "./virtualMachine";

export interface DiskFixture {
  /** The volume (and disk) name in the VM. */
  name: string;
  /** Default `<vm>-<disk>`. */
  claimName?: string;
  /** Default "10Gi". */
  size?: string;
  /** Default "standard"; `null`: a claim without storage class, hence without VolumeSnapshotClass. */
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
  /** Shorthand for runStrategy Always (true) or Halted (false, the default). */
  running?: boolean;
  runStrategy?: RunStrategy;
  /** Default true; false sets the `guest-agent: "false"` knob. */
  guestAgent?: boolean;
  /** Adds a cloud-init volume, which no snapshot can include. */
  cloudInit?: boolean;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

const diskOf = (d: string | DiskFixture): DiskFixture => (typeof d === "string" ? { name: d } : d);

/** Creates the disks (claims or DataVolumes) and then the VM; returns the VM as created. */
export function createVirtualMachine(store: ObjectStore, f: VirtualMachineFixture): KubeObject {
  const namespace = f.namespace ?? "default";
  const disks = (f.disks ?? ["root"]).map(diskOf);
  const volumes: unknown[] = [];
  const dataVolumeTemplates: unknown[] = [];
  for (const disk of disks) {
    const claimName = disk.claimName ?? `${f.name}-${disk.name}`;
    const storageClassName = disk.storageClassName === undefined ? "standard" : disk.storageClassName;
    const spec = {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: disk.size ?? "10Gi" } },
      ...(storageClassName ? { storageClassName } : {}),
    };
    const metadata = { name: claimName, ...(disk.annotations ? { annotations: disk.annotations } : {}) };
    const blank = { blank: {} };
    switch (disk.source ?? "persistentVolumeClaim") {
      case "persistentVolumeClaim":
        store.create(PersistentVolumeClaim, { metadata, spec }, namespace);
        volumes.push({ name: disk.name, persistentVolumeClaim: { claimName } });
        break;
      case "dataVolume":
        store.create(DataVolume, { metadata, spec: { source: blank, pvc: spec } }, namespace);
        volumes.push({ name: disk.name, dataVolume: { name: claimName } });
        break;
      case "dataVolumeTemplate":
        dataVolumeTemplates.push({ metadata, spec: { source: blank, pvc: spec } });
        volumes.push({ name: disk.name, dataVolume: { name: claimName } });
        break;
    }
  }
  if (f.cloudInit) {
    volumes.push({ name: "cloudinitdisk", cloudInitNoCloud: { userData: "#cloud-config\n" } });
  }
  const annotations = { ...f.annotations };
  if (f.guestAgent === false) annotations[KnobAnnotation.GuestAgent] = "false";
  const diskDevices = volumes.map((v) => ({ name: (v as { name: string }).name, disk: { bus: "virtio" } }));
  return store.create(
    KubeVirtVirtualMachine,
    {
      metadata: {
        name: f.name,
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
    },
    namespace,
  );
}

const vmRef = (name: string) => ({ apiGroup: "kubevirt.io", kind: "VirtualMachine", name });

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
export function createVirtualMachineSnapshot(store: ObjectStore, f: SnapshotFixture): KubeObject {
  return store.create(
    KubeVirtVirtualMachineSnapshot,
    {
      metadata: { name: f.name, ...(f.annotations ? { annotations: f.annotations } : {}) },
      spec: { source: vmRef(f.vm), ...f.spec },
    },
    f.namespace ?? "default",
  );
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

export function createVirtualMachineRestore(store: ObjectStore, f: RestoreFixture): KubeObject {
  return store.create(
    KubeVirtVirtualMachineRestore,
    {
      metadata: { name: f.name, ...(f.annotations ? { annotations: f.annotations } : {}) },
      spec: { target: vmRef(f.target), virtualMachineSnapshotName: f.snapshot, ...f.spec },
    },
    f.namespace ?? "default",
  );
}
