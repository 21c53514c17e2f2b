/**
 * Narrowing assertions for tests: with noUncheckedIndexedAccess an element of an array or a
 * value of a record is `T | undefined`, and a test that reads one it expects to exist says so
 * here. A missing value fails the test with a one-line message naming what was missing (and for
 * arrays the index and the length), instead of a `TypeError` on `undefined` further down or a
 * silent `!`.
 */

/**
 * Returns `value` when it is neither `undefined` nor `null`; throws `Error("missing <what>")`
 * otherwise. `what` names the value as the test knows it ("row beta", "roster probe").
 */
export function must<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new Error(`missing ${what}`);
  return value;
}

/**
 * Element `index` of `items`. Throws `Error("no <what> at index <index>: <n> items")` when the
 * index is outside `0 … n-1` — a negative one included (a `findIndex` miss is -1, not "the last
 * one") — so a test indexing a list it expects to be long enough fails on the list's length. An
 * element that is itself `undefined` inside the range is returned as is (its type says whether
 * it may be).
 */
export function at<T>(items: readonly T[], index: number, what = 'element'): T {
  if (!Number.isInteger(index) || index < 0 || index >= items.length) throw new Error(`no ${what} at index ${index}: ${items.length} items`);
  return items[index] as T;
}
