// Children the host tests start are killed when the test process exits, even after a failed test.
import type { ChildProcess } from "node:child_process";
import * as fs from "node:fs";

/** Each running child, and whether it leads a process group (a shell script's `node` is its grandchild). */
const running = new Map<ChildProcess, boolean>();

/** Kills `child` if the test process exits first; returns the function that forgets it once it has ended. */
export function killOnExit(child: ChildProcess, group: boolean): () => void {
  if (running.size === 0) watchExit(true);
  running.set(child, group);
  return () => {
    running.delete(child);
    if (running.size === 0) watchExit(false);
  };
}

function watchExit(on: boolean): void {
  if (on) process.once("exit", killAll).once("SIGINT", killAndResignal).once("SIGTERM", killAndResignal);
  else process.off("exit", killAll).off("SIGINT", killAndResignal).off("SIGTERM", killAndResignal);
}

/** Ctrl-C does not reach a child in its own process group; then the signal does what it would have done. */
function killAndResignal(sig: NodeJS.Signals): void {
  killAll();
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
}

/** Sends `sig` to the child, or to its whole process group. */
export function signal(child: ChildProcess, sig: NodeJS.Signals, group: boolean): void {
  if (child.pid !== undefined) kill(group ? -child.pid : child.pid, sig);
}

/** process.kill for a process (or, with a negative pid, a group) that may already be gone. */
export function kill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (e: any) {
    if (e.code !== "ESRCH") throw e;
  }
}

/** The live (not zombie) processes of process group `pgid`, from Linux's /proc; empty elsewhere. */
export function runningInGroup(pgid: number): number[] {
  if (!fs.existsSync("/proc/self/stat")) return [];
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // it ended while we looked
    }
    // After "pid (comm) " come state, ppid, pgrp; comm may itself contain spaces and parentheses.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(pgrp) === pgid && state !== "Z") pids.push(Number(entry));
  }
  return pids;
}

function killAll(): void {
  for (const [child, group] of running) signal(child, "SIGKILL", group);
  running.clear();
  watchExit(false);
}
