// Ready-made stand-ins for tests and the demo: the objects a user would create (never their status).
import { Secret } from "../../emulator/kinds/core";
import { VirtualDisk, VirtualMachine } from "../../emulator/kinds/deckhouse";
import type { KubeObject, ObjectStore } from "../../emulator/store";
import { KnobAnnotation } from "../knobs";

export interface DiskFixture {
  name: string;
  size?: string;
  storageClassName?: string;
  annotations?: Record<string, string>;
}

export interface VirtualMachineFixture {
  namespace?: string;
  name: string;
  /** Disk names, or disk descriptions; each disk is created and attached in this order. */
  disks?: Array<string | DiskFixture>;
  /** Names of existing disks to attach after the VM's own ones (e.g. a disk shared with another VM). */
  attach?: string[];
  /** Default true: run policy AlwaysOnUnlessStoppedManually; false: AlwaysOff. An explicit runPolicy wins. */
  running?: boolean;
  runPolicy?: "AlwaysOn" | "AlwaysOff" | "Manual" | "AlwaysOnUnlessStoppedManually";
  /** Default true; false sets the guest-agent knob so the VM never reports AgentReady. */
  guestAgent?: boolean;
  /** Name of a VirtualMachineIPAddress to use (otherwise one is created for the VM). */
  virtualMachineIPAddressName?: string;
  /** Cloud-init user data: stored in a Secret `<name>-cloud-init` referenced by the VM. */
  userData?: string;
  annotations?: Record<string, string>;
}

export function createVirtualDisk(
  store: ObjectStore,
  namespace: string,
  disk: string | DiskFixture,
): KubeObject {
  const d = typeof disk === "string" ? { name: disk } : disk;
  return store.create(VirtualDisk, {
    metadata: { name: d.name, namespace, ...(d.annotations ? { annotations: d.annotations } : {}) },
    spec: {
      persistentVolumeClaim: {
        size: d.size ?? "10Gi",
        ...(d.storageClassName ? { storageClassName: d.storageClassName } : {}),
      },
    },
  });
}

/** Creates the VM's disks (and user-data Secret) and then the VM; returns the VM as created. */
export function createVirtualMachine(store: ObjectStore, fixture: VirtualMachineFixture): KubeObject {
  const namespace = fixture.namespace ?? "default";
  const disks = (fixture.disks ?? []).map((d) => createVirtualDisk(store, namespace, d));
  const annotations = {
    ...(fixture.guestAgent === false ? { [KnobAnnotation.GuestAgent]: "false" } : {}),
    ...fixture.annotations,
  };
  if (fixture.userData !== undefined) {
    store.create(Secret, {
      metadata: { name: `${fixture.name}-cloud-init`, namespace },
      type: "provisioning.virtualization.deckhouse.io/cloud-init",
      data: { userData: Buffer.from(fixture.userData).toString("base64") },
    });
  }
  return store.create(VirtualMachine, {
    metadata: { name: fixture.name, namespace, ...(Object.keys(annotations).length ? { annotations } : {}) },
    spec: {
      runPolicy:
        fixture.runPolicy ?? (fixture.running === false ? "AlwaysOff" : "AlwaysOnUnlessStoppedManually"),
      virtualMachineClassName: "generic",
      cpu: { cores: 1, coreFraction: "100%" },
      memory: { size: "1Gi" },
      blockDeviceRefs: [...disks.map((d) => d.metadata.name!), ...(fixture.attach ?? [])].map((name) => ({
        kind: "VirtualDisk",
        name,
      })),
      ...(fixture.virtualMachineIPAddressName
        ? { virtualMachineIPAddressName: fixture.virtualMachineIPAddressName }
        : {}),
      ...(fixture.userData !== undefined
        ? {
            provisioning: {
              type: "UserDataRef",
              userDataRef: { kind: "Secret", name: `${fixture.name}-cloud-init` },
            },
          }
        : {}),
    },
  });
}
