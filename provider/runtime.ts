// The process-wide side of the provider, loaded by package name from the serialized provider's methods:
// the registry of kinds, stack settings, and (through ../kube) the shared connections and watches.
import { saveCompileCache } from "./compileCache"; // first: it makes the modules below load faster next time
import { setStackSettings } from "./core/config";
import type { KindDescription } from "./core/kind";
import { Lifecycle } from "./core/lifecycle";
import { virtualDiskSnapshot } from "./deckhouse/virtualDiskSnapshot";
import { virtualMachineRestore } from "./deckhouse/virtualMachineRestore";
import { virtualMachineSnapshot } from "./deckhouse/virtualMachineSnapshot";
import { virtualDiskSnapshot as kubevirtDiskSnapshot } from "./kubevirt/virtualDiskSnapshot";
import { virtualMachineRestore as kubevirtRestore } from "./kubevirt/virtualMachineRestore";
import { virtualMachineSnapshot as kubevirtSnapshot } from "./kubevirt/virtualMachineSnapshot";

const kinds: KindDescription<any>[] = [
  virtualDiskSnapshot,
  virtualMachineSnapshot,
  virtualMachineRestore,
  kubevirtSnapshot,
  kubevirtRestore,
  kubevirtDiskSnapshot,
];

const lifecycles = new Map(kinds.map((k) => [k.id, new Lifecycle(k)]));
saveCompileCache();

export function lifecycle(kindId: string): Lifecycle {
  const l = lifecycles.get(kindId);
  if (!l) {
    throw new Error(
      `This version of pulumi-vm-snapshots does not know the kind "${kindId}"; the stack was written by another version. ` +
        `Install the version the stack was created with, or recreate the resource.`,
    );
  }
  return l;
}

export function configure(config: { get(key: string): string | undefined }): void {
  setStackSettings(config);
}

type LifecycleMethod = "check" | "diff" | "create" | "read" | "update" | "delete";

/** What the serialized provider's methods call (stacks written by earlier versions call `lifecycle`). */
export async function run(kindId: string, method: "configure" | LifecycleMethod, args: any[]): Promise<any> {
  if (method === "configure") return configure(args[0].config);
  const l = lifecycle(kindId);
  return (l[method] as (...a: any[]) => Promise<any>).apply(l, args);
}

export { cancelAll } from "./core/cancellation";
export { disconnectAll } from "./kube/cluster";
export { watchStats } from "./kube/watch";
