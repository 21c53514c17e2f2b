/**
 * Validators of the backlog verbs' inputs: every value that reaches SQL passes one of these
 * first. Each throws BacklogError('invalid') with a one-line message naming the field. Pure.
 */
import { hasControlCharacters } from '../lib/sanitize.js';
import { assertJsonDepth, BacklogError } from './types.js';

/** Ids, owners and actors: a letter or digit, then letters, digits and `._:@/-` (≤ 200 chars). */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,199}$/;

/** Ids that occur more than once in `ids`, in first-occurrence order. Pure. */
export function duplicateIds(ids: readonly string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const id of ids) (seen.has(id) ? dup : seen).add(id);
  return [...dup];
}

/** Throws BacklogError('invalid') unless `value` is a usable id/owner/actor. */
export function assertName(value: unknown, what: string): string {
  if (typeof value !== 'string' || !NAME_PATTERN.test(value)) {
    throw new BacklogError(
      'invalid',
      `${what} must be 1–200 characters of letters, digits and ._:@/- (starting with a letter or digit), got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** The event actor: `actor` validated when given (non-empty), else `fallback`. */
export function actorOr(actor: string | undefined, fallback: string): string {
  return actor ? assertName(actor, 'actor') : fallback;
}

/**
 * Optional text: null for undefined, null or ''; else at most `max` (default 10 000)
 * characters without control characters (line breaks allowed when `multiline`). `required`
 * refuses empty and blank text.
 */
export function assertText(value: unknown, what: string, opts: { required?: boolean; multiline?: boolean; max?: number } = {}): string | null {
  if (value === undefined || value === null || value === '') {
    if (opts.required) throw new BacklogError('invalid', `${what} is required`);
    return null;
  }
  if (typeof value !== 'string') throw new BacklogError('invalid', `${what} must be text`);
  const max = opts.max ?? 10_000;
  if (value.length > max) throw new BacklogError('invalid', `${what} is longer than ${max} characters`);
  if (hasControlCharacters(value, opts.multiline ?? false)) throw new BacklogError('invalid', `${what} contains control characters`);
  if (opts.required && !value.trim()) throw new BacklogError('invalid', `${what} is required`);
  return value;
}

/** Required text (see {@link assertText}): never null. */
export function requireText(value: unknown, what: string, opts: { multiline?: boolean; max?: number } = {}): string {
  const text = assertText(value, what, { ...opts, required: true });
  if (text === null) throw new BacklogError('invalid', `${what} is required`);
  return text;
}

/** An integer from `min` to `max` inclusive. */
export function assertInt(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new BacklogError('invalid', `${what} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** TTL validation: positive whole seconds up to 30 days. */
export function assertTtl(value: unknown): number {
  return assertInt(value, 'TTL (seconds)', 1, 30 * 24 * 3600);
}

/** A claim token: a positive safe integer. */
export function assertToken(value: unknown): number {
  return assertInt(value, 'token', 1, Number.MAX_SAFE_INTEGER);
}

/** Validates acceptance criteria: any JSON value up to 10 000 characters of JSON; none ⇒ null. */
export function assertAcceptance(value: unknown): unknown {
  if (value === undefined || value === null || value === '') return null;
  assertJsonDepth(value, 'acceptance');
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  if (text === undefined) throw new BacklogError('invalid', 'acceptance must be JSON (a list of strings, an object or a string)');
  if (text.length > 10_000) throw new BacklogError('invalid', 'acceptance is longer than 10000 characters');
  if (hasControlCharacters(text, false)) throw new BacklogError('invalid', 'acceptance contains control characters');
  return value;
}
