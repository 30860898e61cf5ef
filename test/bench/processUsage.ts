// What a process has used so far, from Linux's /proc: peak resident memory and CPU time.
import * as fs from "node:fs";

const clockTicksPerSecond = 100; // USER_HZ, fixed at 100 on Linux

export interface ProcessUsage {
  /** VmHWM: the largest resident set the process has had, in MB. */
  peakRssMb: number;
  /** User + system CPU time, in seconds: all its threads. */
  cpuSeconds: number;
  /** The same for its main thread alone; the rest is V8's compiler and collector helpers and libuv's pool. */
  mainThreadCpuSeconds: number;
}

/** Undefined when the process is gone or /proc is not there (not Linux). */
export function processUsage(pid: number): ProcessUsage | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
    return {
      peakRssMb: kb / 1024,
      cpuSeconds: cpuSecondsIn(`/proc/${pid}/stat`),
      // The main thread's task id is the process id.
      mainThreadCpuSeconds: cpuSecondsIn(`/proc/${pid}/task/${pid}/stat`),
    };
  } catch {
    return undefined;
  }
}

function cpuSecondsIn(statFile: string): number {
  const stat = fs.readFileSync(statFile, "utf8");
  // After "pid (comm) " come state and 10 more fields before utime and stime.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
}

/** Resident memory now, in MB (0 when the process is gone). */
export function currentRssMb(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}
