/**
 * Tier factories for the backlog acceptance suite: the same tests run against a real PGlite
 * data dir (copied from the run's template) and a real PostgreSQL database (one per test file,
 * on the cluster started by test/global-setup.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { sql } from 'drizzle-orm';
import type { PausedFlag } from '../../src/snapshot/types.js';
import { describePause, readPausedFlag } from '../../fleet/paused.js';
import { migrateBacklog } from '../../backlog/migrate.js';
import { BacklogService } from '../../backlog/service.js';
import type { BacklogDb } from '../../backlog/db.js';
import { openBacklog } from '../../backlog/client.js';
import type { BacklogClient } from '../../backlog/verbs.js';
import type { MosaicPaths } from '../../lib/paths.js';
import { waitFor as pollUntil } from '../helpers/tmux.js';
import { pgAdminUrl } from '../helpers/pg.js';

/** One backlog store under test. */
export interface TierHandle {
  name: 'embedded' | 'server';
  /** Run dir for the PAUSED flag. */
  runDir: string;
  /** A service on its own connection (server tier) or on the one PGlite (embedded). */
  service(opts?: { paused?: () => PausedFlag | null }): Promise<BacklogService>;
  /** Runs raw SQL (test set-up only, e.g. backdating a claim). */
  exec(text: string): Promise<void>;
  /** Column names of `table` in the database (information_schema). */
  columns(table: string): Promise<string[]>;
  /** Empties the tables between tests. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Runs `use` on a backlog client of `paths` (the program's own client: on the embedded tier it
 * starts the real server on demand, as a CLI verb would), then closes it. For set-up and
 * read-backs that are not what a test is about: one node start less than a CLI verb each.
 */
export async function withBacklogClient<T>(paths: MosaicPaths, use: (client: BacklogClient) => Promise<T>): Promise<T> {
  const client = await openBacklog(paths, { onProgress: () => {} });
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

/** Copies the run's template PGlite data dir to a fresh temp dir; returns its path. */
export function copyTemplateDataDir(into?: string): string {
  const template = inject('pgliteTemplateDir');
  const target = into ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mt-backlog-')), 'backlog');
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.cpSync(template, target, { recursive: true });
  return target;
}

/**
 * Makes `dataDir` a blank PGlite store (nothing migrated) as the program makes one
 * (backlog/pglite-open.ts createDataDirApart, then its migrated public schema emptied): a copy of the run's store template
 * (`MOSAIC_TOP_STORE_TEMPLATES`, test/global-setup.ts), or initdb when there is none yet.
 * Returns PGlite open on it (the server's options: one open serves the emptying and the
 * test); the caller closes it.
 */
export async function openBlankDataDir(dataDir: string): Promise<PGliteInstance> {
  const [{ PGlite }, { createDataDirApart, serverPgliteOptions }, { storeTemplateRoot }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('../../backlog/pglite-open.js'),
    import('../../backlog/store-template.js'),
  ]);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const startParams = serverPgliteOptions(PGlite.defaultStartParams).startParams ?? [];
  await createDataDirApart(dataDir, { startParams, templateRoot: storeTemplateRoot(), log: (l) => process.stderr.write(`${l}\n`) });
  // The program's stores come with the migrations applied (backlog/initdb-child.ts): back to a
  // blank public schema, as initdb leaves it, for the tests of stores made by others.
  const pg = new PGlite(dataDir, serverPgliteOptions(PGlite.defaultStartParams));
  try {
    await pg.exec('DROP SCHEMA public CASCADE; CREATE SCHEMA public AUTHORIZATION pg_database_owner; GRANT USAGE ON SCHEMA public TO PUBLIC;');
  } catch (error) {
    await pg.close();
    throw error;
  }
  return pg;
}

/** PGlite as {@link openBlankDataDir} returns it. */
type PGliteInstance = InstanceType<typeof import('@electric-sql/pglite').PGlite>;

function pausedReader(runDir: string) {
  return () => readPausedFlag(runDir);
}

/** Embedded tier: PGlite on a copy of the template data dir, opened in this process. */
export async function embeddedTier(): Promise<TierHandle> {
  const dataDir = copyTemplateDataDir();
  const root = path.dirname(dataDir);
  const runDir = path.join(root, 'run');
  fs.mkdirSync(runDir, { recursive: true });
  const [{ PGlite }, { drizzle }] = await Promise.all([import('@electric-sql/pglite'), import('drizzle-orm/pglite')]);
  const pg = new PGlite(dataDir);
  await pg.waitReady;
  const db = drizzle(pg) as unknown as BacklogDb;
  await migrateBacklog(db);
  return {
    name: 'embedded',
    runDir,
    service: async (opts = {}) => new BacklogService(db, { readPaused: opts.paused ?? pausedReader(runDir), describePause }),
    exec: async (text) => {
      await pg.exec(text);
    },
    columns: async (table) =>
      (
        await pg.query<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1`, [table])
      ).rows.map((r) => r.column_name),
    reset: async () => {
      await pg.exec(`TRUNCATE backlog, backlog_events, backlog_fleet_pause RESTART IDENTITY; ALTER SEQUENCE backlog_claim_token_seq RESTART`);
      fs.rmSync(path.join(runDir, 'PAUSED'), { force: true });
    },
    close: async () => {
      await pg.close();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Server tier: a fresh database on the run's PostgreSQL cluster; each service gets its own connection (max 1). */
export async function serverTier(): Promise<TierHandle> {
  const adminUrl = inject('pgAdminUrl');
  if (!adminUrl) throw new Error(`PostgreSQL unavailable: ${inject('pgUnavailableReason')}`);
  const [{ default: postgres }, { drizzle }] = await Promise.all([import('postgres'), import('drizzle-orm/postgres-js')]);
  const dbName = `mt_backlog_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${dbName}`);
  const url = adminUrl.replace(/\/postgres$/, `/${dbName}`);
  const clients: Array<ReturnType<typeof postgres>> = [];
  const connect = () => {
    const client = postgres(url, { max: 1, onnotice: () => {} });
    clients.push(client);
    return drizzle(client) as unknown as BacklogDb;
  };
  const main = connect();
  await migrateBacklog(main);
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-backlog-run-'));
  return {
    name: 'server',
    runDir,
    service: async (opts = {}) => new BacklogService(connect(), { readPaused: opts.paused ?? pausedReader(runDir), describePause }),
    exec: async (text) => {
      await main.execute(sql.raw(text));
    },
    columns: async (table) => {
      const result = await main.execute(sql`SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ${table}`);
      return (result as unknown as Array<{ column_name: string }>).map((r) => r.column_name);
    },
    reset: async () => {
      await main.execute(sql.raw(`TRUNCATE backlog, backlog_events, backlog_fleet_pause RESTART IDENTITY`));
      await main.execute(sql.raw(`ALTER SEQUENCE backlog_claim_token_seq RESTART`));
      fs.rmSync(path.join(runDir, 'PAUSED'), { force: true });
    },
    close: async () => {
      await Promise.all(clients.map((c) => c.end({ timeout: 5 })));
      await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end({ timeout: 5 });
      fs.rmSync(runDir, { recursive: true, force: true });
    },
  };
}

/** The tiers to run: the server tier is skipped only when the cluster is unavailable outside CI. */
export function tierFactories(): Array<[string, () => Promise<TierHandle>]> {
  const tiers: Array<[string, () => Promise<TierHandle>]> = [['embedded (PGlite)', embeddedTier]];
  if (pgAdminUrl()) tiers.push(['server (PostgreSQL)', serverTier]);
  return tiers;
}

/** {@link pollUntil} with the backlog tests' defaults (20 s) and the description in `opts.what`. */
export function waitFor<T>(check: () => T | Promise<T>, opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<NonNullable<T>> {
  return pollUntil(check, opts.what ?? 'condition', { timeoutMs: opts.timeoutMs ?? 20_000, intervalMs: opts.intervalMs });
}
