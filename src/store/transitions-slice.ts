/**
 * Transitions slice of the console store (docs/transitions.md): the recent transitions (loaded from the
 * run dir's history at start, then those this console observes), since when this console has
 * watched the fleet, and the agents the operator muted. Bounded like the history file: the last
 * 24 h and {@link CONSOLE_TRANSITIONS_PER_SUBJECT} per agent.
 */
import type { StateCreator } from 'zustand/vanilla';
import type { Transition } from '../transitions/diff.js';
import { HISTORY_MAX_AGE_SECONDS, pruneHistory, subjectKey } from '../transitions/history.js';
import type { ConsoleState } from './index.js';

/** Transitions the console keeps per agent (and for the fleet). */
export const CONSOLE_TRANSITIONS_PER_SUBJECT = 200;

/** Transitions state and its actions. */
export interface TransitionsSlice {
  transitions: {
    /** Chronological (oldest first), bounded. */
    list: Transition[];
    /** Bumped on every change of `list` (caches of timelines key on it). */
    version: number;
    /** Per agent: its latest readiness transition (for `since`). */
    lastReadiness: ReadonlyMap<string, Transition>;
    /** Local clock (ms) of the first snapshot this console saw; null before it. */
    observedSinceMs: number | null;
    /** Agents whose attention transitions give no notice, bell or desktop notification. */
    muted: readonly string[];
    /** Why the history could not be read or written (shown once as a notice), null when fine. */
    historyError: string | null;
    /** The history file this console reads and records in; null when the history is off. */
    historyFile: string | null;
  };
  /** Replaces the list with `list` (the history read at start), chronological. */
  loadTransitions: (list: readonly Transition[], nowMs?: number) => void;
  /** Appends transitions observed now (chronological); prunes to the bounds. */
  addTransitions: (list: readonly Transition[], nowMs?: number) => void;
  /** Marks the start of this console's own observation (first snapshot), once. */
  markObserved: (atMs: number) => void;
  /** Mutes / unmutes `agent`. */
  toggleMute: (agent: string) => void;
  setHistoryError: (error: string | null) => void;
  /** Says which history file is in use (null: history off). */
  setHistoryFile: (file: string | null) => void;
}

function indexReadiness(list: readonly Transition[]): Map<string, Transition> {
  const out = new Map<string, Transition>();
  for (const t of list) if (t.scope === 'agent' && t.kind === 'readiness' && t.agent !== null) out.set(t.agent, t);
  return out;
}

/** Creates the transitions slice (zustand slices pattern). */
export const createTransitionsSlice: StateCreator<ConsoleState, [], [], TransitionsSlice> = (set) => ({
  transitions: { list: [], version: 0, lastReadiness: new Map(), observedSinceMs: null, muted: [], historyError: null, historyFile: null },
  loadTransitions: (list, nowMs = Date.now()) =>
    set((s) => {
      // Transitions this console already observed stay (a history read that lands late).
      const seen = new Set(s.transitions.list.map((t) => `${subjectKey(t)}\u0000${t.at}`));
      const merged = [...list.filter((t) => !seen.has(`${subjectKey(t)}\u0000${t.at}`)), ...s.transitions.list].sort(
        (a, b) => Date.parse(a.at) - Date.parse(b.at),
      );
      const kept = pruneHistory(merged, nowMs, { maxAgeSeconds: HISTORY_MAX_AGE_SECONDS, perSubject: CONSOLE_TRANSITIONS_PER_SUBJECT });
      return { transitions: { ...s.transitions, list: kept, lastReadiness: indexReadiness(kept), version: s.transitions.version + 1 } };
    }),
  addTransitions: (list, nowMs = Date.now()) =>
    set((s) => {
      if (!list.length) return {};
      let kept = [...s.transitions.list, ...list];
      // Pruning walks the whole list: only when a bound may be passed.
      if (kept.length > CONSOLE_TRANSITIONS_PER_SUBJECT || Date.parse(kept[0].at) < nowMs - HISTORY_MAX_AGE_SECONDS * 1000) {
        kept = pruneHistory(kept, nowMs, { maxAgeSeconds: HISTORY_MAX_AGE_SECONDS, perSubject: CONSOLE_TRANSITIONS_PER_SUBJECT });
      }
      const lastReadiness = new Map(s.transitions.lastReadiness);
      for (const t of list) if (t.scope === 'agent' && t.kind === 'readiness' && t.agent !== null) lastReadiness.set(t.agent, t);
      return { transitions: { ...s.transitions, list: kept, lastReadiness, version: s.transitions.version + 1 } };
    }),
  markObserved: (atMs) => set((s) => (s.transitions.observedSinceMs === null ? { transitions: { ...s.transitions, observedSinceMs: atMs } } : {})),
  toggleMute: (agent) =>
    set((s) => {
      const muted = s.transitions.muted.includes(agent) ? s.transitions.muted.filter((a) => a !== agent) : [...s.transitions.muted, agent];
      return { transitions: { ...s.transitions, muted } };
    }),
  setHistoryError: (historyError) => set((s) => ({ transitions: { ...s.transitions, historyError } })),
  setHistoryFile: (historyFile) => set((s) => ({ transitions: { ...s.transitions, historyFile } })),
});
