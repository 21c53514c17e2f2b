/**
 * The console as an observer of transitions (docs/transitions.md): on every snapshot the store applies,
 * diffs it with the previous one (the first is the baseline), adds the transitions to the
 * store, records them in the run dir's history (in the background, deduped against another
 * observer), shows a short notice for attention transitions, and — when asked — rings the
 * terminal / sends a desktop notification, quiet for the selected agent and for muted ones,
 * damped like `--notify` (one per agent and state per cool-down).
 */
import type { Snapshot } from '../snapshot/types.js';
import type { ConsoleStore } from '../store/index.js';
import { selectedAgentRow } from '../store/selectors.js';
import { diffSnapshots, transitionChange, transitionSubject, type Transition } from '../transitions/diff.js';
import { DEFAULT_NOTIFY_COOLDOWN_SECONDS, NotifyDamper } from '../transitions/damper.js';
import { HistoryWriter } from '../transitions/history.js';

/** Options of {@link startConsoleFeed}. */
export interface ConsoleFeedOptions {
  store: ConsoleStore;
  /** History file to record in; null: record nothing (history off). */
  historyFile: string | null;
  /** Rings for one transition (bell / desktop); null: no alert (the default). */
  alert: ((t: Transition) => void) | null;
  /** Cool-down of alerts per agent and state, seconds (default 300). */
  cooldownSeconds?: number;
  /** The clock, unix ms (default Date.now). */
  now?: () => number;
}

/** A running feed: stop it; wait for pending history writes (tests, exit). */
export interface ConsoleFeed {
  stop: () => void;
  idle: () => Promise<void>;
  /**
   * The store took `next` in place of `was` quietly (no notification), the poller having found
   * that only the fleet table's cells differ between them (src/snapshot/view-cells.ts
   * `onlyCellsDiffer`: same agents in the same order, the same readiness and flags, the same
   * fleet). Their diff is empty by that rule — a transition is a readiness, an agent flag or a
   * fleet flag's presence moving, all compared exactly there — so the feed takes `next` as its
   * baseline without diffing (when `was` is its baseline).
   */
  quietlyReplaced: (was: Snapshot | null, next: Snapshot) => void;
  readonly writer: HistoryWriter | null;
}

/** Work of the feeds, for tests that count it (never times): snapshot diffs run. */
export const feedWork = { diffs: 0 };

/** Short text of attention transitions for the notice line: `! coder1 working → dead · fleet +FLOOR`. */
export function attentionNotice(list: readonly Transition[]): string {
  const parts = list.map((t) => `${transitionSubject(t)} ${transitionChange(t)}`);
  return `! ${parts.length > 3 ? `${parts.slice(0, 3).join(' · ')} · +${parts.length - 3} more (t: transitions)` : parts.join(' · ')}`;
}

/** Subscribes the feed to `store`. */
export function startConsoleFeed(opts: ConsoleFeedOptions): ConsoleFeed {
  const { store } = opts;
  const now = opts.now ?? Date.now;
  const damper = new NotifyDamper((opts.cooldownSeconds ?? DEFAULT_NOTIFY_COOLDOWN_SECONDS) * 1000);
  let reported = false;
  const writer = opts.historyFile
    ? new HistoryWriter(opts.historyFile, (error) => {
        store.getState().setHistoryError(error);
        // Once: a read-only run dir would otherwise say so every tick.
        if (!reported) store.getState().pushNotice(`history not recorded: ${error}`, 'warn');
        reported = true;
      })
    : null;
  let prev: Snapshot | null = store.getState().fleet.snapshot;
  // Observed since the baseline snapshot's own time (the clock transitions carry in `at`).
  const observedAt = (snap: Snapshot) => {
    const t = Date.parse(snap.generatedAt);
    return Number.isFinite(t) ? t : now();
  };
  if (prev) store.getState().markObserved(observedAt(prev));
  const unsubscribe = store.subscribe((s) => {
    const snap = s.fleet.snapshot;
    if (!snap || snap === prev) return;
    const first = prev === null;
    feedWork.diffs++;
    const transitions = diffSnapshots(prev, snap);
    prev = snap;
    if (first) store.getState().markObserved(observedAt(snap));
    if (!transitions.length) return;
    store.getState().addTransitions(transitions, now());
    writer?.append(transitions);
    const muted = store.getState().transitions.muted;
    const loud = transitions.filter((t) => t.attention && !(t.agent !== null && muted.includes(t.agent)));
    if (!loud.length) return;
    store.getState().pushNotice(attentionNotice(loud), 'warn');
    if (!opts.alert) return;
    const selected = selectedAgentRow(store.getState())?.name ?? null;
    for (const t of loud) {
      if (t.agent !== null && t.agent === selected) continue; // the operator is looking at it
      if (damper.admit(t, now())) opts.alert(t);
    }
  });
  return {
    writer,
    stop: unsubscribe,
    quietlyReplaced: (was, next) => {
      if (was !== null && prev === was) prev = next;
    },
    idle: async () => {
      await writer?.idle();
    },
  };
}
