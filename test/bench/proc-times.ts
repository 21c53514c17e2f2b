/**
 * CPU time of a process from `/proc/<pid>/stat` (proc(5)), for the benches: fields after the
 * comm are state(0) … utime(11) stime(12) cutime(13) cstime(14), in clock ticks.
 */
import fs from 'node:fs';

/** Clock ticks per second (`getconf CLK_TCK`: 100 on Linux). */
export const CLK_TCK = 100;

/** CPU ticks of `pid` (default this process): its own (utime+stime) and its waited-for children's (cutime+cstime). Throws when the process is gone. */
export function procTimes(pid: number | 'self' = 'self'): { own: number; children: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { own: Number(fields[11]) + Number(fields[12]), children: Number(fields[13]) + Number(fields[14]) };
}

/** Ticks to milliseconds. */
export function ticksToMs(ticks: number): number {
  return (ticks / CLK_TCK) * 1000;
}
