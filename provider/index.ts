// pulumi-vm-snapshots: VM and disk snapshots, and restores from them, as Pulumi resources that wait
// for the platform's terminal phases. `import { deckhouse, kubevirt } from "pulumi-vm-snapshots"`.
export * as deckhouse from "./deckhouse";
export * as kubevirt from "./kubevirt";
export type { SharedArgs } from "./core/resource";
