/**
 * Subprocesses in their own process group, so a bound ends the whole tree: a shell, the
 * program it ran and whatever that left behind (a `codex app-server` child still holding the
 * pipes). {@link spawnInGroup} starts the child as the leader of a new group (`setsid`, node's
 * `detached: true`); {@link killGroup} signals the group (`kill(-pgid)`); groups still alive when
 * this process exits are SIGKILLed on the way out, so no bounded child outlives the command.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const liveGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pgid of liveGroups) killGroup(pgid, 'SIGKILL');
  });
}

/**
 * Sends `signal` (default SIGKILL) to the process group `pgid` (a child started by
 * {@link spawnInGroup}: its pid), falling back to the process alone when the group is gone or
 * was never made. Never throws (ESRCH and EPERM are ignored: nothing of ours is left there).
 */
export function killGroup(pgid: number | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (!pgid || pgid <= 1) return;
  try {
    process.kill(-pgid, signal);
    return;
  } catch {
    // No such group: try the process itself.
  }
  try {
    process.kill(pgid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * `spawn(file, args, opts)` with the child as the leader of a new process group (and session:
 * no controlling terminal, so it cannot read the operator's keys). The group is remembered
 * until the child exits and SIGKILLed if this process exits first. `opts.detached` is forced
 * on; stdio, env and cwd are the caller's. Throws what `spawn` throws (synchronously).
 */
export function spawnInGroup(file: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
  installExitHook();
  const child = spawn(file, [...args], { ...opts, detached: true });
  const pid = child.pid;
  if (pid) {
    liveGroups.add(pid);
    child.once('exit', () => {
      // The leader is gone; members it left behind are still ended by a bound's killGroup.
      liveGroups.delete(pid);
    });
  }
  return child;
}

/**
 * Ends a child started by {@link spawnInGroup} at its bound: SIGKILL to its whole group, then
 * our ends of its pipes destroyed, so nothing waits on pipes a member of the group (or anything
 * it handed them to) still holds. Never throws.
 */
export function endGroup(child: ChildProcess): void {
  killGroup(child.pid, 'SIGKILL');
  if (child.pid) liveGroups.delete(child.pid);
  child.stdin?.destroy();
  child.stdout?.destroy();
  child.stderr?.destroy();
}
