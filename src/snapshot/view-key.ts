/**
 * What a snapshot shows: two snapshots with the same view draw the same console, so the poller
 * applies a new snapshot (one store update, one React render, one terminal write) only when its
 * view differs from the last applied one's. The view leaves out what is not drawn (when it was
 * taken, how long probes took) and keeps durations at the precision they are drawn with: ages
 * as `formatAge` prints them (`42s`, `3m12s`), a claim's TTL as its expiry instant in 5-second
 * steps (the console counts TTLs down from its own clock between snapshots).
 *
 * Two forms of the same rule: {@link snapshotViewKey} (one string) and
 * {@link sameSnapshotView} (a walk of both snapshots that stops at the first drawn difference:
 * no string is built, and a live fleet — whose ages move every second — differs within its
 * first agent). The poller uses the walk.
 */
import { formatAge } from '../../lib/age.js';
import type { Snapshot } from './types.js';

/** Keys dropped from the view: times of taking, not of the fleet. */
const NOT_DRAWN = new Set(['generatedAt', 'durationMs', 'checkedAt']);
/** Ages drawn through formatAge. */
const AGES = new Set(['idleSeconds', 'ageSeconds', 'sinceSeconds', 'oldestReadyAgeSeconds']);

/**
 * The view key of `snapshot` taken at `nowMs` (unix ms). Pure; cost: one JSON serialization
 * (≈ 1 ms per 100 agents). Equal keys ⇔ {@link sameSnapshotView} (up to the order of keys).
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

/**
 * True when snapshot `a` taken at `aNowMs` and `b` taken at `bNowMs` (unix ms) draw the same
 * console: the same as `snapshotViewKey(a, aNowMs) === snapshotViewKey(b, bNowMs)` except that
 * the order of an object's keys does not matter. Conservative where JSON would blur a
 * difference (a number against a string that prints alike, an object with `toJSON`): those
 * count as different — a false "different" only costs one render. Pure; stops at the first
 * drawn difference. Snapshots are trees of plain data (no cycles).
 */
export function sameSnapshotView(a: Snapshot, aNowMs: number, b: Snapshot, bNowMs: number): boolean {
  return sameValue(a, b, '', aNowMs / 1000, bNowMs / 1000);
}

/** A value as JSON would print it in an object: undefined for what JSON leaves out. */
function shown(value: unknown): unknown {
  return typeof value === 'function' || typeof value === 'symbol' ? undefined : value;
}

function sameNumber(a: number, b: number, key: string, aNow: number, bNow: number): boolean {
  if (AGES.has(key)) return a === b || formatAge(a) === formatAge(b);
  if (key === 'secondsLeft') return Math.floor((aNow + a) / 5) === Math.floor((bNow + b) / 5);
  // JSON prints every non-finite number as null.
  return a === b || (!Number.isFinite(a) && !Number.isFinite(b));
}

/** {@link sameSnapshotView}'s rule for any two values found under `key` (ages and TTLs by their key). */
export function sameViewValue(a: unknown, b: unknown, key: string, aNow: number, bNow: number): boolean {
  return sameValue(a, b, key, aNow, bNow);
}

function sameValue(a: unknown, b: unknown, key: string, aNow: number, bNow: number): boolean {
  if (typeof a === 'number' && typeof b === 'number') return sameNumber(a, b, key, aNow, bNow);
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (typeof (a as { toJSON?: unknown }).toJSON === 'function' || typeof (b as { toJSON?: unknown }).toJSON === 'function') return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    if (a.length !== other.length) return false;
    // In an array JSON prints a function or undefined as null: compare what is printed (an
    // index is never an age's or a TTL's key).
    for (let i = 0; i < a.length; i++) if (!sameValue(shown(a[i]) ?? null, shown(other[i]) ?? null, '', aNow, bNow)) return false;
    return true;
  }
  return sameObject(a as Record<string, unknown>, b as Record<string, unknown>, aNow, bNow);
}

/**
 * {@link sameSnapshotView}'s rule for two objects with the keys in `skip` left out (as if not
 * drawn). Pure.
 */
export function sameViewObjectExcept(a: Record<string, unknown>, b: Record<string, unknown>, skip: ReadonlySet<string>, aNow: number, bNow: number): boolean {
  return sameObject(a, b, aNow, bNow, skip);
}

/** True when `key` is one of NOT_DRAWN's (compared directly: this runs for every key of a snapshot). */
function notDrawn(key: string): boolean {
  return key === 'generatedAt' || key === 'durationMs' || key === 'checkedAt';
}

/**
 * Same printed keys (NOT_DRAWN, `skip` and undefined left out) with the same values. When both
 * objects list the same keys in the same order (objects built by the same code: every row of a
 * snapshot) one pass decides: a key printed by one and not the other is a difference found in
 * that pass, so the printed keys of `b` need no count of their own.
 */
function sameObject(a: Record<string, unknown>, b: Record<string, unknown>, aNow: number, bNow: number, skip?: ReadonlySet<string>): boolean {
  const keys = Object.keys(a);
  const otherKeys = Object.keys(b);
  let sameKeys = keys.length === otherKeys.length;
  let printed = 0;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (sameKeys && otherKeys[i] !== key) sameKeys = false;
    if (notDrawn(key) || (skip !== undefined && skip.has(key))) continue;
    const value = shown(a[key]);
    const other = shown(b[key]);
    if (value === undefined) {
      if (other !== undefined) return false;
      continue;
    }
    if (other === undefined || (!sameKeys && !Object.prototype.hasOwnProperty.call(b, key))) return false;
    if (!sameValue(value, other, key, aNow, bNow)) return false;
    printed++;
  }
  if (sameKeys) return true;
  // Every printed key of `a` is printed by `b` alike: `b` prints no other key when the counts agree.
  for (const key of otherKeys) if (!notDrawn(key) && !skip?.has(key) && shown(b[key]) !== undefined) printed--;
  return printed === 0;
}
