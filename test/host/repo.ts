// Where the repository is, and the environment every child of the host tests runs with.
import * as path from "node:path";

export const repoRoot = path.resolve(__dirname, "../..");

/** The project's own Node 22 (the `node` dev dependency), not the machine's. */
export const repoNode = path.join(repoRoot, "node_modules", ".bin", "node");

/** `env` with the repository's node_modules/.bin first on PATH, so scripts that call `node` get Node 22. */
export function withRepoPath(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const bin = path.join(repoRoot, "node_modules", ".bin");
  return { ...env, PATH: [bin, env.PATH].filter(Boolean).join(path.delimiter) };
}
