/**
 * The remote probe's answer (./remote-probe.ts runs the script): its marker-framed sections
 * parsed with the local parsers ({@link parseListPanes}, {@link parseHeartbeat},
 * {@link parseAgentEnv}, the systemd answer), so a remote row is decided by the same
 * classifier. Pure: untrusted content (titles, files) is never taken for a marker, and every
 * missing field is handled.
 */
import { parseAgentEnv } from './agent-env.js';
import { parseHeartbeat, type HeartbeatRead } from './heartbeat.js';
import type { ProcEntry, ProcessTree } from './proc.js';
import { isValidAgentName } from './roster.js';
import { sanitizeReason } from './ssh.js';
import { agentUnitName, systemdProbeFromAnswer, type SystemdProbe } from './systemd.js';
import { isNoServerError, parseListPanes, socketLabel, type TmuxSocketProbe } from './tmux.js';

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
    const entry = { pid: Number(m[1]), ppid: Number(m[2]), comm: (m[3] ?? '').trim() };
    entries.set(entry.pid, entry);
    const list = children.get(entry.ppid);
    if (list) list.push(entry.pid);
    else children.set(entry.ppid, [entry.pid]);
  }
  if (entries.size === 0) return null;
  const argv = new Map<number, string[]>();
  for (const line of argsLines) {
    const m = /^\s*(\d+)\s(.*)$/.exec(line);
    if (m) argv.set(Number(m[1]), (m[2] ?? '').trim().split(/\s+/).filter(Boolean));
  }
  return { procRoot: '(remote ps)', entries, children, argv };
}

/** A section's end marker: the command's exit status and its stderr (≤ 512 bytes, decoded). */
interface SectionEnd {
  rc: number | null;
  stderr: string;
}

/** The script's stdout cut along its markers, before any section is interpreted. */
interface ProbeSections {
  begun: boolean;
  ended: boolean;
  nowSeconds: number | null;
  runDir: string | null;
  /** Per socket index: the list-panes lines. */
  paneText: Map<number, string[]>;
  tmuxEnd: Map<number, SectionEnd>;
  /** `hb <agent>` / `env <agent>` ⇒ the framed file. */
  files: Map<string, RemoteFile>;
  ps: string[];
  args: string[];
  systemdText: string[];
  systemdEnd: SectionEnd | null;
}

/** Which section the lines between markers belong to. */
type Section = { kind: 'tmux'; index: number } | { kind: 'ps' } | { kind: 'args' } | { kind: 'systemd' } | null;

/** Takes one marker line's words (after the marker) into `into`; returns the section the next lines belong to. */
function takeMarker(words: string[], into: ProbeSections): Section {
  const [kind, first, second, third] = words;
  if (kind === 'begin') into.begun = true;
  else if (kind === 'end') into.ended = true;
  else if (kind === 'now') into.nowSeconds = intOrNull(first);
  else if (kind === 'run') into.runDir = fromHex(first ?? '').toString('utf8') || null;
  else if (kind === 'tmux') {
    const index = Number(first);
    into.paneText.set(index, []);
    return { kind: 'tmux', index };
  } else if (kind === 'tmux-end') into.tmuxEnd.set(Number(first), { rc: intOrNull(second), stderr: fromHex(third ?? '').toString('utf8') });
  else if ((kind === 'hb' || kind === 'env') && first) into.files.set(`${kind} ${first}`, parseFileLine(words.slice(2)));
  else if (kind === 'ps' || kind === 'args' || kind === 'systemd') return { kind };
  else if (kind === 'systemd-end') into.systemdEnd = { rc: intOrNull(first), stderr: fromHex(second ?? '').toString('utf8') };
  return null;
}

/** Cuts `stdout` along the lines that start with `marker` (the nonce's): every other line belongs to the open section, or to none. */
function readSections(stdout: string, marker: string): ProbeSections {
  const into: ProbeSections = {
    begun: false,
    ended: false,
    nowSeconds: null,
    runDir: null,
    paneText: new Map(),
    tmuxEnd: new Map(),
    files: new Map(),
    ps: [],
    args: [],
    systemdText: [],
    systemdEnd: null,
  };
  let section: Section = null;
  for (const line of stdout.split('\n')) {
    if (line.startsWith(marker)) section = takeMarker(line.slice(marker.length).split(' '), into);
    else if (section?.kind === 'tmux') into.paneText.get(section.index)?.push(line);
    else if (section?.kind === 'ps') into.ps.push(line);
    else if (section?.kind === 'args') into.args.push(line);
    else if (section?.kind === 'systemd') into.systemdText.push(line);
  }
  return into;
}

/** Per socket of `req` (key: its name, `''` for the default socket): its panes, or why not, as the local tmux probe reports it. */
function tmuxProbes(req: RemoteProbeRequest, s: ProbeSections, now: number): Map<string, TmuxSocketProbe> {
  const tmux = new Map<string, TmuxSocketProbe>();
  req.sockets.forEach((socket, i) => {
    const end = s.tmuxEnd.get(i);
    const panes = s.paneText.get(i);
    const base = { socket, durationMs: 0 };
    if (!end || !panes) {
      tmux.set(socket ?? '', { ...base, ok: false, serverRunning: false, panes: [], error: `tmux on socket ${socketLabel(socket)}: no answer` });
    } else if (end.rc === 0) {
      tmux.set(socket ?? '', { ...base, ok: true, serverRunning: true, panes: parseListPanes(panes.join('\n'), now).panes, error: null });
    } else if (isNoServerError(end.stderr)) {
      tmux.set(socket ?? '', { ...base, ok: true, serverRunning: false, panes: [], error: `tmux: no server on socket ${socketLabel(socket)}` });
    } else {
      const why = sanitizeReason(end.stderr.split('\n').find((l) => l.trim()) ?? `exit ${end.rc ?? '?'}`);
      tmux.set(socket ?? '', { ...base, ok: false, serverRunning: false, panes: [], error: `tmux on socket ${socketLabel(socket)}: ${why}` });
    }
  });
  return tmux;
}

/** One agent's remote heartbeat read: none (no file), unreadable (not a file, no permission), or parsed with the local parser. */
function remoteHeartbeat(hb: RemoteFile | undefined, hbPath: string, now: number): HeartbeatRead {
  if (!hb || hb.kind === 'missing') return { heartbeat: null, error: null };
  if (hb.kind !== 'file') return { heartbeat: null, error: `${hbPath} unreadable: ${hb.kind === 'notfile' ? 'not a regular file' : 'permission denied'}` };
  return parseHeartbeat(hb.bytes, { path: hbPath, mtimeSeconds: hb.mtime ?? now, nowSeconds: now, fileSize: Math.max(hb.size ?? 0, hb.bytes.length) });
}

/** The remote user's systemd answer about the agents' units, or null when the script did not ask. */
function remoteSystemd(req: RemoteProbeRequest, s: ProbeSections): SystemdProbe | null {
  if (!s.systemdEnd) return null;
  const units = req.agents.filter(isValidAgentName).map(agentUnitName);
  const { rc, stderr } = s.systemdEnd;
  return systemdProbeFromAnswer(
    {
      stdout: s.systemdText.join('\n'),
      stderr: sanitizeReason(stderr.split('\n').find((l) => l.trim()) ?? ''),
      ok: rc === 0,
      notFound: rc === 127,
      failure: `systemctl exit ${rc ?? '?'}`,
      durationMs: 0,
    },
    units,
  );
}

/**
 * Parses the remote script's stdout (see remoteProbeScript in ./remote-probe.ts) for `nonce`.
 * `hostLabel` prefixes heartbeat paths (`gpu2:/home/u/.config/mosaic/fleet/run/coder1.hb`);
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
  const s = readSections(stdout, `@@mt-${nonce} `);
  if (!s.begun) return { error: 'no answer from the remote probe script' };
  if (!s.ended) return { error: 'remote probe output incomplete' };
  const now = s.nowSeconds ?? localNowSeconds;
  const heartbeats = new Map<string, HeartbeatRead>();
  const agentEnvs = new Map<string, Record<string, string>>();
  for (const agent of req.agents.filter(isValidAgentName)) {
    const hbPath = `${hostLabel}:${s.runDir ?? '$MOSAIC_HOME/fleet/run'}/${agent}.hb`;
    heartbeats.set(agent, remoteHeartbeat(s.files.get(`hb ${agent}`), hbPath, now));
    const env = s.files.get(`env ${agent}`);
    agentEnvs.set(agent, env?.kind === 'file' ? parseAgentEnv(env.bytes.toString('utf8')) : {});
  }
  return {
    nowSeconds: s.nowSeconds,
    runDir: s.runDir,
    tmux: tmuxProbes(req, s, now),
    heartbeats,
    agentEnvs,
    processes: processTreeFromPs(s.ps, s.args),
    systemd: remoteSystemd(req, s),
  };
}
