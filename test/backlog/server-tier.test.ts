/**
 * The server tier end to end: `DATABASE_URL` set ⇒ the real program talks to the
 * run's PostgreSQL cluster with one connection per process; credentials masked everywhere;
 * a snapshot never migrates.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePaths, type MosaicPaths } from '../../lib/paths.js';
import { collectBacklogSection } from '../../backlog/snapshot.js';
import { TEST_PG_PASSWORD } from '../global-setup.js';
import { runBin, type BinResult } from '../helpers/bin.js';
import { runCliInProcess } from '../helpers/cli.js';
import type { BacklogStats } from '../../backlog/types.js';
import { readJson } from '../helpers/json.js';
import { pgAdminUrl } from '../helpers/pg.js';
import { at } from '../helpers/must.js';

const adminUrl = pgAdminUrl();

/** `mosaic-top backlog ...args` as its own OS process (one connection per process). */
function cli(paths: MosaicPaths, url: string, args: string[]): Promise<BinResult> {
  return runBin(['--mosaic-home', paths.mosaicHome, 'backlog', ...args], { ...process.env, DATABASE_URL: url, PGLITE_DATA_DIR: '' });
}

/** The same run in this process (test/helpers/cli.ts): for a verb's output and exit code, where a node start per call is the cost. */
function cliIn(paths: MosaicPaths, url: string, args: string[]): Promise<BinResult> {
  return runCliInProcess(['--mosaic-home', paths.mosaicHome, 'backlog', ...args], { ...process.env, DATABASE_URL: url, PGLITE_DATA_DIR: '' });
}

describe.skipIf(!adminUrl)('backlog server tier (DATABASE_URL)', () => {
  let url = '';
  let home = '';
  let paths: MosaicPaths;
  let admin: { unsafe: (q: string) => Promise<unknown>; end: (o?: { timeout?: number }) => Promise<void> };
  const dbName = `mt_backlog_cli_${process.pid}`;

  beforeAll(async () => {
    const { default: postgres } = await import('postgres');
    admin = postgres(adminUrl as string, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE DATABASE ${dbName}`);
    url = (adminUrl as string).replace(/\/postgres$/, `/${dbName}`);
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-bk-srv-'));
    paths = resolvePaths({ mosaicHome: home }, { DATABASE_URL: url });
  });
  afterAll(async () => {
    await admin?.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin?.end({ timeout: 5 });
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it('a snapshot before any command says the table is missing and does not create it', async () => {
    const section = await collectBacklogSection(paths, { timeoutMs: 10_000 });
    expect(section).toMatchObject({ tier: 'server', ok: false, exists: false });
    expect(section.error).toMatch(/no backlog table/);
    expect(section.location).not.toContain(TEST_PG_PASSWORD);
    expect(section.location).toContain('***');
    const { default: postgres } = await import('postgres');
    const probe = postgres(url, { max: 1, onnotice: () => {} });
    const rows = await probe`SELECT to_regclass('backlog')::text AS t`;
    await probe.end({ timeout: 5 });
    expect(at(rows, 0).t).toBeNull();
  });

  it('CLI verbs work on Postgres (migrated on first use), with no embedded server or data dir', async () => {
    expect((await cliIn(paths, url, ['create', '--id', 'P1', '--title', 'pg one', '--priority', '2'])).code).toBe(0);
    for (let i = 0; i < 8; i += 1) expect((await cliIn(paths, url, ['create', '--id', `Q${i}`, '--title', `q${i}`])).code).toBe(0);
    // Nine processes race for the nine cards.
    const results = await Promise.all(Array.from({ length: 9 }, (_, i) => cli(paths, url, ['claim', '--owner', `pg${i}`, '--json'])));
    const ids = results.map((r) => (JSON.parse(r.stdout) as { id?: string } | null)?.id);
    expect(ids.every(Boolean)).toBe(true);
    expect(new Set(ids).size).toBe(9);
    expect(ids).toContain('P1');
    const stats = readJson<BacklogStats>((await cliIn(paths, url, ['stats', '--json'])).stdout);
    expect(stats.counts).toEqual({ ready: 0, claimed: 9, blocked: 0, done: 0 });
    expect(fs.existsSync(paths.backlogDataDir)).toBe(false);
    expect(fs.existsSync(paths.backlogSocket)).toBe(false);
    const section = await collectBacklogSection(paths, { timeoutMs: 10_000 });
    expect(section).toMatchObject({ tier: 'server', ok: true, exists: true });
    expect(section.claimed.length).toBe(9);
    expect(section.location).not.toContain(TEST_PG_PASSWORD);
  });

  it('concurrent first use on a fresh database: exactly one process migrates, the rest see it done', async () => {
    const fresh = `${dbName}_mig`;
    await admin.unsafe(`CREATE DATABASE ${fresh}`);
    const freshUrl = (adminUrl as string).replace(/\/postgres$/, `/${fresh}`);
    const [{ default: postgres }, { drizzle }, { migrateBacklog, readMigrations }] = await Promise.all([
      import('postgres'),
      import('drizzle-orm/postgres-js'),
      import('../../backlog/migrate.js'),
    ]);
    const clients = Array.from({ length: 4 }, () => postgres(freshUrl, { max: 1, onnotice: () => {} }));
    try {
      const applied = await Promise.all(clients.map((c) => migrateBacklog(drizzle(c) as never)));
      const versions = readMigrations().map((m) => m.version);
      expect(versions.length).toBeGreaterThanOrEqual(2);
      expect(applied.filter((a) => a.length > 0)).toEqual([versions]);
      const rows = await at(clients, 0)`SELECT count(*)::int AS n FROM backlog_migrations`;
      expect(at(rows, 0).n).toBe(versions.length);
    } finally {
      await Promise.all(clients.map((c) => c.end({ timeout: 5 })));
      await admin.unsafe(`DROP DATABASE IF EXISTS ${fresh} WITH (FORCE)`);
    }
  });

  it('an unreachable database fails with exit 1 and a masked URL in the message', async () => {
    const bad = (adminUrl as string).replace(/:(\d+)\//, ':1/');
    const r = await cliIn(paths, bad, ['stats', '--json']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).not.toContain(TEST_PG_PASSWORD);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('postgres://postgres:***@');
  });
});
