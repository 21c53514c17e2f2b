/**
 * Console mode: `mosaic-top` without a subcommand. Loads ink/react lazily (the
 * `--once` path never imports this module's heavy parts), draws on the alternate screen,
 * polls with src/poller.ts, and hands the terminal over for `w` (watch) by unmounting Ink and
 * mounting it again afterwards — the store survives, so selection, focus and filter too.
 */
import { spendMeterWanted } from '../snapshot/spend-switch.js';
import type { GlobalOptions } from '../options.js';
import { resolvePaths, type MosaicPaths } from '../../lib/paths.js';
import type { AgentRow, Snapshot } from '../snapshot/types.js';
import { createConsoleStore, type ConsoleStore } from '../store/index.js';
import { createPoller, type Poller } from '../poller.js';
import { createConsoleActions } from '../keys/commands.js';
import type { ConsoleActions } from '../keys/router.js';
import { agentTmuxServer } from '../actions/agent-target.js';
import { viewerSessionName } from '../../fleet/tmux.js';
import { delay } from '../../lib/delay.js';

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
  let collect = extra.collect;
  /** Closes what the default snapshot source keeps open between ticks (the backlog client). */
  let closeCollect = async (): Promise<void> => {};
  /** Runs a tick soon: set once the poller exists (push sources call it when something changed). */
  let nudge = (): void => {};
  if (!collect) {
    const [
      { collectSnapshot, currentTenant },
      { RosterCache },
      { SystemdBackoff },
      { tmuxEnv: makeTmuxEnv },
      { createBacklogSectionReader },
      { ProcessTreeReader },
      { ScreenReader },
      { ScreenRulesCache, screenRulesOverridePath },
      { LingerCache, lingerDir },
      { TmuxControlPool, pushEnabled },
    ] = await Promise.all([
      import('../snapshot/collect.js'),
      import('../../fleet/roster.js'),
      import('../../fleet/systemd.js'),
      import('../../fleet/exec.js'),
      import('../../backlog/snapshot.js'),
      import('../../fleet/proc.js'),
      import('../../fleet/screen-probe.js'),
      import('../../fleet/screen-rules-file.js'),
      import('../../fleet/linger.js'),
      import('../snapshot/push-sources.js'),
    ]);
    const rosterCache = new RosterCache(paths.roster);
    // Screens: the last reading per agent, so only panes that moved are captured again each tick.
    const screenReader = new ScreenReader();
    const screenRules = new ScreenRulesCache(screenRulesOverridePath(paths.mosaicHome));
    // Without systemd (no systemctl, no user bus) a spawn per tick buys nothing: ask every 30 s.
    const systemdBackoff = new SystemdBackoff();
    // The console's environment does not change while it runs: build tmux's once, not per tick.
    const tmuxEnv = makeTmuxEnv();
    // One backlog client for the console's life, not one per tick (one Postgres connection).
    const backlogReader = createBacklogSectionReader();
    // Push: tmux's control-mode clients answer the pane lists and say when something changed
    // (src/snapshot/push-sources.ts); MOSAIC_TOP_NO_PUSH=1 polls with subprocesses only.
    const tmuxPool = pushEnabled() ? new TmuxControlPool({ env: tmuxEnv, onChange: () => nudge() }) : null;
    closeCollect = async () => {
      tmuxPool?.close();
      await backlogReader.close();
    };
    // Lingering (fleet-level LINGER) is read at the first tick, then at most every 30 s.
    const linger = new LingerCache(currentTenant(), { dir: lingerDir() });
    // The process table changes little between ticks: read only what changed (full read every 30 s).
    const procReader = new ProcessTreeReader();
    // The spend meter: reads only the bytes the runtimes' records gained since the last tick.
    const spend = spendMeterWanted() ? new (await import('../snapshot/spend.js')).SnapshotSpend(paths) : undefined;
    collect = (p, signal) =>
      collectSnapshot({
        paths: p,
        rosterCache,
        systemdBackoff,
        tmuxEnv,
        signal,
        readBacklog: backlogReader.read,
        screenReader,
        screenRules,
        linger,
        procReader,
        spend,
        ...(tmuxPool ? { listPanes: (socket, o) => tmuxPool.list(socket, o) } : {}),
      });
  }
  const collectFn = collect;
  const { capturePane } = await import('../../fleet/capture.js');

  const store = createConsoleStore({ readonly: Boolean(opts.readonly), color: !noColorRequested() });
  extra.onStore?.(store);
  // Transitions: the recent past from the run dir's history, then what this console
  // observes, recorded there too. `MOSAIC_TOP_HISTORY=off` turns both off (the bench compares).
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
  const feed = startConsoleFeed({
    store,
    historyFile: historyOn ? file : null,
    alert: alertRequested(opts.notifyBell) ? createAlerter().alert : null,
  });
  const poller: Poller = createPoller({
    store,
    collect: (signal) => collectFn(paths, signal),
    // A remote agent's pane over ssh (the snapshot's ControlMaster): one more ssh per tick, only while the preview is on.
    capture: (agent, target, signal) => capturePane(agentTmuxServer(agent, paths), target, { signal }),
    intervalMs: Math.max(0.2, opts.interval) * 1000,
  });
  nudge = () => poller.nudge();
  // The first snapshot's probes run while ink and react load (~0.5 s): the first frame with
  // agents comes sooner.
  poller.start();
  let ui: [
    typeof import('ink'),
    typeof import('react'),
    typeof import('../../components/App.js'),
    typeof import('../../hooks/useConsoleStore.js'),
    typeof import('../actions/watch.js'),
  ];
  try {
    ui = await importInteractive(() =>
      Promise.all([import('ink'), import('react'), import('../../components/App.js'), import('../../hooks/useConsoleStore.js'), import('../actions/watch.js')]),
    );
  } catch (error) {
    poller.stop();
    await closeCollect();
    throw error;
  }
  const [{ render }, React, { App }, { ConsoleProvider }, { watchAgent }] = ui;
  // Same frames, a cheaper output pass (src/ink/output.ts); Ink's own when versions differ.
  await (await import('../ink/output.js')).installFastOutputPass();
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
  const onSignal = () => {
    requestEnd({ kind: 'quit' });
    if (watching) void endWatch(watching);
  };
  // In raw mode ctrl-c arrives as a key; a SIGINT can still come from `kill -INT`.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  const restoreTerminal = () => {
    if (process.stdin.isTTY) {
      try {
        process.stdin.setRawMode(false);
      } catch {
        /* already closed */
      }
    }
    process.stdout.write(LEAVE_ALT_SCREEN + SHOW_CURSOR);
  };
  process.on('exit', restoreTerminal);

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
      }).catch((error: Error) => ({ ok: false, error: error.message }));
      watching = null;
      if (quitRequested) break; // SIGTERM/SIGHUP during the watch: quit, do not come back
      store.getState().pushNotice(result.ok ? `back from watching ${end.agent.name}` : `watch: ${result.error ?? 'failed'}`, result.ok ? 'info' : 'error');
      poller.refresh();
    }
  } finally {
    poller.stop();
    feed.stop();
    await feed.idle();
    await closeCollect();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    process.off('exit', restoreTerminal);
    process.stdin.pause();
  }
  return 0;
}
