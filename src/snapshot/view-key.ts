/**
 * What a snapshot shows, as one string: two snapshots with the same key draw the same console,
 * so the poller applies a new snapshot (one store update, one React render, one terminal write)
 * only when its key differs from the last applied one's. The key leaves out what is not drawn
 * (when it was taken, how long probes took) and keeps durations at the precision they are drawn
 * with: ages as `formatAge` prints them (`42s`, `3m12s`), a claim's TTL as its expiry instant in
 * 5-second steps (the console counts TTLs down from its own clock between snapshots).
 */
import { formatAge } from '../../lib/age.js';
import type { Snapshot } from './types.js';

/** Keys dropped from the view key: times of taking, not of the fleet. */
const NOT_DRAWN = new Set(['generatedAt', 'durationMs', 'checkedAt']);
/** Ages drawn through formatAge. */
const AGES = new Set(['idleSeconds', 'ageSeconds', 'sinceSeconds', 'oldestReadyAgeSeconds']);

/**
 * The view key of `snapshot` taken at `nowMs` (unix ms). Pure; cost: one JSON serialization
 * (≈ 1 ms per 100 agents), far below a render.
 */
export function snapshotViewKey(snapshot: Snapshot, nowMs: number): string {
  const nowSeconds = nowMs / 1000;
  return JSON.stringify(snapshot, (key, value: unknown) => {
    if (NOT_DRAWN.has(key)) return undefined;
    if (typeof value === 'number') {
      if (AGES.has(key)) return formatAge(value);
      if (key === 'secondsLeft') return Math.floor((nowSeconds + value) / 5);
    }
    return value;
  });
}
