/**
 * Read-only watch of an agent's pane (a viewer session attached with `-r`: typing changes nothing). Owner: actions.
 *
 * Upstream `mosaic agent watch` (seed 003): a grouped viewer session
 * `new-session -d -t =<agent> -s <agent>-watch-<pid>`, `attach -r` on it, `kill-session` after.
 * `attach -r` is `-f read-only,ignore-size` on tmux ≥ 3.2: keys other than detach/switch are
 * dropped. ignore-size alone does not stop a LONE client from sizing the window, so the
 * agent's windows are also pinned with `window-size manual` for the duration of the watch.
 */
import { spawn, spawnSync } from 'node:child_process';
import { agentPaneTarget, readPaneState } from '../../fleet/capture.js';
import { isRemoteTmux, runTmux, tmuxCommand, tmuxSequence, type TmuxServer } from '../../fleet/exec.js';
import { viewerSessionName } from '../../fleet/tmux.js';
import { sanitizeLine } from '../../lib/sanitize.js';
import { pollUntil } from '../../lib/delay.js';

/** How a watch ended. */
export interface WatchResult {
  ok: boolean;
  /** Why the watch could not start or ended badly (missing session, no tty, …). */
  error: string | null;
  /** Name of the viewer session that was created (and killed), null if none was. */
  viewer?: string | null;
  /** The signal (SIGINT/SIGTERM/SIGHUP) that ended the watch, if one did. */
  signal?: NodeJS.Signals | null;
}

/**
 * The tmux prefix key of `socket`'s server (`show-options -gv prefix`, e.g. "C-b"); "C-b"
 * (tmux's default) when it cannot be read.
 */
export async function readTmuxPrefix(socket: TmuxServer): Promise<string> {
  const result = await runTmux(socket, ['show-options', '-gv', 'prefix'], { timeoutMs: 2000 });
  const prefix = result.ok ? result.stdout.trim() : '';
  return prefix && prefix !== 'None' ? prefix : 'C-b';
}

/** The viewer's status-line label: read-only, whose pane, and the detach key (tmux format-safe). */
export function viewerStatusLabel(agent: string, prefix: string): string {
  return ` READ-ONLY view of ${agent} · detach: ${prefix} d `.replaceAll('#', '##');
}

/**
 * The commands that put the "how to come back" hint where the operator looks while attached:
 * the viewer session's own status line (session options of the viewer only; the agent's session
 * keeps its own). The banner printed before attaching is hidden by tmux's screen. Pure.
 */
function viewerLabelCommands(viewer: string, agent: string, prefix: string): string[][] {
  const label = viewerStatusLabel(sanitizeLine(agent), sanitizeLine(prefix));
  const options: [string, string][] = [
    ['status', 'on'],
    ['status-right-length', String(label.length + 2)],
    ['status-right', label],
    ['status-right-style', 'reverse'],
  ];
  return options.map(([option, value]) => ['set-option', '-q', '-t', `=${viewer}:`, option, value]);
}

/** The "how to come back" line printed before the terminal is handed to tmux. */
export function watchBanner(agent: string, socket: TmuxServer, prefix: string): string {
  const name = isRemoteTmux(socket) ? socket.socket : socket;
  const where = `${name ? `tmux socket ${name}` : 'the default tmux socket'}${isRemoteTmux(socket) ? ` at host ${socket.host}, over ssh` : ''}`;
  return `Watching ${agent} read-only (${where}); your keys are not sent to the agent. To come back: press ${prefix} then d (tmux detach).`;
}

/**
 * Stops this process from reading its terminal while tmux owns it, and returns the function
 * that puts reading back as it was. A stdin that was read before (the console's Ink input)
 * keeps reading in the background even when paused or without listeners (Node stops only once
 * 16 KB are buffered), so it would steal the operator's keys — the detach key among them — from
 * the tmux client. Afterwards the stream still believes a read is pending, so a later reader
 * (Ink remounting) would never be woken unless the handle's reading is restarted; a stdin that
 * was not being read (the `watch` command) is left alone.
 */
function stopReadingStdin(): () => void {
  const stdin = process.stdin as NodeJS.ReadStream & { _handle?: { reading?: boolean; readStop?: () => number; readStart?: () => number } };
  let stopped = false;
  try {
    stdin.pause();
    if (stdin._handle?.reading && typeof stdin._handle.readStop === 'function') {
      stdin._handle.readStop();
      stdin._handle.reading = false;
      stopped = true;
    }
  } catch {
    // A closed or non-stream stdin has nothing to stop.
  }
  return () => {
    try {
      if (stopped && stdin._handle && !stdin._handle.reading && typeof stdin._handle.readStart === 'function') {
        stdin._handle.reading = true;
        stdin._handle.readStart();
      }
    } catch {
      // A stdin closed meanwhile has nothing to resume.
    }
  };
}

/**
 * While tmux owns the terminal, nothing in this process may change the tty mode: a deferred
 * cleanup of the console's previous Ink mount (React runs unmount effects asynchronously)
 * calling `setRawMode(false)` would put the terminal back in canonical mode under the tmux
 * client, and keys such as the detach key would sit in the line buffer. Returns the undo.
 */
function holdTtyMode(): () => void {
  const stdin = process.stdin as NodeJS.ReadStream & { setRawMode?: (mode: boolean) => NodeJS.ReadStream };
  if (!stdin.isTTY || typeof stdin.setRawMode !== 'function') return () => {};
  const hadOwn = Object.prototype.hasOwnProperty.call(stdin, 'setRawMode');
  const original = stdin.setRawMode;
  stdin.setRawMode = function heldWhileWatching(this: NodeJS.ReadStream) {
    return this;
  };
  return () => {
    if (hadOwn) stdin.setRawMode = original;
    else delete (stdin as { setRawMode?: unknown }).setRawMode;
  };
}

function killViewerSync(socket: TmuxServer, viewer: string): void {
  const kill = tmuxCommand(socket, ['kill-session', '-t', `=${viewer}`]);
  spawnSync(kill.file, kill.args, { stdio: 'ignore', timeout: isRemoteTmux(socket) ? 10_000 : 2000, env: kill.env });
}

/**
 * Once the viewer's client is attached, sets `destroy-unattached` on the viewer session, so
 * tmux itself removes it if we die without cleaning up (SIGKILL). Polls up to 10 s (a loaded
 * machine may take seconds to attach); gives up silently — the normal paths kill the viewer.
 */
async function markViewerDisposable(socket: TmuxServer, viewer: string, child: { exitCode: number | null }): Promise<void> {
  let attached = false;
  await pollUntil(
    async () => {
      if (child.exitCode !== null) return true;
      const clients = await runTmux(socket, ['list-clients', '-t', `=${viewer}`, '-F', '#{client_name}'], { timeoutMs: 1000 });
      attached = clients.ok && clients.stdout.trim() !== '';
      return attached;
    },
    { timeoutMs: 10_000, intervalMs: 50 },
  );
  if (attached) await runTmux(socket, ['set-option', '-t', `=${viewer}:`, 'destroy-unattached', 'on'], { timeoutMs: 1000 });
}

/** Window user option that remembers the agent window's own `window-size` while viewers pin it. */
const SAVED_WINDOW_SIZE = '@mosaic-top-window-size';

/**
 * Pins the size of every window of `agent`'s session: `window-size manual` (window option,
 * shared with the grouped viewer). Needed because tmux uses an ignore-size client's size when
 * it is the only client (measured on tmux 3.3a: a lone `attach -r` shrank a 100×30 agent pane
 * to the viewer's 70×19). The window's own setting is remembered in a user option, once, so
 * concurrent viewers restore the original. Returns the window ids pinned. Never throws.
 */
async function pinWindowSizes(socket: TmuxServer, agent: string): Promise<string[]> {
  const list = await runTmux(socket, ['list-windows', '-t', `=${agent}`, '-F', '#{window_id}'], { timeoutMs: 2000 });
  const windows = list.ok ? list.stdout.split('\n').filter(Boolean) : [];
  for (const w of windows) {
    const saved = await runTmux(socket, ['show-options', '-wqv', '-t', w, SAVED_WINDOW_SIZE], { timeoutMs: 2000 });
    const pin: string[][] = [['set-option', '-wq', '-t', w, 'window-size', 'manual']];
    if (!saved.stdout.trim()) {
      const own = await runTmux(socket, ['show-options', '-wqv', '-t', w, 'window-size'], { timeoutMs: 2000 });
      pin.unshift(['set-option', '-wq', '-t', w, SAVED_WINDOW_SIZE, own.stdout.trim() || 'unset']);
    }
    await runTmux(socket, tmuxSequence(pin), { timeoutMs: 2000 });
  }
  return windows;
}

/**
 * Restores the windows' own `window-size` after the viewer is gone, unless another viewer
 * of the same agent (`<agent>-watch-<pid>`) is still there. Never throws.
 */
async function unpinWindowSizes(socket: TmuxServer, agent: string, windows: string[]): Promise<void> {
  const sessions = await runTmux(socket, ['list-sessions', '-F', '#{session_name}'], { timeoutMs: 2000 });
  const prefix = `${agent}-watch-`;
  if (sessions.stdout.split('\n').some((s) => s.startsWith(prefix) && /^\d+$/.test(s.slice(prefix.length)))) return;
  for (const w of windows) {
    const saved = (await runTmux(socket, ['show-options', '-wqv', '-t', w, SAVED_WINDOW_SIZE], { timeoutMs: 2000 })).stdout.trim();
    if (!saved) continue;
    if (saved === 'unset') await runTmux(socket, ['set-option', '-wqu', '-t', w, 'window-size'], { timeoutMs: 2000 });
    else await runTmux(socket, ['set-option', '-wq', '-t', w, 'window-size', saved], { timeoutMs: 2000 });
    await runTmux(socket, ['set-option', '-wqu', '-t', w, SAVED_WINDOW_SIZE], { timeoutMs: 2000 });
  }
}

/**
 * Hands the real terminal to a read-only tmux view of `agent` and returns after the operator
 * detaches (upstream `mosaic agent watch`). Steps:
 * 1. refuse unless stdin is a TTY (`stdinIsTTY` overrides the check in tests) and the agent's
 *    pane exists;
 * 2. create the grouped viewer `<agent>-watch-<pid>` (a leftover of that name is ours and is
 *    replaced) and pin the agent's window sizes (`window-size manual`, restored afterwards);
 * 3. call `onBeforeAttach` with the "how to come back" line (the server's real prefix);
 * 4. stop reading stdin, hold the tty mode, run `tmux attach -r -t =<viewer>` with inherited
 *    stdio; once attached, mark the viewer `destroy-unattached` (it then dies with its client
 *    even if this process is SIGKILLed; earlier it would die at once);
 * 5. put stdin reading and the tty mode back as they were; always kill the viewer
 *    afterwards, also on SIGINT/SIGTERM/SIGHUP (handlers installed only for the duration;
 *    `signal` in the result says which ended it).
 * Never throws: failures are `{ ok: false, error }`.
 */
export async function watchAgent(opts: {
  agent: string;
  /** The agent's tmux server: its socket here, or its host's tmux over ssh (the attach then runs as `ssh -t … tmux attach -r`). */
  socket: TmuxServer;
  onBeforeAttach?: (message: string) => void;
  stdinIsTTY?: boolean;
}): Promise<WatchResult> {
  const { agent, socket } = opts;
  const isTTY = opts.stdinIsTTY ?? !!process.stdin.isTTY;
  if (!isTTY) return { ok: false, error: 'watch needs a terminal: stdin is not a TTY (tmux attach -r needs one)', viewer: null };
  const pane = await readPaneState(socket, agentPaneTarget(agent));
  if (!pane.exists) return { ok: false, error: `cannot watch ${agent}: ${pane.problem}`, viewer: null };

  const viewer = viewerSessionName(agent);
  const prefix = await readTmuxPrefix(socket);
  await runTmux(socket, ['kill-session', '-t', `=${viewer}`], { timeoutMs: 2000 });
  // Created and labelled in one round trip (over ssh: one session).
  const created = await runTmux(socket, tmuxSequence([['new-session', '-d', '-t', `=${agent}`, '-s', viewer], ...viewerLabelCommands(viewer, agent, prefix)]), {
    timeoutMs: 5000,
  });
  if (!created.ok) {
    await runTmux(socket, ['kill-session', '-t', `=${viewer}`], { timeoutMs: 2000 });
    return { ok: false, error: `cannot create viewer session ${viewer}: ${created.error}`, viewer: null };
  }
  // On its window 0 when there is one (a base-index 1 session has none: nothing to select).
  await runTmux(socket, ['select-window', '-t', `=${viewer}:0`], { timeoutMs: 2000 });
  const pinned = await pinWindowSizes(socket, agent);
  opts.onBeforeAttach?.(watchBanner(agent, socket, prefix));

  let endedBy: NodeJS.Signals | null = null;
  const resumeStdin = stopReadingStdin();
  const releaseTtyMode = holdTtyMode();
  // Watching from inside tmux (the console in a tmux pane) is intended nesting: tmuxEnv drops $TMUX.
  // On another host: `ssh -t … tmux -u … attach-session -r`, the same read-only client there.
  const attach = tmuxCommand(socket, ['attach-session', '-r', '-t', `=${viewer}`], { tty: true });
  const child = spawn(attach.file, attach.args, { stdio: 'inherit', env: attach.env });
  const onSignal = (signal: NodeJS.Signals) => {
    endedBy = signal;
    killViewerSync(socket, viewer);
    if (child.exitCode === null) child.kill('SIGTERM');
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const handlers = signals.map((s) => [s, () => onSignal(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  void markViewerDisposable(socket, viewer, child);

  const exit = await new Promise<{ code: number | null; error: Error | null }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, error }));
    child.once('exit', (code) => resolve({ code, error: null }));
  });
  for (const [s, h] of handlers) process.off(s, h);
  releaseTtyMode();
  resumeStdin();
  killViewerSync(socket, viewer);
  await unpinWindowSizes(socket, agent, pinned);

  if (endedBy) return { ok: false, error: `watch ended by ${endedBy}`, viewer, signal: endedBy };
  if (exit.error) return { ok: false, error: `cannot run tmux attach: ${exit.error.message}`, viewer, signal: null };
  if (exit.code !== 0) return { ok: false, error: `tmux attach exited with status ${exit.code}`, viewer, signal: null };
  return { ok: true, error: null, viewer, signal: null };
}
