// How a Pulumi host started inside this repository finds "pulumi-vm-snapshots" by name: the serialized provider
// requires it from the host's cwd, where no node_modules holds this package (it is the repository itself).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { repoRoot } from "../host/repo";

/** True when this process resolves the package to its TypeScript sources (the `development` condition). */
export const runsFromSources = (): boolean => require.resolve("pulumi-vm-snapshots").endsWith(".ts");

let linkDir: string | undefined;

/** A directory whose `pulumi-vm-snapshots` links to this repository, for NODE_PATH; removed when this process exits. */
function packageLinkDir(): string {
  if (!linkDir) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-vm-snapshots-link-"));
    fs.symlinkSync(repoRoot, path.join(dir, "pulumi-vm-snapshots"), "dir");
    process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    linkDir = dir;
  }
  return linkDir;
}

/**
 * Environment for a host (or the Pulumi CLI that starts hosts): the package is found by name, from its sources
 * through tsx when `fromSources`, otherwise from `dist/` (after `npm run build`).
 */
export function packageEnv(fromSources = runsFromSources()): NodeJS.ProcessEnv {
  const nodePath = [packageLinkDir(), process.env.NODE_PATH].filter(Boolean).join(path.delimiter);
  if (!fromSources) return { NODE_PATH: nodePath };
  const tsx = pathToFileURL(require.resolve("tsx")).href;
  return { NODE_PATH: nodePath, NODE_OPTIONS: `--conditions=development --import ${tsx}` };
}
