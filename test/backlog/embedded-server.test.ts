/**
 * The embedded tier across OS processes: the real program (`node bin/mosaic-top
 * backlog …`, built into dist/), the on-demand backlog server, its lock and its socket.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../lib/version.js';
import { resolvePaths, type MosaicPaths } from '../../lib/paths.js';
import { acquireDataDirLock, isHolderAlive, lockPathFor, processStartTime, readDataDirLock } from '../../backlog/lock.js';
import { pingBacklogServer, stopEmbeddedServer } from '../../backlog/client/admin.js';
import { collectBacklogSection } from '../../backlog/snapshot.js';
import { seedDemoBacklog } from '../../backlog/demo.js';
import { copyTemplateDataDir, waitFor } from './tiers.js';
import { runBin, type BinResult } from '../helpers/bin.js';
import { runCliInProcess } from '../helpers/cli.js';
import type { BacklogStats, Card } from '../../backlog/types.js';
import { readJson } from '../helpers/json.js';
import { at } from '../helpers/must.js';

const ROOT = packageRoot();
const BIN = path.join(ROOT, 'bin', 'mosaic-top');

const homes: string[] = [];
const children: ChildProcess[] = [];

function makeHome(opts: { withDataDir?: boolean } = {}): MosaicPaths {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-bk-home-'));
  homes.push(home);
  const paths = resolvePaths({ mosaicHome: home }, {});
  if (opts.withDataDir !== false) copyTemplateDataDir(paths.backlogDataDir);
  return paths;
}

/** Homes shared by the tests of one group (file order), each ended in afterAll; see {@link groupHome}. */
const groupHomes = new Map<string, MosaicPaths>();

/**
 * The home shared by the tests of `group`, made on first use: for tests that need only a data
 * dir, or a server on an empty store, and leave it as the next one needs it (no server holding
 * it, or a server on the same cards), so a store copy and a server start are not paid per test.
 * Each test still states the state it starts from (the order is the file's).
 */
function groupHome(group: string): MosaicPaths {
  let paths = groupHomes.get(group);
  if (!paths) {
    paths = makeHome();
    homes.splice(homes.indexOf(paths.mosaicHome), 1);
    groupHomes.set(group, paths);
  }
  return paths;
}

/** The environment of a backlog verb: the embedded tier, servers idle-exit after 30 s. */
function cliEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...process.env, DATABASE_URL: '', PGLITE_DATA_DIR: '', MOSAIC_BACKLOG_IDLE_EXIT: '30', ...env };
}

/** `mosaic-top backlog ...args` as its own OS process: where processes race or one holds the data dir. */
function cli(paths: MosaicPaths, args: string[], env: NodeJS.ProcessEnv = {}): Promise<BinResult> {
  return runBin(['--mosaic-home', paths.mosaicHome, 'backlog', ...args], cliEnv(env), 90_000);
}

/**
 * `mosaic-top backlog ...args` run in this process (test/helpers/cli.ts) against the real
 * server process it starts: for a verb's output and exit code, where a node start per call is
 * the cost. One at a time.
 */
function cliIn(paths: MosaicPaths, args: string[], env: NodeJS.ProcessEnv = {}): Promise<BinResult> {
  return runCliInProcess(['--mosaic-home', paths.mosaicHome, 'backlog', ...args], cliEnv(env));
}

/** Data dirs {@link seedCards} has filled. */
const seeded = new Set<string>();

/** Seeds `n` ready cards straight into a data dir (no server may be running on it). */
async function seedCards(dataDir: string, n: number): Promise<void> {
  const { PGlite } = await import('@electric-sql/pglite');
  const pg = new PGlite(dataDir);
  try {
    await pg.waitReady;
    await pg.exec(`INSERT INTO backlog (id, title, priority) SELECT 'c' || lpad(g::text, 4, '0'), 'card ' || g, g % 7 FROM generate_series(1, ${n}) g`);
    seeded.add(dataDir);
  } finally {
    await pg.close();
  }
}

/** Reopens the data dir directly (the server must have stopped) and returns integrity facts. */
async function inspectDataDir(
  dataDir: string,
): Promise<{ rows: number; distinct: number; byStatus: Record<string, number>; owners: Map<string, string>; claimEvents: number }> {
  const { PGlite } = await import('@electric-sql/pglite');
  const pg = new PGlite(dataDir);
  try {
    await pg.waitReady;
    const total = await pg.query<{ rows: number; distinct: number }>(`SELECT count(*)::int AS rows, count(DISTINCT id)::int AS distinct FROM backlog`);
    const status = await pg.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM backlog GROUP BY status`);
    const owners = await pg.query<{ id: string; claim_owner: string }>(`SELECT id, claim_owner FROM backlog WHERE status = 'claimed'`);
    const events = await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM backlog_events WHERE verb = 'claim'`);
    return {
      rows: at(total.rows, 0).rows,
      distinct: at(total.rows, 0).distinct,
      byStatus: Object.fromEntries(status.rows.map((r) => [r.status, r.n])),
      owners: new Map(owners.rows.map((r) => [r.id, r.claim_owner])),
      claimEvents: at(events.rows, 0).n,
    };
  } finally {
    await pg.close();
  }
}

/** Stops the server holding `paths`' data dir (one our test started) and waits for the lock to go. */
async function stopServer(paths: MosaicPaths, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const holder = readDataDirLock(paths.backlogDataDir);
  if (!holder || !isHolderAlive(holder)) return;
  try {
    process.kill(holder.pid, signal);
  } catch {
    return;
  }
  await waitFor(() => !isHolderAlive(holder), { timeoutMs: 30_000, what: `server pid ${holder.pid} to exit` });
}

beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli.js'))) throw new Error('dist/ missing: run `npx tsc -p .` (npm test does) before these tests');
});

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await waitFor(() => child.exitCode !== null || child.signalCode !== null, { timeoutMs: 20_000, what: 'child exit' }).catch(() => child.kill('SIGKILL'));
    }
  }
  for (const home of homes.splice(0)) {
    const paths = resolvePaths({ mosaicHome: home }, {});
    await stopServer(paths).catch(() => {});
    fs.rmSync(home, { recursive: true, force: true });
  }
});

afterAll(async () => {
  for (const paths of groupHomes.values()) {
    await stopServer(paths).catch(() => {});
    fs.rmSync(paths.mosaicHome, { recursive: true, force: true });
  }
});

describe('embedded backlog across processes', () => {
  it('16 concurrent CLI claimers on 200 cards: every claim distinct, none lost, data dir reopens clean', { timeout: 240_000 }, async () => {
    // The 200-card store of the group (the SIGKILL test after this one claims from what is left).
    const paths = groupHome('200 cards');
    await seedCards(paths.backlogDataDir, 200);
    const workers = 16;
    const rounds = 3;
    const acked: Array<{ owner: string; id: string; token: number | null }> = [];
    const failures: BinResult[] = [];
    await Promise.all(
      Array.from({ length: workers }, async (_, w) => {
        for (let k = 0; k < rounds; k += 1) {
          const owner = `o${w}-${k}`;
          const r = await cli(paths, ['claim', '--owner', owner, '--json']);
          if (r.code !== 0) {
            failures.push(r);
            continue;
          }
          const card = readJson<Card>(r.stdout);
          acked.push({ owner, id: card.id, token: card.claimToken });
        }
      }),
    );
    expect(failures).toEqual([]);
    expect(acked.length).toBe(workers * rounds);
    expect(new Set(acked.map((a) => a.id)).size).toBe(acked.length);
    expect(new Set(acked.map((a) => a.token)).size).toBe(acked.length);
    // Exactly one server came up even though 16 clients raced to start it.
    const log = fs.readFileSync(path.join(paths.runDir, 'backlog-server.log'), 'utf8');
    expect(log.match(/ serving /g)?.length).toBe(1);
    const stats = readJson<BacklogStats>((await cliIn(paths, ['stats', '--json'])).stdout);
    expect(stats.counts).toEqual({ ready: 200 - acked.length, claimed: acked.length, blocked: 0, done: 0 });
    await stopServer(paths);
    expect(fs.existsSync(lockPathFor(paths.backlogDataDir))).toBe(false);
    expect(fs.existsSync(paths.backlogSocket)).toBe(false);
    const facts = await inspectDataDir(paths.backlogDataDir);
    expect(facts.rows).toBe(200);
    expect(facts.distinct).toBe(200);
    expect(facts.byStatus).toEqual({ ready: 200 - acked.length, claimed: acked.length });
    expect(facts.claimEvents).toBe(acked.length);
    for (const a of acked) expect(facts.owners.get(a.id)).toBe(a.owner);
  });

  it('server SIGKILLed mid-run: the next client brings it back and every acknowledged claim is still there', { timeout: 240_000 }, async () => {
    // The group's 200-card store, no server holding it; seeded here when this test runs alone.
    // Claims of the test before (other owners) may be on it: only this test's are asserted.
    const paths = groupHome('200 cards');
    await stopServer(paths);
    if (!seeded.has(paths.backlogDataDir)) await seedCards(paths.backlogDataDir, 200);
    const acked: Array<{ owner: string; id: string }> = [];
    const failed: BinResult[] = [];
    let killedPid: number | null = null;
    const killer = (async () => {
      await waitFor(() => acked.length >= 12, { timeoutMs: 60_000, what: '12 acknowledged claims' });
      const holder = readDataDirLock(paths.backlogDataDir);
      if (holder && isHolderAlive(holder)) {
        killedPid = holder.pid;
        process.kill(holder.pid, 'SIGKILL');
      }
    })();
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let k = 0; k < 5; k += 1) {
          const owner = `k${w}-${k}`;
          const r = await cli(paths, ['claim', '--owner', owner, '--json']);
          if (r.code === 0) acked.push({ owner, id: readJson<Card>(r.stdout).id });
          else failed.push(r);
        }
      }),
    );
    await killer;
    expect(killedPid).not.toBeNull();
    // Clients whose request was in flight fail with "unavailable" (exit 1); nothing else.
    for (const f of failed) expect(f.code).toBe(1);
    // A later client brought a new server up.
    const after = await cliIn(paths, ['list', '--status', 'claimed', '--json']);
    expect(after.code).toBe(0);
    const holder = readDataDirLock(paths.backlogDataDir);
    expect(holder?.pid).not.toBe(killedPid);
    const claimed = new Map<string, string>(
      (JSON.parse(after.stdout) as { id: string; claimOwner: string }[]).map((c: { id: string; claimOwner: string }) => [c.id, c.claimOwner]),
    );
    for (const a of acked) expect(claimed.get(a.id)).toBe(a.owner);
    expect(new Set(acked.map((a) => a.id)).size).toBe(acked.length);
    await stopServer(paths);
    const facts = await inspectDataDir(paths.backlogDataDir);
    expect(facts.rows).toBe(200);
    expect(facts.distinct).toBe(200);
    expect((facts.byStatus.claimed ?? 0) + (facts.byStatus.ready ?? 0)).toBe(200);
    expect(facts.byStatus.claimed).toBeGreaterThanOrEqual(acked.length);
  });

  it('two servers started at the same instant: exactly one owns the data dir, the other exits quietly', async () => {
    // A data dir no server holds (the group's tests leave it so).
    const paths = groupHome('data dir');
    expect(readDataDirLock(paths.backlogDataDir)).toBeNull();
    const start = (): ChildProcess => {
      const child = spawn(process.execPath, [BIN, '--mosaic-home', paths.mosaicHome, 'backlog', 'serve', '--idle-exit', '60'], {
        env: { ...process.env, DATABASE_URL: '', PGLITE_DATA_DIR: '' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      children.push(child);
      return child;
    };
    const [a, b] = [start(), start()];
    const stderr = new Map<ChildProcess, string>([
      [a, ''],
      [b, ''],
    ]);
    // 'close' (not 'exit'): only then has all of the child's stderr been read.
    const closed = new Set<ChildProcess>();
    for (const c of [a, b]) {
      c.stderr?.on('data', (d) => stderr.set(c, stderr.get(c) + String(d)));
      c.on('close', () => closed.add(c));
    }
    const loser = await waitFor(() => [a, b].find((c) => closed.has(c)), { timeoutMs: 30_000, what: 'the losing server to exit' });
    const winner = loser === a ? b : a;
    expect(loser.exitCode).toBe(0);
    expect(stderr.get(loser)).toMatch(/owned by live pid/);
    const ping = await waitFor(() => pingBacklogServer(paths), { timeoutMs: 30_000, what: 'the winner to serve' });
    expect(ping.pid).toBe(winner.pid);
    expect(readDataDirLock(paths.backlogDataDir)?.pid).toBe(winner.pid);
    expect(fs.statSync(paths.backlogSocket).mode & 0o777).toBe(0o600);
    winner.kill('SIGTERM');
    await waitFor(() => closed.has(winner), { timeoutMs: 20_000, what: 'winner to stop' });
    expect(winner.exitCode).toBe(0);
    expect(stderr.get(winner)).toMatch(/stopped/);
    expect(fs.existsSync(lockPathFor(paths.backlogDataDir))).toBe(false);
    expect(fs.existsSync(paths.backlogSocket)).toBe(false);
  });

  it('a lock left by a dead pid is taken over; a lock held by a live process is never taken', async () => {
    const paths = groupHome('data dir');
    expect(readDataDirLock(paths.backlogDataDir)).toBeNull();
    const lockFile = lockPathFor(paths.backlogDataDir);
    // A live process we started holds the lock (with its real start time).
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    children.push(sleeper);
    await waitFor(() => processStartTime(sleeper.pid!) !== null, { what: 'sleeper in /proc' });
    fs.writeFileSync(lockFile, JSON.stringify({ pid: sleeper.pid, startTime: processStartTime(sleeper.pid!), socket: null, acquiredAt: 'x' }));
    const refused = await acquireDataDirLock(paths.backlogDataDir);
    expect(refused.acquired).toBe(false);
    // The real server refuses too, exits 0, and leaves the lock alone.
    const serve = await new Promise<number | null>((resolve) => {
      const c = spawn(process.execPath, [BIN, '--mosaic-home', paths.mosaicHome, 'backlog', 'serve', '--idle-exit', '5'], {
        env: { ...process.env, DATABASE_URL: '', PGLITE_DATA_DIR: '' },
        stdio: 'ignore',
      });
      children.push(c);
      c.on('exit', (code) => resolve(code));
    });
    expect(serve).toBe(0);
    expect(readDataDirLock(paths.backlogDataDir)?.pid).toBe(sleeper.pid);
    // Same pid but another start time = a reused pid: taken over.
    fs.writeFileSync(lockFile, JSON.stringify({ pid: sleeper.pid, startTime: '1', socket: null, acquiredAt: 'x' }));
    const reused = await acquireDataDirLock(paths.backlogDataDir);
    expect(reused.acquired).toBe(true);
    if (reused.acquired) await reused.release();
    // A dead pid's lock is taken over.
    const dead = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    const deadPid = dead.pid!;
    await new Promise((r) => dead.on('exit', r));
    fs.writeFileSync(lockFile, JSON.stringify({ pid: deadPid, startTime: null, socket: null, acquiredAt: 'x' }));
    const taken = await acquireDataDirLock(paths.backlogDataDir);
    expect(taken.acquired).toBe(true);
    if (taken.acquired) {
      expect(taken.takenOverFrom?.pid).toBe(deadPid);
      expect(readDataDirLock(paths.backlogDataDir)?.pid).toBe(process.pid);
      await taken.release();
    }
    expect(fs.existsSync(lockFile)).toBe(false);
  });

  it(
    "a data dir another program has open (as upstream's CLI opens PGlite in-process) is refused with a clear message, not shared",
    { timeout: 120_000 },
    async () => {
      const paths = groupHome('data dir');
      expect(readDataDirLock(paths.backlogDataDir)).toBeNull();
      // Stands in for upstream's `mosaic fleet backlog`: PGlite opened in-process on the same dir.
      const script = `import('@electric-sql/pglite').then(async ({ PGlite }) => { const pg = new PGlite(${JSON.stringify(paths.backlogDataDir)}); await pg.waitReady; await pg.query('SELECT count(*) FROM backlog'); process.stdout.write('open\\n'); setInterval(() => {}, 1000); });`;
      const other = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(other);
      let said = '';
      other.stdout!.on('data', (b: Buffer) => (said += b.toString()));
      await waitFor(() => said.includes('open'), { timeoutMs: 60_000, what: 'the other process to open the data dir' });
      const r = await cliIn(paths, ['list', '--json']);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`is open in another process: pid ${other.pid}`);
      expect(r.stderr).toContain('DATABASE_URL');
      expect(readDataDirLock(paths.backlogDataDir)).toBeNull();
      other.kill('SIGTERM');
      await waitFor(() => other.exitCode !== null || other.signalCode !== null, { what: 'the other process to exit' });
      expect((await cliIn(paths, ['list', '--json'])).code).toBe(0);
      // The lock lives inside the data dir (kept by upstream's updater), not beside it.
      expect(lockPathFor(paths.backlogDataDir)).toBe(path.join(paths.backlogDataDir, 'mosaic-top.lock'));
      await stopServer(paths);
    },
  );

  it("CLI --json speaks upstream's shapes: one row per verb (card or null, array, stats object), exit codes as upstream", { timeout: 300_000 }, async () => {
    const paths = makeHome();
    const isCard = (v: unknown, id?: string): boolean =>
      !!v &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      typeof (v as { id?: unknown }).id === 'string' &&
      (id === undefined || (v as { id: string }).id === id) &&
      Array.isArray((v as { dependsOn?: unknown }).dependsOn) &&
      !('card' in (v as object));
    const ME = 'w1';
    // verb args → expected exit code and a check of the parsed stdout (upstream's shape).
    const rows: Array<[string, string[], number, (out: unknown) => boolean]> = [
      [
        'create',
        ['create', '--id', 'A1', '--title', 'schema', '--priority', '5', '--acceptance', 'migrates; tests pass'],
        0,
        (o) =>
          isCard(o, 'A1') &&
          (o as { created: boolean }).created === true &&
          JSON.stringify((o as { acceptance: unknown }).acceptance) === '["migrates","tests pass"]',
      ],
      [
        'create (dependency)',
        ['create', '--id', 'A2', '--title', 'service', '--depends-on', 'A1', '--priority', '9'],
        0,
        (o) => isCard(o, 'A2') && JSON.stringify((o as { dependsOn: string[] }).dependsOn) === '["A1"]',
      ],
      ['create (repeat id)', ['create', '--id', 'A1', '--title', 'again'], 4, (o) => o === undefined],
      ['list', ['list'], 0, (o) => Array.isArray(o) && o.length === 2 && o.every((c) => isCard(c))],
      ['list --ready-only', ['list', '--ready-only'], 0, (o) => Array.isArray(o) && o.length === 1 && isCard(o[0], 'A1')],
      ['show', ['show', '--id', 'A2'], 0, (o) => isCard(o, 'A2')],
      ['show (unknown)', ['show', '--id', 'nope'], 0, (o) => o === null],
      ['link (cycle)', ['link', '--from', 'A1', '--to', 'A2'], 6, (o) => o === undefined],
      [
        'claim',
        ['claim', '--owner', ME, '--ttl', '600'],
        0,
        (o) => isCard(o, 'A1') && (o as { claimOwner: string }).claimOwner === ME && typeof (o as { claimToken: unknown }).claimToken === 'number',
      ],
      ['claim (nothing ready)', ['claim', '--owner', 'w2'], 0, (o) => o === null],
      ['claim --id (not claimable)', ['claim', '--owner', 'w2', '--id', 'A2'], 0, (o) => o === null],
      ['claim --id (unknown)', ['claim', '--owner', 'w2', '--id', 'nope'], 0, (o) => o === null],
      ['renew', ['renew', '--id', 'A1', '--owner', ME], 0, (o) => isCard(o, 'A1')],
      ['complete (fenced: not the owner)', ['complete', '--id', 'A1', '--owner', 'w2'], 5, (o) => o === undefined],
      ['complete', ['complete', '--id', 'A1', '--owner', ME], 0, (o) => isCard(o, 'A1') && (o as { status: string }).status === 'done'],
      ['complete (unknown)', ['complete', '--id', 'nope'], 0, (o) => o === null],
      ['block', ['block', '--id', 'A2'], 0, (o) => isCard(o, 'A2') && (o as { status: string }).status === 'blocked'],
      ['block (unknown)', ['block', '--id', 'nope'], 0, (o) => o === null],
      ['unblock', ['unblock', '--id', 'A2'], 0, (o) => isCard(o, 'A2') && (o as { status: string }).status === 'ready'],
      ['link', ['create', '--id', 'A3', '--title', 'three'], 0, (o) => isCard(o, 'A3')],
      [
        'link (edge)',
        ['link', '--from', 'A3', '--to', 'A2'],
        0,
        (o) => isCard(o, 'A3') && JSON.stringify((o as { dependsOn: string[] }).dependsOn) === '["A2"]',
      ],
      ['reclaim', ['reclaim'], 0, (o) => JSON.stringify(o) === '{"reclaimed":[]}'],
      ['reclaim --id (unknown)', ['reclaim', '--id', 'nope'], 0, (o) => JSON.stringify(o) === '{"reclaimed":[]}'],
      [
        'stats',
        ['stats'],
        0,
        (o) => {
          const st = o as Record<string, unknown>;
          return (
            JSON.stringify(st.counts) === '{"ready":2,"claimed":0,"blocked":0,"done":1}' &&
            st.total === 3 &&
            typeof st.oldestReadyAgeSeconds === 'number' &&
            st.expiredClaimCount === 0 &&
            st.waitingOnDeps === 1 &&
            !('expiredClaims' in st)
          );
        },
      ],
      ['events', ['events', '--limit', '5'], 0, (o) => Array.isArray(o) && o.length === 5 && typeof (o[0] as { verb?: unknown }).verb === 'string'],
      [
        'import',
        ['import', path.join(ROOT, 'backlog', 'fixtures', 'NORTH_STAR.yaml')],
        0,
        (o) => {
          const r = o as { created: string[]; updated: string[]; unchanged: string[] };
          return r.created.length === 12 && JSON.stringify(r.updated.sort()) === '["A1","A2"]' && r.unchanged.length === 0;
        },
      ],
    ];
    const failures: string[] = [];
    for (const [name, args, code, check] of rows) {
      const r = await cliIn(paths, [...args, '--json']);
      const out = r.stdout.trim() === '' ? undefined : (JSON.parse(r.stdout) as unknown);
      if (r.code !== code || !check(out))
        failures.push(`${name}: exit ${r.code} (want ${code}), stdout ${r.stdout.trim().slice(0, 300)}, stderr ${r.stderr.trim().slice(0, 200)}`);
    }
    expect(failures).toEqual([]);
    // A claim --id that returned null says why on stderr; a usage error exits 2; PAUSED exits 7.
    expect((await cliIn(paths, ['claim', '--owner', 'w2', '--id', 'A3', '--json'])).stderr).toMatch(/A3 waits on A2/);
    expect((await cliIn(paths, ['create', '--id', 'A9', '--title', 'x', '--priority', 'high'])).code).toBe(2);
    expect((await cliIn(paths, ['frobnicate'])).code).toBe(2);
    fs.writeFileSync(path.join(paths.runDir, 'PAUSED'), 'at=2026-11-21T18:00:00Z\nby=ops\nreason=maintenance\n');
    const paused = await cliIn(paths, ['claim', '--owner', 'w2', '--json']);
    expect([paused.code, paused.stdout]).toEqual([7, '']);
    expect(paused.stderr).toMatch(/PAUSED since 2026-11-21T18:00:00Z by ops: maintenance/);
    fs.rmSync(path.join(paths.runDir, 'PAUSED'));
    // Untrusted titles never reach the terminal raw.
    await cliIn(paths, ['create', '--id', 'evil', '--title', 'ok', '--body', 'x\u001b]0;pwned\u0007']);
    expect((await cliIn(paths, ['create', '--id', 'evil2', '--title', 'x\u001b[2J'])).code).toBe(2);
    await stopServer(paths);
  });

  it('idle exit: the server stops cleanly when unused, and the next client starts a new one', async () => {
    const paths = groupHome('server restarts');
    expect((await cliIn(paths, ['create', '--id', 'I1', '--title', 'idle'], { MOSAIC_BACKLOG_IDLE_EXIT: '1' })).code).toBe(0);
    // The server's pid from its log: on a slow machine its 1 s idle exit may already have
    // released the lock by the time the CLI's exit is noticed here.
    const serverLog = () => fs.readFileSync(path.join(paths.runDir, 'backlog-server.log'), 'utf8');
    const firstPid = Number(/backlog-server\[(\d+)\]/.exec(serverLog())?.[1]);
    expect(firstPid).toBeGreaterThan(0);
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    // The server releases its lock, then logs "stopped" and exits: wait for the exit itself,
    // not just the lock, or the last log line may not be written yet.
    await waitFor(() => !fs.existsSync(lockPathFor(paths.backlogDataDir)) && !alive(firstPid), { timeoutMs: 30_000, what: 'idle exit' });
    expect(fs.existsSync(paths.backlogSocket)).toBe(false);
    expect(serverLog()).toMatch(/shutting down \(idle for 1 s\)[\s\S]*stopped/);
    const again = await cliIn(paths, ['show', '--id', 'I1', '--json']);
    expect(again.code).toBe(0);
    expect(readJson<Card>(again.stdout).title).toBe('idle');
    expect(readDataDirLock(paths.backlogDataDir)?.pid).not.toBe(firstPid);
  });

  it("backlog stop ends the server gracefully (the next command starts a new one); reclaim --owner only releases that owner's claim", async () => {
    // After the idle-exit test: its second server (if it runs) is the one stopped here.
    const paths = groupHome('server restarts');
    expect((await cliIn(paths, ['create', '--id', 'S1', '--title', 'stop me'])).code).toBe(0);
    const first = readDataDirLock(paths.backlogDataDir);
    expect(first && isHolderAlive(first)).toBe(true);
    const stopped = await cliIn(paths, ['stop', '--json']);
    expect(stopped.code).toBe(0);
    expect(JSON.parse(stopped.stdout)).toEqual({ pid: first!.pid, stopped: true });
    expect(isHolderAlive(first!)).toBe(false);
    expect(fs.existsSync(paths.backlogSocket)).toBe(false);
    expect(fs.readFileSync(path.join(paths.runDir, 'backlog-server.log'), 'utf8')).toMatch(/shutting down \(SIGTERM\)[\s\S]*stopped/);
    const none = await cliIn(paths, ['stop']);
    expect([none.code, none.stdout]).toEqual([0, 'no backlog server running\n']);

    expect((await cliIn(paths, ['claim', '--owner', 'w2', '--id', 'S1', '--json'])).code).toBe(0);
    expect(readDataDirLock(paths.backlogDataDir)?.pid).not.toBe(first!.pid);
    expect((await cliIn(paths, ['reclaim', '--owner', 'w2'])).code).toBe(2); // --owner needs --id
    const wrongOwner = await cliIn(paths, ['reclaim', '--id', 'S1', '--owner', 'w1', '--json']);
    expect(JSON.parse(wrongOwner.stdout)).toEqual({ reclaimed: [] });
    const rightOwner = await cliIn(paths, ['reclaim', '--id', 'S1', '--owner', 'w2', '--json']);
    expect(JSON.parse(rightOwner.stdout)).toEqual({ reclaimed: ['S1'] });
    // A dependency that is no card yet: created (exit 0), with a warning that it cannot be claimed.
    const waiting = await cliIn(paths, ['create', '--id', 'S2', '--title', 'later', '--depends-on', 'S1,nope']);
    expect(waiting.code).toBe(0);
    expect(waiting.stderr).toContain('warning: S2 depends on nope, which is no card yet; it stays unclaimable until they exist and are done');
    await stopServer(paths);
  });

  it('protocol: hello first; garbage and unknown commands get errors and the connection stays usable', async () => {
    // An empty store; the list test after it starts from the same one (no card is made here).
    const paths = groupHome('empty store');
    expect((await cliIn(paths, ['stats'])).code).toBe(0);
    const net = await import('node:net');
    const socket = net.createConnection(paths.backlogSocket);
    const lines: string[] = [];
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      buffer += d;
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      lines.push(...parts);
    });
    try {
      await waitFor(() => lines.length >= 1, { what: 'hello' });
      expect(JSON.parse(at(lines, 0))).toMatchObject({ hello: 'mosaic-top-backlog/1' });
      socket.write('not json\n');
      socket.write(JSON.stringify({ id: 1, method: 'dropTables' }) + '\n');
      socket.write(JSON.stringify({ id: 2, method: 'claim', params: { owner: 'bad owner!' } }) + '\n');
      socket.write(JSON.stringify({ id: 3, method: 'stats' }) + '\n');
      await waitFor(() => lines.length >= 5, { what: 'four replies' });
      const replies = lines.slice(1).map((l) => JSON.parse(l) as unknown);
      expect(replies[0]).toMatchObject({ id: null, ok: false, error: { code: 'invalid' } });
      expect(replies[1]).toMatchObject({ id: 1, ok: false, error: { code: 'invalid' } });
      expect(replies[2]).toMatchObject({ id: 2, ok: false, error: { code: 'invalid' } });
      expect(replies[3]).toMatchObject({ id: 3, ok: true, result: { total: 0 } });
    } finally {
      socket.destroy();
    }
  });

  it('CLI list: a header row, and an expired claim shown as "expired <age>" (show too), never a negative count', async () => {
    const paths = groupHome('empty store');
    expect((await cliIn(paths, ['list'])).stdout).toBe('(no cards)\n');
    expect((await cliIn(paths, ['create', '--id', 'L1', '--title', 'short lease', '--priority', '5'])).code).toBe(0);
    expect((await cliIn(paths, ['create', '--id', 'L2', '--title', 'long lease'])).code).toBe(0);
    expect((await cliIn(paths, ['claim', '--owner', 'w1', '--id', 'L1', '--ttl', '1'])).code).toBe(0);
    expect((await cliIn(paths, ['claim', '--owner', 'w2', '--id', 'L2', '--ttl', '900'])).code).toBe(0);
    const list = await waitFor(
      async () => {
        const r = await cliIn(paths, ['list']);
        return / w1 expired \d+s/.test(r.stdout) ? r.stdout : null;
      },
      // Each poll is a verb and a server request: a few a second see the expiry as soon.
      { what: 'the 1 s claim to show as expired', intervalMs: 250 },
    );
    const lines = list.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+PRIO\s+PHASE\s+TITLE/);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^L1\s+claimed\s+5\s+-\s+short lease w1 expired \d+s$/);
    expect(lines[2]).toMatch(/^L2\s+claimed\s+0\s+-\s+long lease w2 1[45]m\d\ds$/);
    expect(list).not.toMatch(/-\d+s/);
    expect((await cliIn(paths, ['show', '--id', 'L1'])).stdout).toMatch(/^expires\s+\S+ \(expired \d+s\)$/m);
    expect((await cliIn(paths, ['show', '--id', 'L2'])).stdout).toMatch(/^expires\s+\S+ \(1[45]m\d\ds left\)$/m);
    await stopServer(paths);
  });

  it('CLI verbs without an owner log the actor cli:<user>@<host>; claim/complete --owner log the owner', async () => {
    const paths = makeHome();
    const me = `cli:${os.userInfo().username}@${os.hostname()}`;
    expect((await cliIn(paths, ['create', '--id', 'E1', '--title', 'one'])).code).toBe(0);
    expect((await cliIn(paths, ['create', '--id', 'E2', '--title', 'two'])).code).toBe(0);
    expect((await cliIn(paths, ['create', '--id', 'E3', '--title', 'three', '--actor', 'planner'])).code).toBe(0);
    expect((await cliIn(paths, ['link', '--from', 'E2', '--to', 'E1'])).code).toBe(0);
    expect((await cliIn(paths, ['block', '--id', 'E3', '--reason', 'later'])).code).toBe(0);
    expect((await cliIn(paths, ['unblock', '--id', 'E3'])).code).toBe(0);
    expect((await cliIn(paths, ['claim', '--owner', 'w1', '--id', 'E1'])).code).toBe(0);
    expect((await cliIn(paths, ['reclaim', '--id', 'E1', '--owner', 'w1'])).code).toBe(0);
    expect((await cliIn(paths, ['claim', '--owner', 'w1', '--id', 'E1'])).code).toBe(0);
    expect((await cliIn(paths, ['complete', '--id', 'E1', '--owner', 'w1'])).code).toBe(0);
    expect((await cliIn(paths, ['complete', '--id', 'E3'])).code).toBe(0);
    expect((await cliIn(paths, ['import', path.join(ROOT, 'backlog', 'fixtures', 'NORTH_STAR.yaml')])).code).toBe(0);
    const events = JSON.parse((await cliIn(paths, ['events', '--limit', '100', '--json'])).stdout) as Array<{
      actor: string;
      verb: string;
      cardId: string | null;
    }>;
    const actors = (verb: string) => [...new Set(events.filter((e) => e.verb === verb).map((e) => e.actor))].sort();
    expect(actors('create')).toEqual([me, 'planner'].sort());
    for (const verb of ['link', 'block', 'unblock', 'reclaim', 'import']) expect(actors(verb), verb).toEqual([me]);
    expect(actors('claim')).toEqual(['w1']);
    expect(events.filter((e) => e.verb === 'complete').map((e) => [e.cardId, e.actor])).toEqual([
      ['E3', me],
      ['E1', 'w1'],
    ]);
    await stopServer(paths);
  });

  it('demo backlog: NORTH_STAR goals with history (live claim, expired claim, blocked card); stopped on demand', async () => {
    const paths = makeHome();
    expect(await seedDemoBacklog(paths, { workerAgent: 'coder1', staleAgent: 'reviewer', onProgress: () => {} })).toBe(14);
    expect(await seedDemoBacklog(paths, { onProgress: () => {} })).toBe(14);
    const section = await waitFor(
      async () => {
        const s = await collectBacklogSection(paths, { timeoutMs: 10_000 });
        return s.claimed.some((c) => c.expired) ? s : null;
      },
      { what: 'the 1 s demo claim to expire', intervalMs: 250 },
    );
    expect(section.claimed.map((c) => [c.id, c.owner, c.expired])).toEqual([
      ['H1', 'reviewer', true],
      ['A3b', 'coder1', false],
    ]);
    expect(section.stats?.counts).toEqual({ ready: 8, claimed: 2, blocked: 1, done: 3 });
    expect(section.ready.map((r) => r.id).sort()).toEqual(['A4', 'B1']);
    expect((await stopEmbeddedServer(paths)).stopped).toBe(true);
    expect(fs.existsSync(lockPathFor(paths.backlogDataDir))).toBe(false);
  });

  it('snapshot: never creates a store; reads claimed and ready cards once one exists', async () => {
    const paths = makeHome({ withDataDir: false });
    const none = await collectBacklogSection(paths);
    expect(none).toMatchObject({ tier: 'embedded', ok: false, exists: false, error: null });
    expect(fs.existsSync(paths.backlogDataDir)).toBe(false);
    copyTemplateDataDir(paths.backlogDataDir);
    expect((await cliIn(paths, ['create', '--id', 'S1', '--title', 'snap', '--priority', '3'])).code).toBe(0);
    expect((await cliIn(paths, ['create', '--id', 'S2', '--title', 'next', '--priority', '1'])).code).toBe(0);
    expect((await cliIn(paths, ['claim', '--owner', 'coder7', '--ttl', '900'])).code).toBe(0);
    await cliIn(paths, ['create', '--id', 'S3', '--title', 'parked']);
    await cliIn(paths, ['block', '--id', 'S3']);
    const section = await collectBacklogSection(paths, { timeoutMs: 10_000 });
    expect(section).toMatchObject({ ok: true, exists: true, error: null, blockedCount: 1 });
    expect(section.claimed).toEqual([expect.objectContaining({ id: 'S1', owner: 'coder7', ttlSeconds: 900, expired: false })]);
    expect(at(section.claimed, 0).secondsLeft).toBeGreaterThan(800);
    expect(section.ready.map((r) => r.id)).toEqual(['S2']);
    expect(section.stats?.counts).toEqual({ ready: 1, claimed: 1, blocked: 1, done: 0 });
  });
});
