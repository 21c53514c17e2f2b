/**
 * The poller: feeds the console store with snapshots every `--interval` seconds (a tick never starts while one runs).
 * Ticks never overlap (k9s skips a refresh while one runs); a refresh invalidates the
 * generation so a result started before it is dropped (lazygit's refresh_helper); one
 * AbortController is aborted on stop, which kills every subprocess in flight (fleet/exec.ts
 * runProbe: SIGKILL, pipes destroyed). A failed tick leaves every row `unknown` with the
 * failure as evidence (store tickFailed). Also advances the store's clock every second for live countdowns, and
 * captures the selected agent's pane when the preview is on.
 */
import { sanitizeLines } from '../lib/sanitize.js';
import type { AgentRow, Snapshot } from './snapshot/types.js';
import type { ConsoleStore } from './store/index.js';
import { selectedIndex, visibleAgents } from './store/selectors.js';
import { snapshotViewKey } from './snapshot/view-key.js';

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

/** Creates a poller for `store` (not started). Never throws from a tick: failures go to the store. */
export function createPoller(opts: PollerOptions): Poller {
  const { store } = opts;
  const controller = new AbortController();
  const stats: PollerStats = { started: 0, skipped: 0, dropped: 0, applied: 0, unchanged: 0, nudged: 0 };
  let nudgeTimer: NodeJS.Timeout | null = null;
  /** The last applied snapshot and its view key: a tick that would draw the same is not applied. */
  let lastApplied: { snapshot: Snapshot; key: string } | null = null;
  let generation = 0;
  let running: Promise<void> | null = null;
  let rerun = false;
  let stopped = false;
  let interval: NodeJS.Timeout | null = null;
  let clock: NodeJS.Timeout | null = null;

  type Preview = ReturnType<ConsoleStore['getState']>['ui']['preview'];

  /** The preview for the selected agent of `snapshot` (null: none selected), never throws. */
  async function takePreview(snapshot: Snapshot | null): Promise<Preview> {
    const s = store.getState();
    const agents = visibleAgents(snapshot, s.ui.filter);
    const i = selectedIndex(
      agents.map((a) => a.name),
      s.ui.selectedAgent,
    );
    const agent = i >= 0 ? agents[i] : null;
    if (!agent || !opts.capture) return null;
    if (!agent.pane || agent.pane.dead) return { agent: agent.name, lines: [], error: `no live pane for ${agent.name}` };
    try {
      const text = await opts.capture(agent, agent.pane.target, controller.signal);
      return { agent: agent.name, lines: sanitizeLines(text.replace(/\s+$/, '')), error: null };
    } catch (error) {
      return { agent: agent.name, lines: [], error: (error as Error).message };
    }
  }

  async function capturePreview(): Promise<void> {
    if (!store.getState().ui.previewOn || !opts.capture || stopped) return;
    const preview = await takePreview(store.getState().fleet.snapshot);
    if (!stopped && store.getState().ui.previewOn) store.getState().setPreview(preview);
  }

  const tickTimeoutMs = opts.tickTimeoutMs ?? Math.max(10_000, 5 * opts.intervalMs);

  async function runTick(): Promise<void> {
    const gen = generation;
    stats.started++;
    const tickController = new AbortController();
    const signal = AbortSignal.any([controller.signal, tickController.signal]);
    let timer: NodeJS.Timeout | null = null;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        tickController.abort();
        reject(new Error(`snapshot timed out after ${tickTimeoutMs} ms (probes aborted)`));
      }, tickTimeoutMs);
    });
    try {
      const snapshot = await Promise.race([opts.collect(signal), timedOut]);
      if (stopped) return;
      if (gen !== generation) {
        stats.dropped++;
        return;
      }
      // With the preview on, capture first and apply both at once: one render per tick.
      const preview = store.getState().ui.previewOn && opts.capture ? await takePreview(snapshot) : undefined;
      if (stopped) return;
      if (gen !== generation) {
        stats.dropped++;
        return;
      }
      const nowMs = Date.now();
      const key = snapshotViewKey(snapshot, nowMs);
      if (sameView(key, preview)) {
        stats.unchanged++;
        return;
      }
      store.getState().applySnapshot(snapshot, nowMs, preview);
      lastApplied = { snapshot, key };
      stats.applied++;
    } catch (error) {
      if (!stopped && gen === generation) store.getState().tickFailed((error as Error).message ?? String(error));
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /**
   * True when applying a snapshot of view key `key` (and `preview`) would draw what the store
   * shows already: the store still holds the last applied snapshot (no failed tick since), no
   * progress notice waits for a snapshot, and the preview (when captured) has the same lines.
   */
  function sameView(key: string, preview: Preview | undefined): boolean {
    const s = store.getState();
    if (!lastApplied || lastApplied.key !== key || s.fleet.snapshot !== lastApplied.snapshot || s.fleet.tickError !== null) return false;
    const last = s.ui.notices.at(-1);
    if (last?.level === 'progress' && (s.fleet.snapshotAtMs ?? 0) < last.atMs) return false;
    return preview === undefined || JSON.stringify(preview) === JSON.stringify(s.ui.preview);
  }

  function tick(): void {
    if (stopped) return;
    if (running) {
      stats.skipped++;
      return;
    }
    running = runTick().finally(() => {
      running = null;
      if (rerun && !stopped) {
        rerun = false;
        tick();
      }
    });
  }

  return {
    stats,
    start() {
      if (interval || stopped) return;
      interval = setInterval(tick, opts.intervalMs);
      clock = setInterval(() => store.getState().tickClock(Date.now()), opts.clockMs ?? 1000);
      tick();
    },
    nudge() {
      if (stopped || nudgeTimer) return;
      nudgeTimer = setTimeout(() => {
        nudgeTimer = null;
        stats.nudged++;
        if (running) rerun = true;
        else tick();
      }, NUDGE_DELAY_MS);
    },
    stop() {
      stopped = true;
      if (nudgeTimer) clearTimeout(nudgeTimer);
      if (interval) clearInterval(interval);
      if (clock) clearInterval(clock);
      interval = clock = null;
      controller.abort();
    },
    refresh() {
      generation++;
      if (running) rerun = true;
      else tick();
    },
    capturePreview,
    async idle() {
      while (running) await running;
    },
  };
}
