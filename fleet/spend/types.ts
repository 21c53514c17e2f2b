/**
 * Spend meter shapes (pure): the tokens of one API request as a runtime recorded it, and the
 * subscription windows it reported. Token kinds follow the field's terms: `input` is the
 * uncached input only, `cacheRead` the input served from the prompt cache, `cacheWrite` the
 * input written to it, `output` the generated tokens (reasoning included where the runtime
 * bills it so), `reasoning` the reasoning part the runtime reports separately (informational:
 * never added to `total`).
 */

/** Runtimes whose records the meter reads. */
export type SpendRuntime = 'claude' | 'codex' | 'pi' | 'opencode';

/** Token counts, integers. `total` = input + output + cacheRead + cacheWrite. */
export interface SpendTokens {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  reasoning: number;
  total: number;
}

/** Zero tokens. */
export function zeroTokens(): SpendTokens {
  return { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0, total: 0 };
}

/** Builds tokens from the four billed kinds (+ reasoning); `total` computed. Negative or non-finite values count as 0. */
export function makeTokens(input: number, output: number, cacheRead: number, cacheWrite: number, reasoning = 0): SpendTokens {
  const n = (v: number) => (Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);
  const t = { input: n(input), output: n(output), cacheRead: n(cacheRead), cacheWrite: n(cacheWrite), reasoning: n(reasoning), total: 0 };
  t.total = t.input + t.output + t.cacheRead + t.cacheWrite;
  return t;
}

/** Adds `b` into `a` (mutates and returns `a`). */
export function addTokens(a: SpendTokens, b: SpendTokens): SpendTokens {
  a.input += b.input;
  a.output += b.output;
  a.cacheRead += b.cacheRead;
  a.cacheWrite += b.cacheWrite;
  a.reasoning += b.reasoning;
  a.total += b.total;
  return a;
}

/**
 * One API request as recorded: when (unix ms), which model, its tokens, and the key it is
 * deduplicated on (`message.id:requestId` for Claude, the entry id for pi; null when the
 * runtime records each request once, e.g. Codex's per-turn `token_count`). `cacheWrite1h` is
 * the part of `cacheWrite` written for one hour (priced higher), 0 when unknown.
 */
export interface UsageEvent {
  at: number;
  model: string;
  tokens: SpendTokens;
  key: string | null;
  cacheWrite1h: number;
}

/** One subscription window as a runtime reported it (Codex `rate_limits`). */
export interface RateWindow {
  window: 'primary' | 'secondary';
  usedPercent: number;
  windowMinutes: number | null;
  /** Unix seconds the window resets, or null when not reported. */
  resetsAt: number | null;
}

/** The last rate-limit report seen in a record file, with the time it was recorded (unix ms). */
export interface RateReport {
  at: number;
  windows: RateWindow[];
}

/** Reads a finite number from a record field, else 0. */
export function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/** A record's object field, else an empty object. */
export function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** A record's non-empty string field, else null. */
export function str(v: unknown): string | null {
  return typeof v === 'string' && v.trim() !== '' ? v : null;
}

/** Unix ms of an ISO timestamp or unix-ms number, else null. */
export function timeOf(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v < 1e12 ? v * 1000 : v;
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isFinite(t) ? t : null;
  }
  return null;
}
