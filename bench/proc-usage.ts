/** A process's CPU time and system calls so far, read from Linux's /proc (bench tools only). */
import { readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** User and system CPU of process `pid` so far, in ms. */
export function processCpuMs(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return {
    user: (Number(fields[11]) * 1000) / TICKS_PER_SECOND,
    system: (Number(fields[12]) * 1000) / TICKS_PER_SECOND,
  };
}

/** Read and write system calls of process `pid` so far (/proc/<pid>/io). */
export function processSyscalls(pid: number): { reads: number; writes: number } {
  const io = readFileSync(`/proc/${pid}/io`, "utf8");
  const count = (key: string) => Number(new RegExp(`${key}: (\\d+)`).exec(io)?.[1] ?? 0);
  return { reads: count("syscr"), writes: count("syscw") };
}
