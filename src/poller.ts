/**
 * The poller: feeds the console store with snapshots every `--interval` seconds (a tick never starts while one runs).
 * Ticks never overlap (k9s skips a refresh while one runs); a refresh invalidates the
 * generation so a result started before it is dropped (lazygit's refresh_helper); one
 * AbortController is aborted on stop, which kills every subprocess in flight (fleet/exec.ts
 * runProbe: SIGKILL, pipes destroyed). A failed tick leaves every row `unknown` with the
 * failure as evidence (store tickFailed). Also advances the store's clock every second for live countdowns, and
 * captures the selected agent's pane when the preview is on.
 */
import { messageOf } from '../lib/errors.js';
import { sanitizeLines } from '../lib/sanitize.js';
import type { AgentRow, Snapshot } from './snapshot/types.js';
import type { ConsoleStore } from './store/index.js';
import { selectedIndex, visibleAgents } from './store/selectors.js';
import { sameSnapshotView } from './snapshot/view-key.js';
import { onlyCellsDiffer } from './snapshot/view-cells.js';

/** A push (tmux notification, a file written) runs a tick this long after it, so a burst makes one tick. Milliseconds. */
export const NUDGE_DELAY_MS = 100;

/** What the poller needs: the store to feed, how to take a snapshot and capture a pane, how often. */
export interface PollerOptions {
  store: ConsoleStore;
  /** Takes one snapshot; must honour the signal (abort kills its subprocesses). */
  collect: (signal: AbortSignal) => Promise<Snapshot>;
  /**
   * Captures the visible text (raw; the poller sanitizes it) of `agent`'s live pane `target` —
   * on its socket here, or over ssh for an agent of another host (console/run.ts).
   */
  capture?: (agent: AgentRow, target: string, signal: AbortSignal) => Promise<string>;
  /** Poll interval, milliseconds. */
  intervalMs: number;
  /** Clock tick for countdowns, milliseconds (default 1000). */
  clockMs?: number;
  /**
   * A tick still running after this long is aborted (its subprocesses killed) and reported as
   * failed, so one hung probe cannot stop the console updating. Milliseconds; default
   * max(10 000, 5 × intervalMs).
   */
  tickTimeoutMs?: number;
  /**
   * Draws a snapshot that changes only the fleet table's cells (src/snapshot/view-cells.ts: a
   * live fleet's ages) and applies it to the store quietly (the console: the table's text
   * redrawn alone, components/FleetTable.tsx `redrawFleetCells`); false when it cannot (the
   * snapshot is then applied as usual: one store update, one React render).
   */
  redrawCells?: (snapshot: Snapshot, nowMs: number) => boolean;
}

/** Counters for tests and the bench. */
export interface PollerStats {
  /** Ticks started. */
  started: number;
  /** Ticks skipped because one was running. */
  skipped: number;
  /** Results dropped because a refresh made them outdated. */
  dropped: number;
  /** Snapshots applied to the store. */
  applied: number;
  /** Snapshots not applied: they draw what is on screen already (src/snapshot/view-key.ts). */
  unchanged: number;
  /** Ticks run early because a push source said something changed. */
  nudged: number;
  /** Snapshots that changed only the fleet table's cells, drawn by `redrawCells` (no store notification). */
  cellsRedrawn: number;
}

/** A running (or stopped) poller: start/stop, refresh now, counters. */
export interface Poller {
  /** Starts the interval and runs a first tick at once. */
  start: () => void;
  /** Stops the timers and aborts everything in flight. Idempotent. */
  stop: () => void;
  /** Refresh now (`r`, after actions): outdates a running tick and runs a fresh one after it. */
  refresh: () => void;
  /** Something changed (a push source said so): run a tick soon ({@link NUDGE_DELAY_MS}), after the running one. */
  nudge: () => void;
  /** Captures the preview now (when the preview is on). */
  capturePreview: () => Promise<void>;
  /** Resolves when no tick is running (tests). */
  idle: () => Promise<void>;
  readonly stats: PollerStats;
}

type Preview = ReturnType<ConsoleStore['getState']>['ui']['preview'];

/** Creates a poller for `store` (not started). Never throws from a tick: failures go to the store. */
export function createPoller(opts: PollerOptions): Poller {
  return new TickLoop(opts);
}

/**
 * The preview of the selected agent of `snapshot` as the store's filter and selection show it
 * (null: none selected, or no capture). Never throws: a failed capture is the preview's error.
 */
async function takePreview(store: ConsoleStore, snapshot: Snapshot | null, capture: PollerOptions['capture'], signal: AbortSignal): Promise<Preview> {
  const s = store.getState();
  const agents = visibleAgents(snapshot, s.ui.filter);
  const i = selectedIndex(
    agents.map((a) => a.name),
    s.ui.selectedAgent,
  );
  const agent = i >= 0 ? agents[i] : undefined;
  if (!agent || !capture) return null;
  if (!agent.pane || agent.pane.dead) return { agent: agent.name, lines: [], error: `no live pane for ${agent.name}` };
  try {
    const text = await capture(agent, agent.pane.target, signal);
    return { agent: agent.name, lines: sanitizeLines(text.replace(/\s+$/, '')), error: null };
  } catch (error) {
    return { agent: agent.name, lines: [], error: messageOf(error) };
  }
}

/** `collect(signal)`, aborted (its subprocesses killed) and rejected when it runs over `timeoutMs`. */
async function collectWithin(collect: PollerOptions['collect'], signal: AbortSignal, timeoutMs: number): Promise<Snapshot> {
  const tickController = new AbortController();
  let timer: NodeJS.Timeout | null = null;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      tickController.abort();
      reject(new Error(`snapshot timed out after ${timeoutMs} ms (probes aborted)`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([collect(AbortSignal.any([signal, tickController.signal])), timedOut]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** The poller's state and tick loop (see the module comment); methods are bound (safe to pass around). */
class TickLoop implements Poller {
  readonly stats: PollerStats = { started: 0, skipped: 0, dropped: 0, applied: 0, unchanged: 0, nudged: 0, cellsRedrawn: 0 };
  private readonly opts: PollerOptions;
  private readonly store: ConsoleStore;
  /** Aborted on stop: kills every subprocess in flight. */
  private readonly controller = new AbortController();
  private readonly tickTimeoutMs: number;
  private nudgeTimer: NodeJS.Timeout | null = null;
  /** The last applied snapshot and when it was applied (unix ms): a tick that would draw the same is not applied. */
  private lastApplied: { snapshot: Snapshot; nowMs: number } | null = null;
  private generation = 0;
  private running: Promise<void> | null = null;
  private rerun = false;
  private stopped = false;
  private interval: NodeJS.Timeout | null = null;
  private clock: NodeJS.Timeout | null = null;

  constructor(opts: PollerOptions) {
    this.opts = opts;
    this.store = opts.store;
    this.tickTimeoutMs = opts.tickTimeoutMs ?? Math.max(10_000, 5 * opts.intervalMs);
  }

  start = (): void => {
    if (this.interval || this.stopped) return;
    this.interval = setInterval(this.tick, this.opts.intervalMs);
    this.clock = setInterval(() => this.store.getState().tickClock(Date.now()), this.opts.clockMs ?? 1000);
    this.tick();
  };

  nudge = (): void => {
    if (this.stopped || this.nudgeTimer) return;
    this.nudgeTimer = setTimeout(() => {
      this.nudgeTimer = null;
      this.stats.nudged++;
      if (this.running) this.rerun = true;
      else this.tick();
    }, NUDGE_DELAY_MS);
  };

  stop = (): void => {
    this.stopped = true;
    if (this.nudgeTimer) clearTimeout(this.nudgeTimer);
    if (this.interval) clearInterval(this.interval);
    if (this.clock) clearInterval(this.clock);
    this.interval = this.clock = null;
    this.controller.abort();
  };

  refresh = (): void => {
    this.generation++;
    if (this.running) this.rerun = true;
    else this.tick();
  };

  capturePreview = async (): Promise<void> => {
    const { store } = this;
    if (!store.getState().ui.previewOn || !this.opts.capture || this.stopped) return;
    const preview = await takePreview(store, store.getState().fleet.snapshot, this.opts.capture, this.controller.signal);
    if (!this.stopped && store.getState().ui.previewOn) store.getState().setPreview(preview);
  };

  idle = async (): Promise<void> => {
    while (this.running) await this.running;
  };

  private tick = (): void => {
    if (this.stopped) return;
    if (this.running) {
      this.stats.skipped++;
      return;
    }
    this.running = this.runTick().finally(() => {
      this.running = null;
      if (this.rerun && !this.stopped) {
        this.rerun = false;
        this.tick();
      }
    });
  };

  /** True while the tick of generation `gen` may still apply its result (counts a drop when not). */
  private current(gen: number): boolean {
    if (this.stopped) return false;
    if (gen === this.generation) return true;
    this.stats.dropped++;
    return false;
  }

  private async runTick(): Promise<void> {
    const gen = this.generation;
    const { store, opts } = this;
    this.stats.started++;
    try {
      const snapshot = await collectWithin(opts.collect, this.controller.signal, this.tickTimeoutMs);
      if (!this.current(gen)) return;
      // With the preview on, capture first and apply both at once: one render per tick.
      const preview = store.getState().ui.previewOn && opts.capture ? await takePreview(store, snapshot, opts.capture, this.controller.signal) : undefined;
      if (!this.current(gen)) return;
      const nowMs = Date.now();
      const change = this.viewChange(snapshot, nowMs, preview);
      if (change === 'none') {
        this.stats.unchanged++;
        return;
      }
      if (change === 'cells' && opts.redrawCells?.(snapshot, nowMs)) {
        this.lastApplied = { snapshot, nowMs };
        this.stats.cellsRedrawn++;
        return;
      }
      store.getState().applySnapshot(snapshot, nowMs, preview);
      this.lastApplied = { snapshot, nowMs };
      this.stats.applied++;
    } catch (error) {
      if (!this.stopped && gen === this.generation) store.getState().tickFailed(messageOf(error));
    }
  }

  /**
   * What applying `snapshot` taken at `nowMs` (and `preview`) would change on screen: `none`
   * when it draws what the store shows already — the store still holds the last applied
   * snapshot (no failed tick since), both draw the same (src/snapshot/view-key.ts), no progress
   * notice waits for a snapshot, and the preview (when captured) has the same lines; `cells`
   * when, under the same conditions, only the fleet table's cells differ
   * (src/snapshot/view-cells.ts); `all` otherwise.
   */
  private viewChange(snapshot: Snapshot, nowMs: number, preview: Preview | undefined): 'none' | 'cells' | 'all' {
    const s = this.store.getState();
    const last = this.lastApplied;
    if (!last || s.fleet.snapshot !== last.snapshot || s.fleet.tickError !== null) return 'all';
    const notice = s.ui.notices.at(-1);
    if (notice?.level === 'progress' && (s.fleet.snapshotAtMs ?? 0) < notice.atMs) return 'all';
    if (preview !== undefined && JSON.stringify(preview) !== JSON.stringify(s.ui.preview)) return 'all';
    if (sameSnapshotView(last.snapshot, last.nowMs, snapshot, nowMs)) return 'none';
    return this.opts.redrawCells && onlyCellsDiffer(last.snapshot, last.nowMs, snapshot, nowMs) ? 'cells' : 'all';
  }
}
