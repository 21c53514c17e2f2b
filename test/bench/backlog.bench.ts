/**
 * Backlog benchmark (`npm run bench:backlog`, after `npx tsc -p .`). Prints:
 *  1. in-process claims/s and p50/p95 latency on PGlite with 10,000 cards (30% with 3 deps);
 *  2. wall time of one `mosaic-top backlog claim` process via a running backlog server;
 *  3. total claims/s with 8 concurrent CLI clients (embedded tier);
 *  4. claims/s on the Postgres tier with 8 concurrent claimers, one connection each
 *     (DATABASE_URL if set, else a throwaway cluster started like the tests).
 * Targets: in-process p50 ≤ 2 ms, one CLI claim ≤ 200 ms wall, Postgres ≥ 1,000 claims/s.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { resolvePaths } from '../../lib/paths.js';
import { migrateBacklog } from '../../backlog/migrate.js';
import { BacklogService } from '../../backlog/service.js';
import type { BacklogDb } from '../../backlog/db.js';
import { stopEmbeddedServer } from '../../backlog/client.js';
import { readJson } from '../helpers/json.js';
import { at } from '../helpers/must.js';

const execFileAsync = promisify(execFile);
// dist/test/bench/backlog.bench.js ⇒ package root is three levels up.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = path.join(ROOT, 'bin', 'mosaic-top');
const CARDS = 10_000;

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return at(s, Math.min(s.length - 1, Math.floor((p / 100) * s.length)), 'sample');
}

/**
 * 10,000 cards, priorities 0–9; 30% depend on 3 random earlier cards. One INSERT … SELECT so
 * seeding is not what we measure.
 */
function seedSql(n: number): string {
  return `INSERT INTO backlog (id, title, priority, depends_on)
    SELECT 'b' || g, 'bench card ' || g, (g * 7919) % 10,
      CASE WHEN g > 10 AND (g * 31) % 10 < 3 THEN
        jsonb_build_array('b' || (1 + (g * 13) % (g - 1)), 'b' || (1 + (g * 17) % (g - 1)), 'b' || (1 + (g * 19) % (g - 1)))
      ELSE '[]'::jsonb END
    FROM generate_series(1, ${n}) g`;
}

async function inProcessPglite(dataDir: string): Promise<Record<string, number>> {
  const [{ PGlite }, { drizzle }] = await Promise.all([import('@electric-sql/pglite'), import('drizzle-orm/pglite')]);
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  const t0 = performance.now();
  const pg = new PGlite(dataDir);
  await pg.waitReady;
  const db = drizzle(pg) as unknown as BacklogDb;
  await migrateBacklog(db);
  const initMs = performance.now() - t0;
  await pg.exec(seedSql(CARDS));
  await pg.exec('VACUUM ANALYZE backlog');
  const svc = new BacklogService(db);
  const latencies: number[] = [];
  const claims = 2000;
  const started = performance.now();
  for (let i = 0; i < claims; i += 1) {
    const t = performance.now();
    const r = await svc.claim({ owner: `w${i % 8}` });
    latencies.push(performance.now() - t);
    if (!r.card) throw new Error(`in-process claim ${i} found nothing`);
  }
  const elapsed = (performance.now() - started) / 1000;
  await pg.close();
  return {
    initMs: Math.round(initMs),
    claims,
    claimsPerSecond: Math.round(claims / elapsed),
    p50Ms: +percentile(latencies, 50).toFixed(2),
    p95Ms: +percentile(latencies, 95).toFixed(2),
  };
}

async function cliClaims(home: string): Promise<Record<string, number>> {
  const env = { ...process.env, DATABASE_URL: '', PGLITE_DATA_DIR: '', MOSAIC_BACKLOG_IDLE_EXIT: '60' };
  const claim = async (owner: string): Promise<number> => {
    const t = performance.now();
    const { stdout, stderr } = await execFileAsync(process.execPath, [BIN, '--mosaic-home', home, 'backlog', 'claim', '--owner', owner, '--json'], { env });
    // `claim --json` prints the card or null (upstream's shape).
    if (!readJson<{ id?: unknown } | null>(stdout)?.id)
      throw new Error(`CLI claim found nothing: ${stdout.trim().slice(0, 300)} ${stderr.trim().slice(0, 300)}`);
    return performance.now() - t;
  };
  await claim('warmup'); // starts the server (reopen of the data dir)
  const single: number[] = [];
  for (let i = 0; i < 15; i += 1) single.push(await claim(`solo${i}`));
  const perClient = 15;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async (_, c) => {
      for (let i = 0; i < perClient; i += 1) await claim(`c${c}-${i}`);
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return {
    oneClaimWallP50Ms: Math.round(percentile(single, 50)),
    oneClaimWallP95Ms: Math.round(percentile(single, 95)),
    concurrentClients: 8,
    concurrentClaims: 8 * perClient,
    concurrentClaimsPerSecond: +((8 * perClient) / elapsed).toFixed(1),
  };
}

async function postgresTier(): Promise<Record<string, number | string>> {
  let url = process.env.DATABASE_URL || '';
  let stop: (() => void) | null = null;
  if (!url) {
    const { startPostgres } = await import('../global-setup.js');
    const cluster = await startPostgres();
    url = cluster.url;
    stop = cluster.stop;
  }
  const [{ default: postgres }, { drizzle }] = await Promise.all([import('postgres'), import('drizzle-orm/postgres-js')]);
  const dbName = `mt_backlog_bench_${process.pid}`;
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  const clients: Array<ReturnType<typeof postgres>> = [];
  try {
    await admin.unsafe(`CREATE DATABASE ${dbName}`);
    const u = new URL(url);
    u.pathname = `/${dbName}`;
    const connect = (): BacklogDb => {
      const c = postgres(u.toString(), { max: 1, onnotice: () => {} });
      clients.push(c);
      return drizzle(c) as unknown as BacklogDb;
    };
    const main = connect();
    await migrateBacklog(main);
    await main.execute(sql.raw(seedSql(CARDS)));
    await main.execute(sql.raw('VACUUM ANALYZE backlog'));
    const services = Array.from({ length: 8 }, () => new BacklogService(connect()));
    const target = 4000;
    let claimed = 0;
    const latencies: number[] = [];
    const started = performance.now();
    await Promise.all(
      services.map(async (svc, i) => {
        while (claimed < target) {
          const t = performance.now();
          const r = await svc.claim({ owner: `pg${i}` });
          latencies.push(performance.now() - t);
          if (!r.card) break;
          claimed += 1;
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    const dup = await main.execute(sql.raw(`SELECT count(*)::int AS n FROM backlog WHERE status = 'claimed'`));
    const rows = Array.isArray(dup) ? dup : (dup as { rows: Array<{ n: number }> }).rows;
    return {
      source: process.env.DATABASE_URL ? 'DATABASE_URL' : 'throwaway cluster',
      claimers: 8,
      claims: claimed,
      claimedRows: Number((rows[0] as { n: number }).n),
      claimsPerSecond: Math.round(claimed / elapsed),
      p50Ms: +percentile(latencies, 50).toFixed(2),
    };
  } finally {
    await Promise.all(clients.map((c) => c.end({ timeout: 5 })));
    await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
    await admin.end({ timeout: 5 });
    stop?.();
  }
}

async function main(): Promise<void> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-backlog-bench-'));
  const paths = resolvePaths({ mosaicHome: home }, {});
  const report: Record<string, unknown> = {};
  try {
    process.stderr.write('backlog bench: in-process PGlite (initdb + 10,000 cards) …\n');
    report.inProcessPglite = await inProcessPglite(paths.backlogDataDir);
    process.stderr.write('backlog bench: CLI claims via the backlog server …\n');
    report.cli = await cliClaims(home);
    await stopEmbeddedServer(paths);
    process.stderr.write('backlog bench: Postgres tier, 8 concurrent claimers …\n');
    try {
      report.postgres = await postgresTier();
    } catch (error) {
      report.postgres = { error: (error as Error).message };
    }
  } finally {
    await stopEmbeddedServer(paths);
    fs.rmSync(home, { recursive: true, force: true });
  }
  const r = report as {
    inProcessPglite: { p50Ms: number; claimsPerSecond: number };
    cli: { oneClaimWallP50Ms: number; concurrentClaimsPerSecond: number };
    postgres: { claimsPerSecond?: number };
  };
  report.targets = {
    inProcessP50le2ms: r.inProcessPglite.p50Ms <= 2,
    oneCliClaimLe200ms: r.cli.oneClaimWallP50Ms <= 200,
    postgresGe1000PerS: (r.postgres.claimsPerSecond ?? 0) >= 1000,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

await main();
