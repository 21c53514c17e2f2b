/**
 * Transitions slice of the console store (docs/transitions.md): the recent transitions (loaded from the
 * run dir's history at start, then those this console observes), since when this console has
 * watched the fleet, and the agents the operator muted. Bounded like the history file: the last
 * 24 h and {@link CONSOLE_TRANSITIONS_PER_SUBJECT} per agent.
 */
import type { StateCreator } from 'zustand/vanilla';
import type { Transition } from '../transitions/diff.js';
import { HISTORY_MAX_AGE_SECONDS, pruneHistory, pruneSubject, subjectKey } from '../transitions/history.js';
import type { ConsoleState, TransitionsSlice } from './state.js';

/** Transitions the console keeps per agent (and for the fleet). */
export const CONSOLE_TRANSITIONS_PER_SUBJECT = 200;

function indexReadiness(list: readonly Transition[]): Map<string, Transition> {
  const out = new Map<string, Transition>();
  for (const t of list) if (t.scope === 'agent' && t.kind === 'readiness' && t.agent !== null) out.set(t.agent, t);
  return out;
}

/**
 * Transitions per subject in a list, kept with the list it counts, so an append knows whether
 * a bound may be passed without walking the list (a console of 10,000 agents holds thousands).
 */
interface SubjectCounts {
  list: readonly Transition[];
  counts: Map<string, number>;
}

function countSubjects(list: readonly Transition[]): SubjectCounts {
  const counts = new Map<string, number>();
  for (const t of list) {
    const who = pruneSubject(t);
    counts.set(who, (counts.get(who) ?? 0) + 1);
  }
  return { list, counts };
}

/** Creates the transitions slice (zustand slices pattern). */
export const createTransitionsSlice: StateCreator<ConsoleState, [], [], TransitionsSlice> = (set) => {
  // Counts of the list last stored by addTransitions; recounted when the list is another one.
  let counted: SubjectCounts | null = null;
  /** `list` + `added`, pruned when a bound may be passed (age of the oldest, or a subject over its count). */
  const append = (list: readonly Transition[], added: readonly Transition[], nowMs: number): Transition[] => {
    const counts = counted?.list === list ? counted.counts : countSubjects(list).counts;
    let over = false;
    for (const t of added) {
      const who = pruneSubject(t);
      const n = (counts.get(who) ?? 0) + 1;
      counts.set(who, n);
      if (n > CONSOLE_TRANSITIONS_PER_SUBJECT) over = true;
    }
    let kept = [...list, ...added];
    if (over || Date.parse(kept[0]?.at ?? '') < nowMs - HISTORY_MAX_AGE_SECONDS * 1000) {
      kept = pruneHistory(kept, nowMs, { maxAgeSeconds: HISTORY_MAX_AGE_SECONDS, perSubject: CONSOLE_TRANSITIONS_PER_SUBJECT });
      counted = countSubjects(kept);
    } else counted = { list: kept, counts };
    return kept;
  };
  return {
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
        const kept = append(s.transitions.list, list, nowMs);
        const readiness = list.filter((t) => t.scope === 'agent' && t.kind === 'readiness' && t.agent !== null);
        // The index is copied only when this batch changes it.
        const lastReadiness = readiness.length ? new Map(s.transitions.lastReadiness) : s.transitions.lastReadiness;
        for (const t of readiness) (lastReadiness as Map<string, Transition>).set(t.agent as string, t);
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
  };
};
