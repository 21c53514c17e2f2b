/**
 * Test helper: an isolated tmux server per test (`tmux -L mt-<area>-<random>`), never the
 * default server. Shared by every area's integration tests.
 *
 * ```ts
 * let tmux: IsolatedTmux;
 * beforeEach(async () => { tmux = await startIsolatedTmux('fleet'); });
 * afterEach(async () => { await tmux.stop(); });
 * await tmux.newSession('coder1', ['sleep', '600']);
 * await waitFor(async () => (await tmux.capture('coder1')).includes('ready'), 'pane shows ready');
 * ```
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Result of a raw tmux call on the isolated socket. */
export interface TmuxCallResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** One isolated tmux server. `stop()` kills only this socket's server (`-L <socket> kill-server`). */
export interface IsolatedTmux {
  /** Socket name passed to `tmux -L`. */
  socket: string;
  /** Runs `tmux -L <socket> …args`; never throws for a non-zero exit (see `code`). */
  run(args: string[]): Promise<TmuxCallResult>;
  /** Like {@link run} but throws with tmux's stderr on a non-zero exit. */
  ok(args: string[]): Promise<string>;
  /**
   * Creates a detached session `name` running `command` (argv, no shell unless you pass
   * `['sh','-c', …]`). Options: `cwd`, `env` (extra vars, via `-e`), `width`/`height`
   * (default 120×40), `remainOnExit` (keep the pane as dead when the program exits).
   */
  newSession(
    name: string,
    command?: string[],
    opts?: { cwd?: string; env?: Record<string, string>; width?: number; height?: number; remainOnExit?: boolean },
  ): Promise<void>;
  /** Kills session `name` (exact match). */
  killSession(name: string): Promise<void>;
  /** Session names on this server (empty when no server runs). */
  sessions(): Promise<string[]>;
  /** `capture-pane -p` of `=<session>:0.0` (or any target you give with a leading `=`/`%`). */
  capture(sessionOrTarget: string): Promise<string>;
  /** True while this socket's server answers. */
  alive(): Promise<boolean>;
  /** Kills this socket's server (idempotent). */
  stop(): Promise<void>;
}

/** Path of the socket file tmux uses for `-L <socket>` (`$TMUX_TMPDIR/tmux-<uid>/<socket>`). */
export function tmuxSocketPath(socket: string): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return path.join(process.env.TMUX_TMPDIR || '/tmp', `tmux-${uid}`, socket);
}

/** A tmux socket name unique to this test run: `mt-<area>-<pid>-<random>`. */
export function isolatedSocketName(area: string): string {
  return `mt-${area}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

async function tmuxCall(socket: string, args: string[]): Promise<TmuxCallResult> {
  try {
    const { stdout, stderr } = await execFileAsync('tmux', ['-L', socket, ...args], { encoding: 'utf8', timeout: 10_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message };
  }
}

function quoteForShell(word: string): string {
  return /^[A-Za-z0-9_./=:@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function paneTarget(sessionOrTarget: string): string {
  return /^[=%]/.test(sessionOrTarget) ? sessionOrTarget : `=${sessionOrTarget}:0.0`;
}

/**
 * Starts an isolated tmux server on a fresh socket. The server is kept alive by a hidden
 * `_keepalive` session so that killing the last test session does not end the server; pass
 * `{ keepalive: false }` to start no server at all (first `newSession` starts it).
 */
export async function startIsolatedTmux(area: string, opts: { keepalive?: boolean } = {}): Promise<IsolatedTmux> {
  const socket = isolatedSocketName(area);
  const run = (args: string[]) => tmuxCall(socket, args);
  const ok = async (args: string[]) => {
    const r = await run(args);
    if (r.code !== 0) throw new Error(`tmux -L ${socket} ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.code}`}`);
    return r.stdout;
  };
  const tmux: IsolatedTmux = {
    socket,
    run,
    ok,
    async newSession(name, command, o = {}) {
      const args = ['new-session', '-d', '-s', name, '-x', String(o.width ?? 120), '-y', String(o.height ?? 40)];
      if (o.cwd) args.push('-c', o.cwd);
      for (const [k, v] of Object.entries(o.env ?? {})) args.push('-e', `${k}=${v}`);
      if (o.remainOnExit) {
        // Set remain-on-exit before the program can exit: start a placeholder, set the
        // option, then respawn the pane with the real command.
        await ok([...args, 'sleep', '3600']);
        await ok(['set-option', '-w', '-t', `=${name}:0`, 'remain-on-exit', 'on']);
        const cmd = command && command.length ? command.map(quoteForShell).join(' ') : 'sh';
        await ok(['respawn-pane', '-k', '-t', `=${name}:0.0`, cmd]);
        return;
      }
      if (command && command.length) args.push(command.map(quoteForShell).join(' '));
      await ok(args);
    },
    async killSession(name) {
      await ok(['kill-session', '-t', `=${name}`]);
    },
    async sessions() {
      const r = await run(['list-sessions', '-F', '#{session_name}']);
      if (r.code !== 0) return [];
      return r.stdout.split('\n').filter((s) => s && s !== '_keepalive');
    },
    async capture(sessionOrTarget) {
      return ok(['capture-pane', '-p', '-t', paneTarget(sessionOrTarget)]);
    },
    async alive() {
      return (await run(['list-sessions'])).code === 0;
    },
    async stop() {
      await run(['kill-server']);
      // tmux 3.3 leaves the socket file behind after kill-server.
      fs.rmSync(tmuxSocketPath(socket), { force: true });
    },
  };
  if (opts.keepalive !== false) await ok(['new-session', '-d', '-s', '_keepalive', '-x', '80', '-y', '24', 'sleep', '86400']);
  return tmux;
}

/** First pause between polls when no `intervalMs` is given, ms. */
const POLL_FIRST_MS = 50;
/** Longest pause between polls when no `intervalMs` is given, ms (reached after ~0.75 s of waiting). */
const POLL_MAX_MS = 200;

/**
 * Polls `condition` until it returns truthy or `timeoutMs` (default 10 000 ms) passes; then
 * throws `timed out waiting for <what>`. Returns the truthy value. Use this instead of fixed
 * sleeps. With `intervalMs` the pause between polls is that; without it the pause starts at
 * 50 ms and grows by a quarter each poll up to 200 ms: a quick change is seen as soon as before,
 * while a long wait (a console tick, a server start) no longer spends CPU on ~20 checks a second
 * (a tmux capture costs ~15-20 ms of CPU: its client, the server's reply, the spawn).
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  what: string,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let lastError: unknown = null;
  let pause = opts.intervalMs ?? POLL_FIRST_MS;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const why = lastError ? ` (last error: ${(lastError as Error).message ?? lastError})` : '';
      throw new Error(`timed out waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, pause));
    if (opts.intervalMs === undefined) pause = Math.min(POLL_MAX_MS, Math.round(pause * 1.25));
  }
}

/**
 * Waits until the pane of `session` on `tmux` shows a screen satisfying `test` (polled every
 * `intervalMs`, default: {@link waitFor}'s growing pause, for at most `timeoutMs`, default
 * 30 000 ms); returns that screen.
 * On timeout throws `timed out waiting for <what>; the screen was:` followed by the last capture.
 */
export async function untilScreen(
  tmux: IsolatedTmux,
  session: string,
  test: (screen: string) => boolean,
  what: string,
  timeoutMs = 30_000,
  intervalMs?: number,
): Promise<string> {
  let last = '';
  try {
    return await waitFor(
      async () => {
        last = await tmux.capture(session);
        return test(last) ? last : null;
      },
      what,
      { timeoutMs, intervalMs },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; the screen was:\n${last}`, { cause: error });
  }
}
