/**
 * Faults: owner-only files. The PGlite data dir is 0700 and every file in it
 * 0600 — when initdb creates it and when an existing (0755/0666) dir is opened; the run dir is
 * 0700, beats and `PAUSED` 0600, the socket 0600. Another local user (created here when root,
 * removed after) can read none of them nor connect to the socket. Needs a build.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isHolderAlive, lockPathFor, readDataDirLock } from '../../backlog/lock.js';
import { copyTemplateDataDir } from '../backlog/tiers.js';
import { waitFor } from '../helpers/tmux.js';
import { freshHome, rootOnlySkip, runBounded } from './harness.js';

/** Every entry under `root` (itself included) whose mode has a group/other bit, as `path mode`. */
function openToOthers(root: string): string[] {
  const out: string[] = [];
  const visit = (p: string): void => {
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) return;
    if (st.mode & 0o077) out.push(`${p} ${(st.mode & 0o777).toString(8)}`);
    if (st.isDirectory()) for (const n of fs.readdirSync(p)) visit(path.join(p, n));
  };
  visit(root);
  return out;
}

const mode = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);

/** Ends the backlog server of `home` (by the pid its lock names) and removes the home. */
async function removeHome(h: string): Promise<void> {
  const holder = readDataDirLock(path.join(h, 'fleet', 'backlog'));
  if (holder && isHolderAlive(holder)) {
    process.kill(holder.pid, 'SIGKILL');
    await waitFor(() => !isHolderAlive(holder), `server pid ${holder.pid} to end`, { timeoutMs: 20_000 });
  }
  fs.rmSync(h, { recursive: true, force: true });
}

describe('faults: owner-only files (real program)', () => {
  const homes: string[] = [];
  let user: string | null = null;
  /**
   * One home whose backlog the program creates from nothing (initdb, its server left running),
   * with a beat and PAUSED: read by the mode checks and by the other user. Its home and fleet
   * dir are 0755 so that user gets as far as our dirs.
   */
  let made: string;
  beforeAll(async () => {
    const { home, env } = freshHome();
    made = home;
    fs.chmodSync(home, 0o755);
    fs.mkdirSync(path.join(home, 'fleet'), { mode: 0o755 });
    const r = await runBounded(['--mosaic-home', home, 'backlog', 'create', '--id', 'S1', '--title', 'secret card body'], env, 120_000);
    expect(r.code, r.stderr).toBe(0);
    expect((await runBounded(['--mosaic-home', home, 'heartbeat', 'coder1', '--state', 'busy'], env)).code).toBe(0);
    expect((await runBounded(['--mosaic-home', home, 'pause', '--reason', 'test'], env)).code).toBe(0);
  });
  afterEach(async () => {
    for (const h of homes.splice(0)) await removeHome(h);
  });
  afterAll(async () => {
    if (user) spawnSync('userdel', ['-r', user], { stdio: 'ignore' });
    if (made) await removeHome(made);
  });

  it('a new backlog (initdb), the run dir, beats, PAUSED and the socket are owner-only', () => {
    const home = made;
    const run = path.join(home, 'fleet', 'run');
    expect(openToOthers(path.join(home, 'fleet', 'backlog'))).toEqual([]);
    expect(mode(run)).toBe('700');
    expect(mode(path.join(run, 'coder1.hb'))).toBe('600');
    expect(mode(path.join(run, 'PAUSED'))).toBe('600');
    expect(mode(path.join(run, 'backlog.sock'))).toBe('600');
    expect(mode(lockPathFor(path.join(home, 'fleet', 'backlog')))).toBe('600');
  });

  it('an existing data dir and run dir left open by an older version are closed on the next open', async () => {
    const { home, env } = freshHome();
    homes.push(home);
    const dataDir = copyTemplateDataDir(path.join(home, 'fleet', 'backlog'));
    const run = path.join(home, 'fleet', 'run');
    fs.mkdirSync(run, { recursive: true, mode: 0o755 });
    execFileSync('chmod', ['-R', 'go+rwX', dataDir, run]);
    expect(openToOthers(dataDir).length).toBeGreaterThan(100);
    const r = await runBounded(['--mosaic-home', home, 'backlog', 'create', '--id', 'S2', '--title', 'another secret'], env, 60_000);
    expect(r.code, r.stderr).toBe(0);
    expect(openToOthers(dataDir)).toEqual([]);
    expect(mode(run)).toBe('700');
  });

  it('another local user cannot read the data dir or the run dir, nor connect to the socket', async () => {
    if (rootOnlySkip()) return;
    // The shared home: traversable, so the other user gets as far as our dirs.
    const home = made;
    user = `mtf${randomBytes(3).toString('hex')}`;
    execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', user]);
    const asUser = (argv: string[]) => spawnSync('runuser', ['-u', user!, '--', ...argv], { encoding: 'utf8', timeout: 20_000 });
    const dataDir = path.join(home, 'fleet', 'backlog');
    const run = path.join(home, 'fleet', 'run');
    for (const target of [dataDir, run]) {
      const ls = asUser(['ls', target]);
      expect(ls.status, `${target}: ${ls.stdout}`).not.toBe(0);
      expect(ls.stderr).toMatch(/Permission denied/);
    }
    for (const file of [path.join(dataDir, 'PG_VERSION'), path.join(run, 'coder1.hb')]) {
      const cat = asUser(['cat', file]);
      expect(cat.status).not.toBe(0);
      expect(cat.stderr).toMatch(/Permission denied/);
    }
    const connect = asUser([
      process.execPath,
      '-e',
      `require('net').createConnection(${JSON.stringify(path.join(run, 'backlog.sock'))}).on('connect', () => { console.log('CONNECTED'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(1); })`,
    ]);
    expect(connect.stdout.trim()).toBe('EACCES');
  });
});
