// VirtualMachineIPAddress stand-in: leases an address (Auto from a pool, or the static one) and reports which
// VM uses it (phase Bound → Attached), which is what the restore conflict checks read.
import { VirtualMachine, VirtualMachineIPAddress } from "../../emulator/kinds/deckhouse";
import type { KubeObject } from "../../emulator/store";
import { setCondition } from "./conditions";
import { refOf, writeStatus, type DeckhouseContext } from "./context";

const pool = Array.from({ length: 250 }, (_, i) => `10.66.10.${i + 2}`);

/** The VM using an address: it names it in spec, or owns it (an address the platform created for it). */
export function machineUsing(ctx: DeckhouseContext, address: KubeObject): KubeObject | undefined {
  return ctx.store.list(
    VirtualMachine,
    address.metadata.namespace,
    (vm) =>
      vm.spec?.virtualMachineIPAddressName === address.metadata.name ||
      (!vm.spec?.virtualMachineIPAddressName &&
        (address.metadata.ownerReferences ?? []).some((o) => o.uid === vm.metadata.uid)),
  ).items[0];
}

export function watchIpAddresses(ctx: DeckhouseContext): void {
  ctx.reconciler.watch(VirtualMachineIPAddress, (namespace, name) => reconcile(ctx, namespace, name));
  ctx.reconciler.watchRelated(VirtualMachine, (vm) =>
    ctx.store
      .list(VirtualMachineIPAddress, vm.metadata.namespace)
      .items.map((ip) => refOf(VirtualMachineIPAddress, ip)),
  );
}

function reconcile(ctx: DeckhouseContext, namespace: string, name: string) {
  const address = ctx.store.get(VirtualMachineIPAddress, namespace, name);
  if (!address || address.metadata.deletionTimestamp) return;
  const status: Record<string, any> = structuredClone(address.status ?? {});
  const generation = address.metadata.generation;
  if (address.spec?.type === "Static" && address.spec.staticIP) status.address = address.spec.staticIP;
  else if (!status.address) {
    const taken = new Set(
      ctx.store.list(VirtualMachineIPAddress).items.flatMap((ip) => [ip.status?.address, ip.spec?.staticIP]),
    );
    status.address = pool.find((ip) => !taken.has(ip));
  }
  setCondition(status, { type: "Bound", status: "True", reason: "Bound" }, generation);
  const vm = machineUsing(ctx, address);
  if (vm) {
    status.phase = "Attached";
    status.virtualMachineName = vm.metadata.name;
    setCondition(status, { type: "Attached", status: "True", reason: "Attached" }, generation);
  } else {
    status.phase = "Bound";
    delete status.virtualMachineName;
    setCondition(
      status,
      {
        type: "Attached",
        status: "False",
        reason: "VirtualMachineNotFound",
        message: "The address is not used by any virtual machine.",
      },
      generation,
    );
  }
  writeStatus(ctx, VirtualMachineIPAddress, address, status);
}
