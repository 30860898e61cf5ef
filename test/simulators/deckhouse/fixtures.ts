// Ready-made objects a user would create (never their status): manifests for a cluster's API, and wrappers
// that write them straight into an emulator's store for the simulators' own tests and the demo.
import { Secret } from "../../emulator/kinds/core";
import {
  VirtualDisk,
  VirtualDiskSnapshot,
  VirtualMachine,
  VirtualMachineSnapshot,
} from "../../emulator/kinds/deckhouse";
import type { KubeObject, ObjectStore, ResourceType } from "../../emulator/store";
import { KnobAnnotation } from "../knobs";
import { createInStore, manifest } from "../manifests";

export interface DiskFixture {
  name: string;
  size?: string;
  storageClassName?: string;
  /** URL of an image the disk is filled from (dataSource HTTP); without it the disk is blank. */
  image?: string;
  annotations?: Record<string, string>;
}

export interface VirtualMachineFixture {
  namespace?: string;
  name: string;
  /** Disk names, or disk descriptions; each disk is created and attached in this order. */
  disks?: Array<string | DiskFixture>;
  /** URL of a bootable image the first disk is filled from. */
  image?: string;
  /** Storage class of disks that do not name one (default: the cluster's default class). */
  storageClassName?: string;
  /** Names of existing disks to attach after the VM's own ones (e.g. a disk shared with another VM). */
  attach?: string[];
  /** Default true: run policy AlwaysOnUnlessStoppedManually; false: AlwaysOff. An explicit runPolicy wins. */
  running?: boolean;
  runPolicy?: "AlwaysOn" | "AlwaysOff" | "Manual" | "AlwaysOnUnlessStoppedManually";
  /** Default "generic", the class every Deckhouse cluster has. */
  virtualMachineClassName?: string;
  /** Default true; false sets the guest-agent knob so the VM never reports AgentReady. */
  guestAgent?: boolean;
  /** Name of a VirtualMachineIPAddress to use (otherwise one is created for the VM). */
  virtualMachineIPAddressName?: string;
  /** Cloud-init user data: stored in a Secret `<name>-cloud-init` referenced by the VM. */
  userData?: string;
  /** Cloud-init user data in the VM's own spec (provisioning type UserData). */
  cloudInit?: string;
  annotations?: Record<string, string>;
}

export function virtualDiskManifest(namespace: string, disk: string | DiskFixture): KubeObject {
  const d = typeof disk === "string" ? { name: disk } : disk;
  return manifest(VirtualDisk, {
    metadata: { name: d.name, namespace, ...(d.annotations ? { annotations: d.annotations } : {}) },
    spec: {
      ...(d.image ? { dataSource: { type: "HTTP", http: { url: d.image } } } : {}),
      persistentVolumeClaim: {
        size: d.size ?? "10Gi",
        ...(d.storageClassName ? { storageClassName: d.storageClassName } : {}),
      },
    },
  });
}

/** The VM's disks (the first one from `image`), its user-data Secret if any, then the VM. */
export function virtualMachineManifests(fixture: VirtualMachineFixture): KubeObject[] {
  const namespace = fixture.namespace ?? "default";
  const disks = (fixture.disks ?? []).map((d, i) => {
    const disk = typeof d === "string" ? { name: d } : d;
    return virtualDiskManifest(namespace, {
      storageClassName: fixture.storageClassName,
      ...(i === 0 && fixture.image ? { image: fixture.image } : {}),
      ...disk,
    });
  });
  const annotations = {
    ...(fixture.guestAgent === false ? { [KnobAnnotation.GuestAgent]: "false" } : {}),
    ...fixture.annotations,
  };
  const secrets =
    fixture.userData === undefined
      ? []
      : [
          manifest(Secret, {
            metadata: { name: `${fixture.name}-cloud-init`, namespace },
            type: "provisioning.virtualization.deckhouse.io/cloud-init",
            data: { userData: Buffer.from(fixture.userData).toString("base64") },
          }),
        ];
  const provisioning =
    fixture.userData !== undefined
      ? { type: "UserDataRef", userDataRef: { kind: "Secret", name: `${fixture.name}-cloud-init` } }
      : fixture.cloudInit !== undefined
        ? { type: "UserData", userData: fixture.cloudInit }
        : undefined;
  const vm = manifest(VirtualMachine, {
    metadata: { name: fixture.name, namespace, ...(Object.keys(annotations).length ? { annotations } : {}) },
    spec: {
      runPolicy:
        fixture.runPolicy ?? (fixture.running === false ? "AlwaysOff" : "AlwaysOnUnlessStoppedManually"),
      virtualMachineClassName: fixture.virtualMachineClassName ?? "generic",
      cpu: { cores: 1, coreFraction: "100%" },
      memory: { size: "1Gi" },
      blockDeviceRefs: [...disks.map((d) => d.metadata.name!), ...(fixture.attach ?? [])].map((name) => ({
        kind: "VirtualDisk",
        name,
      })),
      ...(fixture.virtualMachineIPAddressName
        ? { virtualMachineIPAddressName: fixture.virtualMachineIPAddressName }
        : {}),
      ...(provisioning ? { provisioning } : {}),
    },
  });
  return [...disks, ...secrets, vm];
}

export function createVirtualDisk(
  store: ObjectStore,
  namespace: string,
  disk: string | DiskFixture,
): KubeObject {
  return store.create(VirtualDisk, virtualDiskManifest(namespace, disk));
}

/** Creates the VM's disks (and user-data Secret) and then the VM; returns the VM as created. */
export function createVirtualMachine(store: ObjectStore, fixture: VirtualMachineFixture): KubeObject {
  return createInStore(store, [VirtualDisk, Secret, VirtualMachine], virtualMachineManifests(fixture));
}

export interface SnapshotFixture {
  namespace?: string;
  name: string;
  /** More of the spec: keepIPAddress, requiredConsistency... */
  spec?: Record<string, unknown>;
  /** Knobs: phase-delay-ms, hang, fail, hold-deletion. */
  annotations?: Record<string, string>;
}

/** Creates a snapshot as the provider (or kubectl) would; `source` names what it is taken of. */
function createSnapshot(
  store: ObjectStore,
  type: ResourceType,
  f: SnapshotFixture,
  source: Record<string, string>,
): KubeObject {
  const metadata = {
    name: f.name,
    namespace: f.namespace ?? "default",
    ...(f.annotations ? { annotations: f.annotations } : {}),
  };
  return store.create(type, manifest(type, { metadata, spec: { ...source, ...f.spec } }));
}

export function createVirtualMachineSnapshot(
  store: ObjectStore,
  f: SnapshotFixture & { vm: string },
): KubeObject {
  return createSnapshot(store, VirtualMachineSnapshot, f, { virtualMachineName: f.vm });
}

export function createVirtualDiskSnapshot(
  store: ObjectStore,
  f: SnapshotFixture & { disk: string },
): KubeObject {
  return createSnapshot(store, VirtualDiskSnapshot, f, { virtualDiskName: f.disk });
}
