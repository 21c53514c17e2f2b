/** Fleet slice of the console store: the last snapshot and how the poll ticks went. */
import type { StateCreator } from 'zustand/vanilla';
import { READINESS_ORDER, type Readiness, type Snapshot } from '../snapshot/types.js';
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
  /**
   * Records a failed tick: the error is shown, and the last snapshot stays on screen with every
   * agent `unknown` (evidence: the failure, and what it was when last seen) — a row is never
   * shown with the readiness of a tick that is no longer true ({@link snapshotGoneStale}).
   */
  tickFailed: (error: string, atMs?: number) => void;
}

/**
 * `snapshot` after a failed tick: every agent `unknown`, its evidence led by `no fresh
 * snapshot: <error>` and `was <readiness> in the snapshot of <time>`; counts recomputed. Pure.
 */
export function snapshotGoneStale(snapshot: Snapshot, error: string): Snapshot {
  const counts = Object.fromEntries(READINESS_ORDER.map((r) => [r, 0])) as Record<Readiness, number>;
  const agents = snapshot.agents.map((a) => {
    counts.unknown += 1;
    if (a.readiness === 'unknown' && a.evidence[0]?.startsWith('no fresh snapshot: ')) return a;
    return {
      ...a,
      readiness: 'unknown' as Readiness,
      evidence: [`no fresh snapshot: ${error}`, `was ${a.readiness} in the snapshot of ${snapshot.generatedAt}`, ...a.evidence],
    };
  });
  return { ...snapshot, agents, fleet: { ...snapshot.fleet, counts } };
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
  tickFailed: (error, atMs = Date.now()) =>
    set((s) => ({
      fleet: { ...s.fleet, snapshot: s.fleet.snapshot ? snapshotGoneStale(s.fleet.snapshot, error) : null, lastTickAtMs: atMs, tickError: error },
    })),
});
