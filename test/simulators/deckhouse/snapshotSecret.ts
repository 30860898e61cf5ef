// The Secret a VirtualMachineSnapshot keeps the VM's configuration in (keys vm, vmip, vmbdas, provisioner; JSON),
// and reading it back for restores. Disks are not in it: they come back from the child VirtualDiskSnapshots.
import { Secret } from "../../emulator/kinds/core";
import { VirtualMachineBlockDeviceAttachment, VirtualMachineIPAddress } from "../../emulator/kinds/deckhouse";
import type { KubeObject } from "../../emulator/store";
import type { DeckhouseContext } from "./context";
import { ownerReference, supplementName } from "./names";

export const snapshotSecretType = "virtualmachine.virtualization.deckhouse.io/snapshot";

export interface SnapshotContent {
  vm: KubeObject;
  vmip?: KubeObject;
  vmbdas: KubeObject[];
  provisioner?: KubeObject;
}

/** What a snapshot keeps of an object: identity, labels, annotations and spec, without server fields. */
function keptCopy(obj: KubeObject, extra: Partial<KubeObject> = {}): KubeObject {
  const { name, namespace, labels, annotations } = obj.metadata;
  const { metadata: _m, status: _s, apiVersion, kind, ...rest } = structuredClone(obj);
  return {
    apiVersion,
    kind,
    metadata: { name, namespace, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) },
    ...rest,
    ...extra,
  };
}

/** The address to keep, per the keepIPAddress table (reference §3.1); the live object is not modified. */
function keptAddress(
  ctx: DeckhouseContext,
  vm: KubeObject,
  keep: "Always" | "Never",
): KubeObject | undefined {
  const name = vm.spec?.virtualMachineIPAddressName ?? vm.status?.virtualMachineIPAddressName;
  const address = name && ctx.store.get(VirtualMachineIPAddress, vm.metadata.namespace, name);
  if (!address) return undefined;
  const status = { address: address.status?.address, virtualMachineName: vm.metadata.name };
  if (address.spec?.type === "Static") return keptCopy(address, { status });
  if (keep === "Never")
    return vm.spec?.virtualMachineIPAddressName ? keptCopy(address, { status }) : undefined;
  return keptCopy(address, { spec: { type: "Static", staticIP: address.status?.address }, status });
}

/** Creates the snapshot's Secret (once) from the VM as it is now, and returns it with what it resolved. */
export function ensureSnapshotSecret(
  ctx: DeckhouseContext,
  snapshot: KubeObject,
  vm: KubeObject,
): { secret: KubeObject; content: SnapshotContent } {
  const { store } = ctx;
  const { namespace } = snapshot.metadata;
  const name = supplementName("vms", snapshot);
  const existing = store.get(Secret, namespace, name);
  if (existing) return { secret: existing, content: readSnapshotSecret(existing) };

  const vmip = keptAddress(ctx, vm, snapshot.spec?.keepIPAddress ?? "Always");
  const keptVm = keptCopy(vm);
  if (vmip) keptVm.spec = { ...keptVm.spec, virtualMachineIPAddressName: vmip.metadata.name };
  const vmbdas = store
    .list(
      VirtualMachineBlockDeviceAttachment,
      namespace,
      (a) => a.spec?.virtualMachineName === vm.metadata.name,
    )
    .items.map((a) => keptCopy(a));
  const userData = vm.spec?.provisioning?.userDataRef;
  const provisionerSecret =
    vm.spec?.provisioning?.type === "UserDataRef" && (userData?.kind ?? "Secret") === "Secret"
      ? store.get(Secret, namespace, userData?.name)
      : undefined;
  const content: SnapshotContent = {
    vm: keptVm,
    vmbdas,
    ...(vmip ? { vmip } : {}),
    ...(provisionerSecret ? { provisioner: keptCopy(provisionerSecret) } : {}),
  };
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64");
  const secret = store.create(Secret, {
    metadata: { name, namespace, ownerReferences: [ownerReference(snapshot)] },
    type: snapshotSecretType,
    data: {
      vm: encode(content.vm),
      vmbdas: encode(content.vmbdas),
      ...(content.vmip ? { vmip: encode(content.vmip) } : {}),
      ...(content.provisioner ? { provisioner: encode(content.provisioner) } : {}),
    },
  });
  return { secret, content };
}

export function readSnapshotSecret(secret: KubeObject): SnapshotContent {
  const decode = (key: string) => {
    const value = secret.data?.[key];
    return value === undefined ? undefined : JSON.parse(Buffer.from(value, "base64").toString("utf8"));
  };
  const vm = decode("vm");
  if (!vm) {
    throw new Error(
      `Secret ${secret.metadata.namespace}/${secret.metadata.name}: data.vm: missing, not a VM snapshot`,
    );
  }
  return { vm, vmip: decode("vmip"), vmbdas: decode("vmbdas") ?? [], provisioner: decode("provisioner") };
}
