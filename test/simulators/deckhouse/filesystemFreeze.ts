// When a guest filesystem may be frozen for a snapshot and when it may be thawed again.
import { VirtualDiskSnapshot, VirtualMachineSnapshot } from "../../emulator/kinds/deckhouse";
import type { KubeObject } from "../../emulator/store";
import { isTrue } from "./conditions";
import type { DeckhouseContext } from "./context";
import { blockDevicesOf } from "./virtualMachine";

/** The guest agent can freeze: the VM runs, its agent is connected and it is not frozen already. */
export const canFreeze = (ctx: DeckhouseContext, vm: KubeObject) =>
  vm.status?.phase === "Running" && isTrue(vm, "AgentReady") && !ctx.hypervisor.isFrozen(vm);

/**
 * Thaws the VM unless another snapshot still needs it frozen: an InProgress VirtualDiskSnapshot of one of its
 * disks or an InProgress VirtualMachineSnapshot of the VM (other than the caller).
 */
export function thawUnlessInUse(ctx: DeckhouseContext, vm: KubeObject, caller: KubeObject): void {
  if (!ctx.hypervisor.isFrozen(vm)) return;
  const { namespace, name } = vm.metadata;
  const disks = new Set(blockDevicesOf(ctx, vm).map((d) => d.name));
  const busy = (s: KubeObject) =>
    s.metadata.uid !== caller.metadata.uid &&
    !s.metadata.deletionTimestamp &&
    s.status?.phase === "InProgress";
  const diskSnapshots = ctx.store.list(
    VirtualDiskSnapshot,
    namespace,
    (s) => busy(s) && disks.has(s.spec?.virtualDiskName),
  ).items;
  const vmSnapshots = ctx.store.list(
    VirtualMachineSnapshot,
    namespace,
    (s) => busy(s) && s.spec?.virtualMachineName === name,
  ).items;
  if (!diskSnapshots.length && !vmSnapshots.length) ctx.hypervisor.thaw(vm);
}
