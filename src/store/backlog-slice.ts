/** Backlog slice of the console store: the snapshot's backlog section and recent events. */
import type { StateCreator } from 'zustand/vanilla';
import type { BacklogSection } from '../../backlog/snapshot.js';
import type { ConsoleState } from './index.js';

/** One backlog event line as the console shows it (who, what, when). */
export interface BacklogEventView {
  at: string;
  actor: string;
  action: string;
  cardId: string | null;
}

/** Backlog state and its actions. */
export interface BacklogSlice {
  backlog: {
    /** Section of the last snapshot; null when the snapshot had none (backlog probe absent). */
    section: BacklogSection | null;
    /** Recent events, newest first (filled by actions; the snapshot does not carry them). */
    events: BacklogEventView[];
  };
  /** Replaces the recent events list (newest first, at most 50 kept). */
  setBacklogEvents: (events: BacklogEventView[]) => void;
}

/** Creates the backlog slice (zustand slices pattern). */
export const createBacklogSlice: StateCreator<ConsoleState, [], [], BacklogSlice> = (set) => ({
  backlog: { section: null, events: [] },
  setBacklogEvents: (events) => set((s) => ({ backlog: { ...s.backlog, events: events.slice(0, 50) } })),
});
