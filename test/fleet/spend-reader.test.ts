import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SpendLedger } from '../../fleet/spend/ledger.js';
import { parseRecord, type ParserState } from '../../fleet/spend/records.js';
import { MAX_LINE_BYTES, newCursor, readNewLines } from '../../fleet/spend/tail.js';
import { addTokens, zeroTokens, type SpendTokens } from '../../fleet/spend/types.js';
import { at } from '../helpers/must.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'spend-reader-'));
  dirs.push(d);
  return d;
}

/** A Claude assistant record as Claude Code 2.1.197 writes it. */
function claude(id: string, req: string, u: [number, number, number, number], ts = '2026-12-06T08:00:00.000Z', text = 'x'): string {
  return JSON.stringify({
    type: 'assistant',
    sessionId: 's-1',
    cwd: '/w',
    requestId: req,
    timestamp: ts,
    message: {
      id: id,
      model: 'claude-opus-4-8',
      role: 'assistant',
      content: [{ type: 'text', text }],
      usage: {
        input_tokens: u[0],
        output_tokens: u[1],
        cache_read_input_tokens: u[2],
        cache_creation_input_tokens: u[3],
        cache_creation: { ephemeral_5m_input_tokens: u[3], ephemeral_1h_input_tokens: 0 },
      },
    },
  });
}

function codexCount(last: [number, number, number, number], total: [number, number, number, number], ts = '2026-12-06T08:00:01.000Z', rates?: unknown): string {
  const u = (v: [number, number, number, number]) => ({
    input_tokens: v[0],
    cached_input_tokens: v[1],
    output_tokens: v[2],
    reasoning_output_tokens: v[3],
    total_tokens: v[0] + v[2],
  });
  return JSON.stringify({
    timestamp: ts,
    type: 'event_msg',
    payload: { type: 'token_count', info: { last_token_usage: u(last), total_token_usage: u(total) }, rate_limits: rates ?? null },
  });
}

function sum(ledger: SpendLedger, file: string): SpendTokens {
  const t = zeroTokens();
  for (const e of ledger.files.get(file)?.events ?? []) addTokens(t, e.tokens);
  return t;
}

describe('record parsers', () => {
  it('Claude: one event per usage record, keyed on message.id:requestId, input without cache', () => {
    const state: ParserState = {};
    const r = parseRecord('claude', JSON.parse(claude('m1', 'r1', [3, 40, 500, 60])), state);
    expect(r?.event?.key).toBe('m1:r1');
    expect(r?.event?.tokens).toEqual({ input: 3, output: 40, cacheRead: 500, cacheWrite: 60, reasoning: 0, total: 603 });
    expect(state.session).toBe('s-1');
    expect(parseRecord('claude', { type: 'user', message: { role: 'user' } }, state)).toBeNull();
  });

  it('Codex: input reported without the cached part, reasoning kept apart, model from turn_context, rate limits', () => {
    const state: ParserState = {};
    expect(parseRecord('codex', { type: 'session_meta', payload: { id: 'sess', cwd: '/w' } }, state)).toBeNull();
    expect(parseRecord('codex', { type: 'turn_context', payload: { model: 'gpt-5.1-codex' } }, state)).toBeNull();
    const rates = {
      primary: { used_percent: 40, window_minutes: 300, resets_at: 1_800_000_000 },
      secondary: { used_percent: 10, window_minutes: 10080, resets_at: 1_800_500_000 },
    };
    const r = parseRecord('codex', JSON.parse(codexCount([1000, 800, 50, 20], [1000, 800, 50, 20], undefined, rates)), state);
    expect(r?.event?.model).toBe('gpt-5.1-codex');
    expect(r?.event?.tokens).toEqual({ input: 200, output: 50, cacheRead: 800, cacheWrite: 0, reasoning: 20, total: 1050 });
    expect(r?.rate?.windows).toEqual([
      { window: 'primary', usedPercent: 40, windowMinutes: 300, resetsAt: 1_800_000_000 },
      { window: 'secondary', usedPercent: 10, windowMinutes: 10080, resetsAt: 1_800_500_000 },
    ]);
    // The same cumulative total again (a rate-limit refresh): nothing new counted.
    const again = parseRecord('codex', JSON.parse(codexCount([1000, 800, 50, 20], [1000, 800, 50, 20], undefined, rates)), state);
    expect(again?.event).toBeUndefined();
    expect(again?.rate).toBeDefined();
    // Only the cumulative total: the difference counts.
    const delta = parseRecord(
      'codex',
      {
        timestamp: '2026-12-06T08:00:02Z',
        type: 'event_msg',
        payload: {
          type: 'token_count',
          info: { total_token_usage: { input_tokens: 1500, cached_input_tokens: 900, output_tokens: 70, reasoning_output_tokens: 20 } },
        },
      },
      state,
    );
    expect(delta?.event?.tokens).toEqual({ input: 400, output: 20, cacheRead: 100, cacheWrite: 0, reasoning: 0, total: 520 });
  });

  it('pi: assistant message usage, keyed on the entry id', () => {
    const state: ParserState = {};
    parseRecord('pi', { type: 'session', id: 'p1', cwd: '/w', timestamp: '2026-12-06T08:00:00Z' }, state);
    const r = parseRecord(
      'pi',
      {
        type: 'message',
        id: 'e1',
        timestamp: '2026-12-06T08:00:03Z',
        message: { role: 'assistant', model: 'm', usage: { input: 7, output: 8, cacheRead: 9, cacheWrite: 10, totalTokens: 34 } },
      },
      state,
    );
    expect(r?.event).toMatchObject({ key: 'e1', model: 'm', tokens: { input: 7, output: 8, cacheRead: 9, cacheWrite: 10, total: 34 } });
    expect(state).toMatchObject({ session: 'p1', cwd: '/w' });
  });
});

describe('incremental reading', () => {
  it('a message streamed in several records and a tool turn written twice count once', () => {
    const d = tmp();
    const f = path.join(d, 's.jsonl');
    fs.writeFileSync(
      f,
      [claude('m1', 'r1', [1, 10, 100, 5]), claude('m1', 'r1', [1, 10, 100, 5]), claude('m2', 'r2', [2, 20, 200, 6]), claude('m2', 'r2', [2, 20, 200, 6])].join(
        '\n',
      ) + '\n',
    );
    const ledger = new SpendLedger(null);
    ledger.update(f, 'claude');
    expect(ledger.files.get(f)?.events).toHaveLength(2);
    expect(ledger.files.get(f)?.duplicates).toBe(2);
    expect(sum(ledger, f)).toMatchObject({ input: 3, output: 30, cacheRead: 300, cacheWrite: 11 });
  });

  it('a record without requestId (no request-id header) is still recognised as a repeat by its message id', () => {
    const d = tmp();
    const f = path.join(d, 's.jsonl');
    const noReq = (id: string) => JSON.stringify({ ...JSON.parse(claude(id, 'x', [1, 2, 3, 4])), requestId: undefined });
    fs.writeFileSync(f, [noReq('m1'), noReq('m1'), noReq('m2')].join('\n') + '\n');
    const ledger = new SpendLedger(null);
    ledger.update(f, 'claude');
    expect(ledger.files.get(f)?.events.map((e) => e.key)).toEqual(['m1:', 'm2:']);
    expect(ledger.files.get(f)?.duplicates).toBe(1);
  });

  it('a partial last line waits for its end, then counts once', () => {
    const d = tmp();
    const f = path.join(d, 's.jsonl');
    const line = claude('m1', 'r1', [1, 10, 100, 5]);
    fs.writeFileSync(f, `${claude('m0', 'r0', [1, 1, 1, 1])}\n${line.slice(0, 50)}`);
    const ledger = new SpendLedger(null);
    ledger.update(f, 'claude');
    expect(ledger.files.get(f)?.events).toHaveLength(1);
    expect(ledger.files.get(f)?.cursor.invalidLines).toBe(0);
    fs.appendFileSync(f, `${line.slice(50)}\n`);
    ledger.update(f, 'claude');
    expect(ledger.files.get(f)?.events).toHaveLength(2);
    ledger.update(f, 'claude');
    expect(ledger.files.get(f)?.events).toHaveLength(2);
  });

  it('invalid JSON lines are skipped and counted, never thrown', () => {
    const d = tmp();
    const f = path.join(d, 's.jsonl');
    fs.writeFileSync(f, [claude('m1', 'r1', [1, 1, 1, 1]), '{"usage": oops', 'not json "usage"', '', claude('m2', 'r2', [2, 2, 2, 2])].join('\n') + '\n');
    const ledger = new SpendLedger(null);
    const u = ledger.update(f, 'claude');
    expect(u.error).toBeNull();
    expect(ledger.files.get(f)?.events).toHaveLength(2);
    expect(ledger.files.get(f)?.cursor.invalidLines).toBe(2);
  });

  it('a line over 1 MB is skipped while it streams by, the lines around it count', () => {
    const d = tmp();
    const f = path.join(d, 's.jsonl');
    const huge = claude('big', 'rb', [9, 9, 9, 9], undefined, 'y'.repeat(MAX_LINE_BYTES + 10));
    fs.writeFileSync(f, [claude('m1', 'r1', [1, 1, 1, 1]), huge, claude('m2', 'r2', [2, 2, 2, 2])].join('\n') + '\n');
    const ledger = new SpendLedger(null);
    ledger.update(f, 'claude');
    const entry = ledger.files.get(f)!;
    expect(entry.events.map((e) => e.key)).toEqual(['m1:r1', 'm2:r2']);
    expect(entry.cursor.oversizeLines).toBe(1);
    expect(entry.cursor.offset).toBe(fs.statSync(f).size);
  });

  it('an oversize line still being written is skipped across reads', () => {
    const d = tmp();
    const f = path.join(d, 's.jsonl');
    fs.writeFileSync(f, `${claude('m1', 'r1', [1, 1, 1, 1])}\n{"usage":"${'z'.repeat(MAX_LINE_BYTES + 5)}`);
    const ledger = new SpendLedger(null);
    ledger.update(f, 'claude');
    expect(ledger.files.get(f)?.cursor.skipping).toBe(true);
    fs.appendFileSync(f, `zzzz"}\n${claude('m2', 'r2', [2, 2, 2, 2])}\n`);
    ledger.update(f, 'claude');
    const entry = ledger.files.get(f)!;
    expect(entry.events.map((e) => e.key)).toEqual(['m1:r1', 'm2:r2']);
    expect(entry.cursor.oversizeLines).toBe(1);
    expect(entry.cursor.invalidLines).toBe(0);
  });

  it('a truncated file is read again from the start', () => {
    const d = tmp();
    const f = path.join(d, 's.jsonl');
    fs.writeFileSync(f, [claude('m1', 'r1', [1, 1, 1, 1]), claude('m2', 'r2', [2, 2, 2, 2])].join('\n') + '\n');
    const ledger = new SpendLedger(null);
    ledger.update(f, 'claude');
    fs.truncateSync(f, Buffer.byteLength(claude('m1', 'r1', [1, 1, 1, 1])) + 1);
    const u = ledger.update(f, 'claude');
    expect(u.reset).toBe(true);
    expect(ledger.files.get(f)?.events.map((e) => e.key)).toEqual(['m1:r1']);
  });

  it('a rewritten file (same size or larger, other head) is read again from the start', () => {
    const d = tmp();
    const f = path.join(d, 's.jsonl');
    fs.writeFileSync(f, `${claude('m1', 'r1', [1, 1, 1, 1])}\n`);
    const ledger = new SpendLedger(null);
    ledger.update(f, 'claude');
    // Another writer replaces the file in place with different records.
    fs.writeFileSync(f, [claude('n1', 'q1', [5, 5, 5, 5]), claude('n2', 'q2', [6, 6, 6, 6])].join('\n') + '\n');
    const u = ledger.update(f, 'claude');
    expect(u.reset).toBe(true);
    expect(ledger.files.get(f)?.events.map((e) => e.key)).toEqual(['n1:q1', 'n2:q2']);
    expect(sum(ledger, f).input).toBe(11);
  });

  it('a file growing while read: every record counts once, whatever the cut points', () => {
    const d = tmp();
    const f = path.join(d, 's.jsonl');
    const lines = Array.from({ length: 200 }, (_, i) => claude(`m${i}`, `r${i}`, [i, 1, 0, 0]));
    const text = lines.join('\n') + '\n';
    fs.writeFileSync(f, '');
    const ledger = new SpendLedger(null);
    // Append in odd-sized slices and read after each, with a small read bound too.
    let pos = 0;
    let step = 1;
    while (pos < text.length) {
      const next = Math.min(text.length, pos + 97 * step);
      fs.appendFileSync(f, text.slice(pos, next));
      pos = next;
      step = (step % 7) + 1;
      ledger.update(f, 'claude', 4096);
    }
    while (ledger.update(f, 'claude', 4096).bytesRead > 0);
    const entry = ledger.files.get(f)!;
    expect(entry.events).toHaveLength(200);
    expect(entry.duplicates).toBe(0);
    expect(sum(ledger, f).input).toBe((199 * 200) / 2);
  });

  it('nothing changed: no byte read', () => {
    const d = tmp();
    const f = path.join(d, 's.jsonl');
    fs.writeFileSync(f, `${claude('m1', 'r1', [1, 1, 1, 1])}\n`);
    const cursor = newCursor();
    const seen: unknown[] = [];
    expect(
      readNewLines(
        f,
        cursor,
        () => true,
        (v) => seen.push(v),
      ).bytesRead,
    ).toBeGreaterThan(0);
    expect(
      readNewLines(
        f,
        cursor,
        () => true,
        (v) => seen.push(v),
      ).bytesRead,
    ).toBe(0);
    expect(seen).toHaveLength(1);
  });

  it('the cache in the run dir resumes from the saved offset (owner-only files)', () => {
    const d = tmp();
    const f = path.join(d, 's.jsonl');
    const cache = path.join(d, 'run', 'spend', 'cache');
    fs.writeFileSync(f, `${claude('m1', 'r1', [1, 1, 1, 1])}\n`);
    const first = new SpendLedger(cache);
    first.update(f, 'claude');
    expect(first.save()).toBeNull();
    const files = fs.readdirSync(cache);
    expect(files).toHaveLength(1);
    expect(fs.statSync(path.join(cache, at(files, 0))).mode & 0o777).toBe(0o600);
    expect(fs.statSync(cache).mode & 0o777).toBe(0o700);
    fs.appendFileSync(f, `${claude('m1', 'r1', [1, 1, 1, 1])}\n${claude('m2', 'r2', [2, 2, 2, 2])}\n`);
    const second = new SpendLedger(cache);
    const u = second.update(f, 'claude');
    // Only the appended bytes were read; the repeat of m1 is still recognised.
    expect(u.bytesRead).toBe(fs.statSync(f).size - Buffer.byteLength(claude('m1', 'r1', [1, 1, 1, 1])) - 1);
    expect(second.files.get(f)?.events.map((e) => e.key)).toEqual(['m1:r1', 'm2:r2']);
    expect(second.files.get(f)?.duplicates).toBe(1);
  });

  it('Codex rollout: token_count repeats and model changes across reads', () => {
    const d = tmp();
    const f = path.join(d, 'rollout-2026-12-06T08-00-00-abc.jsonl');
    fs.writeFileSync(
      f,
      [
        JSON.stringify({ timestamp: '2026-12-06T08:00:00Z', type: 'session_meta', payload: { id: 'abc', cwd: '/w' } }),
        JSON.stringify({ timestamp: '2026-12-06T08:00:00Z', type: 'turn_context', payload: { model: 'gpt-5.1-codex' } }),
        codexCount([100, 40, 10, 2], [100, 40, 10, 2]),
        codexCount([100, 40, 10, 2], [100, 40, 10, 2]),
      ].join('\n') + '\n',
    );
    const ledger = new SpendLedger(null);
    ledger.update(f, 'codex');
    fs.appendFileSync(f, `${codexCount([300, 100, 30, 0], [400, 140, 40, 2], '2026-12-06T08:00:05Z')}\n`);
    ledger.update(f, 'codex');
    const entry = ledger.files.get(f)!;
    expect(entry.events).toHaveLength(2);
    expect(sum(ledger, f)).toMatchObject({ input: 260, cacheRead: 140, output: 40, reasoning: 2 });
    expect(entry.parser).toMatchObject({ session: 'abc', cwd: '/w', model: 'gpt-5.1-codex' });
  });
});
