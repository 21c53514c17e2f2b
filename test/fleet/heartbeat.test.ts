import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatHeartbeat, parseHeartbeat, readHeartbeat, writeHeartbeat } from '../../fleet/heartbeat.js';

const opts = { path: '/run/a.hb', mtimeSeconds: 1000, nowSeconds: 1100 };

describe('parseHeartbeat', () => {
  it('reads a full v1 beat (inline comments allowed)', () => {
    const hb = parseHeartbeat('v=1\nts=1090   # unix seconds\nstate=busy\ninterval=30\npid=12\ncard=A3a\nnote=free # text\n', opts);
    expect(hb).toEqual({ path: '/run/a.hb', version: 1, ts: 1090, ageSeconds: 10, state: 'busy', intervalSeconds: 30, pid: 12, card: 'A3a', note: 'free # text', partial: false, skewSeconds: 0, problems: [] });
  });

  it('legacy ts-only is partial with no state', () => {
    const hb = parseHeartbeat('ts=1050\n', opts);
    expect(hb).toMatchObject({ version: null, ts: 1050, ageSeconds: 50, state: null, partial: true, problems: [] });
  });

  it('garbage falls back to mtime and says so', () => {
    const hb = parseHeartbeat('\u0000\u0001binary junk\nts=x\nstate=sleeping\n', opts);
    expect(hb.ts).toBe(1000);
    expect(hb.ageSeconds).toBe(100);
    expect(hb.state).toBeNull();
    expect(hb.partial).toBe(true);
    expect(hb.problems).toEqual(['line 1: no key=value', 'ts "x" unreadable: used file mtime', 'state "sleeping" is not busy|idle']);
  });

  it('missing ts uses mtime; v1 without state is flagged', () => {
    const hb = parseHeartbeat('v=1\n', opts);
    expect(hb.ts).toBe(1000);
    expect(hb.problems).toEqual(['ts missing: used file mtime', 'state missing (required in v1)']);
  });

  it('future ts is clamped and reported as clock skew', () => {
    const hb = parseHeartbeat('v=1\nts=1400\nstate=idle\n', opts);
    expect(hb).toMatchObject({ ts: 1100, ageSeconds: 0, skewSeconds: 300, partial: true });
    expect(hb.problems[0]).toBe('ts 300s in the future (clock skew): clamped to now');
  });
});

describe('writeHeartbeat', () => {
  let dir: string | null = null;
  afterEach(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); dir = null; });

  it('writes atomically into a new run dir; note flattened; readable back', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-hb-'));
    const runDir = path.join(dir, 'fleet', 'run');
    const file = writeHeartbeat(runDir, 'coder1', { state: 'busy', card: 'A1', note: 'line one\nline\ttwo\u001b[31m', interval: 30, pid: 99, ts: 1700000000 });
    expect(file).toBe(path.join(runDir, 'coder1.hb'));
    expect(fs.readFileSync(file, 'utf8')).toBe('v=1\nts=1700000000\nstate=busy\ninterval=30\npid=99\ncard=A1\nnote=line one line two [31m\n');
    expect(fs.readdirSync(runDir)).toEqual(['coder1.hb']); // no temp file left
    const { heartbeat } = readHeartbeat(runDir, 'coder1', 1700000005);
    expect(heartbeat).toMatchObject({ state: 'busy', card: 'A1', ageSeconds: 5, partial: false });
    expect(readHeartbeat(runDir, 'nobody', 1)).toEqual({ heartbeat: null, error: null });
  });

  it('refuses bad agent names, states and cards', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-hb-'));
    expect(() => writeHeartbeat(dir!, '../evil', { state: 'busy' })).toThrow(/invalid agent name/);
    expect(() => writeHeartbeat(dir!, 'a/b', { state: 'busy' })).toThrow(/invalid agent name/);
    expect(() => writeHeartbeat(dir!, 'a', { state: 'sleeping' as 'busy' })).toThrow(/busy or idle/);
    expect(() => formatHeartbeat({ state: 'idle', card: 'a b' })).toThrow(/card id/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
