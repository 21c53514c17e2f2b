import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { BoundedReadError, readBoundedFile } from '../../lib/bounded-read.js';
import { describeCause, formatFatal, OperatorError, rootCause } from '../../lib/errors.js';
import { requestTimeoutMessage } from '../../backlog/client/deadlines.js';
import { serverTierErrorMessage, serverTierTimeouts } from '../../backlog/client/server-tier.js';

/** drizzle's wrapper as it reaches us: the SQL and the parameters (card data) in the message, the cause behind. */
function failedQuery(cause: Error): Error {
  return new Error('Failed query: insert into "backlog" ("id", "title") values ($1, $2)\nparams: A1,top secret card body', { cause });
}

describe('one-line causes (lib/errors.ts)', () => {
  it("unwraps drizzle's Failed query to the cause, never the SQL or the parameters", () => {
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
    expect(describeCause(failedQuery(enospc))).toBe('no space left on device (ENOSPC, write)');
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', syscall: 'connect' });
    expect(describeCause(failedQuery(refused))).toBe('connection refused (ECONNREFUSED, connect)');
    expect(describeCause(new Error('Failed query: select 1\nparams: secret'))).toBe('database query failed');
    expect(rootCause(failedQuery(refused))).toBe(refused);
  });
  it('flattens to one line without control characters; unexpected errors point at MOSAIC_DEBUG', () => {
    expect(describeCause(new Error('line one\nline \u001b[31mtwo'))).toBe('line one line [31mtwo');
    const fatal = formatFatal(new TypeError('x is undefined'), false);
    expect(fatal).toBe('unexpected error: x is undefined; rerun with MOSAIC_DEBUG=1 for the stack trace');
    expect(formatFatal(new OperatorError('pause failed: …'), false)).toBe('pause failed: …');
    expect(formatFatal(new TypeError('x'), true)).toMatch(/\n\s+at /);
  });
  it('server tier: lock_timeout, statement_timeout and connect timeout each have their message', () => {
    const t = serverTierTimeouts(30_000);
    expect(t).toEqual({ requestMs: 30_000, statementMs: 29_000, lockMs: 15_000, connectSeconds: 10 });
    // The connect timeout never outlives a shorter request deadline.
    expect(serverTierTimeouts(3_000).connectSeconds).toBe(3);
    expect(serverTierTimeouts(1_000).connectSeconds).toBe(1);
    const pg = (code: string, message: string) => failedQuery(Object.assign(new Error(message), { code }));
    expect(serverTierErrorMessage('claim', pg('55P03', 'canceling statement due to lock timeout'), 'postgres://u:***@h/db', t)).toBe(
      'claim on postgres://u:***@h/db: the backlog table stayed locked by another session for 15 s (lock_timeout): nothing was changed — retry later, or find the session holding the lock (pg_locks)',
    );
    expect(serverTierErrorMessage('list', pg('57014', 'canceling statement due to statement timeout'), 'L', t)).toMatch(
      /^list on L: cancelled by Postgres after 29 s \(statement_timeout\)/,
    );
    expect(serverTierErrorMessage('connect', Object.assign(new Error('write CONNECT_TIMEOUT'), { code: 'CONNECT_TIMEOUT' }), 'L', t)).toMatch(
      /no connection within 10 s \(connect timeout\)/,
    );
  });
  it('a timed-out request: a change may have been applied (how to check), a read says the server may be stopped', () => {
    expect(requestTimeoutMessage('complete', { id: 'A1' }, 30_000, 'P')).toBe(
      'complete sent to P, no answer within 30 s: it may have been applied — check `mosaic-top backlog show --id A1`',
    );
    expect(requestTimeoutMessage('claim', { owner: 'c', requestId: 'rq-1' }, 30_000, 'P')).toMatch(
      /check `mosaic-top backlog list --status claimed`, or repeat the claim with --request-id rq-1/,
    );
    expect(requestTimeoutMessage('list', {}, 2500, 'P')).toBe(
      'list: no answer from P within 2.5 s; it may be stopped or hung — run `mosaic-top backlog stop` and retry',
    );
  });
});

describe('bounded reads (lib/bounded-read.ts)', () => {
  let dir = '';
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  it('regular files only, non-blocking, capped; null when absent', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-bounded-'));
    const file = path.join(dir, 'f');
    fs.writeFileSync(file, 'abcdef');
    expect(readBoundedFile(file, { maxBytes: 100 })?.bytes.toString()).toBe('abcdef');
    expect(readBoundedFile(file, { maxBytes: 4, truncate: true })).toMatchObject({ truncated: true, size: 6 });
    expect(() => readBoundedFile(file, { maxBytes: 4 })).toThrow(`${file}: larger than 4 bytes (6 bytes); is this the right file?`);
    expect(readBoundedFile(path.join(dir, 'none'), { maxBytes: 4 })).toBeNull();
    execFileSync('mkfifo', [path.join(dir, 'fifo')]);
    fs.symlinkSync('/dev/zero', path.join(dir, 'zero'));
    for (const [name, kind] of [
      ['fifo', 'a FIFO'],
      ['zero', 'a character device'],
      ['.', 'a directory'],
    ] as const) {
      const p = path.join(dir, name);
      expect(() => readBoundedFile(p, { maxBytes: 4 })).toThrow(new BoundedReadError(p, 'not-regular', `${kind}, not a regular file`));
    }
  });
  it('reads a file whole past the first buffer, and one that grew after fstat up to the bound', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-bounded-'));
    const file = path.join(dir, 'big');
    const text = 'x'.repeat(70_000);
    fs.writeFileSync(file, text);
    expect(readBoundedFile(file, { maxBytes: 1 << 20 })).toMatchObject({ size: 70_000, truncated: false });
    expect(readBoundedFile(file, { maxBytes: 1 << 20 })?.bytes.toString()).toBe(text);
    expect(readBoundedFile(file, { maxBytes: 69_999, truncate: true })).toMatchObject({ size: 70_000, truncated: true });
    expect(readBoundedFile(file, { maxBytes: 70_000 })?.bytes.length).toBe(70_000);
    // /proc files report size 0 and still have content: read by growing the buffer.
    expect(readBoundedFile('/proc/self/status', { maxBytes: 1 << 16 })?.bytes.toString()).toMatch(/^Name:/);
  });
});
