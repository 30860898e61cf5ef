// Every `pulumi up` starts a fresh host process that compiles this package and zod again before the first
// resource is checked, and every resource waits for that. Node's on-disk compile cache (in the directory
// NODE_COMPILE_CACHE names, or under the system's temporary directory) makes it a read on the next run.
// Loaded first by ./runtime; NODE_DISABLE_COMPILE_CACHE=1 turns it off, as for any Node program.
import * as nodeModule from "node:module";

const compileCache = nodeModule as Partial<
  Pick<typeof nodeModule, "enableCompileCache" | "flushCompileCache">
>;

compileCache.enableCompileCache?.();

/** Writes what was compiled so far: the engine may end the host without letting Node write it at exit. */
export function saveCompileCache(): void {
  compileCache.flushCompileCache?.();
}
