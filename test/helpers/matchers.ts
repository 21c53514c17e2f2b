/**
 * vitest's asymmetric matchers with the type of the value they stand for. vitest types
 * `expect.stringMatching(…)` and friends as `any`, which leaks into the object literals handed
 * to `toEqual`/`toMatchObject`; these wrappers give them the type of the field they match, so
 * the no-unsafe-* lint rules hold in tests. Each returns the matcher itself.
 */
import { expect } from 'vitest';

/** Any string matching `pattern` (expect.stringMatching). */
export function stringMatching(pattern: RegExp | string): string {
  return expect.stringMatching(pattern) as string;
}

/** Any string containing `part` (expect.stringContaining). */
export function stringContaining(part: string): string {
  return expect.stringContaining(part) as string;
}

/** Any array holding (at least) `items` (expect.arrayContaining). */
export function arrayContaining<T>(items: readonly T[]): T[] {
  return expect.arrayContaining<unknown>([...items]) as T[];
}

/** Any object with (at least) the fields of `fields` (expect.objectContaining). */
export function objectContaining<T extends object>(fields: T): T {
  return expect.objectContaining<unknown>(fields) as T;
}

/** Any number (expect.any(Number)). */
export function anyNumber(): number {
  return expect.any(Number) as number;
}
