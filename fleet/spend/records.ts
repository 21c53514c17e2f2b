/**
 * Per-runtime record parsers (pure): one parsed JSONL line in, usage out. Each keeps a small
 * per-file state so a file can be read in pieces from a byte offset (the state is saved with
 * the offset). Formats: shared/spec/runtimes.md "Spend records"; ccusage 20.0.24 reads the same
 * fields the same way (its totals are the parity reference).
 *
 * - Claude Code `projects/<slug>/<session>.jsonl` (and `subagents/`): an `assistant` record's
 *   `message.usage` {input_tokens, output_tokens, cache_read_input_tokens,
 *   cache_creation_input_tokens, cache_creation.ephemeral_1h_input_tokens}; a message streamed
 *   in several records or a tool turn written twice carries the same `message.id` and
 *   `requestId` (the API's `request-id` header; without it, the message id alone): the first
 *   record counts, the rest are duplicates.
 * - Codex `sessions/YYYY/MM/DD/rollout-*.jsonl`: `event_msg` / `token_count` with
 *   `info.last_token_usage` (per turn) and `info.total_token_usage` (cumulative);
 *   `input_tokens` INCLUDES `cached_input_tokens`, so input = input − cached, cacheRead =
 *   cached; `reasoning_output_tokens` is part of `output_tokens`. What a `token_count` adds is
 *   the growth of the cumulative total (the last response's usage when no total grew); one
 *   whose total did not move is a repeat (Codex 0.171 writes each twice) and counts nothing.
 *   A response the runtime aborted (a steer, an interrupt) is in no record. The
 *   model comes from the last `turn_context`; `rate_limits` {primary, secondary} {used_percent,
 *   window_minutes, resets_at} is kept as the file's last report.
 * - pi `sessions/--<cwd>--/<ts>_<uuid>.jsonl`: `message` entries whose `message.role` is
 *   `assistant` carry `message.usage` {input, output, cacheRead, cacheWrite}; keyed on the
 *   entry id.
 */
import { makeTokens, num, obj, str, timeOf, type RateReport, type RateWindow, type SpendRuntime, type UsageEvent } from './types.js';

/** What a parser keeps between two reads of the same file (JSON-serialisable). */
export interface ParserState {
  /** Codex: the model of the last `turn_context`. */
  model?: string | null;
  /** Codex: the last cumulative `total_token_usage` [input, cached, output, reasoning]. */
  totals?: [number, number, number, number] | null;
  /** Codex/Claude: the session id read from the file (`session_meta.id`, `sessionId`). */
  session?: string | null;
  /** Codex: the session's working directory (`session_meta.cwd`); Claude: `cwd`. */
  cwd?: string | null;
}

/** What one line gave: a usage event, a rate-limit report, or nothing. */
export interface LineResult {
  event?: UsageEvent;
  rate?: RateReport;
}

function claudeLine(rec: Record<string, unknown>, state: ParserState): LineResult | null {
  if (!state.session && str(rec.sessionId)) state.session = str(rec.sessionId);
  if (!state.cwd && str(rec.cwd)) state.cwd = str(rec.cwd);
  if (rec.type !== 'assistant') return null;
  const message = obj(rec.message);
  const usage = obj(message.usage);
  if (!('input_tokens' in usage) && !('output_tokens' in usage)) return null;
  const at = timeOf(rec.timestamp);
  if (at === null) return null;
  const id = str(message.id);
  const requestId = str(rec.requestId);
  const creation = obj(usage.cache_creation);
  const event: UsageEvent = {
    at,
    model: str(message.model) ?? 'unknown',
    tokens: makeTokens(num(usage.input_tokens), num(usage.output_tokens), num(usage.cache_read_input_tokens), num(usage.cache_creation_input_tokens)),
    // ccusage keys on both ids and counts a record without requestId every time; a message id
    // is unique per API response, so alone it still recognises a repeat.
    key: id ? `${id}:${requestId ?? ''}` : null,
    cacheWrite1h: num(creation.ephemeral_1h_input_tokens),
  };
  return { event };
}

function codexRates(limits: Record<string, unknown>, at: number): RateReport | null {
  const windows: RateWindow[] = [];
  for (const window of ['primary', 'secondary'] as const) {
    const w = obj(limits[window]);
    if (typeof w.used_percent !== 'number') continue;
    const minutes = num(w.window_minutes);
    const resets = num(w.resets_at) || null;
    windows.push({ window, usedPercent: w.used_percent, windowMinutes: minutes > 0 ? minutes : null, resetsAt: resets });
  }
  return windows.length ? { at, windows } : null;
}

function codexLine(rec: Record<string, unknown>, state: ParserState): LineResult | null {
  const payload = obj(rec.payload);
  if (rec.type === 'session_meta') {
    state.session = str(payload.id) ?? state.session ?? null;
    state.cwd = str(payload.cwd) ?? state.cwd ?? null;
    return null;
  }
  if (rec.type === 'turn_context') {
    state.model = str(payload.model) ?? state.model ?? null;
    return null;
  }
  if (rec.type !== 'event_msg' || payload.type !== 'token_count') return null;
  const at = timeOf(rec.timestamp);
  if (at === null) return null;
  const out: LineResult = {};
  const rate = codexRates(obj(payload.rate_limits), at);
  if (rate) out.rate = rate;
  const info = obj(payload.info);
  const total = obj(info.total_token_usage);
  const last = obj(info.last_token_usage);
  const cur: [number, number, number, number] = [
    num(total.input_tokens),
    num(total.cached_input_tokens),
    num(total.output_tokens),
    num(total.reasoning_output_tokens),
  ];
  const hasTotal = 'input_tokens' in total || 'output_tokens' in total;
  const prev = state.totals ?? [0, 0, 0, 0];
  let use: [number, number, number, number] | null = null;
  const grew = hasTotal && cur.every((v, i) => v >= (prev[i] ?? 0));
  if (hasTotal && cur.every((v, i) => v === prev[i]))
    use = null; // a repeat: nothing new was used
  // The cumulative total grew: the difference is what was used since the last count (it
  // cannot miss a response whose own count was not written); else the last response's usage.
  else if (grew) use = cur.map((v, i) => v - (prev[i] ?? 0)) as [number, number, number, number];
  else if ('input_tokens' in last || 'output_tokens' in last)
    use = [num(last.input_tokens), num(last.cached_input_tokens), num(last.output_tokens), num(last.reasoning_output_tokens)];
  if (hasTotal) state.totals = cur;
  if (use && use.some((v) => v > 0)) {
    const cached = Math.min(use[1], use[0]);
    const model = str(info.model) ?? str(payload.model) ?? state.model ?? 'unknown';
    out.event = { at, model, tokens: makeTokens(use[0] - cached, use[2], cached, 0, use[3]), key: null, cacheWrite1h: 0 };
  }
  return out.event || out.rate ? out : null;
}

function piLine(rec: Record<string, unknown>, state: ParserState): LineResult | null {
  if (rec.type === 'session') {
    state.session = str(rec.id) ?? state.session ?? null;
    state.cwd = str(rec.cwd) ?? state.cwd ?? null;
    return null;
  }
  if (rec.type !== 'message') return null;
  const message = obj(rec.message);
  if (message.role !== 'assistant') return null;
  const usage = obj(message.usage);
  if (!('input' in usage) && !('output' in usage)) return null;
  const at = timeOf(rec.timestamp) ?? timeOf(message.timestamp);
  if (at === null) return null;
  const event: UsageEvent = {
    at,
    model: str(message.model) ?? 'unknown',
    tokens: makeTokens(num(usage.input), num(usage.output), num(usage.cacheRead), num(usage.cacheWrite)),
    key: str(rec.id),
    cacheWrite1h: 0,
  };
  return { event };
}

/**
 * Parses one JSON value (a line of `runtime`'s record file) with the file's `state` (mutated).
 * Returns the usage event and/or rate report it holds, or null. Never throws: a value of an
 * unexpected shape gives null.
 */
export function parseRecord(runtime: SpendRuntime, value: unknown, state: ParserState): LineResult | null {
  const rec = obj(value);
  if (runtime === 'claude') return claudeLine(rec, state);
  if (runtime === 'codex') return codexLine(rec, state);
  if (runtime === 'pi') return piLine(rec, state);
  return null;
}
