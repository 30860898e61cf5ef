// deckhouse:VirtualDiskSnapshot's provider object; why it is a module of its own: ../core/dynamic.ts.
import { dynamicProvider } from "../core/dynamic";

export = dynamicProvider("deckhouse:VirtualDiskSnapshot");
