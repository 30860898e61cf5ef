// Runs the polling peer (pollerChild.ts) in its own process and times what it reports.
import { spawn } from "node:child_process";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import * as readline from "node:readline";
import { pathToFileURL } from "node:url";
import { killOnExit } from "../host/processes";
import { repoNode } from "../host/repo";
import { sharedClock } from "./clock";
import type { PeerRun, PeerWorkload } from "./peer";
import { processUsage } from "./processUsage";

export async function runPoller(work: PeerWorkload): Promise<PeerRun> {
  const child = spawn(
    repoNode,
    ["--import", pathToFileURL(require.resolve("tsx")).href, path.join(__dirname, "pollerChild.ts")],
    { env: { ...process.env, KUBECONFIG: work.kubeconfigPath }, stdio: ["pipe", "pipe", "inherit"] },
  );
  const forget = killOnExit(child, false);
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const endedAt = new Map<string, number>();
  const failures: string[] = [];
  let answered = 0;
  let onLine: () => void = () => {};
  readline.createInterface({ input: child.stdout! }).on("line", (line) => {
    const [word, name, ...why] = line.split(" ");
    if (word === "ready") endedAt.set(name, sharedClock());
    if (word === "failed") failures.push(`${name}: ${why.join(" ")}`);
    answered++;
    onLine();
  });
  /** Sends a command and resolves once `count` answers have come back. */
  const step = (command: string | undefined, count: number) =>
    new Promise<number>((resolve, reject) => {
      const started = performance.now();
      const target = answered + count;
      onLine = () => answered >= target && resolve(performance.now() - started);
      closed.then(() => reject(new Error(`the poller exited before it answered "${command ?? "start"}"`)));
      child.stdin!.write(`${command ?? JSON.stringify(work)}\n`);
      onLine();
    });
  try {
    await step(undefined, 1);
    const before = processUsage(child.pid!);
    const createMs = await step("create", work.objects.length);
    const deleteMs = await step("delete", work.objects.length);
    const after = processUsage(child.pid!);
    return {
      createMs,
      deleteMs,
      endedAt,
      failures,
      peakRssMb: after?.peakRssMb,
      cpuSeconds: after && before ? after.cpuSeconds - before.cpuSeconds : undefined,
    };
  } finally {
    child.stdin!.end();
    await closed;
    forget();
  }
}
