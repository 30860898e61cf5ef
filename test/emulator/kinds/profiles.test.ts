import assert from "node:assert/strict";
import { apiVersionOf, ObjectStore } from "../store";
import { profile, profileNames, profiles } from "./profiles";

const served = (name: (typeof profileNames)[number]) =>
  profiles[name].map((t) => `${t.kind} ${apiVersionOf(t)}`).sort();

const core = ["Namespace v1", "PersistentVolumeClaim v1", "Secret v1"];
const csi = ["VolumeSnapshot snapshot.storage.k8s.io/v1"];
const deckhouse = (kinds: string[]) => kinds.map((k) => `${k} virtualization.deckhouse.io/v1alpha2`);
const deckhouseCommon = [
  "VirtualDisk",
  "VirtualDiskSnapshot",
  "VirtualMachine",
  "VirtualMachineBlockDeviceAttachment",
  "VirtualMachineIPAddress",
  "VirtualMachineMACAddress",
  "VirtualMachineOperation",
  "VirtualMachineSnapshot",
  "VirtualMachineSnapshotOperation",
];

describe("profiles: what each emulated cluster serves", () => {
  it("deckhouse-v1.8 still serves VirtualMachineRestore; deckhouse-v1.10 does not", () => {
    assert.deepEqual(
      served("deckhouse-v1.8"),
      [...core, ...csi, ...deckhouse([...deckhouseCommon, "VirtualMachineRestore"])].sort(),
    );
    assert.deepEqual(served("deckhouse-v1.10"), [...core, ...csi, ...deckhouse(deckhouseCommon)].sort());
  });

  it("kubevirt serves VMs, DataVolumes, both snapshot API versions, PVCs and CSI snapshots", () => {
    const snapshotKinds = [
      "VirtualMachineRestore",
      "VirtualMachineSnapshot",
      "VirtualMachineSnapshotContent",
    ];
    assert.deepEqual(
      served("kubevirt"),
      [
        ...core,
        ...csi,
        "DataVolume cdi.kubevirt.io/v1beta1",
        "VirtualMachine kubevirt.io/v1",
        "VirtualMachineInstance kubevirt.io/v1",
        ...snapshotKinds.flatMap((k) => [
          `${k} snapshot.kubevirt.io/v1alpha1`,
          `${k} snapshot.kubevirt.io/v1beta1`,
        ]),
      ].sort(),
    );
  });

  it("none serves only the core kinds", () => {
    assert.deepEqual(served("none"), core);
  });

  it("every served kind defaults and admits", () => {
    for (const name of profileNames) {
      for (const t of profiles[name]) {
        assert.equal(typeof t.default, "function", `${name}: ${t.kind} has no defaults`);
        assert.equal(typeof t.admit, "function", `${name}: ${t.kind} has no admission`);
      }
    }
  });

  it("rules that look at other objects work only with the store passed in", () => {
    const restore = (n: string) => ({
      metadata: { name: n, namespace: "ns" },
      spec: {
        target: { apiGroup: "kubevirt.io", kind: "VirtualMachine", name: "vm" },
        virtualMachineSnapshotName: "s",
      },
    });
    const twoRestores = (kinds: ReturnType<typeof profile>, store: ObjectStore) => {
      const vmr = kinds.find((t) => t.kind === "VirtualMachineRestore" && t.version === "v1beta1")!;
      store.create(vmr, restore("first"));
      return () => store.create(vmr, restore("second"));
    };
    const bound = new ObjectStore();
    assert.throws(
      twoRestores(profile("kubevirt", bound), bound),
      /VirtualMachineRestore "first" in progress/,
    );
    const unbound = new ObjectStore();
    assert.doesNotThrow(twoRestores(profiles.kubevirt, unbound));
  });
});
