/**
 * Fault-injection harness: runs the REAL program (`node bin/mosaic-top`, built
 * dist/) with a hard bound it must return within, checks that errors are one line without a
 * stack trace, and drives the real console in a pane of an isolated tmux server to prove it
 * still quits on `q` and ctrl-c under a fault. Every process a test stops is resumed and ended
 * by pid ({@link stoppedProcesses}).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { spawn } from 'node:child_process';
import { BIN } from '../helpers/bin.js';
import { untilScreen, type IsolatedTmux } from '../helpers/tmux.js';
import { at } from '../helpers/must.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
/** Fake `systemctl` (MT_SYSTEMCTL_MODE) so no test asks the machine's systemd. */
export const FIXTURE_BIN = path.join(ROOT, 'test', 'fixtures', 'bin');

/** The longest any command of the suite may take (README, "Exit codes and errors"): 30 s. */
export const COMMAND_BOUND_MS = 30_000;

/** What one bounded run gave. `killed`: it did not return within its bound (and was SIGKILLed). */
export interface BoundedRun {
  code: number | null;
  stdout: string;
  stderr: string;
  killed: boolean;
}

/** A throwaway Mosaic home and the environment of the program under test (no DATABASE_URL, fake systemctl, own cache). */
export function freshHome(prefix = 'mt-fault-'): { home: string; env: NodeJS.ProcessEnv } {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MOSAIC_HOME: '',
    DATABASE_URL: '',
    PGLITE_DATA_DIR: '',
    MOSAIC_DEBUG: '',
    PATH: `${FIXTURE_BIN}:${process.env.PATH}`,
    MT_SYSTEMCTL_MODE: 'nobus',
    XDG_CACHE_HOME: path.join(home, 'cache'),
  };
  return { home, env };
}

/**
 * Runs `node bin/mosaic-top …args` and SIGKILLs it if it has not returned within `boundMs`
 * (default {@link COMMAND_BOUND_MS}); a liveness bound, never a timing assertion. `wrapper`:
 * argv the program runs under (default none). Uses the
 * program's own runner, which does not wait on pipes a grandchild may hold.
 */
export function runBounded(args: string[], env: NodeJS.ProcessEnv, boundMs = COMMAND_BOUND_MS, wrapper: string[] = []): Promise<BoundedRun> {
  // Self-contained (not the program's own runner): the suite must also judge the code before the fix.
  return new Promise((resolve) => {
    // `wrapper`: a command the program runs under (e.g. `setpriv` without DAC override, so root meets EACCES).
    const argv = [...wrapper, process.execPath, BIN, ...args];
    const child = spawn(at(argv, 0, 'command'), argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let killed = false;
    let done = false;
    const finish = (code: number | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.stdout.destroy();
      child.stderr.destroy();
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), killed });
    };
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
      finish(null);
    }, boundMs);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    // The program's exit settles it: a grandchild (a backlog server it started) may hold the pipes.
    child.on('exit', (code) => setTimeout(() => finish(code), 300));
    child.on('close', (code) => finish(code));
  });
}

/** Asserts `r` returned within its bound with exit code `code` and ONE stderr line (no stack trace, no raw ESC) matching `pattern`. */
export function expectOneLineError(r: BoundedRun, code: number, pattern: RegExp): string {
  expect(r.killed, `did not return within its bound; stderr so far: ${r.stderr}`).toBe(false);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toContain('\u001b');
  expect(r.stderr).not.toContain('Failed query');
  expect(lines[0]).toMatch(pattern);
  expect(r.code, r.stderr).toBe(code);
  return at(lines, 0, 'stderr line');
}

/** Pids a test SIGSTOPped: {@link releaseStopped} resumes and kills them (by pid) in afterEach/afterAll. */
export const stoppedProcesses = new Set<number>();

/** SIGSTOPs `pid` and remembers it for {@link releaseStopped}. */
export function stopProcess(pid: number): void {
  stoppedProcesses.add(pid);
  try {
    process.kill(pid, 'SIGSTOP');
  } catch (error) {
    // A child that exited meanwhile (a Postgres backend whose connection closed) needs no stop.
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    stoppedProcesses.delete(pid);
  }
}

/** SIGCONTs `pid`, stopped through {@link stopProcess}, and forgets it: {@link releaseStopped} leaves it running. */
export function resumeProcess(pid: number): void {
  process.kill(pid, 'SIGCONT');
  stoppedProcesses.delete(pid);
}

/** SIGCONT then SIGKILL every pid stopped through {@link stopProcess} (each by its pid; gone ones ignored). */
export function releaseStopped(): void {
  for (const pid of stoppedProcesses) {
    for (const sig of ['SIGCONT', 'SIGKILL'] as const) {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  }
  stoppedProcesses.clear();
}

/** Pid of the server behind `tmux -L <socket>`. */
export async function tmuxServerPid(tmux: IsolatedTmux): Promise<number> {
  return Number((await tmux.ok(['display-message', '-p', '-t', '_keepalive', '#{pid}'])).trim());
}

/**
 * Starts the real console (`--interval 1`) in a detached session `session` of `ui` for `home`;
 * when it exits the pane prints `EXITED <code>` and stays.
 */
export async function startConsole(ui: IsolatedTmux, session: string, home: string, env: Record<string, string> = {}): Promise<void> {
  const script = `node ${BIN} --mosaic-home ${home} --interval 1; echo EXITED $?; sleep 3600`;
  await ui.newSession(session, ['sh', '-c', script], {
    width: 120,
    height: 40,
    env: {
      PATH: `${FIXTURE_BIN}:${process.env.PATH}`,
      MT_SYSTEMCTL_MODE: 'nobus',
      TERM: 'xterm-256color',
      XDG_CACHE_HOME: path.join(home, 'cache'),
      MOSAIC_HOME: '',
      DATABASE_URL: '',
      PGLITE_DATA_DIR: '',
      ...env,
    },
  });
}

/** Waits until the console of `session` shows text satisfying `test` (test/helpers/tmux.ts). */
export { untilScreen };

/** Presses `key` (`q` or `C-c`) in the console of `session` and waits for it to exit (`EXITED`). */
export async function expectQuitsOn(ui: IsolatedTmux, session: string, key: 'q' | 'C-c'): Promise<void> {
  await ui.ok(['send-keys', '-t', `=${session}:0.0`, key]);
  await untilScreen(ui, session, (s) => /EXITED \d+/.test(s), `console to exit on ${key}`, 20_000);
}

/** Number of open file descriptors of this process. */
export function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** True when running as root (creating users, mounting tmpfs); CI runs as root. */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Root-only faults skip ONLY when not root and not in CI (under CI=true they must run). */
export function rootOnlySkip(): boolean {
  if (isRoot()) return false;
  if (process.env.CI === 'true') throw new Error('fault suite needs root under CI (users, mounts)');
  return true;
}
