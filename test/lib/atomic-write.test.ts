import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempPathFor, writeFileAtomic } from '../../lib/atomic-write.js';
import { pollUntil } from '../../lib/delay.js';

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-atomic-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('replaces the file, mode 0600 by default, and leaves no temp file', () => {
    const file = path.join(dir, 'a.txt');
    fs.writeFileSync(file, 'old');
    writeFileAtomic(file, 'new');
    expect(fs.readFileSync(file, 'utf8')).toBe('new');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual(['a.txt']);
  });

  it('with replace: false never replaces an existing file: EEXIST, old content kept, no temp file', () => {
    const file = path.join(dir, 'PAUSED');
    writeFileAtomic(file, 'first', { replace: false });
    expect(() => writeFileAtomic(file, 'second', { replace: false })).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(fs.readFileSync(file, 'utf8')).toBe('first');
    expect(fs.readdirSync(dir)).toEqual(['PAUSED']);
  });

  it('throws the filesystem error when the target is a directory, and removes the temp file', () => {
    const file = path.join(dir, 'd');
    fs.mkdirSync(file);
    fs.writeFileSync(path.join(file, 'x'), '');
    expect(() => writeFileAtomic(file, 'x')).toThrow();
    expect(fs.readdirSync(dir)).toEqual(['d']);
  });

  it('temp names are beside the target and differ per call', () => {
    const file = path.join(dir, 'b');
    const a = tempPathFor(file);
    expect(path.dirname(a)).toBe(dir);
    expect(a).toMatch(/^.*\/b\.\d+\.[a-z0-9]+\.tmp$/);
    expect(tempPathFor(file)).not.toBe(a);
  });
});

describe('pollUntil', () => {
  it('returns true as soon as the check passes, after that many checks', async () => {
    let calls = 0;
    expect(await pollUntil(() => ++calls === 3, { timeoutMs: 5000, intervalMs: 1 })).toBe(true);
    expect(calls).toBe(3);
  });

  it('returns false once the deadline passes, and at once on an aborted signal', async () => {
    let calls = 0;
    expect(await pollUntil(() => (calls++, false), { timeoutMs: 20, intervalMs: 5 })).toBe(false);
    expect(calls).toBeGreaterThan(1);
    const controller = new AbortController();
    controller.abort();
    let aborted = 0;
    expect(await pollUntil(() => (aborted++, false), { timeoutMs: 60_000, intervalMs: 1000, signal: controller.signal })).toBe(false);
    expect(aborted).toBe(1);
  });
});
