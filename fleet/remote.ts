/**
 * Agents on other hosts (roster `host:` + `ssh:`): ONE ssh subprocess per distinct ssh target
 * per snapshot, running a small POSIX sh script on that host that prints, between markers, what
 * the local probes read here — `tmux [-L socket] list-panes -a -F …` per socket of that host's
 * agents, their heartbeat files and per-agent env files (bounded), and the process table (for
 * DRIFT). The output is parsed with the local parsers ({@link parseListPanes},
 * {@link parseHeartbeat}, {@link parseAgentEnv}), so a remote row is decided by the same
 * classifier. Read-only: nothing is ever written or typed on the remote host.
 *
 * Upstream: the roster's `host: 10.1.10.37 — agent lives on another host; ssh: user@10.1.10.37 —
 * how to reach that host`; upstream's agent-send reached remote panes with `ssh <ssh> tmux …`.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAgentEnv } from './agent-env.js';
import { runCommand, runProbe, tmuxSocketArgs, type RemoteTmux, type TmuxCommandLine, type TmuxRunOptions } from './exec.js';
import { HEARTBEAT_READ_LIMIT, parseHeartbeat, type HeartbeatRead } from './heartbeat.js';
import type { ProcEntry, ProcessTree } from './proc.js';
import { isValidAgentName } from './roster.js';
import { agentUnitName, systemctlShowArgs, systemdProbeFromAnswer, type SystemdProbe } from './systemd.js';
import { isNoServerError, LIST_PANES_FORMAT, parseListPanes, socketLabel, type TmuxSocketProbe } from './tmux.js';
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
  return h === 'localhost' || h === '127.0.0.1' || h === '::1' || h === os.hostname().toLowerCase() || h === os.hostname().split('.')[0].toLowerCase();
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

/** What the remote script reads on one host. */
export interface RemoteProbeRequest {
  /** Distinct tmux sockets of that host's agents (null = the default socket, no -L). */
  sockets: (string | null)[];
  /** Agent names (already valid: letters, digits, `_ - + @`); invalid ones are skipped. */
  agents: string[];
  /** Also list the process table (`ps`) and read the agents' env files, for DRIFT (default true). */
  processes?: boolean;
  /** Also ask the remote user's systemd about the agents' units (`mosaic-agent@<name>.service`; default true). */
  systemd?: boolean;
}

/**
 * The POSIX sh script run on the remote host (fed to `sh -s` on stdin, so the remote login
 * shell only ever parses `sh -s`). Every value from the roster is single-quoted
 * ({@link shellQuote}); every marker line starts with `@@mt-<nonce> ` (a fresh random nonce per
 * call, so no pane title or file content can forge one). Sections, in order:
 * `begin 1`, `now <unix s>`, `run <hex of the remote run dir>`, per socket i `tmux i` + the
 * list-panes lines + `tmux-end i <exit> <hex of stderr ≤512 B>`, per agent `hb <agent> …` and
 * (with processes) `env <agent> …` as `missing` | `notfile` | `unreadable` |
 * `file <size|-> <mtime|-> <hex of the first 4096 bytes>`, then `ps`…`ps-end`, `args`…`args-end`,
 * (with systemd) `systemd` + the `systemctl --user show` output + `systemd-end <exit> <hex of
 * stderr ≤512 B>`, and `end`. The remote run dir is
 * `${MOSAIC_HOME:-$HOME/.config/mosaic}/fleet/run`, evaluated remotely (the remote user's own
 * Mosaic home). Commands read /dev/null, never the script.
 */
export function remoteProbeScript(nonce: string, req: RemoteProbeRequest): string {
  const agents = req.agents.filter(isValidAgentName);
  const lines = [
    'unset TMUX',
    `M=${shellQuote(`@@mt-${nonce}`)}`,
    "hex() { od -An -tx1 -v | tr -d ' \\n'; }",
    // Bounded read of one file, framed on one marker line (the content hex-encoded).
    'rd() {',
    '  if [ ! -e "$1" ] && [ ! -L "$1" ]; then echo "$M $2 missing"',
    '  elif [ ! -f "$1" ]; then echo "$M $2 notfile"',
    '  elif [ ! -r "$1" ]; then echo "$M $2 unreadable"',
    '  else',
    '    st=$(stat -c "%s %Y" "$1" 2>/dev/null </dev/null || stat -f "%z %m" "$1" 2>/dev/null </dev/null) || st="- -"',
    `    echo "$M $2 file $st $(head -c ${HEARTBEAT_READ_LIMIT} "$1" 2>/dev/null </dev/null | hex)"`,
    '  fi',
    '}',
    `F=${shellQuote(LIST_PANES_FORMAT)}`,
    'home="${MOSAIC_HOME:-$HOME/.config/mosaic}"',
    'run="$home/fleet/run"',
    'echo "$M begin 1"',
    'echo "$M now $(date +%s)"',
    'echo "$M run $(printf %s "$run" | hex)"',
  ];
  req.sockets.forEach((socket, i) => {
    const l = socket ? `-L ${shellQuote(socket)} ` : '';
    lines.push(
      `echo "$M tmux ${i}"`,
      // stdout to the real stdout (fd 3), stderr captured; $? is tmux's exit status.
      // -u: without a UTF-8 locale (usual over ssh) tmux prints the \x1f separators as `_`.
      `{ err=$(tmux -u ${l}list-panes -a -F "$F" 2>&1 1>&3 </dev/null); rc=$?; } 3>&1`,
      `printf '\\n%s tmux-end ${i} %s %s\\n' "$M" "$rc" "$(printf %s "$err" | head -c 512 | hex)"`,
    );
  });
  for (const a of agents) lines.push(`rd "$run"/${shellQuote(`${a}.hb`)} ${shellQuote(`hb ${a}`)}`);
  if (req.processes !== false) {
    for (const a of agents) lines.push(`rd "$home/fleet/agents"/${shellQuote(`${a}.env`)} ${shellQuote(`env ${a}`)}`);
    lines.push(
      'echo "$M ps"',
      'ps -e -o pid= -o ppid= -o comm= </dev/null 2>/dev/null',
      `printf '\\n%s ps-end\\n' "$M"`,
      'echo "$M args"',
      'ps -ww -e -o pid= -o args= </dev/null 2>/dev/null',
      `printf '\\n%s args-end\\n' "$M"`,
    );
  }
  if (req.systemd !== false && agents.length) {
    // The same one `systemctl --user show` as here; exit 127 = no systemctl on that host.
    const args = systemctlShowArgs(agents.map(agentUnitName)).map(shellQuote).join(' ');
    lines.push(
      'echo "$M systemd"',
      `{ err=$(systemctl ${args} 2>&1 1>&3 </dev/null); rc=$?; } 3>&1`,
      `printf '\\n%s systemd-end %s %s\\n' "$M" "$rc" "$(printf %s "$err" | head -c 512 | hex)"`,
    );
  }
  lines.push('echo "$M end"', 'exit 0');
  return `${lines.join('\n')}\n`;
}

/** One host's answer, parsed. */
export interface RemoteHostProbe {
  /** The ssh destination, as in the roster's `ssh:` (else `host:`). */
  target: string;
  /** False when ssh or the remote script failed; then `error` says why and nothing else is set. */
  ok: boolean;
  /** Why it failed, sanitized, without the `ssh <target>: ` prefix ("Permission denied (publickey).", "timed out after 2000 ms"). */
  error: string | null;
  /** Wall time of the ssh subprocess, ms. */
  durationMs: number;
  /** Unix seconds on the remote host's clock (ages of remote beats and panes are measured against it); null if unreadable. */
  nowSeconds: number | null;
  /** The remote run dir as the remote shell resolved it, or null. */
  runDir: string | null;
  /** Per socket (key: socket name, `''` for the default socket): panes, or why not, as the local tmux probe reports it. */
  tmux: Map<string, TmuxSocketProbe>;
  /** Per agent: the heartbeat read (`{ heartbeat: null, error: null }` when there is no file). */
  heartbeats: Map<string, HeartbeatRead>;
  /** Per agent: its remote `<home>/fleet/agents/<name>.env`, parsed (`{}` when absent). */
  agentEnvs: Map<string, Record<string, string>>;
  /** The remote process table (comm, and argv split on blanks), or null when `ps` gave nothing. */
  processes: ProcessTree | null;
  /** The remote user's systemd answer about the agents' units; null when not asked. */
  systemd: SystemdProbe | null;
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

function fromHex(hex: string): Buffer {
  return /^(?:[0-9a-f]{2})*$/i.test(hex) ? Buffer.from(hex, 'hex') : Buffer.alloc(0);
}

function intOrNull(raw: string | undefined): number | null {
  if (raw === undefined || !/^\d+$/.test(raw)) return null;
  return Number(raw);
}

/** A framed remote file: absent, not readable, or its first bytes with size and mtime (unix s). */
type RemoteFile = { kind: 'missing' } | { kind: 'notfile' | 'unreadable' } | { kind: 'file'; size: number | null; mtime: number | null; bytes: Buffer };

function parseFileLine(words: string[]): RemoteFile {
  if (words[0] === 'file') return { kind: 'file', size: intOrNull(words[1]), mtime: intOrNull(words[2]), bytes: fromHex(words[3] ?? '') };
  if (words[0] === 'notfile' || words[0] === 'unreadable') return { kind: words[0] };
  return { kind: 'missing' };
}

/** ProcessTree from `ps -o pid=,ppid=,comm=` and `ps -o pid=,args=` lines (garbage lines skipped). */
function processTreeFromPs(psLines: string[], argsLines: string[]): ProcessTree | null {
  const entries = new Map<number, ProcEntry>();
  const children = new Map<number, number[]>();
  for (const line of psLines) {
    const m = /^\s*(\d+)\s+(\d+)\s(.*)$/.exec(line);
    if (!m) continue;
    const entry = { pid: Number(m[1]), ppid: Number(m[2]), comm: m[3].trim() };
    entries.set(entry.pid, entry);
    const list = children.get(entry.ppid);
    if (list) list.push(entry.pid);
    else children.set(entry.ppid, [entry.pid]);
  }
  if (entries.size === 0) return null;
  const argv = new Map<number, string[]>();
  for (const line of argsLines) {
    const m = /^\s*(\d+)\s(.*)$/.exec(line);
    if (m) argv.set(Number(m[1]), m[2].trim().split(/\s+/).filter(Boolean));
  }
  return { procRoot: '(remote ps)', entries, children, argv };
}

/**
 * Parses the remote script's stdout (see {@link remoteProbeScript}) for `nonce`. `hostLabel`
 * prefixes heartbeat paths (`gpu2:/home/u/.config/mosaic/fleet/run/coder1.hb`);
 * `localNowSeconds` (unix s) stands in when the remote clock is unreadable. Returns the
 * probe, or `{ error }` when the output is not a complete answer (no `begin`/`end` marker).
 * Untrusted content (titles, files) is never taken for a marker: markers carry the nonce.
 */
export function parseRemoteProbeOutput(
  stdout: string,
  nonce: string,
  req: RemoteProbeRequest,
  hostLabel: string,
  localNowSeconds: number,
): Omit<RemoteHostProbe, 'target' | 'ok' | 'error' | 'durationMs'> | { error: string } {
  const marker = `@@mt-${nonce} `;
  const lines = stdout.split('\n');
  let begun = false;
  let ended = false;
  let nowSeconds: number | null = null;
  let runDir: string | null = null;
  const paneText = new Map<number, string[]>();
  const tmuxEnd = new Map<number, { rc: number | null; stderr: string }>();
  const files = new Map<string, RemoteFile>();
  const ps: string[] = [];
  const args: string[] = [];
  const systemdText: string[] = [];
  let systemdEnd: { rc: number | null; stderr: string } | null = null;
  let section: { kind: 'tmux'; index: number } | { kind: 'ps' } | { kind: 'args' } | { kind: 'systemd' } | null = null;
  for (const line of lines) {
    if (!line.startsWith(marker)) {
      if (section?.kind === 'tmux') paneText.get(section.index)!.push(line);
      else if (section?.kind === 'ps') ps.push(line);
      else if (section?.kind === 'args') args.push(line);
      else if (section?.kind === 'systemd') systemdText.push(line);
      continue;
    }
    const words = line.slice(marker.length).split(' ');
    const [kind] = words;
    section = null;
    if (kind === 'begin') begun = true;
    else if (kind === 'end') ended = true;
    else if (kind === 'now') nowSeconds = intOrNull(words[1]);
    else if (kind === 'run') runDir = fromHex(words[1] ?? '').toString('utf8') || null;
    else if (kind === 'tmux') {
      const index = Number(words[1]);
      paneText.set(index, []);
      section = { kind: 'tmux', index };
    } else if (kind === 'tmux-end') {
      tmuxEnd.set(Number(words[1]), { rc: intOrNull(words[2]), stderr: fromHex(words[3] ?? '').toString('utf8') });
    } else if ((kind === 'hb' || kind === 'env') && words[1]) files.set(`${kind} ${words[1]}`, parseFileLine(words.slice(2)));
    else if (kind === 'ps') section = { kind: 'ps' };
    else if (kind === 'args') section = { kind: 'args' };
    else if (kind === 'systemd') section = { kind: 'systemd' };
    else if (kind === 'systemd-end') systemdEnd = { rc: intOrNull(words[1]), stderr: fromHex(words[2] ?? '').toString('utf8') };
  }
  if (!begun) return { error: 'no answer from the remote probe script' };
  if (!ended) return { error: 'remote probe output incomplete' };

  const now = nowSeconds ?? localNowSeconds;
  const tmux = new Map<string, TmuxSocketProbe>();
  req.sockets.forEach((socket, i) => {
    const end = tmuxEnd.get(i);
    const base = { socket, durationMs: 0 };
    if (!end || !paneText.has(i)) {
      tmux.set(socket ?? '', { ...base, ok: false, serverRunning: false, panes: [], error: `tmux on socket ${socketLabel(socket)}: no answer` });
    } else if (end.rc === 0) {
      tmux.set(socket ?? '', { ...base, ok: true, serverRunning: true, panes: parseListPanes(paneText.get(i)!.join('\n'), now).panes, error: null });
    } else if (isNoServerError(end.stderr)) {
      tmux.set(socket ?? '', { ...base, ok: true, serverRunning: false, panes: [], error: `tmux: no server on socket ${socketLabel(socket)}` });
    } else {
      const why = sanitizeReason(end.stderr.split('\n').find((l) => l.trim()) ?? `exit ${end.rc ?? '?'}`);
      tmux.set(socket ?? '', { ...base, ok: false, serverRunning: false, panes: [], error: `tmux on socket ${socketLabel(socket)}: ${why}` });
    }
  });

  const heartbeats = new Map<string, HeartbeatRead>();
  const agentEnvs = new Map<string, Record<string, string>>();
  for (const agent of req.agents.filter(isValidAgentName)) {
    const hbPath = `${hostLabel}:${runDir ?? '$MOSAIC_HOME/fleet/run'}/${agent}.hb`;
    const hb = files.get(`hb ${agent}`);
    if (!hb || hb.kind === 'missing') heartbeats.set(agent, { heartbeat: null, error: null });
    else if (hb.kind !== 'file') {
      heartbeats.set(agent, { heartbeat: null, error: `${hbPath} unreadable: ${hb.kind === 'notfile' ? 'not a regular file' : 'permission denied'}` });
    } else {
      heartbeats.set(
        agent,
        parseHeartbeat(hb.bytes, { path: hbPath, mtimeSeconds: hb.mtime ?? now, nowSeconds: now, fileSize: Math.max(hb.size ?? 0, hb.bytes.length) }),
      );
    }
    const env = files.get(`env ${agent}`);
    agentEnvs.set(agent, env?.kind === 'file' ? parseAgentEnv(env.bytes.toString('utf8')) : {});
  }
  let systemd: SystemdProbe | null = null;
  if (systemdEnd) {
    const units = req.agents.filter(isValidAgentName).map(agentUnitName);
    const { rc, stderr } = systemdEnd;
    systemd = systemdProbeFromAnswer(
      {
        stdout: systemdText.join('\n'),
        stderr: sanitizeReason(stderr.split('\n').find((l) => l.trim()) ?? ''),
        ok: rc === 0,
        notFound: rc === 127,
        failure: `systemctl exit ${rc ?? '?'}`,
        durationMs: 0,
      },
      units,
    );
  }
  return { nowSeconds, runDir, tmux, heartbeats, agentEnvs, processes: processTreeFromPs(ps, args), systemd };
}

/**
 * The arguments of one ssh run (after the program): the `MOSAIC_SSH_CONFIG` `-F`, `-t` when a
 * terminal is wanted, `BatchMode=yes` (never prompts), `ConnectTimeout` = the run's bound in
 * whole seconds (at least 1), the ControlMaster options for `controlDir`, then `-- target
 * remoteCommand`.
 */
function sshArgs(ssh: SshCommand, o: { timeoutMs: number; controlDir: string | null; tty?: boolean }, target: string, remoteCommand: string): string[] {
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

/** Options of {@link probeRemoteHost}. */
export interface RemoteProbeOptions extends RemoteProbeRequest {
  /** Label of the host in paths and evidence (the roster's `host:`, else the target). */
  hostLabel?: string;
  /** Local run dir: home of the ssh ControlPath (`<runDir>/ssh-%C`); null = no multiplexing. */
  controlDir?: string | null;
  /** Timeout of the whole ssh run, ms (default {@link DEFAULT_SSH_TIMEOUT_MS}); ssh's ConnectTimeout is its ceiling in seconds. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Environment of ssh and of `MOSAIC_SSH`/`MOSAIC_SSH_CONFIG` (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Unix seconds of now, used when the remote clock is unreadable (default: now). */
  nowSeconds?: number;
}

/**
 * Probes one remote host with exactly ONE ssh subprocess (through {@link runProbe}, no execa):
 * `<MOSAIC_SSH> -o BatchMode=yes -o ConnectTimeout=<s> [ControlMaster options] -- <target> sh -s`
 * with {@link remoteProbeScript} on stdin, then {@link parseRemoteProbeOutput}. Never throws:
 * an invalid target (spawns nothing), a failed ssh (exit 255: refused, denied, unreachable),
 * a timeout or a broken answer give `ok: false` with a sanitized `error`.
 */
export async function probeRemoteHost(target: string, opts: RemoteProbeOptions): Promise<RemoteHostProbe> {
  const empty = { nowSeconds: null, runDir: null, tmux: new Map(), heartbeats: new Map(), agentEnvs: new Map(), processes: null, systemd: null };
  if (!isValidSshTarget(target)) {
    return { target, ok: false, error: 'invalid ssh target (blank, control character or leading -)', durationMs: 0, ...empty };
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_SSH_TIMEOUT_MS;
  const env = opts.env ?? process.env;
  const ssh = sshCommand(env);
  const nonce = randomBytes(8).toString('hex');
  const args = sshArgs(ssh, { timeoutMs, controlDir: opts.controlDir ?? null }, target, 'sh -s');
  const result = await runProbe(ssh.file, args, { timeoutMs, signal: opts.signal, env, input: remoteProbeScript(nonce, opts) });
  const fail = (error: string): RemoteHostProbe => ({ target, ok: false, error, durationMs: result.durationMs, ...empty });
  if (result.exitCode === null || result.error?.endsWith(': not found')) {
    // Not started, timed out or aborted: runProbe's words without the program name.
    return fail(sanitizeReason((result.error ?? 'failed').replace(`${ssh.file}: `, '')));
  }
  if (result.exitCode === 255) return fail(sshFailureReason(result.stderr, 'exit 255'));
  const parsed = parseRemoteProbeOutput(result.stdout, nonce, opts, opts.hostLabel ?? target, opts.nowSeconds ?? Date.now() / 1000);
  if ('error' in parsed) {
    const why = result.exitCode === 0 ? parsed.error : `remote script exit ${result.exitCode}`;
    return fail(sshFailureReason(result.stderr, why));
  }
  return { target, ok: true, error: null, durationMs: result.durationMs, ...parsed };
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
): Promise<import('./exec.js').ExecResult> {
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
