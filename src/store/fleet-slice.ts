/** Fleet slice of the console store: the last snapshot and how the poll ticks went. */
import type { StateCreator } from 'zustand/vanilla';
import type { Snapshot } from '../snapshot/types.js';
import type { ConsoleState } from './index.js';

/** Fleet state (last snapshot, tick outcome) and its actions. */
export interface FleetSlice {
  fleet: {
    /** Last snapshot applied (null before the first tick). */
    snapshot: Snapshot | null;
    /** Local clock (ms since epoch) when `snapshot` was applied: base of live countdowns. */
    snapshotAtMs: number | null;
    /** Local clock (ms) of the last finished tick, successful or not. */
    lastTickAtMs: number | null;
    /** Error of the last tick when collectSnapshot itself failed (probe errors live in the snapshot). */
    tickError: string | null;
    /** Number of snapshots applied. */
    applied: number;
  };
  /**
   * Applies a whole snapshot (fleet and backlog sections) taken at local time `atMs` (ms),
   * with the pane preview captured for it when given (one store update, one render).
   */
  applySnapshot: (snapshot: Snapshot, atMs?: number, preview?: ConsoleState['ui']['preview']) => void;
  /** Records a failed tick: the last snapshot stays on screen, the error is shown. */
  tickFailed: (error: string, atMs?: number) => void;
}

/** Creates the fleet slice (zustand slices pattern). */
export const createFleetSlice: StateCreator<ConsoleState, [], [], FleetSlice> = (set) => ({
  fleet: { snapshot: null, snapshotAtMs: null, lastTickAtMs: null, tickError: null, applied: 0 },
  applySnapshot: (snapshot, atMs = Date.now(), preview) =>
    set((s) => ({
      fleet: { snapshot, snapshotAtMs: atMs, lastTickAtMs: atMs, tickError: null, applied: s.fleet.applied + 1 },
      backlog: { ...s.backlog, section: (snapshot.backlog ?? null) as ConsoleState['backlog']['section'] },
      ...(preview !== undefined && s.ui.previewOn ? { ui: { ...s.ui, preview } } : {}),
    })),
  tickFailed: (error, atMs = Date.now()) => set((s) => ({ fleet: { ...s.fleet, lastTickAtMs: atMs, tickError: error } })),
});
