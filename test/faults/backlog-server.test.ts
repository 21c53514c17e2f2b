/**
 * Faults: the embedded backlog server SIGSTOPped and SIGKILLed, and
 * locks that name some other process. A stopped server is reported within seconds (not a
 * minute per call) with what to do; a claim that got no answer says it may still be applied,
 * and repeating it with its request id returns that claim, never a second card; a killed
 * server is replaced; `backlog stop` signals only a process proven to be our server; the
 * console quits on q and ctrl-c while the server is stopped. Needs a build.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openBacklog } from '../../backlog/client.js';
import { isHolderAlive, lockPathFor, processStartTime, readDataDirLock } from '../../backlog/lock.js';
import { resolvePaths } from '../../lib/paths.js';
import { BacklogError } from '../../backlog/types.js';
import { copyTemplateDataDir } from '../backlog/tiers.js';
import { runCliInProcess } from '../helpers/cli.js';
import { startIsolatedTmux, waitFor, type IsolatedTmux } from '../helpers/tmux.js';
import { expectOneLineError, expectQuitsOn, freshHome, releaseStopped, resumeProcess, runBounded, startConsole, stopProcess, untilScreen } from './harness.js';

describe('faults: the embedded backlog server stopped, killed, impersonated (real program)', () => {
  let ui: IsolatedTmux;
  const homes: string[] = [];
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    ui = await startIsolatedTmux('fault-backlog-ui');
  });
  afterEach(async () => {
    releaseStopped();
    for (const c of children.splice(0)) c.kill('SIGKILL');
    for (const h of homes.splice(0)) {
      // Our own servers: ended through the lock they hold (by pid), then the home removed.
      const holder = readDataDirLock(path.join(h, 'fleet', 'backlog'));
      if (holder && isHolderAlive(holder)) {
        process.kill(holder.pid, 'SIGKILL');
        await waitFor(() => !isHolderAlive(holder), `server pid ${holder.pid} to end`, { timeoutMs: 20_000 });
      }
      fs.rmSync(h, { recursive: true, force: true });
    }
  });
  afterAll(async () => {
    await ui?.stop();
  });

  /**
   * The home of the tests that need "a started embedded backlog holding cards A1 and A2": one
   * home and store for them all (made on first use, removed in afterAll), its server started
   * again by the program's own verb when the test before ended it (SIGKILL, or a stop that
   * {@link releaseStopped} ends). Tests stay independent: each gets a live, running server;
   * they claim at most A1 and A2 and assert only on what they did.
   */
  let shared: { home: string; env: NodeJS.ProcessEnv } | null = null;
  afterAll(async () => {
    if (!shared) return;
    const holder = readDataDirLock(path.join(shared.home, 'fleet', 'backlog'));
    if (holder && isHolderAlive(holder)) {
      process.kill(holder.pid, 'SIGKILL');
      await waitFor(() => !isHolderAlive(holder), `server pid ${holder.pid} to end`, { timeoutMs: 20_000 });
    }
    fs.rmSync(shared.home, { recursive: true, force: true });
  });

  /** The shared home with a live embedded backlog server holding cards A1 and A2; returns the server pid. */
  async function homeWithServer(): Promise<{ home: string; env: NodeJS.ProcessEnv; pid: number }> {
    // Setup, not under test: the verbs run in this process (the server they start is the real one).
    const verb = async (home: string, env: NodeJS.ProcessEnv, args: string[]): Promise<void> => {
      const r = await runCliInProcess(['--mosaic-home', home, 'backlog', ...args], env);
      expect(r.code, r.stderr).toBe(0);
    };
    if (!shared) {
      const { home, env } = freshHome();
      env.MOSAIC_BACKLOG_IDLE_EXIT = '300';
      // The run's migrated template (no initdb per test).
      copyTemplateDataDir(path.join(home, 'fleet', 'backlog'));
      for (const id of ['A1', 'A2']) await verb(home, env, ['create', '--id', id, '--title', `card ${id}`]);
      shared = { home, env };
    }
    const { home, env } = shared;
    const dataDir = path.join(home, 'fleet', 'backlog');
    const live = readDataDirLock(dataDir);
    if (!live || !isHolderAlive(live)) await verb(home, env, ['list']);
    const holder = readDataDirLock(dataDir);
    expect(holder && isHolderAlive(holder)).toBe(true);
    return { home, env, pid: holder!.pid };
  }

  it('a SIGSTOPped server: each CLI call returns at once with one line naming the pid and the fix; SIGCONT and it serves again', async () => {
    const { home, env, pid } = await homeWithServer();
    stopProcess(pid);
    for (const verb of [['list'], ['claim', '--owner', 'coder1']]) {
      const r = await runBounded(['--mosaic-home', home, 'backlog', ...verb], env, 20_000);
      expectOneLineError(r, 1, new RegExp(`backlog server pid ${pid} on .* is stopped \\(SIGSTOP\\): \`kill -CONT ${pid}\``));
    }
    resumeProcess(pid);
    const r = await runBounded(['--mosaic-home', home, 'backlog', 'list'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('A1');
  });

  it('a claim that timed out says it may have been applied; repeating it with its request id returns that claim, not a second card', async () => {
    const { home, pid } = await homeWithServer();
    const paths = resolvePaths({ mosaicHome: home }, { ...process.env, DATABASE_URL: '', PGLITE_DATA_DIR: '' });
    const client = await openBacklog(paths, { requestTimeoutMs: 1500, onProgress: () => {} });
    try {
      stopProcess(pid);
      const error = await client.claim({ owner: 'coder1', requestId: 'rq-fault-1' }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(BacklogError);
      expect((error as BacklogError).message).toMatch(
        /^claim sent to backlog server pid \d+ on .*, no answer within 1\.5 s: it may have been applied — check `mosaic-top backlog list --status claimed`, or repeat the claim with --request-id rq-fault-1/,
      );
      resumeProcess(pid);
      // The server resumes and applies the queued claim (the orphan claim of the issue) ...
      const first = await waitFor(async () => (await client.list({ status: 'claimed' })).at(0), 'the orphan claim to land');
      // ... and the repeat returns exactly that card, claiming nothing more.
      const again = await client.claim({ owner: 'coder1', requestId: 'rq-fault-1' });
      expect(again.card?.id).toBe(first.id);
      expect((await client.list({ status: 'claimed' })).map((c) => c.id)).toEqual([first.id]);
      // A new request id claims the next card as usual.
      const next = await client.claim({ owner: 'coder1' });
      expect(next.card?.id).not.toBe(first.id);
    } finally {
      await client.close();
    }
  });

  it('a SIGKILLed server is replaced by the next call', async () => {
    const { home, env, pid } = await homeWithServer();
    process.kill(pid, 'SIGKILL');
    await waitFor(() => processStartTime(pid) === null, `pid ${pid} gone`);
    const r = await runBounded(['--mosaic-home', home, 'backlog', 'list'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('A2');
    expect(readDataDirLock(path.join(home, 'fleet', 'backlog'))?.pid).not.toBe(pid);
  });

  it('backlog stop signals only a proven server: a lock naming another process (no start time, no token, wrong socket) is left alone', async () => {
    const { home, env } = freshHome();
    homes.push(home);
    const dataDir = path.join(home, 'fleet', 'backlog');
    fs.mkdirSync(dataDir, { recursive: true });
    const bystander = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120_000)'], { stdio: 'ignore' });
    children.push(bystander);
    await waitFor(() => processStartTime(bystander.pid!) !== null, 'bystander in /proc');
    const start = processStartTime(bystander.pid!);
    const locks = [
      { pid: bystander.pid },
      { pid: bystander.pid, startTime: start, socket: null, acquiredAt: 'x' },
      { pid: bystander.pid, startTime: start, token: 'f'.repeat(32), socket: path.join(home, 'nobody.sock'), acquiredAt: 'x' },
    ];
    for (const lock of locks) {
      fs.writeFileSync(lockPathFor(dataDir), JSON.stringify(lock));
      const r = await runBounded(['--mosaic-home', home, 'backlog', 'stop'], env);
      expect(r.killed).toBe(false);
      if (lock.startTime) expectOneLineError(r, 3, new RegExp(`pid ${bystander.pid} .*not signalled`));
      else expect(r.stdout).toBe('no backlog server running\n');
      expect(bystander.exitCode).toBeNull();
      expect(bystander.signalCode).toBeNull();
    }
    // Our real server is proven and stopped.
    fs.rmSync(lockPathFor(dataDir), { force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
    expect((await runBounded(['--mosaic-home', home, 'backlog', 'create', '--id', 'Z1', '--title', 'z'], env, 60_000)).code).toBe(0);
    const holder = readDataDirLock(dataDir)!;
    expect(holder.token).toMatch(/^[0-9a-f]{32}$/);
    const r = await runBounded(['--mosaic-home', home, 'backlog', 'stop'], env);
    expect(r.stdout, r.stderr).toBe(`stopped backlog server pid ${holder.pid}\n`);
  });

  it('the console keeps quitting on q and ctrl-c while the backlog server is stopped', async () => {
    const { home, pid } = await homeWithServer();
    fs.mkdirSync(path.join(home, 'fleet', 'run'), { recursive: true });
    fs.writeFileSync(path.join(home, 'fleet', 'roster.yaml'), 'version: 1\nagents: []\n');
    stopProcess(pid);
    for (const key of ['q', 'C-c'] as const) {
      const session = key === 'q' ? 'bq' : 'bcc';
      await startConsole(ui, session, home);
      await untilScreen(ui, session, (s) => /stopped \(SIGSTOP\)|no hello|backlog.*(unavailable|timed out)/i.test(s), 'the backlog panel degraded');
      await expectQuitsOn(ui, session, key);
    }
  });
});
