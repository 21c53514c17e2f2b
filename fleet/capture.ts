/**
 * Pane capture and pane state for the console's read-only preview and for send verification.
 * Owner: actions. Everything returned here is raw text from the pane: sanitize before display.
 */
import { runTmux, tmuxServerLabel, type TmuxServer } from './exec.js';

/** The tmux target of an agent's pane: `=<agent>:0.0` (exact session match, upstream convention). */
export function agentPaneTarget(agent: string): string {
  return `=${agent}:0.0`;
}

/**
 * Captures the visible text of a pane (`capture-pane -p -J`: no escape sequences, wrapped
 * lines joined so a long input line is one line). Returns the raw, unsanitized text; trailing
 * blank lines are kept as tmux prints them. Throws an Error carrying tmux's reason (e.g.
 * "can't find session: coder1") when the pane cannot be captured. `timeoutMs` defaults to 2000.
 */
export async function capturePane(socket: TmuxServer, target: string, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<string> {
  const result = await runTmux(socket, ['capture-pane', '-p', '-J', '-t', target], {
    signal: opts.signal,
    timeoutMs: opts.timeoutMs ?? 2000,
  });
  if (!result.ok) throw new Error(result.error ?? `capture-pane ${target} failed`);
  return result.stdout;
}

/** Live state of one pane, as needed before acting on it. */
export interface PaneState {
  target: string;
  /** True when the session/pane exists on the socket. */
  exists: boolean;
  /** True when the pane's program has exited (remain-on-exit keeps it as dead). */
  dead: boolean;
  /** True when the pane is in a mode (copy mode: someone scrolls it); keys would drive the mode, not the program. */
  inMode: boolean;
  paneId: string | null;
  width: number | null;
  height: number | null;
  /** The pane's process id (`#{pane_pid}`), null when unknown. */
  pid?: number | null;
  /** Why the pane is not usable: "no pane =coder1:0.0 on socket s (can't find session: coder1)", "pane … is dead (exit 1)". */
  problem: string | null;
}

/**
 * Reads whether `target` exists and is alive (`display-message -p` with pane_dead,
 * pane_dead_status, pane_id, pane_width, pane_height, pane_in_mode; an empty pane_id means no such pane,
 * since tmux 3.3a answers a missing target with exit 0 and empty formats). Never throws: a missing server,
 * session or pane comes back as `exists: false` with the reason in `problem`.
 */
export async function readPaneState(socket: TmuxServer, target: string, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<PaneState> {
  const result = await runTmux(
    socket,
    ['display-message', '-p', '-t', target, '#{pane_dead}\t#{pane_dead_status}\t#{pane_id}\t#{pane_width}\t#{pane_height}\t#{pane_in_mode}\t#{pane_pid}'],
    { signal: opts.signal, timeoutMs: opts.timeoutMs ?? 2000 },
  );
  const [dead, deadStatus, paneId, width, height, inMode, pid] = result.stdout.replace(/\n$/, '').split('\t');
  if (!result.ok || !paneId) {
    // tmux 3.3a: display-message exits 0 with empty formats for a target that does not exist;
    // ask the list command for tmux's own reason.
    let why = result.ok ? '' : result.stderr.trim().split('\n')[0] || result.error || '';
    if (!why) {
      const listed = await runTmux(socket, ['list-panes', '-t', target, '-F', '#{pane_id}'], { signal: opts.signal, timeoutMs: opts.timeoutMs ?? 2000 });
      why = listed.ok ? `no such pane` : listed.stderr.trim().split('\n')[0] || listed.error || 'unknown error';
    }
    why = why.replace(/^tmux: /, '');
    return {
      target,
      exists: false,
      dead: false,
      inMode: false,
      paneId: null,
      width: null,
      height: null,
      problem: `no pane ${target} on ${tmuxServerLabel(socket)} (${why})`,
    };
  }
  const isDead = dead === '1';
  return {
    target,
    exists: true,
    dead: isDead,
    inMode: inMode === '1',
    paneId: paneId || null,
    width: Number.isFinite(Number(width)) ? Number(width) : null,
    height: Number.isFinite(Number(height)) ? Number(height) : null,
    pid: Number(pid) > 0 ? Number(pid) : null,
    problem: isDead ? `pane ${target} on ${tmuxServerLabel(socket)} is dead${deadStatus ? ` (exit ${deadStatus})` : ''}` : null,
  };
}

/**
 * Captures a pane for send verification in ONE tmux call
 * (`capture-pane -p -t T ; display-message -p -t T '#{cursor_y} #{pane_width}'`): the screen
 * rows (not joined, so they line up with the cursor row), the cursor row and the pane width.
 * Raw, unsanitized text. Throws an Error carrying tmux's reason. `timeoutMs` defaults to 2000.
 */
export async function capturePaneWithCursor(
  socket: TmuxServer,
  target: string,
  opts: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<{ rows: string[]; cursorRow: number | null; width: number | null }> {
  const result = await runTmux(socket, ['capture-pane', '-p', '-t', target, ';', 'display-message', '-p', '-t', target, '#{cursor_y} #{pane_width}'], {
    signal: opts.signal,
    timeoutMs: opts.timeoutMs ?? 2000,
  });
  if (!result.ok) throw new Error(result.error ?? `capture-pane ${target} failed`);
  const rows = result.stdout.replace(/\n$/, '').split('\n');
  const [cursor = NaN, width = NaN] = (rows.pop() ?? '')
    .trim()
    .split(' ')
    .map((v) => (v === '' ? NaN : Number(v)));
  return {
    rows,
    cursorRow: Number.isInteger(cursor) ? cursor : null,
    width: Number.isInteger(width) && width > 0 ? width : null,
  };
}
