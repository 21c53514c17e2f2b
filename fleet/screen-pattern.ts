/**
 * Screen-rule patterns compiled: shipped rules as JavaScript `RegExp`s, an operator's override
 * through RE2 (re2js, required on the first override pattern only). Used by ./screen.ts.
 */
import { createRequire } from 'node:module';
import { messageOf } from '../lib/errors.js';

/**
 * A compiled screen pattern: the part of `RegExp` the classifier uses. Shipped rules are
 * JavaScript `RegExp`s; an operator's override is compiled by RE2 (re2js), whose matching time
 * is linear in the line's length whatever the pattern, so no override can hang a reader.
 */
export interface ScreenPattern {
  test(line: string): boolean;
  exec(line: string): { groups?: Record<string, string | undefined> } | null;
}

let re2Module: typeof import('re2js') | null = null;

/**
 * The re2js library, required (its CommonJS build) on the first override pattern and kept: 260 KB
 * of code that a fleet without screen-rule overrides (every `--once` of one) never compiles.
 */
function re2(): typeof import('re2js') {
  re2Module ??= createRequire(import.meta.url)('re2js') as typeof import('re2js');
  return re2Module;
}

/**
 * Compiles one pattern source. Shipped rules: a JavaScript `RegExp` (reviewed, measured
 * patterns). Override rules (written by an operator, read from a file): RE2 syntax through
 * re2js, linear-time matching — backreferences and lookaround, whose matching can take
 * exponential time, are refused (RE2JSSyntaxException), as are patterns whose compiled program
 * exceeds RE2's size limit. Throws the engine's error.
 */
export function compileScreenPattern(src: string, origin: 'shipped' | 'override'): ScreenPattern {
  if (origin === 'shipped') return new RegExp(src);
  try {
    const re = re2().RE2JS.compile(src);
    // re2js's exec returns a RegExpExecArray-shaped array with `groups` (typed as any[]).
    return { test: (line) => re.test(line), exec: (line) => re.exec(line) as { groups?: Record<string, string | undefined> } | null };
  } catch (error) {
    const msg = messageOf(error);
    throw new Error(`Invalid regular expression: ${msg} (override patterns use RE2 syntax, matched in linear time: no backreferences or lookaround)`, {
      cause: error,
    });
  }
}
