// VirtualMachineBlockDeviceAttachment stand-in: hot-plugs a Ready disk into an existing VM (Pending → Attached).
import {
  VirtualDisk,
  VirtualMachine,
  VirtualMachineBlockDeviceAttachment,
} from "../../emulator/kinds/deckhouse";
import { setCondition } from "./conditions";
import { due, hangs, refOf, writeStatus, type DeckhouseContext } from "./context";

export function watchBlockDeviceAttachments(ctx: DeckhouseContext): void {
  const { store, reconciler } = ctx;
  const attachmentsIn = (namespace: string) =>
    store
      .list(VirtualMachineBlockDeviceAttachment, namespace)
      .items.map((a) => refOf(VirtualMachineBlockDeviceAttachment, a));
  reconciler.watch(VirtualMachineBlockDeviceAttachment, (namespace, name) => reconcile(ctx, namespace, name));
  reconciler.watchRelated(VirtualMachine, (vm) => attachmentsIn(vm.metadata.namespace!));
  reconciler.watchRelated(VirtualDisk, (disk) => attachmentsIn(disk.metadata.namespace!));
}

function reconcile(ctx: DeckhouseContext, namespace: string, name: string) {
  const { store } = ctx;
  const attachment = store.get(VirtualMachineBlockDeviceAttachment, namespace, name);
  if (!attachment || attachment.metadata.deletionTimestamp || hangs(attachment)) return;
  const status: Record<string, any> = structuredClone(attachment.status ?? {});
  const generation = attachment.metadata.generation;
  const vmName: string = attachment.spec?.virtualMachineName;
  const ref = attachment.spec?.blockDeviceRef ?? {};
  status.virtualMachineName = vmName;
  const vm = store.get(VirtualMachine, namespace, vmName);
  const disk = ref.kind === "VirtualDisk" ? store.get(VirtualDisk, namespace, ref.name) : undefined;
  if (!vm) {
    status.phase = "Pending";
    setCondition(
      status,
      {
        type: "VirtualMachineReady",
        status: "False",
        reason: "NotFound",
        message: `Virtual machine "${vmName}" not found.`,
      },
      generation,
    );
  } else if (disk?.status?.phase !== "Ready") {
    status.phase = "Pending";
    setCondition(
      status,
      {
        type: "BlockDeviceReady",
        status: "False",
        reason: "BlockDeviceNotReady",
        message: `${ref.kind} "${ref.name}" is not ready.`,
      },
      generation,
    );
  } else if (
    status.phase !== "Attached" &&
    !due(ctx, VirtualMachineBlockDeviceAttachment, attachment, "attach")
  ) {
    status.phase = "Pending";
  } else {
    status.phase = "Attached";
    setCondition(
      status,
      { type: "VirtualMachineReady", status: "True", reason: "VirtualMachineReady" },
      generation,
    );
    setCondition(
      status,
      { type: "BlockDeviceReady", status: "True", reason: "BlockDeviceReady" },
      generation,
    );
    setCondition(status, { type: "Attached", status: "True", reason: "Attached" }, generation);
  }
  writeStatus(ctx, VirtualMachineBlockDeviceAttachment, attachment, status);
}
