// The Deckhouse virtualization controller simulator: every kind's controller over one emulator store.
import * as core from "../../emulator/kinds/core";
import * as deckhouse from "../../emulator/kinds/deckhouse";
import type { ObjectStore, ResourceType } from "../../emulator/store";
import { Reconciler } from "../controller";
import { startCsiSnapshotController } from "../csi";
import type { PhaseDelay } from "../knobs";
import { watchBlockDeviceAttachments } from "./blockDeviceAttachment";
import type { DeckhouseContext, DeckhouseVersion } from "./context";
import { watchDiskSnapshots } from "./diskSnapshot";
import { Hypervisor } from "./hypervisor";
import { watchIpAddresses } from "./ipAddress";
import { watchVirtualDisks } from "./virtualDisk";
import { watchVirtualMachines } from "./virtualMachine";
import { collectFinishedOperations, type CollectOptions } from "./gc";
import { watchVmOperations } from "./vmOperation";
import { watchVmRestores } from "./vmRestore";
import { watchVmSnapshotOperations } from "./vmSnapshotOperation";
import { watchVmSnapshots } from "./vmSnapshot";

export type { DeckhouseVersion } from "./context";
export type { CollectOptions } from "./gc";

export interface DeckhouseControllerOptions {
  /** The release to behave as (default "v1.10"): "v1.8" still serves VirtualMachineRestore and has no Superseded. */
  version?: DeckhouseVersion;
  /** Default delay before each phase transition (default 0); the phase-delay-ms knob overrides it per object. */
  phaseDelayMs?: PhaseDelay;
  /** Start the CSI snapshot stand-in too (default true). */
  csi?: boolean;
  /** A reconcile failed with something other than a conflict (it is retried with back-off). */
  onError?: (error: unknown) => void;
}

export interface DeckhouseController {
  /** Stops every controller (and the CSI stand-in it started); no timer is left behind. */
  stop(): void;
  /** Test hook: the daily garbage collection of finished VMOPs/VMSOPs, now ("24 h later"). */
  collectFinishedOperations(opts?: CollectOptions): void;
}

export function startDeckhouseController(
  store: ObjectStore,
  opts: DeckhouseControllerOptions = {},
): DeckhouseController {
  const csi = opts.csi === false ? undefined : startCsiSnapshotController(store, opts);
  const reconciler = new Reconciler(store, {
    onStop: () => csi?.stop(),
    onError: (error, ref) =>
      (
        opts.onError ??
        ((e) => console.error(`deckhouse simulator: ${ref.type.kind} ${ref.namespace}/${ref.name}:`, e))
      )(error),
  });
  // Owners and dependents must be known to the store for garbage collection through ownerReferences.
  for (const type of [...Object.values(core), ...Object.values(deckhouse)] as ResourceType[])
    store.register(type);
  const ctx: DeckhouseContext = {
    store,
    reconciler,
    hypervisor: new Hypervisor(reconciler),
    version: opts.version ?? "v1.10",
    phaseDelayMs: opts.phaseDelayMs ?? 0,
  };
  watchVirtualDisks(ctx);
  watchVirtualMachines(ctx);
  watchIpAddresses(ctx);
  watchBlockDeviceAttachments(ctx);
  watchDiskSnapshots(ctx);
  watchVmSnapshots(ctx);
  // VirtualMachineRestore was removed in v1.9.0: a v1.10 cluster leaves such objects untouched.
  if (ctx.version === "v1.8") watchVmRestores(ctx);
  watchVmOperations(ctx);
  watchVmSnapshotOperations(ctx);
  return {
    stop: () => reconciler.stop(),
    collectFinishedOperations: (collect) => collectFinishedOperations(store, collect),
  };
}
