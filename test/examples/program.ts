// Runs a Pulumi program the way `pulumi up` does, minus the CLI: the program runs in a child process and each
// resource it registers is handed to `register`, whose answer (the real outputs) flows into the resources
// that depend on it. Registrations arrive as their inputs resolve, so dependencies come first.
import * as fs from "node:fs";
import * as path from "node:path";
import { killOnExit, signal } from "../host/processes";
import { spawnUnderMocks } from "../host/capture";
import type { Answer, ChildMessage } from "./program-child";

export interface Registration {
  /** The type token, e.g. "pulumi-nodejs:dynamic/vm-snapshots/deckhouse:VirtualDiskSnapshot". */
  type: string;
  name: string;
  inputs: Record<string, any>;
}

export type Register = (registration: Registration) => Promise<{ id: string; outputs: Record<string, any> }>;

export interface ProgramOptions {
  /** The Pulumi project directory (the child's cwd). */
  cwd: string;
  project: string;
  stack: string;
  /** Stack config with namespaced keys ("project:key"), as `pulumi config` stores it. */
  config?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
  /** Resolve packages through their `development` export condition (the repo's TS sources). */
  fromSources: boolean;
  /** The whole run, waits included. */
  timeoutMs?: number;
  /** Ends the program at once (Ctrl-C). */
  signal?: AbortSignal;
}

/** The program failed, or some of its resources did; `failures` holds one message per failed resource. */
export class ProgramFailed extends Error {
  constructor(readonly failures: string[]) {
    super(failures.join("\n"));
    this.name = "ProgramFailed";
  }
}

export async function runProgram(
  programFile: string,
  options: ProgramOptions,
  register: Register,
): Promise<void> {
  const program = path.resolve(options.cwd, programFile);
  if (!fs.existsSync(program)) throw new Error(`Pulumi program ${program} does not exist`);
  const child = spawnUnderMocks(path.join(__dirname, "program-child.ts"), program, {
    cwd: options.cwd,
    env: { ...options.env, PULUMI_CONFIG: JSON.stringify(options.config ?? {}) },
    development: options.fromSources,
    project: options.project,
    stack: options.stack,
  });
  const forget = killOnExit(child, false);
  const output: string[] = [];
  child.stdout!.on("data", (chunk) => output.push(chunk.toString()));
  child.stderr!.on("data", (chunk) => output.push(chunk.toString()));
  const closed = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));

  const failures: string[] = [];
  const answers: Promise<void>[] = [];
  let done: ChildMessage | undefined;
  child.on("message", (message: ChildMessage) => {
    if (message.kind === "done") {
      done = message;
      return;
    }
    const { seq, type, name, inputs } = message;
    const answer = register({ type, name, inputs }).then(
      ({ id, outputs }): Answer => ({ seq, id, outputs }),
      (e: Error): Answer => {
        failures.push(e.message);
        return { seq, error: e.message };
      },
    );
    // The program may be gone by the time an answer is ready (Ctrl-C): that is no error of the run.
    answers.push(answer.then((a) => void (child.connected && child.send(a, () => undefined))));
  });
  const timeoutMs = options.timeoutMs ?? 300_000;
  const kill = () => signal(child, "SIGKILL", false);
  const timer = setTimeout(kill, timeoutMs);
  options.signal?.addEventListener("abort", kill);
  const code = await closed;
  clearTimeout(timer);
  options.signal?.removeEventListener("abort", kill);
  forget();
  await Promise.all(answers);

  const printed = output.join("").trim();
  const tail = printed ? `\noutput:\n${printed}` : "";
  if (options.signal?.aborted) failures.push(`Pulumi program ${program} was cancelled`);
  else if (done?.kind === "done" && done.error)
    failures.push(`Pulumi program ${program} failed: ${done.error}${tail}`);
  else if (!done) {
    failures.push(
      `Pulumi program ${program} ended (${code ?? `killed after ${timeoutMs} ms`}) without finishing${tail}`,
    );
  }
  if (failures.length) throw new ProgramFailed(failures);
}
