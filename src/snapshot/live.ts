/**
 * The live collector: the ONE snapshot source of every long-running observer (the console,
 * `mosaic-top serve`). It builds {@link collectSnapshot}'s kept state once — roster cache,
 * systemd back-off, the tmux environment, one backlog client, the screen reader and rules,
 * lingering, the incremental process-tree reader, the spend meter — and the push sources
 * (src/snapshot/push-sources.ts: one tmux control-mode client per local socket answers the pane
 * lists and says when something changed; fleet/systemd-push.ts keeps the units' states until the
 * user bus says one changed). A caller takes a snapshot per tick with
 * {@link LiveCollector.collect} and subscribes to the pushes with {@link LiveCollector.onChange}
 * (the poller's `nudge`), so whoever observes the fleet sees it the same way.
 *
 * Switches (environment, read once at creation): `MOSAIC_TOP_NO_PUSH=1` polls with subprocesses
 * only; `MOSAIC_TOP_SPEND=off` leaves the spend meter out (src/snapshot/spend-switch.ts).
 */
import type { MosaicPaths } from '../../lib/paths.js';
import type { CollectSnapshotOptions } from './collect.js';
import type { SystemdPush } from '../../fleet/systemd-push.js';
import type { TmuxControlPool } from './push-sources.js';
import type { SnapshotSpend } from './spend.js';
import { spendMeterWanted } from './spend-switch.js';
import type { Readiness, Snapshot } from './types.js';

/** Options of {@link createLiveCollector}. */
export interface LiveCollectorOptions {
  paths: MosaicPaths;
  /** When `agent` entered `readiness` (ISO), e.g. from the transition history; default: unknown. */
  sinceOf?: (agent: string, readiness: Readiness) => string | null;
  /** Environment the switches are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** A live collector: collect per tick, pushes to subscribers, one close. */
export interface LiveCollector {
  /** Takes one snapshot with the kept state; honours `signal` (abort kills its subprocesses). Never throws for a failed probe. */
  collect: (signal: AbortSignal) => Promise<Snapshot>;
  /** Calls `listener` when a push source says the fleet changed (debounce it: the poller's nudge does); returns the unsubscribe. */
  onChange: (listener: () => void) => () => void;
  /** Detaches the tmux control clients and closes the backlog client. Idempotent. */
  close: () => Promise<void>;
  /** The tmux control clients (null with push off): their counters tell how pane lists were answered. */
  readonly tmuxPool: TmuxControlPool | null;
  /** The systemd probe kept between bus signals (null with push off): its counters tell how unit states were answered. */
  readonly systemdPush: SystemdPush | null;
  /** The spend meter's state (undefined with the meter off): the spend view reads its files. */
  readonly spend: SnapshotSpend | undefined;
}

/** The modules the collector needs, loaded together (the `--once` path never pays for them). */
function loadModules() {
  return Promise.all([
    import('./collect.js'),
    import('../../fleet/roster.js'),
    import('../../fleet/systemd.js'),
    import('../../fleet/exec.js'),
    import('../../backlog/snapshot.js'),
    import('../../fleet/proc-reader.js'),
    import('../../fleet/screen-probe.js'),
    import('../../fleet/screen-rules-file.js'),
    import('../../fleet/linger.js'),
    import('./push-sources.js'),
    import('../../fleet/run-dir-watch.js'),
    import('../../fleet/systemd-push.js'),
  ]);
}

/**
 * Builds the live collector for `opts.paths` (nothing runs until the first `collect`, except
 * the control clients, which start on a socket's first pane list). Throws only when a module
 * cannot be loaded.
 */
export async function createLiveCollector(opts: LiveCollectorOptions): Promise<LiveCollector> {
  const env = opts.env ?? process.env;
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
    { RunDirWatch, isPausedChange },
    { SystemdPush },
  ] = await loadModules();
  const { paths } = opts;
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of listeners) l();
  };
  // The environment does not change while an observer runs: build tmux's once, not per tick.
  const tmuxEnv = makeTmuxEnv();
  const push = pushEnabled(env);
  // Push: the control clients answer the pane lists and say when something changed.
  const tmuxPool = push ? new TmuxControlPool({ env: tmuxEnv, onChange: notify }) : null;
  // Beats, PAUSED and env files re-read only when their dir's watch says they changed (fleet/run-dir-watch.ts); PAUSED pushes.
  const runDirWatch = push ? new RunDirWatch({ onChange: (_dir, name) => isPausedChange(name) && notify() }) : null;
  // Units' states kept until the user bus says one changed (fleet/systemd-push.ts); a change pushes.
  const systemdPush = push ? new SystemdPush({ env, onChange: notify }) : null;
  // One backlog client for the observer's life, not one per tick (one Postgres connection).
  const backlogReader = createBacklogSectionReader();
  // The spend meter reads only the bytes the runtimes' records gained since the last tick.
  // With push on, through directory watches: a tick where no record changed touches no file.
  const spend = spendMeterWanted(env) ? new (await import('./spend.js')).SnapshotSpend(paths, { watch: pushEnabled(env) }) : undefined;
  const kept: Omit<CollectSnapshotOptions, 'signal'> = {
    paths,
    rosterCache: new RosterCache(paths.roster),
    // Without systemd (no systemctl, no user bus) a spawn per tick buys nothing: ask every 30 s.
    systemdBackoff: new SystemdBackoff(),
    tmuxEnv,
    readBacklog: backlogReader.read,
    // Screens: the last reading per agent, so only panes that moved are captured again.
    screenReader: new ScreenReader(),
    screenRules: new ScreenRulesCache(screenRulesOverridePath(paths.mosaicHome)),
    // Lingering (fleet-level LINGER): read at the first tick, then at most every 30 s.
    linger: new LingerCache(currentTenant(), { dir: lingerDir() }),
    // The process table changes little between ticks: read only what changed (full every 30 s).
    procReader: new ProcessTreeReader(),
    spend,
    ...(opts.sinceOf ? { sinceOf: opts.sinceOf } : {}),
    ...(tmuxPool ? { listPanes: (socket, o) => tmuxPool.list(socket, o) } : {}),
    ...(runDirWatch ? { runDirReaders: runDirWatch } : {}),
    ...(systemdPush ? { probeUnits: systemdPush.probe.bind(systemdPush) } : {}),
  };
  let closed = false;
  return {
    tmuxPool,
    systemdPush,
    spend,
    collect: (signal) => collectSnapshot({ ...kept, signal }),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      tmuxPool?.close();
      runDirWatch?.close();
      systemdPush?.close();
      spend?.close();
      await backlogReader.close();
    },
  };
}
