/** Backlog slice of the console store: the snapshot's backlog section and recent events. */
import type { StateCreator } from 'zustand/vanilla';
import type { BacklogSection } from '../../backlog/snapshot.js';
import type { ConsoleState } from './index.js';

/** One backlog event as the console shows it (who, what, when). Every string sanitized. */
export interface BacklogEventView {
  /** When it happened, ISO 8601 (the event's `at`). */
  at: string;
  actor: string;
  /** The event's verb: claim, renew, reclaim, complete, receipt, dispatch, … */
  action: string;
  cardId: string | null;
  /** Short one-line digest of the event's detail (receipt status, owner/token/TTL…). */
  summary: string;
}

/**
 * Where the recent-events list stands: `idle` (never asked), `loading`, `loaded`, `absent`
 * (no backlog store yet: none was created to answer) or `error` (`message` says why).
 */
export type BacklogEventsState = 'idle' | 'loading' | 'loaded' | 'absent' | 'error';

/** Backlog state and its actions. */
export interface BacklogSlice {
  backlog: {
    /** Section of the last snapshot; null when the snapshot had none (backlog probe absent). */
    section: BacklogSection | null;
    /** Recent events, newest first (filled by actions; the snapshot does not carry them). */
    events: BacklogEventView[];
    /** Load state of `events`, with a sanitized reason when `absent`/`error`. */
    eventsStatus: { state: BacklogEventsState; message: string | null; loadedAtMs: number | null };
  };
  /** Replaces the recent events list (newest first, at most 50 kept); marks it loaded at `atMs` (ms). */
  setBacklogEvents: (events: BacklogEventView[], atMs?: number) => void;
  /** Sets the load state of the events list (loading / absent / error), keeping the last list. */
  setBacklogEventsState: (state: BacklogEventsState, message?: string | null) => void;
}

/** Creates the backlog slice (zustand slices pattern). */
export const createBacklogSlice: StateCreator<ConsoleState, [], [], BacklogSlice> = (set) => ({
  backlog: { section: null, events: [], eventsStatus: { state: 'idle', message: null, loadedAtMs: null } },
  setBacklogEvents: (events, atMs = Date.now()) =>
    set((s) => ({ backlog: { ...s.backlog, events: events.slice(0, 50), eventsStatus: { state: 'loaded', message: null, loadedAtMs: atMs } } })),
  setBacklogEventsState: (state, message = null) => set((s) => ({ backlog: { ...s.backlog, eventsStatus: { ...s.backlog.eventsStatus, state, message } } })),
});
