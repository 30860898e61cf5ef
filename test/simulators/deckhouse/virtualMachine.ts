// VirtualMachine stand-in: run policies, Pending → Starting → Running (or Stopped), block devices, the guest
// agent and the conditions the snapshot controllers read (AgentReady, BlockDevicesReady, Snapshotting, ...).
import {
  VirtualDisk,
  VirtualMachine,
  VirtualMachineBlockDeviceAttachment,
  VirtualMachineIPAddress,
  VirtualMachineSnapshot,
} from "../../emulator/kinds/deckhouse";
import type { KubeObject } from "../../emulator/store";
import { knobsOf } from "../knobs";
import { isTrue, removeCondition, setCondition } from "./conditions";
import { due, hangs, refOf, writeStatus, type DeckhouseContext } from "./context";
import { ownerReference } from "./names";

export interface BlockDevice {
  kind: string;
  name: string;
  hotplugged?: boolean;
  virtualMachineBlockDeviceAttachmentName?: string;
}

/** The VM's block devices: `spec.blockDeviceRefs` plus disks hot-plugged by an attached VMBDA. */
export function blockDevicesOf(ctx: DeckhouseContext, vm: KubeObject): BlockDevice[] {
  const own: BlockDevice[] = (vm.spec?.blockDeviceRefs ?? []).map((r: any) => ({
    kind: r.kind,
    name: r.name,
  }));
  const hotplugged = ctx.store
    .list(
      VirtualMachineBlockDeviceAttachment,
      vm.metadata.namespace,
      (a) => a.spec?.virtualMachineName === vm.metadata.name && a.status?.phase === "Attached",
    )
    .items.map((a) => ({
      kind: a.spec.blockDeviceRef.kind,
      name: a.spec.blockDeviceRef.name,
      hotplugged: true,
      virtualMachineBlockDeviceAttachmentName: a.metadata.name,
    }));
  return [...own, ...hotplugged];
}

/** Whether the VM should be running now, from its run policy, maintenance and the last Start/Stop operation. */
function wantsRunning(ctx: DeckhouseContext, vm: KubeObject): boolean {
  if (isTrue(vm, "Maintenance")) return false;
  const request = ctx.hypervisor.powerRequest(vm);
  switch (vm.spec?.runPolicy ?? "AlwaysOnUnlessStoppedManually") {
    case "AlwaysOn":
      return true;
    case "AlwaysOff":
      return false;
    case "Manual":
      return request === "Start";
    default:
      return request !== "Stop";
  }
}

export function watchVirtualMachines(ctx: DeckhouseContext): void {
  const { store, reconciler } = ctx;
  const machinesIn = (namespace: string, match: (vm: KubeObject) => boolean) =>
    store.list(VirtualMachine, namespace, match).items.map((vm) => refOf(VirtualMachine, vm));
  const named = (obj: KubeObject, name: string | undefined) =>
    name ? [{ type: VirtualMachine, namespace: obj.metadata.namespace!, name }] : [];

  reconciler.watch(VirtualMachine, (namespace, name) => reconcile(ctx, namespace, name));
  reconciler.watchRelated(VirtualDisk, (disk) =>
    machinesIn(disk.metadata.namespace!, (vm) =>
      (vm.spec?.blockDeviceRefs ?? []).some(
        (r: any) => r.kind === "VirtualDisk" && r.name === disk.metadata.name,
      ),
    ),
  );
  reconciler.watchRelated(VirtualMachineBlockDeviceAttachment, (a) => named(a, a.spec?.virtualMachineName));
  reconciler.watchRelated(VirtualMachineSnapshot, (s) => named(s, s.spec?.virtualMachineName));
  reconciler.watchRelated(VirtualMachineIPAddress, (ip) =>
    machinesIn(
      ip.metadata.namespace!,
      (vm) =>
        [vm.spec?.virtualMachineIPAddressName, vm.status?.virtualMachineIPAddressName].includes(
          ip.metadata.name,
        ) || (ip.metadata.ownerReferences ?? []).some((o) => o.uid === vm.metadata.uid),
    ),
  );
}

function reconcile(ctx: DeckhouseContext, namespace: string, name: string) {
  const { store, hypervisor } = ctx;
  const vm = store.get(VirtualMachine, namespace, name);
  if (!vm) return;
  if (vm.metadata.deletionTimestamp) return hypervisor.thaw(vm);
  const status: Record<string, any> = structuredClone(vm.status ?? {});
  const generation = vm.metadata.generation;

  const devices = blockDevicesOf(ctx, vm);
  const disks = new Map(
    devices
      .filter((d) => d.kind === "VirtualDisk")
      .map((d) => [d.name, store.get(VirtualDisk, namespace, d.name)] as const),
  );
  // Images are not simulated: an image reference counts as present and ready.
  const readyCount = devices.filter(
    (d) => d.kind !== "VirtualDisk" || disks.get(d.name)?.status?.phase === "Ready",
  ).length;
  const devicesReady = readyCount === devices.length;
  setCondition(
    status,
    devicesReady
      ? { type: "BlockDevicesReady", status: "True", reason: "BlockDevicesReady" }
      : {
          type: "BlockDevicesReady",
          status: "False",
          reason: "BlockDevicesNotReady",
          message: `Waiting for the block devices to be ready: ${readyCount}/${devices.length}.`,
        },
    generation,
  );

  const address = ensureIpAddress(ctx, vm);
  if (address.name) status.virtualMachineIPAddressName = address.name;
  if (address.ip) status.ipAddress = address.ip;

  if (!hangs(vm)) status.phase = nextPhase(ctx, vm, status.phase ?? "", devicesReady);
  const running = status.phase === "Running";
  if (!running) hypervisor.thaw(vm);

  status.blockDeviceRefs = devices.map((d) => ({
    ...d,
    size: disks.get(d.name)?.status?.capacity ?? "",
    attached: running,
  }));

  if (running && knobsOf(vm).guestAgent) {
    setCondition(status, { type: "AgentReady", status: "True", reason: "AgentReady" }, generation);
  } else if (running) {
    setCondition(
      status,
      {
        type: "AgentReady",
        status: "False",
        reason: "AgentNotReady",
        message: "The guest agent of the virtual machine is not connected.",
      },
      generation,
    );
  } else removeCondition(status, "AgentReady");

  if (hypervisor.isFrozen(vm)) {
    setCondition(
      status,
      {
        type: "FilesystemFrozen",
        status: "True",
        reason: "Frozen",
        message: "The file system of the virtual machine is frozen.",
      },
      generation,
    );
  } else removeCondition(status, "FilesystemFrozen");

  const snapshotPhases = store
    .list(
      VirtualMachineSnapshot,
      namespace,
      (s) => s.spec?.virtualMachineName === name && !s.metadata.deletionTimestamp,
    )
    .items.map((s) => s.status?.phase ?? "");
  if (snapshotPhases.includes("InProgress")) {
    setCondition(
      status,
      {
        type: "Snapshotting",
        status: "True",
        reason: "SnapshottingInProgress",
        message: "The virtual machine is in the process of snapshotting.",
      },
      generation,
    );
  } else if (snapshotPhases.some((p) => p === "" || p === "Pending")) {
    setCondition(
      status,
      {
        type: "Snapshotting",
        status: "True",
        reason: "WaitingForTheSnapshotToStart",
        message: "The virtual machine is selected for taking a snapshot.",
      },
      generation,
    );
  } else removeCondition(status, "Snapshotting");

  writeStatus(ctx, VirtualMachine, vm, status);
}

function nextPhase(ctx: DeckhouseContext, vm: KubeObject, phase: string, devicesReady: boolean): string {
  const step = (next: string) => (due(ctx, VirtualMachine, vm, `${phase}->${next}`) ? next : phase);
  if (!devicesReady && phase !== "Running" && phase !== "Stopping") return "Pending";
  if (wantsRunning(ctx, vm)) {
    if (phase === "" || phase === "Pending" || phase === "Stopped") return step("Starting");
    if (phase === "Starting") return step("Running");
    if (phase === "Stopping") return step("Stopped");
    return phase;
  }
  if (phase === "Running" || phase === "Starting") return step("Stopping");
  if (phase === "Stopping" || phase === "" || phase === "Pending") return step("Stopped");
  return phase;
}

/** The VM's VirtualMachineIPAddress: the one its spec names, or one created for it (as the platform does). */
function ensureIpAddress(ctx: DeckhouseContext, vm: KubeObject): { name?: string; ip?: string } {
  const { store } = ctx;
  const { namespace, uid } = vm.metadata;
  const named: string | undefined = vm.spec?.virtualMachineIPAddressName;
  let address = named
    ? store.get(VirtualMachineIPAddress, namespace, named)
    : store.list(VirtualMachineIPAddress, namespace, (ip) =>
        (ip.metadata.ownerReferences ?? []).some((o) => o.uid === uid),
      ).items[0];
  if (!address && !named) {
    address = store.create(VirtualMachineIPAddress, {
      metadata: {
        generateName: `${vm.metadata.name}-`,
        namespace,
        ownerReferences: [ownerReference(vm)],
      },
      spec: { type: "Auto" },
    });
  }
  return { name: named ?? address?.metadata.name, ip: address?.status?.address };
}
