import type { ChildProcess } from 'node:child_process';
import { killGroup, spawnInGroup } from '../lib/process-group.js';

/** Result of one subprocess run by a probe or an action. */
export interface ExecResult {
  ok: boolean;
  stdout: string;
  stderr: string;
  exitCode: number | null;
  /** Wall time, milliseconds. */
  durationMs: number;
  /** Why it failed: "not found", "timed out after 2000 ms", stderr's first line, … */
  error: string | null;
}

let spawned = 0;

/** Number of subprocesses this process has started through {@link runCommand} (tests assert per-snapshot counts). */
export function subprocessCount(): number {
  return spawned;
}

/** Counts a subprocess started outside {@link runCommand} (a long-lived client such as tmux's control mode). */
export function recordSpawn(): void {
  spawned++;
}

/**
 * Runs a command without a shell, with a deadline (`timeoutMs`, default 5000) and an optional
 * AbortSignal; never throws for a failed command — the failure is in the result. `input` is
 * written to stdin when given. The same core as {@link runProbe}: on the deadline the child is
 * SIGKILLed and the result settles AT ONCE, its pipes destroyed — a child whose pipes are held
 * open by another process (a SIGSTOPped tmux server keeps the fds its clients hand it) cannot
 * defeat the deadline. (execa 9 with `timeout` + `forceKillAfterDelay` was tried: it still
 * waits for those pipes to close and hung on a SIGSTOPped tmux server.)
 */
export function runCommand(
  file: string,
  args: readonly string[],
  opts: { timeoutMs?: number; signal?: AbortSignal; input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ExecResult> {
  return runProbe(file, args, opts);
}

/** `-L <socket>` for a named tmux socket, nothing for the default socket (upstream FIX2: absent socket ⇒ no -L). */
export function tmuxSocketArgs(socket: string | null | undefined): string[] {
  return socket ? ['-L', socket] : [];
}

/**
 * The environment for every tmux call we make: the caller's, without `TMUX`. tmux given
 * neither -L nor -S talks to the server named in `$TMUX`, so a console running inside some
 * other tmux server would probe (and send to) that one; and `attach` refuses to nest while
 * `$TMUX` is set. We always name our target explicitly, so `TMUX` is never wanted.
 */
export function tmuxEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const { TMUX: _ignored, ...rest } = env;
  return rest;
}

/** Options of one tmux command: timeout (ms), abort signal, stdin text. */
export interface TmuxRunOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  input?: string;
}

/**
 * A tmux server on another host, reached over ssh (built by `remoteTmux` in fleet/ssh.ts):
 * the roster's `host:` and socket, and how to run one tmux command there.
 */
export interface RemoteTmux {
  /** The socket on that host (null = its default socket). */
  socket: string | null;
  /** The roster's host label, for messages ("… at host gpu2"). */
  host: string;
  /** Runs `tmux -u [-L socket] …args` on that host; the same result shape as a local run. */
  run(args: readonly string[], opts: TmuxRunOptions): Promise<ExecResult>;
  /** The command line that runs `tmux … args` there (ssh; `tty`: with a terminal, for `attach`). */
  command(args: readonly string[], opts?: { tty?: boolean }): TmuxCommandLine;
  /**
   * How to run the snapshot's remote probe on that host (ssh destination, ControlMaster dir,
   * environment): actions that must verify the pane's process (`answer`) use it. Absent: unknown.
   */
  probe?: { target: string; controlDir: string | null; env: NodeJS.ProcessEnv };
}

/** A program, its arguments and environment: how to spawn one tmux command yourself. */
export interface TmuxCommandLine {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/**
 * The command line of `tmux … args` on `server`, for callers that spawn it themselves (an
 * attach that takes the terminal, a synchronous kill in a signal handler): `tmux [-L socket]`
 * with {@link tmuxEnv} here, the {@link RemoteTmux}'s ssh line for another host.
 */
export function tmuxCommand(server: TmuxServer, args: readonly string[], opts: { tty?: boolean } = {}): TmuxCommandLine {
  if (isRemoteTmux(server)) return server.command(args, opts);
  return { file: 'tmux', args: [...tmuxSocketArgs(server), ...args], env: tmuxEnv() };
}

/** Which tmux server a command goes to: a local socket (null/undefined = the default one) or a {@link RemoteTmux}. */
export type TmuxServer = string | null | undefined | RemoteTmux;

/** True when `server` is on another host. */
export function isRemoteTmux(server: TmuxServer): server is RemoteTmux {
  return typeof server === 'object' && server !== null;
}

/** How messages name a tmux server: "socket s", "the default tmux socket", "socket s at host gpu2". */
export function tmuxServerLabel(server: TmuxServer): string {
  if (isRemoteTmux(server)) return `${server.socket ? `socket ${server.socket}` : 'the default tmux socket'} at host ${server.host}`;
  return server ? `socket ${server}` : 'the default tmux socket';
}

/**
 * tmux commands as ONE invocation's arguments (`a … ; b …`: tmux runs them in order and stops
 * at the first that fails), for {@link runTmux}: one round trip instead of one per command —
 * over ssh, one ssh session. Pure.
 */
export function tmuxSequence(commands: readonly (readonly string[])[]): string[] {
  return commands.flatMap((command, i) => (i === 0 ? [...command] : [';', ...command]));
}

/**
 * Runs `tmux [-L socket] …args` through {@link runCommand}, with {@link tmuxEnv}; on a
 * {@link RemoteTmux}, over its ssh instead (same arguments, same result shape).
 */
export function runTmux(server: TmuxServer, args: readonly string[], opts: TmuxRunOptions = {}): Promise<ExecResult> {
  if (isRemoteTmux(server)) return server.run(args, opts);
  const line = tmuxCommand(server, args);
  return runCommand(line.file, line.args, { ...opts, env: line.env });
}

/**
 * After the child exited, how long its pipes may stay open before they are destroyed, ms: the
 * last output of a normal exit arrives well within this; a pipe held by another process (a
 * stopped tmux server holds its clients' stdout/stderr) never closes.
 */
export const PIPE_GRACE_MS = 250;

/**
 * Runner of every subprocess (probes and actions): node's own `spawn`, no shell, no stdin,
 * stdout/stderr collected as UTF-8; `env` replaces the environment when given; `input`, when
 * given, is written to the child's stdin, which is then closed (else stdin is /dev/null — the ssh
 * probe sends its remote script this way). Counted by {@link subprocessCount}.
 * The child leads its own process group (lib/process-group.ts). Deadline (ms, default 5000)
 * and abort: SIGKILL to the whole group, and the result settles right away with
 * "timed out after N ms" / "aborted". It settles on the child's exit too (plus at most
 * {@link PIPE_GRACE_MS} for its last output), never only on its pipes closing; the pipes are
 * destroyed when it settles, so no fd outlives the call whoever holds the other ends.
 * Never throws.
 */
export function runProbe(
  file: string,
  args: readonly string[],
  opts: { timeoutMs?: number; signal?: AbortSignal; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<ExecResult> {
  spawned++;
  const started = performance.now();
  const timeoutMs = opts.timeoutMs ?? 5000;
  return new Promise((resolve) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let settled = false;
    let reason: 'timeout' | 'abort' | null = null;
    let child: ChildProcess | null = null;
    let graceTimer: NodeJS.Timeout | null = null;
    const finish = (exitCode: number | null, spawnError: NodeJS.ErrnoException | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (graceTimer) clearTimeout(graceTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      // Release our ends of the pipes now: another holder of the far ends must not keep them (and their fds) alive.
      child?.stdin?.destroy();
      child?.stdout?.destroy();
      child?.stderr?.destroy();
      const out = Buffer.concat(stdout).toString('utf8');
      const err = Buffer.concat(stderr).toString('utf8');
      let error: string | null = null;
      if (spawnError) error = spawnError.code === 'ENOENT' ? `${file}: not found` : `${file}: ${spawnError.message}`;
      else if (reason === 'timeout') error = `${file}: timed out after ${timeoutMs} ms`;
      else if (reason === 'abort') error = `${file}: aborted`;
      else if (exitCode !== 0) error = `${file}: ${err.trim().split('\n')[0] || `exit ${exitCode ?? signal}`}`;
      resolve({ ok: error === null, stdout: out, stderr: err, exitCode, durationMs: performance.now() - started, error });
    };
    const kill = (why: 'timeout' | 'abort') => {
      if (settled) return;
      reason = why;
      // The whole group: a shell's children, a program's helpers holding the pipes.
      killGroup(child?.pid, 'SIGKILL');
      finish(null, null, 'SIGKILL');
    };
    const timer = setTimeout(() => kill('timeout'), timeoutMs);
    const onAbort = () => kill('abort');
    try {
      child = spawnInGroup(file, args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    } catch (error) {
      finish(null, error as NodeJS.ErrnoException, null);
      return;
    }
    if (opts.signal?.aborted) {
      kill('abort');
      return;
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.input !== undefined && child.stdin) {
      // A child that exits without reading its stdin must not turn into an EPIPE crash.
      child.stdin.on('error', () => {});
      child.stdin.end(opts.input);
    }
    child.stdout?.on('data', (d: Buffer) => stdout.push(d));
    child.stderr?.on('data', (d: Buffer) => stderr.push(d));
    // Destroyed streams may still report an error (EPIPE, ECONNRESET): the result is already out.
    child.stdout?.on('error', () => {});
    child.stderr?.on('error', () => {});
    child.on('error', (error) => finish(null, error as NodeJS.ErrnoException, null));
    child.on('exit', (code, signal) => {
      if (settled) return;
      graceTimer = setTimeout(() => finish(code, null, signal), PIPE_GRACE_MS);
    });
    child.on('close', (code, signal) => finish(code, null, signal));
  });
}
