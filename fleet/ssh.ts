/**
 * ssh to the hosts of remote agents (roster `host:` + `ssh:`): the ssh command line from the
 * environment (`MOSAIC_SSH`, `MOSAIC_SSH_CONFIG`, `MOSAIC_SSH_TIMEOUT`), connection reuse
 * (ControlMaster under the run dir), failure reasons from ssh's stderr, and running tmux or any
 * command on that host ({@link remoteTmux}, {@link runRemoteCommand}). The snapshot's probe of a
 * host is fleet/remote-probe.ts.
 *
 * Upstream: the roster's `host: 10.1.10.37 — agent lives on another host; ssh: user@10.1.10.37 —
 * how to reach that host`; upstream's agent-send reached remote panes with `ssh <ssh> tmux …`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCommand, tmuxSocketArgs, type ExecResult, type RemoteTmux, type TmuxCommandLine, type TmuxRunOptions } from './exec.js';
import { flattenLine, hasControlCharacters } from '../lib/sanitize.js';

/** Longest reason kept from ssh's stderr (characters). */
const MAX_REASON = 200;

/** The ssh program and its leading arguments. */
export interface SshCommand {
  file: string;
  args: string[];
}

/** Names this host answers to (localhost, its addresses, its hostname): an agent whose `host` is one of them is local. */
export function isLocalHost(host: string | null): boolean {
  if (!host) return true;
  const h = host.toLowerCase();
  return h === 'localhost' || h === '127.0.0.1' || h === '::1' || h === os.hostname().toLowerCase() || h === (os.hostname().split('.')[0] ?? '').toLowerCase();
}

/** The ssh destination of a remote agent: its roster `ssh:`, else its `host:`. */
export function sshTarget(a: { ssh?: string | null; host: string | null }): string {
  return a.ssh || a.host || '';
}

/** Default bound of one remote probe (ssh connect, auth and the script), ms: a first handshake over a WAN takes seconds. */
export const DEFAULT_SSH_TIMEOUT_MS = 5000;

/**
 * The remote probe's bound from `MOSAIC_SSH_TIMEOUT` (seconds, a positive number), in ms; the
 * default ({@link DEFAULT_SSH_TIMEOUT_MS}) when unset or invalid. Local probes keep their own
 * (shorter) bound: a slow host delays the tick, it never makes local rows wrong.
 */
export function sshTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const seconds = Number(env.MOSAIC_SSH_TIMEOUT);
  return env.MOSAIC_SSH_TIMEOUT && Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : DEFAULT_SSH_TIMEOUT_MS;
}

/**
 * The ssh command from the environment: `MOSAIC_SSH` is the ssh program (a path or a name on
 * PATH, default `ssh`; never split or expanded) and `MOSAIC_SSH_CONFIG` an ssh_config file
 * passed as `-F` (ports, keys, users, jump hosts per target all go there). The `-F` comes
 * before mosaic-top's own `-o` options; ssh's first value wins, so the config can override them.
 */
export function sshCommand(env: NodeJS.ProcessEnv = process.env): SshCommand {
  const file = env.MOSAIC_SSH?.trim() || 'ssh';
  const config = env.MOSAIC_SSH_CONFIG?.trim();
  return { file, args: config ? ['-F', config] : [] };
}

/**
 * True when `target` may be handed to ssh as the destination: non-empty, at most 255
 * characters, no blank or control character, and not starting with `-` (it would be read as an
 * option, e.g. `-oProxyCommand=…`). `user@host`, `host`, an ssh_config alias and
 * `ssh://user@host:port` pass.
 */
export function isValidSshTarget(target: string): boolean {
  return target.length > 0 && target.length <= 255 && !target.startsWith('-') && !/\s/.test(target) && !hasControlCharacters(target);
}

/** Quotes `s` for a POSIX shell: one single-quoted word (`'` becomes `'\''`). Safe for any string. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Longest usable ControlPath, in bytes: a Unix socket path holds 107 bytes (108 with the NUL),
 * and ssh first binds `<ControlPath>.<17 random characters>` before renaming it into place.
 */
export const MAX_CONTROL_PATH_BYTES = 107 - 18;

/** `%C` in a ControlPath expands to a 40-character hex hash of (local host, host, port, user, jump). */
const CONTROL_HASH_LENGTH = 40;

/**
 * ssh connection-reuse options for the run dir `runDir`:
 * `-o ControlMaster=auto -o ControlPath=<runDir>/ssh-%C -o ControlPersist=60`, so ticks after the
 * first reuse one authenticated connection (the master lingers 60 s after its last use). Returns
 * `[]` (no multiplexing, a full handshake per tick) when `runDir` is null, is not an existing
 * directory, or the expanded path would exceed {@link MAX_CONTROL_PATH_BYTES}.
 */
export function sshControlArgs(runDir: string | null): string[] {
  if (!runDir) return [];
  const expandedBytes = Buffer.byteLength(path.join(runDir, 'ssh-')) + CONTROL_HASH_LENGTH;
  if (expandedBytes > MAX_CONTROL_PATH_BYTES) return [];
  try {
    if (!fs.statSync(runDir).isDirectory()) return [];
  } catch {
    return [];
  }
  // `%` is ssh's escape character in ControlPath: a literal one in the dir must be doubled.
  const controlPath = path.join(runDir.replace(/%/g, '%%'), 'ssh-%C');
  return ['-o', 'ControlMaster=auto', '-o', `ControlPath=${controlPath}`, '-o', 'ControlPersist=60'];
}

/** Makes ssh's (or the remote's) stderr one short inert line: controls shown as `?`, blanks collapsed, cut. */
export function sanitizeReason(text: string): string {
  return flattenLine(text, MAX_REASON, '?');
}

/**
 * The reason an ssh run failed, from its stderr: the last line that is not a warning, without
 * `ssh: ` and a leading `user@host: ` (e.g. `Permission denied (publickey).`,
 * `connect to host 127.0.0.1 port 1: Connection refused`); `fallback` when stderr says nothing.
 */
export function sshFailureReason(stderr: string, fallback: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.replace(/\r$/, '').trim())
    .filter((l) => l && !/^(Warning|Pseudo-terminal|\*\*)/.test(l));
  const last = lines.at(-1);
  if (!last) return sanitizeReason(fallback);
  return sanitizeReason(last.replace(/^ssh: /, '').replace(/^[^\s@:]+@[^\s:]+: /, ''));
}

/**
 * The arguments of one ssh run (after the program): the `MOSAIC_SSH_CONFIG` `-F`, `-t` when a
 * terminal is wanted, `BatchMode=yes` (never prompts), `ConnectTimeout` = the run's bound in
 * whole seconds (at least 1), the ControlMaster options for `controlDir`, then `-- target
 * remoteCommand`.
 */
export function sshArgs(ssh: SshCommand, o: { timeoutMs: number; controlDir: string | null; tty?: boolean }, target: string, remoteCommand: string): string[] {
  return [
    ...ssh.args,
    ...(o.tty ? ['-t'] : []),
    '-o',
    'BatchMode=yes',
    '-o',
    `ConnectTimeout=${Math.max(1, Math.ceil(o.timeoutMs / 1000))}`,
    ...sshControlArgs(o.controlDir),
    '--',
    target,
    remoteCommand,
  ];
}

/** Where {@link remoteTmux} sends tmux commands. */
export interface RemoteTmuxOptions {
  /** The ssh destination (roster `ssh:`, else `host:`). */
  target: string;
  /** The roster's `host:` label, for messages. */
  host: string;
  /** The tmux socket on that host (null = its default socket). */
  socket: string | null;
  /** Local run dir for the ssh ControlPath (shared with the snapshot probes); null = none. */
  controlDir: string | null;
  /** Environment of ssh and of `MOSAIC_SSH`/`MOSAIC_SSH_CONFIG`/`MOSAIC_SSH_TIMEOUT` (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/**
 * A tmux server on another host for operator actions (send, dispatch, watch, the console's
 * preview): each command runs as
 * `<MOSAIC_SSH> -o BatchMode=yes -o ConnectTimeout=<s> [ControlMaster options] -- <target>
 * tmux -u [-L socket] <args>`, every argument single-quoted for the remote shell ({@link
 * shellQuote}), stdin passed through (`load-buffer -`). The ControlMaster is the snapshot's
 * (`<run>/ssh-%C`), so a console's actions reuse its authenticated connection. Each command may
 * take the larger of its own timeout and `MOSAIC_SSH_TIMEOUT`. Failures keep the local result
 * shape; `error` reads `ssh <target>: <reason>` when ssh itself failed (exit 255, timeout) and
 * `tmux at host <host>: <reason>` when tmux did. An invalid target runs nothing. `command`
 * gives the same line to spawn yourself (`tty`: `ssh -t`, for the watch's attach).
 */
export function remoteTmux(opts: RemoteTmuxOptions): RemoteTmux {
  const env = opts.env ?? process.env;
  const ssh = sshCommand(env);
  const command = (args: readonly string[], o: { tty?: boolean } = {}): TmuxCommandLine => ({
    file: ssh.file,
    args: sshArgs(
      ssh,
      { timeoutMs: sshTimeoutMs(env), controlDir: opts.controlDir, tty: o.tty },
      opts.target,
      ['tmux', '-u', ...tmuxSocketArgs(opts.socket), ...args].map(shellQuote).join(' '),
    ),
    env,
  });
  const run = async (args: readonly string[], o: TmuxRunOptions) => {
    if (!isValidSshTarget(opts.target)) {
      const error = `ssh ${opts.target}: invalid ssh target (blank, control character or leading -)`;
      return { ok: false, stdout: '', stderr: error, exitCode: null, durationMs: 0, error };
    }
    const line = command(args);
    const limitMs = Math.max(o.timeoutMs ?? 5000, sshTimeoutMs(env));
    const result = await runCommand(line.file, line.args, { timeoutMs: limitMs, signal: o.signal, input: o.input, env });
    if (result.ok) return result;
    const sshFailed = result.exitCode === 255 || result.exitCode === null;
    const reason = sshFailed
      ? `ssh ${opts.target}: ${result.exitCode === 255 ? sshFailureReason(result.stderr, 'exit 255') : sanitizeReason((result.error ?? 'failed').replace(`${ssh.file}: `, ''))}`
      : `tmux at host ${opts.host}: ${sanitizeReason(result.stderr.trim().split('\n')[0] || `exit ${result.exitCode}`)}`;
    return { ...result, error: reason };
  };
  return { socket: opts.socket, host: opts.host, run, command, probe: { target: opts.target, controlDir: opts.controlDir, env } };
}

/** Where {@link runRemoteCommand} runs a command: an ssh destination and the snapshot's ControlMaster dir. */
export interface RemoteCommandHost {
  /** The ssh destination (roster `ssh:`, else `host:`). */
  target: string;
  /** The roster's `host:` label, for messages. */
  host: string;
  /** Local run dir for the ssh ControlPath (shared with the snapshot probes); null = none. */
  controlDir: string | null;
  /** Environment of ssh and of `MOSAIC_SSH`/`MOSAIC_SSH_CONFIG`/`MOSAIC_SSH_TIMEOUT` (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs `argv` on another host over ssh, like {@link remoteTmux} runs tmux there (BatchMode, the
 * ControlMaster, every word single-quoted for the remote shell), bounded by the larger of
 * `timeoutMs` (default 5000) and `MOSAIC_SSH_TIMEOUT`. Used by the lifecycle actions for
 * `systemctl --user …` on an agent's host. Never throws: `error` reads `ssh <target>: <reason>`
 * when ssh failed (exit 255, timeout) and `<argv[0]> at host <host>: <stderr's first line>` when
 * the command did. An invalid target runs nothing.
 */
export async function runRemoteCommand(
  where: RemoteCommandHost,
  argv: readonly string[],
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<ExecResult> {
  if (!isValidSshTarget(where.target)) {
    const error = `ssh ${where.target}: invalid ssh target (blank, control character or leading -)`;
    return { ok: false, stdout: '', stderr: error, exitCode: null, durationMs: 0, error };
  }
  const env = where.env ?? process.env;
  const ssh = sshCommand(env);
  const limitMs = Math.max(opts.timeoutMs ?? 5000, sshTimeoutMs(env));
  const args = sshArgs(ssh, { timeoutMs: sshTimeoutMs(env), controlDir: where.controlDir }, where.target, argv.map(shellQuote).join(' '));
  const result = await runCommand(ssh.file, args, { timeoutMs: limitMs, signal: opts.signal, env });
  if (result.ok) return result;
  const sshFailed = result.exitCode === 255 || result.exitCode === null;
  const reason = sshFailed
    ? `ssh ${where.target}: ${result.exitCode === 255 ? sshFailureReason(result.stderr, 'exit 255') : sanitizeReason((result.error ?? 'failed').replace(`${ssh.file}: `, ''))}`
    : `${argv[0]} at host ${where.host}: ${sanitizeReason(result.stderr.trim().split('\n')[0] || `exit ${result.exitCode}`)}`;
  return { ...result, error: reason };
}
