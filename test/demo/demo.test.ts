// `npm run demo`'s entry as a user runs it (from the TypeScript sources instead of dist/): what it prints, its exit
// code, and that it leaves no process, port or file behind, also when stopped with Ctrl-C.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { killOnExit } from "../host/processes";
import { repoNode, repoRoot, withRepoPath } from "../host/repo";

const MARKER = "VM_SNAPSHOTS_DEMO_RUN";

interface DemoRun {
  output: string;
  code: number | null;
  marker: string;
}

/** Runs test/demo/run.ts; `interrupt` is called with each output chunk and may send the demo a signal. */
function runDemo(
  timeoutMs: number,
  interrupt?: (output: string, kill: (sig: NodeJS.Signals) => void) => void,
) {
  const marker = randomUUID();
  const args = [
    "--conditions=development",
    "--import",
    pathToFileURL(require.resolve("tsx")).href,
    path.join(__dirname, "run.ts"),
  ];
  // A PATH without a `pulumi` executable: the demo's own host path is the one under test.
  const env = withRepoPath({ ...process.env, PATH: "/usr/bin:/bin", [MARKER]: marker });
  const child = spawn(repoNode, args, { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  const forget = killOnExit(child, false);
  let output = "";
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    interrupt?.(output, (sig) => child.kill(sig));
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  return new Promise<DemoRun>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the demo did not end within ${timeoutMs} ms; output:\n${output}`));
    }, timeoutMs);
    child.once("close", (code) => {
      clearTimeout(timer);
      forget();
      resolve({ output, code, marker });
    });
  });
}

/** Processes whose environment carries the run's marker: the demo's children inherit it. */
function processesOf(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue; // a zombie holds nothing
      if (fs.readFileSync(`/proc/${entry}/environ`, "utf8").includes(`${MARKER}=${marker}`))
        pids.push(Number(entry));
    } catch {
      // ended while we looked, or not ours to read
    }
  }
  return pids;
}

function refusesConnections(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

/** What the demo started and printed, to check it is gone. */
function startedBy(output: string) {
  const server = /API server (https:\/\/127\.0\.0\.1:\d+), kubeconfig (\S+)/.exec(output);
  assert.ok(server, `the demo names its API server and kubeconfig:\n${output}`);
  return { url: server[1], kubeconfig: server[2] };
}

async function assertNothingLeft(run: DemoRun): Promise<void> {
  assert.deepEqual(processesOf(run.marker), [], "no process of the demo is left");
  const { url, kubeconfig } = startedBy(run.output);
  assert.equal(fs.existsSync(kubeconfig), false, "the kubeconfig is removed");
  assert.equal(await refusesConnections(url), true, "the API server no longer listens");
}

describe("npm run demo", function () {
  this.timeout(120_000);

  it("creates both quickstart snapshots with their phases, deletes them, and stops everything", async () => {
    const run = await runDemo(110_000);
    assert.equal(run.code, 0, run.output);
    const lines = run.output.split("\n");
    const has = (pattern: RegExp) =>
      assert.ok(
        lines.some((l) => pattern.test(l)),
        `${pattern}:\n${run.output}`,
      );
    has(/^Updating \(demo\):$/);
    has(/^ \+ {2}deckhouse:VirtualMachineSnapshot pre-upgrade created \(\d+\.\ds\)$/);
    has(/^ \+ {2}deckhouse:VirtualDiskSnapshot root-disk created \(\d+\.\ds\)$/);
    has(/^ {4}deckhouse:VirtualMachineSnapshot demo\/pre-upgrade-\w+: InProgress \(/);
    has(/^ {4}deckhouse:VirtualMachineSnapshot demo\/pre-upgrade-\w+: Ready\b/);
    has(/^ {4}deckhouse:VirtualDiskSnapshot demo\/root-disk-\w+: Ready\b/);
    has(/^ {4}\+ 2 created$/);
    has(/^Destroying \(demo\):$/);
    has(/^ - {2}deckhouse:VirtualMachineSnapshot pre-upgrade deleted \(\d+\.\ds\)$/);
    has(/^ - {2}deckhouse:VirtualDiskSnapshot root-disk deleted \(\d+\.\ds\)$/);
    has(/^ {4}- 2 deleted$/);
    const created = lines.findIndex((l) => /\+ 2 created/.test(l));
    const deleted = lines.findIndex((l) => /- 2 deleted/.test(l));
    assert.ok(created < deleted, "up comes before destroy");
    await assertNothingLeft(run);
  });

  it("stops everything it started on Ctrl-C, exiting 130", async () => {
    let interrupted = false;
    const run = await runDemo(60_000, (output, kill) => {
      if (!interrupted && / creating$/m.test(output)) {
        interrupted = true;
        kill("SIGINT");
      }
    });
    assert.ok(interrupted, run.output);
    assert.equal(run.code, 130, run.output);
    assert.match(run.output, /Demo stopped\./);
    assert.doesNotMatch(run.output, /Resources:/, "it stopped before up finished");
    await assertNothingLeft(run);
  });
});
