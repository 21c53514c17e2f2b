/**
 * Who holds the embedded data dir, read from a fake /proc: PGlite's descriptors count, the
 * lock file every client reads to find the server does not (two concurrent CLI clients must
 * never refuse each other as "open in another process").
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dataDirInUseReason, dataDirUsers, isDataDirFile } from '../../backlog/datadir-users.js';

let tmp: string;
let dataDir: string;
let procRoot: string;

/** A fake /proc/<pid> with a cmdline and fds linking to `targets`. */
function fakeProcess(pid: number, command: string[], targets: string[]): void {
  const dir = path.join(procRoot, String(pid));
  fs.mkdirSync(path.join(dir, 'fd'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'cmdline'), command.join('\0') + '\0');
  targets.forEach((t, i) => fs.symlinkSync(t, path.join(dir, 'fd', String(i + 3))));
}

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-datadir-users-'));
  dataDir = path.join(tmp, 'backlog');
  procRoot = path.join(tmp, 'proc');
  fs.mkdirSync(path.join(dataDir, 'base'), { recursive: true });
  fs.mkdirSync(procRoot);
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('dataDirUsers on a fake /proc', () => {
  it('counts PGlite files and never the lock family', () => {
    fakeProcess(101, ['node', 'mosaic-top', 'backlog', 'claim', '--owner', 'o4-0'], [path.join(dataDir, 'mosaic-top.lock')]);
    fakeProcess(102, ['node', 'mosaic-top', 'backlog', 'list'], [path.join(dataDir, 'mosaic-top.lock.102.tmp'), '/dev/null']);
    fakeProcess(103, ['node', 'upstream-backlog'], [path.join(dataDir, 'base', '16384'), path.join(dataDir, 'PG_VERSION')]);
    fakeProcess(104, ['bash'], [path.join(tmp, 'backlog-other', 'x')]);
    const users = dataDirUsers(dataDir, { procRoot, exclude: [] });
    expect(users).toEqual([{ pid: 103, command: 'node upstream-backlog', openFiles: 2 }]);
  });

  it('a client reading the lock is no reason to refuse; a PGlite user is', () => {
    fakeProcess(201, ['node', 'mosaic-top', 'backlog', 'claim'], [path.join(dataDir, 'mosaic-top.lock')]);
    expect(dataDirInUseReason(dataDir, { procRoot, exclude: [] })).toBeNull();
    fakeProcess(202, ['node', 'other'], [path.join(dataDir, 'base', '1')]);
    expect(dataDirInUseReason(dataDir, { procRoot, exclude: [] })).toMatch(/open in another process: pid 202 \(node other\)/);
  });

  it('isDataDirFile: the dir and its files, a deleted lock is still the lock', () => {
    const root = path.resolve(dataDir);
    expect(isDataDirFile(root, root)).toBe(true);
    expect(isDataDirFile(root, path.join(root, 'base', '1'))).toBe(true);
    expect(isDataDirFile(root, path.join(root, 'mosaic-top.lock'))).toBe(false);
    expect(isDataDirFile(root, path.join(root, 'mosaic-top.lock') + ' (deleted)')).toBe(false);
    expect(isDataDirFile(root, root + '-sibling/file')).toBe(false);
  });
});
