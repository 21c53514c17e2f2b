/**
 * The serve hub: ONE poller (src/poller.ts) feeding ONE console store, however many HTTP clients
 * read it. Each applied snapshot is diffed with the previous one (src/transitions/diff.ts, the
 * first is the baseline) and handed to the listeners — the SSE streams, the metrics — together
 * with its transitions; transitions are recorded in the run dir's history like the console's
 * (src/transitions/history.ts HistoryWriter: deduped against another observer, in the
 * background). The collector is the console's own (src/snapshot/live.ts): the same kept state,
 * spend meter and tmux push sources, so a change is served as soon as the console would show it.
 */
import type { MosaicPaths } from '../../lib/paths.js';
import { createPoller, type Poller } from '../poller.js';
import { createLiveCollector, type LiveCollector } from '../snapshot/live.js';
import type { Snapshot } from '../snapshot/types.js';
import { createConsoleStore, type ConsoleStore } from '../store/index.js';
import { diffSnapshots, type Transition } from '../transitions/diff.js';

/** One applied snapshot and the transitions it showed (empty for the baseline). */
export interface HubTick {
  snapshot: Snapshot;
  transitions: Transition[];
  /** Wall time of the collect that produced it, seconds. */
  durationSeconds: number;
  /** 1 for the first snapshot, then +1 per applied snapshot (a failed tick's stale copy too). */
  seq: number;
}

/** The running hub. */
export interface FleetHub {
  /** The last snapshot (after a failed tick: the last one with every agent `unknown`); null before the first. */
  current(): HubTick | null;
  /** Recent transitions (the history at start, then observed), oldest first, bounded by the store. */
  recentTransitions(): readonly Transition[];
  /** Transitions observed since start, counted by `to` (a cleared flag counts as `cleared`). */
  readonly transitionCounts: ReadonlyMap<string, number>;
  /** Calls `listener` after every applied snapshot; returns the unsubscribe function. */
  onTick(listener: (tick: HubTick) => void): () => void;
  /** Takes a snapshot now (after an action). */
  refresh(): void;
  /** Resolves once the first snapshot is applied (or `timeoutMs` passed). */
  ready(timeoutMs: number): Promise<boolean>;
  /** Stops the poller (kills probes in flight), flushes the history, closes the backlog client. */
  stop(): Promise<void>;
  readonly poller: Poller;
  readonly store: ConsoleStore;
  /** The live collector (the console's: push sources, spend meter); null with {@link HubOptions.collect}. */
  readonly live: LiveCollector | null;
}

/** Options of {@link startFleetHub}. */
export interface HubOptions {
  paths: MosaicPaths;
  /** Poll interval, milliseconds. */
  intervalMs: number;
  /** Record transitions in `<run>/transitions.ndjson` (default true; `MOSAIC_TOP_HISTORY=off` turns it off). */
  history?: boolean;
  /** Snapshot source instead of the console's collector (tests, bench). */
  collect?: (signal: AbortSignal) => Promise<Snapshot>;
}

/** A caller's snapshot source in the live collector's shape (no pushes, nothing to close). */
function ownSource(collect: HubOptions['collect']): Pick<LiveCollector, 'collect' | 'onChange' | 'close'> {
  if (!collect) throw new Error('serve hub: no snapshot source');
  return { collect, onChange: () => () => {}, close: async () => {} };
}

/** Starts the hub: loads the history, builds the collector, starts the poller (first tick at once). */
export async function startFleetHub(opts: HubOptions): Promise<FleetHub> {
  const store = createConsoleStore({ readonly: true, color: false });
  const historyOn = (opts.history ?? true) && !/^(0|off|false|no)$/i.test(process.env.MOSAIC_TOP_HISTORY ?? '');
  const history = await import('../transitions/history.js');
  const file = history.historyFile(opts.paths.runDir);
  store.getState().setHistoryFile(historyOn ? file : null);
  if (historyOn) store.getState().loadTransitions(history.readHistory(file).transitions);
  const sinceOf = (agent: string, readiness: string) => history.sinceFromHistory(store.getState().transitions.list, agent, readiness);
  const live = opts.collect ? null : await createLiveCollector({ paths: opts.paths, sinceOf });
  const source: Pick<LiveCollector, 'collect' | 'onChange' | 'close'> = live ?? ownSource(opts.collect);
  let lastDuration = 0;
  const timed = async (signal: AbortSignal) => {
    const started = performance.now();
    try {
      return await source.collect(signal);
    } finally {
      lastDuration = (performance.now() - started) / 1000;
    }
  };
  const writer = historyOn ? new history.HistoryWriter(file, () => {}) : null;
  const listeners = new Set<(tick: HubTick) => void>();
  const counts = new Map<string, number>();
  let current: HubTick | null = null;
  let prev: Snapshot | null = null;
  let readyResolve: (() => void) | null = null;
  const readyPromise = new Promise<void>((resolve) => (readyResolve = resolve));
  const unsubscribe = store.subscribe((s) => {
    const snap = s.fleet.snapshot;
    if (!snap || snap === prev) return;
    const transitions = diffSnapshots(prev, snap);
    prev = snap;
    if (transitions.length) {
      // Nested store update: this listener sees the same snapshot again and returns above.
      store.getState().addTransitions(transitions);
      writer?.append(transitions);
    }
    for (const t of transitions) {
      const to = t.to ?? 'cleared';
      counts.set(to, (counts.get(to) ?? 0) + 1);
    }
    current = { snapshot: snap, transitions, durationSeconds: lastDuration, seq: (current?.seq ?? 0) + 1 };
    readyResolve?.();
    for (const l of listeners) {
      try {
        l(current);
      } catch {
        // A listener's failure (a closed stream) is its own business.
      }
    }
  });
  const poller = createPoller({ store, collect: timed, intervalMs: opts.intervalMs });
  // A push (tmux said something changed) runs a tick soon instead of an interval later.
  source.onChange(() => poller.nudge());
  poller.start();
  return {
    poller,
    store,
    live,
    transitionCounts: counts,
    current: () => current,
    recentTransitions: () => store.getState().transitions.list,
    onTick(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    refresh: () => poller.refresh(),
    async ready(timeoutMs) {
      let timer: NodeJS.Timeout | null = null;
      const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
      const ok = await Promise.race([readyPromise.then(() => true), timeout]);
      if (timer) clearTimeout(timer);
      return ok;
    },
    async stop() {
      poller.stop();
      unsubscribe();
      listeners.clear();
      await writer?.idle();
      await source.close().catch(() => {});
    },
  };
}
