/**
 * tmux probe: ONE `tmux [-L socket] list-panes -a -F …` per distinct socket, and its
 * parser. Upstream source: `fleet ps` list-panes parsing with the H1b activity fallback
 * (pane_activity, then window_activity, then session_activity — tmux 3.3/3.4 leave pane_activity empty).
 */
import { runProbe, tmuxEnv, tmuxSocketArgs } from './exec.js';

/** Field separator: the ASCII unit separator, which tmux strips from titles and names. */
export const PANE_FIELD_SEPARATOR = '\x1f';

/** Order of the fields in {@link LIST_PANES_FORMAT}; the untrusted title is last. */
export const LIST_PANES_FIELDS = [
  'session_name',
  'window_index',
  'pane_index',
  'pane_id',
  'pane_pid',
  'pane_current_command',
  'pane_dead',
  'pane_dead_status',
  'pane_activity',
  'window_activity',
  'session_activity',
  'pane_width',
  'pane_height',
  'pane_title',
] as const;

/** The `-F` format passed to `list-panes -a`. */
export const LIST_PANES_FORMAT = LIST_PANES_FIELDS.map((f) => `#{${f}}`).join(PANE_FIELD_SEPARATOR);

/** One pane as listed by tmux (raw strings are untrusted: sanitize before display). */
export interface TmuxPane {
  session: string;
  windowIndex: number;
  paneIndex: number;
  paneId: string;
  pid: number | null;
  currentCommand: string;
  dead: boolean;
  deadStatus: number | null;
  /** Unix seconds of the first non-empty of pane/window/session activity; null when none. */
  activity: number | null;
  /** Seconds since `activity`, clamped at 0; null when unknown. */
  idleSeconds: number | null;
  width: number;
  height: number;
  title: string;
}

function int(value: string | undefined): number | null {
  if (value === undefined || value.trim() === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? Math.trunc(n) : null;
}

/**
 * Pane idle seconds from the activity fields (unix seconds, strings as tmux prints them):
 * the first non-empty finite positive of pane, window, session activity; `now − it`, clamped
 * at 0 (future timestamps). Returns `{ activity: null, idleSeconds: null }` when none is usable.
 */
export function paneIdleSeconds(
  paneActivity: string | undefined,
  windowActivity: string | undefined,
  sessionActivity: string | undefined,
  nowSeconds: number,
): { activity: number | null; idleSeconds: number | null } {
  const activity = firstActivity(paneActivity) ?? firstActivity(windowActivity) ?? firstActivity(sessionActivity);
  return activity === null ? { activity: null, idleSeconds: null } : { activity, idleSeconds: Math.max(0, nowSeconds - activity) };
}

/** An activity field as unix seconds when finite and positive, else null. */
function firstActivity(raw: string | undefined): number | null {
  const n = int(raw);
  return n !== null && n > 0 ? n : null;
}

/**
 * Parses `list-panes -a -F LIST_PANES_FORMAT` output. Lines with too few fields are skipped
 * (reported in `skipped`); a title containing the separator keeps the rest of the line.
 * `nowSeconds` is unix seconds (for idle time).
 */
export function parseListPanes(stdout: string, nowSeconds: number): { panes: TmuxPane[]; skipped: number } {
  const panes: TmuxPane[] = [];
  let skipped = 0;
  const n = LIST_PANES_FIELDS.length;
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const parts = line.split(PANE_FIELD_SEPARATOR);
    if (parts.length < n) {
      skipped++;
      continue;
    }
    const title = parts.length === n ? (parts[n - 1] ?? '') : parts.slice(n - 1).join(PANE_FIELD_SEPARATOR);
    // Every field is there (length checked above): the defaults only satisfy the type.
    const [session = '', win, pane, paneId = '', pid, cmd = '', dead, deadStatus, pa, wa, sa, w, h] = parts;
    const { activity, idleSeconds } = paneIdleSeconds(pa, wa, sa, nowSeconds);
    const isDead = dead === '1';
    panes.push({
      session,
      windowIndex: int(win) ?? 0,
      paneIndex: int(pane) ?? 0,
      paneId,
      pid: int(pid),
      currentCommand: cmd,
      dead: isDead,
      deadStatus: isDead ? int(deadStatus) : null,
      activity,
      idleSeconds,
      width: int(w) ?? 0,
      height: int(h) ?? 0,
      title,
    });
  }
  return { panes, skipped };
}

/** Outcome of probing one socket. */
export interface TmuxSocketProbe {
  socket: string | null;
  /** True when the call worked or there simply is no server (then `serverRunning` is false). */
  ok: boolean;
  serverRunning: boolean;
  panes: TmuxPane[];
  durationMs: number;
  /** Why it failed or degraded ("tmux: no server on socket mosaic-fleet", "tmux: not found", …). */
  error: string | null;
}

/** Human name of a socket for messages: the name, or `default` for the default socket. */
export function socketLabel(socket: string | null): string {
  return socket ?? 'default';
}

/** True when tmux's stderr says there is no server on the socket (not an error of ours). */
export function isNoServerError(stderr: string): boolean {
  return /no server running|error connecting to|failed to connect to server|No such file or directory/i.test(stderr);
}

/**
 * Lists every pane of one tmux socket with ONE `list-panes -a` call. "No server running" is
 * reported as `{ ok: true, serverRunning: false, panes: [], error: "tmux: no server on socket X" }`
 * so every agent on it is simply paneless. Never throws. Timeout in ms (default 2000). `env`: the
 * environment for tmux, default {@link tmuxEnv}() (copied from process.env at each call).
 */
export async function probeTmuxSocket(
  socket: string | null,
  opts: { timeoutMs?: number; signal?: AbortSignal; nowSeconds?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<TmuxSocketProbe> {
  // -u: under a non-UTF-8 locale (LANG unset, C, POSIX) tmux prints the \x1f separators as `_`.
  const result = await runProbe('tmux', ['-u', ...tmuxSocketArgs(socket), 'list-panes', '-a', '-F', LIST_PANES_FORMAT], {
    timeoutMs: opts.timeoutMs ?? 2000,
    signal: opts.signal,
    env: opts.env ?? tmuxEnv(),
  });
  const now = opts.nowSeconds ?? Date.now() / 1000;
  if (result.ok) {
    const { panes } = parseListPanes(result.stdout, now);
    return { socket, ok: true, serverRunning: true, panes, durationMs: result.durationMs, error: null };
  }
  if (result.exitCode !== null && isNoServerError(result.stderr)) {
    return {
      socket,
      ok: true,
      serverRunning: false,
      panes: [],
      durationMs: result.durationMs,
      error: `tmux: no server on socket ${socketLabel(socket)}`,
    };
  }
  return { socket, ok: false, serverRunning: false, panes: [], durationMs: result.durationMs, error: result.error ?? 'tmux: failed' };
}

/** Name of a read-only watch viewer session, per upstream: `<agent>-watch-<pid>` (pid of the watcher). */
export function viewerSessionName(agent: string, pid = process.pid): string {
  return `${agent}-watch-${pid}`;
}

/** True for one of this tool's watch viewers (`<agent>-watch-<pid>`): never an agent, never UNMANAGED. */
export function isViewerSessionName(session: string): boolean {
  return /^.+-watch-\d+$/.test(session);
}
