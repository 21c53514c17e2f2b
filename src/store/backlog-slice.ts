/** Backlog slice of the console store: the snapshot's backlog section and recent events. */
import type { StateCreator } from 'zustand/vanilla';
import type { BacklogSlice, ConsoleState } from './state.js';

/** Creates the backlog slice (zustand slices pattern). */
export const createBacklogSlice: StateCreator<ConsoleState, [], [], BacklogSlice> = (set) => ({
  backlog: { section: null, events: [], eventsStatus: { state: 'idle', message: null, loadedAtMs: null } },
  setBacklogEvents: (events, atMs = Date.now()) =>
    set((s) => ({ backlog: { ...s.backlog, events: events.slice(0, 50), eventsStatus: { state: 'loaded', message: null, loadedAtMs: atMs } } })),
  setBacklogEventsState: (state, message = null) => set((s) => ({ backlog: { ...s.backlog, eventsStatus: { ...s.backlog.eventsStatus, state, message } } })),
});
