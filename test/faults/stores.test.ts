/**
 * Faults: nothing crosses stores. Two data dirs sharing one run dir (and so one socket): a
 * client refuses a server of the other data dir, in both directions, and accepts its own data
 * dir under another path (a symlink). A claim's request id replayed by another owner or with
 * other arguments is refused (exit 4), the exact replay still returns its claim. A live process
 * holding the data-dir lock without serving is named at once, not after a minute. Real
 * program, real backlog servers (template data dirs, no initdb). Needs a build.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dataDirMismatch } from '../../backlog/client/embedded.js';
import { resolvePaths } from '../../lib/paths.js';
import { BACKLOG_PROTOCOL } from '../../backlog/protocol.js';
import { isHolderAlive, lockPathFor, processStartTime, readDataDirLock } from '../../backlog/lock.js';
import { copyTemplateDataDir, withBacklogClient } from '../backlog/tiers.js';
import { waitFor } from '../helpers/tmux.js';
import { expectOneLineError, freshHome, runBounded } from './harness.js';
import type { Card } from '../../backlog/types.js';
import { readJson } from '../helpers/json.js';

describe('faults: one store per client (real program)', () => {
  const homes: string[] = [];
  const dataDirs: string[] = [];
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
    for (const dir of dataDirs.splice(0)) {
      const holder = readDataDirLock(dir);
      if (holder && isHolderAlive(holder)) {
        process.kill(holder.pid, 'SIGKILL');
        await waitFor(() => !isHolderAlive(holder), `server pid ${holder.pid} to end`, { timeoutMs: 20_000 });
      }
    }
    for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
  });
  const home = () => {
    const h = freshHome();
    homes.push(h.home);
    const a = copyTemplateDataDir(path.join(h.home, 'fleet', 'backlog'));
    const b = copyTemplateDataDir(path.join(h.home, 'other', 'backlog'));
    dataDirs.push(a, b);
    return { ...h, a, b };
  };

  /**
   * Set-up, not under test: `cards` ([id, title]) made through this process's client in the
   * store `env` names; the server it starts is the real program's, as a CLI verb's would be.
   */
  async function createCards(h: string, env: NodeJS.ProcessEnv, cards: Array<[string, string]>): Promise<void> {
    await withBacklogClient(resolvePaths({ mosaicHome: h }, env), async (client) => {
      for (const [id, title] of cards) await client.create({ id, title });
    });
  }

  it('two data dirs, one socket: a client never uses the server of the other data dir, in either direction', async () => {
    const { home: h, env, a, b } = home();
    const envB = { ...env, PGLITE_DATA_DIR: b };
    await createCards(h, envB, [['Z1', 'in B']]);
    // The server of B now serves <run>/backlog.sock; a plain `backlog list` asks for A.
    let r = await runBounded(['--mosaic-home', h, 'backlog', 'list', '--json'], env);
    expect(r.stdout).not.toContain('Z1');
    expectOneLineError(r, 1, new RegExp(`serves data dir ${b}, not ${a}: nothing was read or changed`));
    r = await runBounded(['--mosaic-home', h, 'backlog', 'create', '--id', 'A1', '--title', 'meant for A'], env);
    expectOneLineError(r, 1, /serves data dir .*, not /);
    r = await runBounded(['--mosaic-home', h, 'backlog', 'show', '--id', 'A1', '--json'], envB);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toBeNull();
    // The same data dir under another path (a symlink) is the same store: served.
    const link = path.join(h, 'b-link');
    fs.symlinkSync(b, link);
    r = await runBounded(['--mosaic-home', h, 'backlog', 'list', '--json'], { ...env, PGLITE_DATA_DIR: link });
    expect(r.code, r.stderr).toBe(0);
    expect(readJson<Card[]>(r.stdout).map((c) => c.id)).toEqual(['Z1']);
    // The reverse: A's server on the socket, a client for B refuses it.
    expect((await runBounded(['--mosaic-home', h, 'backlog', 'stop'], envB)).code).toBe(0);
    expect((await runBounded(['--mosaic-home', h, 'backlog', 'create', '--id', 'A2', '--title', 'in A'], env, 60_000)).code).toBe(0);
    r = await runBounded(['--mosaic-home', h, 'backlog', 'list', '--json'], envB);
    expect(r.stdout).not.toContain('A2');
    expectOneLineError(r, 1, new RegExp(`serves data dir ${a}, not ${b}`));
  });

  it('the identity check: the same dev:ino passes; another dir, an unknown one, or none named is refused', () => {
    const hello = { hello: BACKLOG_PROTOCOL, pid: 42 } as const;
    const ours = { realpath: '/a', id: '1:2' };
    expect(dataDirMismatch({ ...hello, dataDir: { realpath: '/elsewhere/a', id: '1:2' } }, '/a', ours, '/run/backlog.sock')).toBeNull();
    expect(dataDirMismatch({ ...hello, dataDir: { realpath: '/b', id: '1:3' } }, '/a', ours, '/run/backlog.sock')).toMatch(
      /^backlog server pid 42 on \/run\/backlog\.sock serves data dir \/b, not \/a: nothing was read or changed/,
    );
    expect(dataDirMismatch({ ...hello, dataDir: { realpath: '/b', id: '1:3' } }, '/a', null, '/s')).toMatch(/serves data dir \/b, not \/a/);
    expect(dataDirMismatch(hello, '/a', ours, '/s')).toMatch(/does not say which data dir it serves \(older mosaic-top\)/);
  });

  it('a request id replayed by another owner or with other arguments is refused with exit 4; the exact replay returns its claim', async () => {
    const { home: h, env } = home();
    await createCards(h, env, [
      ['K1', 'K1'],
      ['K4', 'K4'],
    ]);
    const claim = (...args: string[]) => runBounded(['--mosaic-home', h, 'backlog', 'claim', '--json', '--request-id', 'rq-1', ...args], env);
    const first = await claim('--owner', 'c1', '--ttl', '900', '--id', 'K4');
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ id: 'K4', claimOwner: 'c1', claimTtlSeconds: 900 });
    for (const args of [
      ['--owner', 'c2', '--ttl', '900', '--id', 'K4'],
      ['--owner', 'c1', '--ttl', '900', '--id', 'K1'],
      ['--owner', 'c1', '--ttl', '5', '--id', 'K4'],
    ]) {
      const r = await claim(...args);
      expect(r.stdout).toBe('');
      expectOneLineError(r, 4, /claim refused: request id rq-1 was used by c1 with owner=c1 id=K4 ttl=900, this claim has .*use a new --request-id/);
    }
    const replay = await claim('--owner', 'c1', '--ttl', '900', '--id', 'K4');
    expect(replay.code, replay.stderr).toBe(0);
    expect(JSON.parse(replay.stdout)).toMatchObject({ id: 'K4', claimOwner: 'c1', claimToken: readJson<Card>(first.stdout).claimToken });
    // K1 was never claimed by the refused replays.
    const k1 = await runBounded(['--mosaic-home', h, 'backlog', 'show', '--id', 'K1', '--json'], env);
    expect(JSON.parse(k1.stdout)).toMatchObject({ id: 'K1', status: 'ready' });
  });

  it('a live process holding the data-dir lock without serving is named at once (well within 30 s), not after a minute', async () => {
    const { home: h, env, a } = home();
    const holder = spawn('sleep', ['300'], { stdio: 'ignore' });
    children.push(holder);
    const pid = holder.pid!;
    await waitFor(() => processStartTime(pid), 'the holder to show in /proc', { timeoutMs: 5000 });
    const socket = path.join(h, 'fleet', 'run', 'backlog.sock');
    fs.mkdirSync(path.dirname(socket), { recursive: true });
    const lock = { pid, startTime: processStartTime(pid), token: 'f'.repeat(32), socket, acquiredAt: new Date(Date.now() - 120_000).toISOString() };
    fs.writeFileSync(lockPathFor(a), JSON.stringify(lock) + '\n', { mode: 0o600 });
    // Bound 25 s: the README promises every command returns within 30 s.
    const r = await runBounded(['--mosaic-home', h, 'backlog', 'list'], env, 25_000);
    expectOneLineError(r, 1, new RegExp(`is locked by live pid ${pid} \\(sleep 300\\) since .*which does not serve ${socket}: stop that process`));
    expect(holder.exitCode).toBeNull();
  });
});
