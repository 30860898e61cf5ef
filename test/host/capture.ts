// Runs a Pulumi program under mocks in a child process and returns what each resource registered, including
// the serialized `__provider` text a dynamic resource class produced.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { killOnExit, signal } from "./processes";
import { projectName } from "./project";
import { repoNode, withRepoPath } from "./repo";

export interface CapturedResource {
  /** The type token, e.g. "pulumi-nodejs:dynamic/fixture:Fixture". */
  type: string;
  name: string;
  /** `args.inputs` as the mock monitor received them; a dynamic resource's include `__provider`. */
  inputs: Record<string, any>;
  /** The `additionalSecretOutputs` option: outputs the engine stores encrypted. */
  additionalSecretOutputs: string[];
}

export interface CaptureOptions {
  /** The Pulumi project directory (the child's cwd). */
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Resolve packages through their `development` export condition (the repo's TS sources). */
  development?: boolean;
  /** The project name; defaults to `name` in `<cwd>/Pulumi.yaml`. */
  project?: string;
  stack?: string;
  /** A program still running after this long is killed and the capture fails (default 30 s). */
  timeoutMs?: number;
}

export async function captureResources(
  programFile: string,
  options: CaptureOptions,
): Promise<CapturedResource[]> {
  const program = path.resolve(options.cwd, programFile);
  if (!fs.existsSync(program)) throw new Error(`Pulumi program ${program} does not exist`);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const child = spawnUnderMocks(path.join(__dirname, "run-under-mocks.ts"), program, {
    cwd: options.cwd,
    env: options.env,
    development: options.development,
    project: options.project ?? projectName(options.cwd),
    stack: options.stack ?? "test",
  });
  const forget = killOnExit(child, false);
  const output: string[] = [];
  child.stdout!.on("data", (chunk) => output.push(chunk.toString()));
  child.stderr!.on("data", (chunk) => output.push(chunk.toString()));

  const closed = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  let message: { resources: CapturedResource[] } | { error: string } | undefined;
  child.once("message", (m: any) => (message = m));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    signal(child, "SIGKILL", false);
  }, timeoutMs);
  const code = await closed;
  clearTimeout(timer);
  forget();

  const printed = output.join("").trim();
  const tail = printed ? `\noutput:\n${printed}` : "";
  if (message && "resources" in message) return message.resources;
  if (message) throw new Error(`Pulumi program ${program} failed under mocks: ${message.error}${tail}`);
  if (timedOut) {
    throw new Error(`Pulumi program ${program} did not finish under mocks within ${timeoutMs} ms${tail}`);
  }
  throw new Error(`Pulumi program ${program} exited (${code}) under mocks without a result${tail}`);
}

/**
 * Starts `entry`, a script that runs a Pulumi program under mocks, in a child process with the project's
 * Node and an IPC channel; TypeScript programs run through tsx, with the development condition when asked.
 */
export function spawnUnderMocks(
  entry: string,
  program: string,
  o: { cwd: string; env?: NodeJS.ProcessEnv; development?: boolean; project: string; stack: string },
): ChildProcess {
  const args = [
    ...preloadPulumi(program),
    "--import",
    pathToFileURL(require.resolve("tsx")).href,
    ...(o.development ? ["--conditions=development"] : []),
    entry,
    program,
    o.project,
    o.stack,
  ];
  return spawn(repoNode, args, {
    cwd: o.cwd,
    env: withRepoPath({ ...process.env, ...o.env }),
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
}

/** @pulumi/pulumi loads in half the time before tsx's hooks are in place; the program then gets that copy. */
function preloadPulumi(program: string): string[] {
  try {
    return ["--require", require.resolve("@pulumi/pulumi", { paths: [path.dirname(program)] })];
  } catch {
    return []; // the program will say what is missing
  }
}
