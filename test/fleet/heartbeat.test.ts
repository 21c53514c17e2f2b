import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import {
  HEARTBEAT_READ_LIMIT,
  MAX_REASON_LENGTH,
  formatHeartbeat,
  parseHeartbeat,
  readHeartbeat,
  sanitizeReason,
  writeHeartbeat,
} from '../../fleet/heartbeat.js';
import type { HeartbeatInfo } from '../../src/snapshot/types.js';
import { objectContaining } from '../helpers/matchers.js';

const opts = { path: '/run/a.hb', mtimeSeconds: 1000, nowSeconds: 1100 };

/** Parses and expects a usable beat. */
function usable(input: string | Uint8Array, o: Parameters<typeof parseHeartbeat>[1] = opts): HeartbeatInfo {
  const r = parseHeartbeat(input, o);
  expect(r.error).toBeNull();
  return r.heartbeat!;
}

/** 300 fixed urandom-like bytes (xorshift32), with newlines and '=' among them as real junk has. */
function junkBytes(n = 300): Buffer {
  let x = 0x9e3779b9;
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = i % 29 === 28 ? 0x0a : i % 17 === 5 ? 0x3d : x & 0xff;
  }
  return out;
}

describe('parseHeartbeat', () => {
  it('reads a full v1 beat (inline comments allowed)', () => {
    const hb = usable('v=1\nts=1090   # unix seconds\nstate=busy\ninterval=30\npid=12\ncard=A3a\nnote=free # text\n', opts);
    expect(hb).toEqual({
      path: '/run/a.hb',
      version: 1,
      ts: 1090,
      ageSeconds: 10,
      state: 'busy',
      intervalSeconds: 30,
      pid: 12,
      card: 'A3a',
      note: 'free # text',
      partial: false,
      skewSeconds: 0,
      problems: [],
    });
  });

  it('legacy ts-only is partial with no state', () => {
    const hb = usable('ts=1050\n');
    expect(hb).toMatchObject({ version: null, ts: 1050, ageSeconds: 50, state: null, partial: true, problems: [] });
  });

  it('garbage falls back to mtime and says so', () => {
    const hb = usable('\u0000\u0001binary junk\nts=x\nstate=sleeping\n');
    expect(hb.ts).toBe(1000);
    expect(hb.ageSeconds).toBe(100);
    expect(hb.state).toBeNull();
    expect(hb.partial).toBe(true);
    expect(hb.problems).toEqual(['line 1: no key=value', 'ts "x" unreadable: used file mtime', 'state "sleeping" is not busy|idle|waiting|stuck']);
  });

  it('missing ts uses mtime; v1 without state is flagged', () => {
    const hb = usable('v=1\n');
    expect(hb.ts).toBe(1000);
    expect(hb.problems).toEqual(['ts missing: used file mtime', 'state missing (required in v1)']);
  });

  it('future ts is clamped and reported as clock skew; its age comes from the file mtime, so a dead writer goes stale', () => {
    const hb = usable('v=1\nts=1400\nstate=idle\n');
    expect(hb).toMatchObject({ ts: 1100, ageSeconds: 100, skewSeconds: 300, partial: true });
    expect(hb.problems[0]).toBe("ts 300s in the future (clock skew): clamped to now, age from the file's mtime");
    // Written just now (mtime = now): fresh.
    expect(usable('v=1\nts=1400\nstate=idle\n', { ...opts, mtimeSeconds: 1100 }).ageSeconds).toBe(0);
  });
  it('no v1 field at all is no beat: urandom-like bytes, zeros, an empty file, text with no known key', () => {
    expect(parseHeartbeat(junkBytes(), opts)).toEqual({ heartbeat: null, error: '/run/a.hb unreadable: no v1 field (300 bytes, binary)' });
    expect(parseHeartbeat(Buffer.alloc(300), opts)).toEqual({ heartbeat: null, error: '/run/a.hb unreadable: no v1 field (300 bytes, binary)' });
    expect(parseHeartbeat(Buffer.alloc(0), opts)).toEqual({ heartbeat: null, error: '/run/a.hb unreadable: empty file' });
    expect(parseHeartbeat('hello=world\nTS=1090\njust words\n# ts=1090\n', opts)).toEqual({
      heartbeat: null,
      error: '/run/a.hb unreadable: no v1 field (41 bytes, text)',
    });
    expect(parseHeartbeat(Buffer.from([0xff, 0xfe, 0x3d, 0x0a]), opts).error).toBe('/run/a.hb unreadable: no v1 field (4 bytes, binary)');
  });

  it('one v1 field is enough: legacy ts= only is a partial beat; state=busy without ts uses the mtime', () => {
    expect(parseHeartbeat('ts=1050\n', opts)).toEqual({ heartbeat: objectContaining({ ts: 1050, state: null, partial: true }), error: null });
    expect(parseHeartbeat('state=busy\n', opts)).toEqual({
      heartbeat: objectContaining({ ts: 1000, ageSeconds: 100, state: 'busy', partial: true, problems: ['ts missing: used file mtime'] }),
      error: null,
    });
    // Binary junk around a real field: the field is used, the junk is listed (without its bytes).
    const hb = usable(Buffer.concat([Buffer.alloc(40, 0xff), Buffer.from('\nstate=idle\n')]));
    expect(hb).toMatchObject({ state: 'idle', ts: 1000, problems: ['line 1: no key=value', 'ts missing: used file mtime'] });
  });

  it('problems never quote raw control bytes, and many junk lines are counted, not listed', () => {
    expect(usable('ts=\u001b]0;pwned\u0007\nstate=\u202eidle\n').problems).toEqual([
      'ts "?]0;pwned?" unreadable: used file mtime',
      'state "?idle" is not busy|idle|waiting|stuck',
    ]);
    expect(usable(`state=busy\n${'junk\n'.repeat(10)}`).problems).toEqual([
      'line 2: no key=value',
      'line 3: no key=value',
      'line 4: no key=value',
      '7 more lines without key=value',
      'ts missing: used file mtime',
    ]);
  });

  it('a prefix of a larger file: the cut last line is dropped and the size is reported', () => {
    const hb = usable(Buffer.from('v=1\nstate=busy\nts=17'), { ...opts, fileSize: 52428800 });
    expect(hb).toMatchObject({ ts: 1000, state: 'busy', partial: true });
    expect(hb.problems).toEqual(['file is 52428800 bytes: read only the first 20', 'ts missing: used file mtime']);
    expect(parseHeartbeat(Buffer.alloc(4096), { ...opts, fileSize: 52428800 }).error).toBe(
      '/run/a.hb unreadable: no v1 field in the first 4096 bytes (file is 52428800 bytes, binary)',
    );
  });
});

describe('writeHeartbeat', () => {
  let dir: string | null = null;
  afterEach(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = null;
  });

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
    expect(() => writeHeartbeat(dir!, 'a', { state: 'sleeping' as 'busy' })).toThrow(/busy, idle, waiting or stuck/);
    expect(() => formatHeartbeat({ state: 'idle', card: 'a b' })).toThrow(/card id/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('writes waiting and stuck with a one-line reason', () => {
    expect(formatHeartbeat({ state: 'waiting', reason: 'permission: Bash\necho hi', ts: 5 })).toBe(
      'v=1\nts=5\nstate=waiting\nreason=permission: Bash echo hi\n',
    );
    expect(formatHeartbeat({ state: 'stuck', reason: 'rate limited (429)', note: 'API Error', ts: 5 })).toBe(
      'v=1\nts=5\nstate=stuck\nreason=rate limited (429)\nnote=API Error\n',
    );
  });
});

describe('readHeartbeat (bounded)', () => {
  let dir: string | null = null;
  afterEach(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = null;
  });

  it('a 50 MB file of zeros: only the first 4 KiB read, no beat, the error says so', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-hb-'));
    const file = path.join(dir, 'reviewer.hb');
    fs.writeFileSync(file, '');
    fs.truncateSync(file, 50 * 1024 * 1024); // zeros (sparse: cheap to make)
    expect(readHeartbeat(dir, 'reviewer', 1)).toEqual({
      heartbeat: null,
      error: `${file} unreadable: no v1 field in the first ${HEARTBEAT_READ_LIMIT} bytes (file is 52428800 bytes, binary)`,
    });
    fs.writeFileSync(path.join(dir, 'junk.hb'), junkBytes());
    expect(readHeartbeat(dir, 'junk', 1).error).toBe(`${path.join(dir, 'junk.hb')} unreadable: no v1 field (300 bytes, binary)`);
  });

  it('a real beat followed by megabytes of junk is used, marked partial with the size', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-hb-'));
    const file = path.join(dir, 'a.hb');
    fs.writeFileSync(file, 'v=1\nts=1700000000\nstate=busy\n');
    fs.truncateSync(file, 5 * 1024 * 1024);
    expect(readHeartbeat(dir, 'a', 1700000003)).toEqual({
      heartbeat: objectContaining({
        ts: 1700000000,
        ageSeconds: 3,
        state: 'busy',
        partial: true,
        problems: [`file is 5242880 bytes: read only the first ${HEARTBEAT_READ_LIMIT}`],
      }),
      error: null,
    });
  });

  it('not a regular file (a directory, a FIFO nobody writes): an error, never a hang', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-hb-'));
    fs.mkdirSync(path.join(dir, 'd.hb'));
    execFileSync('mkfifo', [path.join(dir, 'f.hb')]);
    expect(readHeartbeat(dir, 'd', 1)).toEqual({ heartbeat: null, error: `${path.join(dir, 'd.hb')} unreadable: a directory, not a regular file` });
    expect(readHeartbeat(dir, 'f', 1)).toEqual({ heartbeat: null, error: `${path.join(dir, 'f.hb')} unreadable: a FIFO, not a regular file` });
  });
});

describe('protocol v1 states waiting|stuck and reason= (reader)', () => {
  it('reads state=waiting|stuck and a reason (free text: # kept, no inline comment)', () => {
    expect(usable('v=1\nts=1090\nstate=waiting\nreason=permission: Bash echo hi > proto.txt # really\n')).toMatchObject({
      state: 'waiting',
      reason: 'permission: Bash echo hi > proto.txt # really',
      partial: false,
      problems: [],
    });
    expect(usable('v=1\nts=1090\nstate=stuck\nreason=rate limited (429)\n')).toMatchObject({ state: 'stuck', reason: 'rate limited (429)' });
    // No reason ⇒ no key (older snapshot readers see the same object as before).
    expect('reason' in usable('v=1\nts=1090\nstate=busy\n')).toBe(false);
  });

  it('the reason is untrusted: controls, bidi and separators become spaces, one line, capped at 200 characters', () => {
    const hb = usable(`v=1\nts=1090\nstate=stuck\nreason=\u001b[2Jrate\u202e limited\u2028(429)\u0007 ${'x'.repeat(500)}\n`);
    expect(hb.reason).toMatch(/^\[2Jrate limited \(429\) x+$/);
    expect([...hb.reason!].length).toBe(MAX_REASON_LENGTH);
    expect(sanitizeReason(' \u0000 \t ')).toBeNull();
    // A reason alone is a v1 field: the file is a beat.
    expect(parseHeartbeat('reason=waiting for you\n', opts).heartbeat).toMatchObject({ reason: 'waiting for you', state: null, partial: true });
  });

  it('the writer writes waiting|stuck with a flattened reason, and the reader reads it back', () => {
    const body = formatHeartbeat({ state: 'stuck', reason: 'rate limited\n(429)', ts: 1090 });
    expect(body).toBe('v=1\nts=1090\nstate=stuck\nreason=rate limited (429)\n');
    expect(usable(body)).toMatchObject({ state: 'stuck', reason: 'rate limited (429)' });
  });
});
