/** Fleet slice of the console store: the last snapshot and how the poll ticks went. */
import type { StateCreator } from 'zustand/vanilla';
import { READINESS_ORDER } from '../../fleet/types.js';
import type { Readiness, Snapshot } from '../snapshot/types.js';
import type { ConsoleState, FleetSlice } from './state.js';

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
export const createFleetSlice: StateCreator<ConsoleState, [], [], FleetSlice> = (set, get) => ({
  fleet: { snapshot: null, snapshotAtMs: null, lastTickAtMs: null, tickError: null, applied: 0 },
  applySnapshot: (snapshot, atMs = Date.now(), preview) =>
    set((s) => ({
      fleet: { snapshot, snapshotAtMs: atMs, lastTickAtMs: atMs, tickError: null, applied: s.fleet.applied + 1 },
      backlog: { ...s.backlog, section: (snapshot.backlog ?? null) as ConsoleState['backlog']['section'] },
      ...(preview !== undefined && s.ui.previewOn ? { ui: { ...s.ui, preview } } : {}),
    })),
  applySnapshotQuietly: (snapshot, atMs = Date.now()) => {
    // In place: zustand's set would notify every subscriber, and a new `fleet` object would
    // re-render its readers at the next notification (they select `s.fleet`, see the state type).
    const s = get();
    Object.assign(s.fleet, { snapshot, snapshotAtMs: atMs, lastTickAtMs: atMs, tickError: null, applied: s.fleet.applied + 1 });
    // A section draws the same (the caller's rule); only its claims' TTLs count down from the
    // snapshot's time, so the one on screen is kept unless it has claims.
    const section = (snapshot.backlog ?? null) as ConsoleState['backlog']['section'];
    if (section?.claimed.length || !s.backlog.section) s.backlog.section = section;
  },
  tickFailed: (error, atMs = Date.now()) =>
    set((s) => ({
      fleet: { ...s.fleet, snapshot: s.fleet.snapshot ? snapshotGoneStale(s.fleet.snapshot, error) : null, lastTickAtMs: atMs, tickError: error },
    })),
});
