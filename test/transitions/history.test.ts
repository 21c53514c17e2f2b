import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TRANSITION_SCHEMA, type Transition } from '../../src/transitions/diff.js';
import { appendHistory, historyFile, pruneHistory, readHistory, sinceFromHistory } from '../../src/transitions/history.js';
import { readJson } from '../helpers/json.js';

function t(agent: string, from: string, to: string, atMs: number): Transition {
  return {
    schema: TRANSITION_SCHEMA,
    kind: 'readiness',
    scope: 'agent',
    agent,
    host: null,
    from,
    to,
    at: new Date(atMs).toISOString(),
    evidence: [`${to} evidence`],
    attention: to === 'dead',
  };
}

describe('transition history (run-dir NDJSON)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-hist-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('appends owner-only, reads back chronologically, skips garbage, and a missing file is empty', async () => {
    const file = historyFile(path.join(dir, 'run'));
    expect(readHistory(file)).toEqual({ transitions: [], error: null });
    const now = Date.now();
    const r = await appendHistory(file, [t('coder1', 'working', 'dead', now - 2000), t('coder2', 'working', 'stale', now - 1000)], { nowMs: now });
    expect(r.error).toBeNull();
    expect(r.written).toHaveLength(2);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    fs.appendFileSync(file, 'not json\n{"schema":"other"}\n');
    const back = readHistory(file, { nowMs: now });
    expect(back.error).toBeNull();
    expect(back.transitions.map((x) => `${x.agent}:${x.to}`)).toEqual(['coder1:dead', 'coder2:stale']);
    // A file left group-readable is put back to 0600 on the next append.
    fs.chmodSync(file, 0o644);
    await appendHistory(file, [t('coder1', 'dead', 'working', now)], { nowMs: now });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('dedupes the same change recorded by two observers, but keeps a later repeat', async () => {
    const file = historyFile(dir);
    const now = Date.now();
    await appendHistory(file, [t('coder1', 'working', 'dead', now)], { nowMs: now });
    const second = await appendHistory(file, [t('coder1', 'working', 'dead', now + 2500)], { nowMs: now + 2500 });
    expect(second.written).toEqual([]);
    const much = await appendHistory(file, [t('coder1', 'working', 'dead', now + 600_000)], { nowMs: now + 600_000 });
    expect(much.written).toHaveLength(1);
    expect(readHistory(file, { nowMs: now + 600_000 }).transitions).toHaveLength(2);
  });

  it('is bounded: rotation keeps the last 24 h and N per agent', async () => {
    const file = historyFile(dir);
    const now = Date.now();
    const old = Array.from({ length: 5 }, (_, i) => t('old', 'working', i % 2 ? 'working' : 'dead', now - 30 * 3600_000 + i));
    const many = Array.from({ length: 50 }, (_, i) => t('busy', i % 2 ? 'dead' : 'working', i % 2 ? 'working' : 'dead', now - 50_000 + i * 1000));
    const r = await appendHistory(file, [...old, ...many], { nowMs: now, rotateBytes: 100, perSubject: 10, dedupeSeconds: 0 });
    expect(r.rotated).toBe(true);
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(10);
    expect(lines.every((l) => readJson<Transition>(l).agent === 'busy')).toBe(true);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(pruneHistory(many, now, { perSubject: 3 }).map((x) => x.at)).toEqual(many.slice(-3).map((x) => x.at));
  });

  it('refuses a symlinked history file with a clear error', async () => {
    const target = path.join(dir, 'elsewhere');
    fs.writeFileSync(target, '');
    fs.symlinkSync(target, historyFile(dir));
    const r = await appendHistory(historyFile(dir), [t('coder1', 'working', 'dead', Date.now())]);
    expect(r.error).toMatch(/transitions\.ndjson: a symlink \(refused\)/);
    expect(readHistory(historyFile(dir)).error).toMatch(/symlink/);
  });

  it('since: the last readiness transition when it went to the current readiness, else null', () => {
    const h = [t('coder1', 'working', 'dead', 1000), t('coder1', 'dead', 'working', 2000), t('coder2', 'working', 'stale', 1500)];
    expect(sinceFromHistory(h, 'coder1', 'working')).toBe(new Date(2000).toISOString());
    expect(sinceFromHistory(h, 'coder1', 'dead')).toBeNull();
    expect(sinceFromHistory(h, 'coder2', 'stale')).toBe(new Date(1500).toISOString());
    expect(sinceFromHistory(h, 'nobody', 'dead')).toBeNull();
  });
});
