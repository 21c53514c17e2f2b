/**
 * Test bed: the processes of a runtime pane, read from /proc (Linux) — its process tree plus
 * every process carrying `MOSAIC_TESTBED_ID=<id>` (a daemon that left the tree) — and ending
 * them by pid. A scan of /proc reads every process's `stat` (the machine may run ~1,000), and
 * the environment only of processes started no earlier than the pane (none older can carry its
 * id): a scan costs ~50 ms of CPU instead of ~150 ms.
 */
import fs from 'node:fs';

/** One process of the table: parent pid, state letter (`Z` = exited, not yet reaped), start time (clock ticks after boot). */
interface ProcessEntry {
  ppid: number;
  state: string;
  start: number;
}

/** The fields after the command name of `/proc/<pid>/stat`; null when the process is gone. */
function statFields(pid: number): string[] | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** Start time of `pid` in clock ticks after boot (`/proc/<pid>/stat` field 22); 0 when it is gone. */
export function processStartTicks(pid: number): number {
  return Number(statFields(pid)?.[19] ?? 0);
}

/** True while `pid` runs (exists and is not a zombie). */
export function processLive(pid: number): boolean {
  const f = statFields(pid);
  return f !== null && f[0] !== 'Z';
}

/**
 * Pids of `root`'s process tree plus every process started at or after `bornSince` (clock
 * ticks after boot; 0 = any) whose environment holds `MOSAIC_TESTBED_ID=<id>`; live ones only: a
 * zombie (exited, its parent has not reaped it yet — a tmux server leaves a killed pane's process
 * so until it exits) is not counted. The calling process is never in the list.
 */
export function testbedPids(root: number, id: string, bornSince = 0): number[] {
  const table = new Map<number, ProcessEntry>();
  const marker = `MOSAIC_TESTBED_ID=${id}\0`;
  const found = new Set<number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const f = statFields(pid);
    if (!f) continue;
    const p = { ppid: Number(f[1]), state: f[0] ?? '', start: Number(f[19]) };
    table.set(pid, p);
    if (p.start < bornSince) continue;
    try {
      if (fs.readFileSync(`/proc/${pid}/environ`, 'latin1').includes(marker)) found.add(pid);
    } catch {
      /* gone, or not ours to read */
    }
  }
  if (table.has(root)) found.add(root);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, p] of table) {
      if (!found.has(pid) && found.has(p.ppid)) {
        found.add(pid);
        grew = true;
      }
    }
  }
  found.delete(process.pid);
  return [...found].filter((pid) => table.get(pid)?.state !== 'Z');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function signal(pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}

/** Waits (polled every 50 ms, at most `boundMs`) until none of `pids` runs; returns the ones still running. */
async function awaitExit(pids: number[], boundMs: number): Promise<number[]> {
  const deadline = Date.now() + boundMs;
  let left = pids.filter(processLive);
  while (left.length && Date.now() < deadline) {
    await sleep(50);
    left = left.filter(processLive);
  }
  return left;
}

/**
 * Ends the processes `find()` lists: SIGTERM to each, `afterTerm()` (e.g. kill the tmux
 * session), then waits up to `boundMs` for them to exit (each pid checked, no rescan); then
 * rescans — a process started meanwhile or one that ignored SIGTERM gets SIGKILL — until a scan
 * finds none or another `boundMs` passed. Returns the pids still running at the end (empty
 * when all ended).
 */
export async function endProcesses(find: () => number[], afterTerm: () => Promise<unknown>, boundMs = 5000): Promise<number[]> {
  const first = find();
  signal(first, 'SIGTERM');
  await afterTerm();
  await awaitExit(first, boundMs);
  const deadline = Date.now() + boundMs;
  for (;;) {
    const left = find();
    if (!left.length || Date.now() > deadline) return left;
    signal(left, 'SIGKILL');
    await awaitExit(left, Math.max(0, deadline - Date.now()));
  }
}
