// The kinds the bench creates: how the program declares one (captured under mocks, `__provider` included),
// what each object snapshots, and the same object as a peer would create it.
import * as fs from "node:fs";
import * as path from "node:path";
import { deckhouseKind } from "../../provider/deckhouse/api";
import type { ApiKind } from "../../provider/kube/objects";
import { VirtualDiskSnapshot, VirtualMachineSnapshot } from "../emulator/kinds/deckhouse";
import type { ResourceType } from "../emulator/store";
import { captureResources } from "../host/capture";
import type { RecordedSnapshot } from "./replay";

export const projectDir = path.join(__dirname, "project");

/** The program's files: index.ts and the no-op provider it declares beside the package's kinds. */
export const programFiles = (): Record<string, string> =>
  Object.fromEntries(
    ["index.ts", "nothing.ts"].map((name) => [name, fs.readFileSync(path.join(projectDir, name), "utf8")]),
  );

export interface BenchKind {
  /** The kind's name in the table. */
  name: string;
  type: ResourceType;
  api: ApiKind;
  /** The spec of the i-th object: one snapshot per VM (or per disk) of the environment. */
  spec(i: number): Record<string, unknown>;
  /** The program's resource in project/index.ts. */
  resourceName: string;
}

export const benchKinds: BenchKind[] = [
  {
    name: "VirtualDiskSnapshot",
    type: VirtualDiskSnapshot,
    api: deckhouseKind("VirtualDiskSnapshot", "virtualdisksnapshots"),
    spec: (i) => ({ virtualDiskName: `vm-${i}-root`, requiredConsistency: true }),
    resourceName: "disk",
  },
  {
    name: "VirtualMachineSnapshot",
    type: VirtualMachineSnapshot,
    api: deckhouseKind("VirtualMachineSnapshot", "virtualmachinesnapshots"),
    spec: (i) => ({ virtualMachineName: `vm-${i}`, requiredConsistency: true, keepIPAddress: "Always" }),
    resourceName: "vm",
  },
];

/** What the controller recording snapshots: the recorded VM's disk, or the VM itself. */
export const recordedSnapshots = (vm: { name: string; disk: string }): RecordedSnapshot[] => [
  { type: VirtualDiskSnapshot, spec: { virtualDiskName: vm.disk, requiredConsistency: true } },
  {
    type: VirtualMachineSnapshot,
    spec: { virtualMachineName: vm.name, requiredConsistency: true, keepIPAddress: "Always" },
  },
];

export interface DeclaredResource {
  /** The type token, e.g. "pulumi-nodejs:dynamic/vm-snapshots/deckhouse:VirtualDiskSnapshot". */
  type: string;
  /** The inputs the program sends, `__provider` included. */
  inputs: Record<string, unknown>;
  /** Length of the serialized provider text every resource of this kind carries (twice in the state). */
  providerBytes: number;
}

/**
 * The program's resources by their Pulumi name: "disk", "vm" and the no-op "nothing", as the program in `cwd`
 * (default: ./project, which finds this package by name) declares them. `development` takes the package from
 * its TypeScript sources instead of `dist/`.
 */
export async function declaredResources(
  options: { cwd?: string; development?: boolean } = {},
): Promise<Map<string, DeclaredResource>> {
  const { cwd = projectDir, development = false } = options;
  const resources = await captureResources("index.ts", { cwd, development });
  return new Map(
    resources.map((r) => [
      r.name,
      { type: r.type, inputs: r.inputs, providerBytes: Buffer.byteLength(r.inputs.__provider) },
    ]),
  );
}

/** The i-th resource's inputs: the declared ones with this object's target (the no-op has none). */
export function inputsFor(kind: BenchKind | undefined, declared: DeclaredResource, i: number) {
  return kind ? { ...declared.inputs, ...kind.spec(i) } : declared.inputs;
}
