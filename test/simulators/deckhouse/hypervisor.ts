// What the hypervisor knows and the Deckhouse API does not show directly (KubeVirt's VM and VMI in the real
// platform): whether a VM was asked to run by an operation, and whether its guest filesystem is frozen.
import { VirtualMachine } from "../../emulator/kinds/deckhouse";
import type { KubeObject } from "../../emulator/store";
import type { Reconciler } from "../controller";

export type PowerRequest = "Start" | "Stop";

export class Hypervisor {
  private readonly frozen = new Set<string>();
  private readonly requests = new Map<string, PowerRequest>();

  constructor(private readonly reconciler: Reconciler) {}

  isFrozen(vm: KubeObject): boolean {
    return this.frozen.has(vm.metadata.uid!);
  }

  freeze(vm: KubeObject): void {
    this.frozen.add(vm.metadata.uid!);
    this.poke(vm);
  }

  thaw(vm: KubeObject): void {
    if (this.frozen.delete(vm.metadata.uid!)) this.poke(vm);
  }

  /** The last Start/Stop asked by an operation (run policies Manual and AlwaysOnUnlessStoppedManually obey it). */
  powerRequest(vm: KubeObject): PowerRequest | undefined {
    return this.requests.get(vm.metadata.uid!);
  }

  requestPower(vm: KubeObject, request: PowerRequest): void {
    if (this.requests.get(vm.metadata.uid!) === request) return;
    this.requests.set(vm.metadata.uid!, request);
    this.poke(vm);
  }

  private poke(vm: KubeObject) {
    this.reconciler.enqueue(VirtualMachine, vm.metadata.namespace!, vm.metadata.name!);
  }
}
