// What a process has used so far, from Linux's /proc: peak resident memory and CPU time.
import * as fs from "node:fs";

const clockTicksPerSecond = 100; // USER_HZ, fixed at 100 on Linux

export interface ProcessUsage {
  /** VmHWM: the largest resident set the process has had, in MB. */
  peakRssMb: number;
  /** User + system CPU time, in seconds. */
  cpuSeconds: number;
}

/** Undefined when the process is gone or /proc is not there (not Linux). */
export function processUsage(pid: number): ProcessUsage | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // After "pid (comm) " come state and 10 more fields before utime and stime.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
    return {
      peakRssMb: kb / 1024,
      cpuSeconds: (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond,
    };
  } catch {
    return undefined;
  }
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
