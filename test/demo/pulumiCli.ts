// With the Pulumi CLI on PATH the demo runs the real thing: `pulumi up` and `pulumi destroy` of the quickstart
// on a throwaway stack in a local file backend, against the emulator. (Not exercised by the tests: no CLI here.)
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { repoRoot } from "../host/repo";
import { packageEnv } from "../examples/packageEnv";

/** The `pulumi` executable on PATH, if any. */
export function pulumiOnPath(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, "pulumi");
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export async function upAndDestroyWithCli(
  pulumi: string,
  env: NodeJS.ProcessEnv,
  stack: string,
  signal: AbortSignal,
): Promise<void> {
  const backend = fs.mkdtempSync(path.join(os.tmpdir(), "vm-snapshots-demo-state-"));
  const cliEnv = {
    ...process.env,
    ...env,
    ...packageEnv(),
    PULUMI_BACKEND_URL: `file://${backend}`,
    PULUMI_CONFIG_PASSPHRASE: "demo",
    PULUMI_SKIP_UPDATE_CHECK: "true",
  };
  const run = (args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(pulumi, args, { cwd: repoRoot, env: cliEnv, stdio: "inherit", signal });
      child.once("error", reject);
      child.once("close", (code) =>
        code === 0 ? resolve() : reject(new Error(`pulumi ${args.join(" ")} exited with ${code}`)),
      );
    });
  try {
    await run(["stack", "init", stack]);
    await run(["up", "--yes", "--stack", stack]);
    await run(["destroy", "--yes", "--stack", stack]);
    await run(["stack", "rm", "--yes", stack]);
  } finally {
    fs.rmSync(backend, { recursive: true, force: true });
  }
}
