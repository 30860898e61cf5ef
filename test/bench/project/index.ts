// One resource of each kind the bench sends through the host; capturing this program under mocks gives the
// `__provider` text and the inputs a user's program sends for them. The bench copies it (with nothing.ts) into a
// project where the package is installed from its tarball. Run here, as the shared-watch test does, the
// project's own tsconfig.json keeps the repository's path mapping out, so the package resolves by name: its
// sources under the development condition, or `dist/`.
import { deckhouse } from "pulumi-vm-snapshots";
import { Nothing } from "./nothing";

new deckhouse.VirtualDiskSnapshot("disk", { virtualDiskName: "disk" });
new deckhouse.VirtualMachineSnapshot("vm", { virtualMachineName: "vm" });
new Nothing("nothing");
