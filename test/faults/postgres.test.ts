/**
 * Faults: the Postgres tier (DATABASE_URL) with the `backlog` table locked by
 * another session (`LOCK TABLE backlog`), and with a database server that stops answering
 * (SIGSTOPped), then is gone (its port refuses): a relay process of ours in front of the run's
 * cluster stands for it, as the client sees only the socket. Every command returns within its bound with one line naming the cause (lock_timeout,
 * no answer, connection refused — never drizzle's "Failed query" or card data); the console's
 * backlog panel degrades and the console still quits on q and ctrl-c. Needs a build.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, pgAdminUrl, type TestDatabase } from '../helpers/pg.js';
import { startIsolatedTmux, waitFor, type IsolatedTmux } from '../helpers/tmux.js';
import { expectOneLineError, expectQuitsOn, freshHome, releaseStopped, runBounded, startConsole, stopProcess, untilScreen } from './harness.js';
import { at } from '../helpers/must.js';

/**
 * A TCP relay to the run's cluster in a process of its own (node, 127.0.0.1, an ephemeral
 * port): what a client sees of a database server. SIGSTOPped it never answers (the kernel
 * still accepts connections, as for a stopped postmaster); killed, its port refuses. The
 * run's cluster itself is never stopped, and no initdb is paid for the fault.
 */
async function startRelay(targetPort: number): Promise<{ child: ChildProcess; port: number; exited: Promise<void> }> {
  const script = `const net = require('node:net');
const target = Number(process.argv[1]);
const relay = net.createServer((c) => {
  const u = net.connect(target, '127.0.0.1');
  c.pipe(u);
  u.pipe(c);
  c.on('error', () => u.destroy());
  u.on('error', () => c.destroy());
  c.on('close', () => u.destroy());
  u.on('close', () => c.destroy());
});
relay.listen(0, '127.0.0.1', () => process.stdout.write(relay.address().port + '\\n'));`;
  const child = spawn(process.execPath, ['-e', script, String(targetPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let said = '';
  child.stdout!.on('data', (b: Buffer) => (said += b.toString()));
  const port = await waitFor(() => (/^\d+\n/.test(said) ? Number(said.trim()) : null), 'the relay to listen', { timeoutMs: 30_000 });
  return { child, port, exited };
}

describe('faults: the Postgres tier locked and stopped (real program)', () => {
  let db: TestDatabase | null = null;
  let ui: IsolatedTmux;
  const homes: string[] = [];
  beforeAll(async () => {
    if (!pgAdminUrl() && process.env.CI === 'true') throw new Error('CI=true: the Postgres tier must run');
    ui = await startIsolatedTmux('fault-pg-ui');
  });
  afterAll(async () => {
    releaseStopped();
    await ui?.stop();
    await db?.drop();
    for (const h of homes) fs.rmSync(h, { recursive: true, force: true });
  });

  it('the backlog table locked by another session: claim and list return with a lock_timeout line; the console degrades and quits on q and ctrl-c', async () => {
    if (!pgAdminUrl()) return; // no cluster outside CI (global-setup says why)
    db = await createTestDatabase(`fault_lock_${process.pid}`);
    const { home, env } = freshHome();
    homes.push(home);
    env.DATABASE_URL = db.url;
    env.MOSAIC_BACKLOG_TIMEOUT = '4';
    expect((await runBounded(['--mosaic-home', home, 'backlog', 'create', '--id', 'L1', '--title', 'secret title'], env)).code).toBe(0);
    const { default: postgres } = await import('postgres');
    const locker = postgres(db.url, { max: 1, onnotice: () => {} });
    const probe = postgres(db.url, { max: 1, onnotice: () => {} });
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const held = locker.begin(async (tx) => {
      await tx`LOCK TABLE backlog IN ACCESS EXCLUSIVE MODE`;
      await released; // held until the test lets go
    });
    try {
      // Wait until the lock is really held (a liveness bound only).
      await waitFor(
        async () =>
          at(await probe`SELECT count(*)::int AS n FROM pg_locks WHERE relation = 'backlog'::regclass AND mode = 'AccessExclusiveLock' AND granted`, 0).n > 0,
        'LOCK TABLE backlog held',
        { timeoutMs: 30_000 },
      );
      for (const verb of [['claim', '--owner', 'coder1'], ['list']]) {
        const r = await runBounded(['--mosaic-home', home, 'backlog', ...verb], env);
        expectOneLineError(
          r,
          1,
          new RegExp(`${verb[0]} on postgres://.*: the backlog table stayed locked by another session for 2 s \\(lock_timeout\\): nothing was changed`),
        );
        expect(r.stderr).not.toContain('secret title');
      }
      const { home: uiHome } = freshHome();
      homes.push(uiHome);
      fs.mkdirSync(path.join(uiHome, 'fleet'), { recursive: true });
      fs.writeFileSync(path.join(uiHome, 'fleet', 'roster.yaml'), 'version: 1\nagents: []\n');
      for (const key of ['q', 'C-c'] as const) {
        const session = key === 'q' ? 'pgq' : 'pgcc';
        await startConsole(ui, session, uiHome, { DATABASE_URL: db.url });
        await untilScreen(ui, session, (s) => /backlog error: .*stayed locked by/.test(s), 'the backlog panel degraded');
        await expectQuitsOn(ui, session, key);
      }
    } finally {
      release();
      await held.catch(() => {});
      await locker.end({ timeout: 5 });
      await probe.end({ timeout: 5 });
    }
    // Released: the claim goes through.
    const ok = await runBounded(['--mosaic-home', home, 'backlog', 'claim', '--owner', 'coder1'], env);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('a database that stops answering (SIGSTOP), then one that is gone: every verb returns with one line (no answer / connection refused)', async () => {
    if (!pgAdminUrl()) return;
    const stopped = await createTestDatabase(`fault_stop_${process.pid}`);
    const admin = new URL(stopped.url);
    const relay = await startRelay(Number(admin.port));
    try {
      const { home, env } = freshHome();
      homes.push(home);
      admin.port = String(relay.port);
      env.DATABASE_URL = admin.toString();
      env.MOSAIC_BACKLOG_TIMEOUT = '3';
      expect((await runBounded(['--mosaic-home', home, 'backlog', 'create', '--id', 'S1', '--title', 'secret body'], env)).code).toBe(0);
      const north = path.join(home, 'NORTH_STAR.yaml');
      fs.writeFileSync(north, `goals:\n${Array.from({ length: 50 }, (_, i) => `  - {id: G${i}, title: goal ${i}}`).join('\n')}\n`);
      stopProcess(relay.child.pid!);
      // A stopped server never answers: the shortest deadline proves the bound as well as a long one.
      const stoppedEnv = { ...env, MOSAIC_BACKLOG_TIMEOUT: '1' };
      for (const verb of [['list'], ['claim', '--owner', 'c1'], ['import', north]]) {
        const r = await runBounded(['--mosaic-home', home, 'backlog', ...verb], stoppedEnv);
        expectOneLineError(r, 1, /(no answer from|no connection within|sent to) postgres:\/\/.*(within \d+(\.\d+)? s|connect timeout)/);
      }
      // Resumed and killed (by pid): nothing listens on its port any more.
      releaseStopped();
      await relay.exited;
      for (const verb of [['list'], ['claim', '--owner', 'c1'], ['import', north]]) {
        const r = await runBounded(['--mosaic-home', home, 'backlog', ...verb], env);
        expectOneLineError(r, 1, /backlog database postgres:\/\/.* unavailable: connection refused \(ECONNREFUSED/);
      }
    } finally {
      releaseStopped();
      relay.child.kill('SIGKILL');
      await stopped.drop();
    }
  });
});
