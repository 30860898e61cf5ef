// A user's Pulumi project that installs packages from tarballs, as `npm install pulumi-vm-snapshots` would, so
// tests prove the package works from node_modules and not only from this source tree.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { repoRoot, withRepoPath } from "./repo";

const run = promisify(execFile);

export interface ConsumerProjectOptions {
  /** The program's source. */
  program: string;
  /** "index.ts" (default) or "index.js". */
  programFile?: string;
  /** More files of the program, by name relative to the project. */
  files?: Record<string, string>;
  /** More dependencies, as npm specs ("file:/tmp/x.tgz", "1.2.3"). */
  dependencies?: Record<string, string>;
  /** Install this repository's own tarball (needs `npm run build` first); default true. */
  withRepoPackage?: boolean;
}

export interface ConsumerProject {
  dir: string;
  /** The program's absolute path. */
  program: string;
  cleanup(): Promise<void>;
}

export const consumerProjectName = "consumer";

const builtEntry = path.join(repoRoot, "dist", "provider", "index.js");

export async function makeConsumerProject(options: ConsumerProjectOptions): Promise<ConsumerProject> {
  const dependencies: Record<string, string> = {
    "@pulumi/pulumi": repoPackage().devDependencies["@pulumi/pulumi"],
    ...(options.withRepoPackage !== false ? { [repoPackage().name]: `file:${await repoTarball()}` } : {}),
    ...options.dependencies,
  };
  const installed = await installOnce(dependencies);
  const dir = fs.mkdtempSync(path.join(workDir(), "project-"));
  await copyTree(installed, dir);
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), `name: ${consumerProjectName}\nruntime: nodejs\n`);
  const program = path.join(dir, options.programFile ?? "index.ts");
  fs.writeFileSync(program, options.program);
  for (const [name, text] of Object.entries(options.files ?? {}))
    fs.writeFileSync(path.join(dir, name), text);
  return { dir, program, cleanup: () => fs.promises.rm(dir, { recursive: true, force: true }) };
}

/** `npm pack`s a package directory into the run's work dir, once; returns the tarball's path. */
export function packPackage(dir: string): Promise<string> {
  const key = path.resolve(dir);
  let tarball = packed.get(key);
  if (!tarball) {
    tarball = npm(["pack", "--pack-destination", workDir(), "--json"], key).then((stdout) =>
      path.join(workDir(), JSON.parse(stdout)[0].filename),
    );
    packed.set(key, tarball);
  }
  return tarball;
}

/** This repository's tarball; the package ships compiled JS only, so it must have been built. */
export function repoTarball(): Promise<string> {
  if (!fs.existsSync(builtEntry)) {
    return Promise.reject(
      new Error(`${builtEntry} is missing: run \`npm run build\` before packing the repository`),
    );
  }
  return packPackage(repoRoot);
}

const packed = new Map<string, Promise<string>>();
const installs = new Map<string, Promise<string>>();
let work: string | undefined;

/** One temporary directory per test run for tarballs and installs, removed when the run exits. */
function workDir(): string {
  if (!work) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-vm-snapshots-consumers-"));
    process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    work = dir;
  }
  return work;
}

/** `npm install` runs once per set of dependencies; each project gets a copy of that install. */
function installOnce(dependencies: Record<string, string>): Promise<string> {
  const key = JSON.stringify(Object.entries(dependencies).sort());
  let install = installs.get(key);
  if (!install) {
    const dir = fs.mkdtempSync(path.join(workDir(), "install-"));
    const manifest = { name: consumerProjectName, version: "0.0.0", private: true, dependencies };
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify(manifest, null, 2));
    install = npm(["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], dir).then(
      () => dir,
    );
    installs.set(key, install);
  }
  return install;
}

/** Hard links make a 100 MB node_modules copy take a fraction of a second; nobody writes into it. */
async function copyTree(from: string, to: string): Promise<void> {
  try {
    await run("cp", ["-al", `${from}/.`, to]);
  } catch {
    await fs.promises.cp(from, to, { recursive: true, verbatimSymlinks: true });
  }
}

async function npm(args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await run("npm", args, { cwd, env: withRepoPath(process.env), maxBuffer: 64 << 20 });
    return stdout;
  } catch (e: any) {
    throw new Error(`npm ${args.join(" ")} in ${cwd} failed: ${e.stderr || e.message}`);
  }
}

function repoPackage(): { name: string; devDependencies: Record<string, string> } {
  return JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8"));
}
