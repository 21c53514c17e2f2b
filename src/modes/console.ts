/**
 * Console mode: `mosaic-top` without a subcommand. Loads ink/react lazily (the
 * `--once` path never imports this module's heavy parts), draws on the alternate screen,
 * polls with src/poller.ts, and hands the terminal over for `w` (watch) by unmounting Ink and
 * mounting it again afterwards — the store survives, so selection, focus and filter too.
 */
import type { GlobalOptions } from '../options.js';
import { resolvePaths, type MosaicPaths } from '../../lib/paths.js';
import type { AgentRow, Snapshot } from '../snapshot/types.js';
import { createConsoleStore, type ConsoleStore } from '../store/index.js';
import { createPoller, type Poller } from '../poller.js';
import { createConsoleActions } from '../keys/commands.js';
import type { ConsoleActions } from '../keys/types.js';
import { agentTmuxServer } from '../actions/agent-target.js';
import { viewerSessionName } from '../../fleet/tmux.js';
import { delay } from '../../lib/delay.js';
import { messageOf } from '../../lib/errors.js';
import type { ConsoleFeed } from './console-feed.js';

/** Escape sequences of our own (never from data): alternate screen on/off, cursor shown. */
const ENTER_ALT_SCREEN = '\x1b[?1049h\x1b[H';
const LEAVE_ALT_SCREEN = '\x1b[?1049l';
const SHOW_CURSOR = '\x1b[?25h';

/**
 * Ink frames per second at most (Ink's own default). Ink throttles frames with a leading and a
 * trailing edge, so a key pressed within 1000/fps ms of the last frame waits for the next one:
 * at 12 fps that was up to 84 ms, over the 50 ms key-to-frame budget; at 30, 34 ms. An idle
 * console draws no more frames for it: frames happen only when the store changes.
 */
export const CONSOLE_MAX_FPS = 30;

/** True when NO_COLOR is set to a non-empty value (no-color.org). */
export function noColorRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.NO_COLOR !== undefined && env.NO_COLOR !== '';
}

/**
 * Why this terminal cannot host the console, or null when it can: `TERM=dumb` (Emacs shell
 * buffers, some CI logs) has no cursor addressing, which the console's redrawn screen needs.
 * The message is one line and points at `--once`, which prints a plain table.
 */
export function terminalProblem(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.TERM !== 'dumb') return null;
  return 'mosaic-top: the console needs cursor addressing, which TERM=dumb lacks; use --once [--json] for a snapshot (or run it in a terminal with a real TERM)';
}

/** What ends one mount of the Ink app. */
type MountEnd = { kind: 'quit' } | { kind: 'watch'; agent: AgentRow };

/** Options of {@link runConsole} beyond the CLI's (tests and the demo). */
export interface ConsoleRunOptions {
  /** Snapshot source (default: src/snapshot/collect.ts collectSnapshot with a roster cache and a systemd back-off). */
  collect?: (paths: MosaicPaths, signal: AbortSignal) => Promise<Snapshot>;
  /** Called with the store once created (the bench reads it). */
  onStore?: (store: ConsoleStore) => void;
}

/**
 * Loads ink for an interactive terminal. Ink draws only the last frame, at exit, when it thinks
 * it runs in CI: `is-in-ci` reads `CI` / `CONTINUOUS_INTEGRATION` once, when ink is imported. An
 * operator's console on a TTY must draw live whatever those say (CI runners set CI=true, and the
 * end-to-end tests run the console in a tmux pane there), so they are hidden while ink loads and
 * restored right after.
 */
async function importInteractive<T>(load: () => Promise<T>): Promise<T> {
  const keys = ['CI', 'CONTINUOUS_INTEGRATION'] as const;
  const saved = keys.map((k) => [k, process.env[k]] as const);
  for (const k of keys) delete process.env[k];
  try {
    return await load();
  } finally {
    for (const [k, v] of saved) if (v !== undefined) process.env[k] = v;
  }
}

/** Where the console's snapshots come from: the caller's `collect`, else the live collector. */
interface ConsoleSource {
  collect: (signal: AbortSignal) => Promise<Snapshot>;
  /** Subscribes to pushes (a tmux change); returns the unsubscribe. */
  onChange: (listener: () => void) => () => void;
  /** Closes what the source keeps open between ticks (control clients, the backlog client). */
  close: () => Promise<void>;
}

/** `extra.collect` when given (tests, the demo), else the live collector (src/snapshot/live.ts), the one `serve` uses too. */
async function consoleSource(paths: MosaicPaths, extra: ConsoleRunOptions): Promise<ConsoleSource> {
  const own = extra.collect;
  if (own) return { collect: (signal) => own(paths, signal), onChange: () => () => {}, close: async () => {} };
  const { createLiveCollector } = await import('../snapshot/live.js');
  return createLiveCollector({ paths });
}

/**
 * Transitions: the recent past from the run dir's history, then what this console observes,
 * recorded there too (src/modes/console-feed.ts). `MOSAIC_TOP_HISTORY=off` turns both off (the
 * bench compares).
 */
async function startFeed(store: ConsoleStore, paths: MosaicPaths, opts: GlobalOptions): Promise<ConsoleFeed> {
  const historyOn = !/^(0|off|false|no)$/i.test(process.env.MOSAIC_TOP_HISTORY ?? '');
  const transitions = await import('../transitions/history.js');
  const file = transitions.historyFile(paths.runDir);
  store.getState().setHistoryFile(historyOn ? file : null);
  if (historyOn) {
    const read = transitions.readHistory(file);
    store.getState().loadTransitions(read.transitions);
    if (read.error) store.getState().pushNotice(`history: ${read.error}`, 'warn');
  }
  const { startConsoleFeed } = await import('./console-feed.js');
  const { alertRequested, createAlerter } = await import('../transitions/alert.js');
  return startConsoleFeed({
    store,
    historyFile: historyOn ? file : null,
    alert: alertRequested(opts.notifyBell) ? createAlerter().alert : null,
  });
}

/** The view's modules, loaded as an interactive terminal needs them ({@link importInteractive}). */
function loadView() {
  return importInteractive(() =>
    Promise.all([import('ink'), import('react'), import('../../components/App.js'), import('../../hooks/useConsoleStore.js'), import('../actions/watch.js')]),
  );
}
type ViewModules = Awaited<ReturnType<typeof loadView>>;

/** What a running console holds while Ink mounts and unmounts around watches. */
interface ConsoleSession {
  store: ConsoleStore;
  paths: MosaicPaths;
  poller: Poller;
  view: ViewModules;
}

/**
 * Mounts Ink until `q` (or a signal), handing the terminal over for each `w` (watch) and
 * mounting again afterwards. Installs the signal handlers and the exit-time terminal restore
 * for its duration and removes them before it returns.
 */
async function mountLoop(session: ConsoleSession): Promise<void> {
  const { store, paths, poller } = session;
  const [{ render }, React, { App }, { ConsoleProvider }, { watchAgent }] = session.view;
  const { runTmux } = await import('../../fleet/exec.js');
  let endMount: ((end: MountEnd) => void) | null = null;
  // A quit asked while Ink is not mounted (during a watch, before the first mount) is kept here.
  let quitRequested = false;
  const requestEnd = (end: MountEnd) => {
    if (end.kind === 'quit') quitRequested = true;
    endMount?.(end);
  };
  const actions: ConsoleActions = createConsoleActions({
    store,
    paths,
    poller,
    quit: () => requestEnd({ kind: 'quit' }),
    watch: (agent) => requestEnd({ kind: 'watch', agent }),
  });
  // The agent being watched while the terminal is handed over (null otherwise).
  let watching: AgentRow | null = null;
  /**
   * A signal during a watch must end the attach even if it came while the viewer was still
   * being set up (watchAgent's own handlers are not installed yet): keep killing the viewer
   * session until watchAgent returns (15 s at most: a loaded machine may be slow to attach).
   */
  const endWatch = async (agent: AgentRow) => {
    const viewer = viewerSessionName(agent.name);
    const deadline = Date.now() + 15_000;
    while (watching === agent && Date.now() < deadline) {
      await runTmux(agentTmuxServer(agent, paths), ['kill-session', '-t', `=${viewer}`], { timeoutMs: 1000 });
      await delay(100);
    }
  };
  const removeHandlers = installTerminalHandlers(() => {
    requestEnd({ kind: 'quit' });
    if (watching) void endWatch(watching);
  });
  try {
    while (!quitRequested) {
      process.stdout.write(ENTER_ALT_SCREEN);
      const ended = new Promise<MountEnd>((resolve) => {
        endMount = resolve;
      });
      const instance = render(React.createElement(ConsoleProvider, { store, actions }, React.createElement(App)), {
        exitOnCtrlC: false,
        patchConsole: false,
        maxFps: CONSOLE_MAX_FPS,
      });
      const end = await ended;
      endMount = null;
      instance.unmount();
      await instance.waitUntilExit().catch(() => {});
      restoreTerminal();
      if (end.kind === 'quit' || quitRequested) break;
      watching = end.agent;
      const result = await watchAgent({
        agent: end.agent.name,
        socket: agentTmuxServer(end.agent, paths),
        onBeforeAttach: (message) => process.stdout.write(`${message}\n`),
      }).catch((error: unknown) => ({ ok: false, error: messageOf(error) }));
      watching = null;
      if (quitRequested) break; // SIGTERM/SIGHUP during the watch: quit, do not come back
      store.getState().pushNotice(result.ok ? `back from watching ${end.agent.name}` : `watch: ${result.error ?? 'failed'}`, result.ok ? 'info' : 'error');
      poller.refresh();
    }
  } finally {
    removeHandlers();
  }
}

/** Leaves the alternate screen, shows the cursor, turns raw mode off. */
function restoreTerminal(): void {
  if (process.stdin.isTTY) {
    try {
      process.stdin.setRawMode(false);
    } catch {
      /* already closed */
    }
  }
  process.stdout.write(LEAVE_ALT_SCREEN + SHOW_CURSOR);
}

/**
 * Calls `onSignal` on SIGINT (in raw mode ctrl-c arrives as a key; a SIGINT can still come from
 * `kill -INT`), SIGTERM and SIGHUP, and restores the terminal at exit; returns the removal.
 */
function installTerminalHandlers(onSignal: () => void): () => void {
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('exit', restoreTerminal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    process.off('exit', restoreTerminal);
  };
}

/**
 * Opens the interactive console. Returns the exit code: 0 after `q`/ctrl-c/SIGINT/SIGTERM/SIGHUP,
 * 2 when stdin/stdout is not a terminal or the terminal is `TERM=dumb` (use `--once`). The terminal is always restored:
 * alternate screen left, cursor shown, raw mode off.
 */
export async function runConsole(opts: GlobalOptions, extra: ConsoleRunOptions = {}): Promise<number> {
  if (!process.stdout.isTTY || !process.stdin.isTTY) {
    process.stderr.write('mosaic-top: the console needs a terminal (stdin and stdout); use --once [--json] for a snapshot\n');
    return 2;
  }
  const problem = terminalProblem();
  if (problem) {
    process.stderr.write(`${problem}\n`);
    return 2;
  }
  const paths = resolvePaths({ mosaicHome: opts.mosaicHome, roster: opts.roster });
  // React's development build costs several times the CPU per frame (dev checks, component
  // tracking): the console runs the production build unless the operator asked otherwise.
  process.env.NODE_ENV ??= 'production';
  const source = await consoleSource(paths, extra);
  const { capturePane } = await import('../../fleet/capture.js');
  const store = createConsoleStore({ readonly: Boolean(opts.readonly), color: !noColorRequested() });
  extra.onStore?.(store);
  const feed = await startFeed(store, paths, opts);
  // A tick that moves only the fleet table's cells (ages) redraws the table's text alone, once the view is loaded.
  let redrawCells: ((snapshot: Snapshot, nowMs: number) => boolean) | null = null;
  const poller: Poller = createPoller({
    store,
    collect: source.collect,
    // A remote agent's pane over ssh (the snapshot's ControlMaster): one more ssh per tick, only while the preview is on.
    capture: (agent, target, signal) => capturePane(agentTmuxServer(agent, paths), target, { signal }),
    intervalMs: Math.max(0.2, opts.interval) * 1000,
    redrawCells: (snapshot, nowMs) => redrawCells?.(snapshot, nowMs) ?? false,
  });
  // A push (tmux said something changed) runs a tick soon instead of an interval later.
  source.onChange(() => poller.nudge());
  // The first snapshot's probes run while ink and react load (~0.5 s): the first frame with
  // agents comes sooner.
  poller.start();
  try {
    const view = await loadView();
    const { redrawFleetCells } = view[2];
    // The table's changed lines written alone when Ink's frame allows it (src/ink/line-write.ts).
    const writer = await (await import('../ink/line-write.js')).loadInkLineWriter();
    const direct = writer ? { writer, stdout: process.stdout } : undefined;
    redrawCells = (snapshot, nowMs) => {
      const was = store.getState().fleet.snapshot;
      if (!redrawFleetCells(store, snapshot, nowMs, direct)) return false;
      // Only cells moved: no transition between the two, the feed needs no diff (console-feed.ts).
      feed.quietlyReplaced(was, snapshot);
      return true;
    };
    // Same frames, a cheaper output pass (src/ink/output.ts); Ink's own when versions differ.
    await (await import('../ink/output.js')).installFastOutputPass();
    await mountLoop({ store, paths, poller, view });
  } finally {
    poller.stop();
    feed.stop();
    await feed.idle();
    await source.close();
    process.stdin.pause();
  }
  return 0;
}
