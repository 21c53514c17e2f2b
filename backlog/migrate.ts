/**
 * The migrator: applies backlog/migrations/NNNN_name.sql in order, automatically on first use.
 * Everything runs in ONE transaction that first takes `pg_advisory_xact_lock`, so two processes
 * on a fresh Postgres never both migrate; applied versions are recorded in `backlog_migrations`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { packageRoot } from '../lib/version.js';
import { rowsOf, type BacklogDb } from './db.js';
import { backlogMigrations } from './schema.js';

/**
 * Advisory lock key of the migrator (any constant shared by all): the bytes "mosaicb"
 * (0x6d6f7361696362) as the double JavaScript rounds them to — the value it always had at run time.
 */
export const MIGRATION_LOCK_KEY = 30803313807680352;

/** One migration file. */
export interface MigrationFile {
  /** `0001` */
  version: string;
  /** `cards_and_events` */
  name: string;
  /** SQL statements (split on `--> statement-breakpoint`). */
  statements: string[];
}

/** Directory of the SQL migrations, found from the package root (works from src and dist). */
export function migrationsDir(): string {
  return path.join(packageRoot(), 'backlog', 'migrations');
}

/**
 * Reads every `NNNN_name.sql` in `dir`, sorted by version. Throws when the directory is
 * missing or a file name does not follow the pattern.
 */
export function readMigrations(dir = migrationsDir()): MigrationFile[] {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  return files.map((file) => {
    const [, version, name] = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(file) ?? [];
    if (!version || !name) throw new Error(`backlog migration file name must be NNNN_name.sql: ${path.join(dir, file)}`);
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    const statements = text
      .split(/^--> statement-breakpoint\s*$/m)
      .map((s) => s.trim())
      .filter((s) => s.replace(/--[^\n]*\n?/g, '').trim().length > 0);
    return { version, name, statements };
  });
}

/**
 * Applies pending migrations (safe on a store upstream's `mosaic fleet backlog` made, on one
 * mosaic-top round 1 made — converted to upstream's column types by 0003 — and on a fresh one) to `db` in one transaction under the advisory lock. Returns the
 * versions applied now (empty when up to date). Throws the database error (transaction rolled
 * back, nothing half-applied).
 */
export async function migrateBacklog(db: BacklogDb, files: MigrationFile[] = readMigrations()): Promise<string[]> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await tx.execute(sql`CREATE TABLE IF NOT EXISTS backlog_migrations (
      version text PRIMARY KEY NOT NULL,
      name text NOT NULL,
      applied_at timestamptz DEFAULT now() NOT NULL
    )`);
    const done = new Set((await tx.select({ version: backlogMigrations.version }).from(backlogMigrations)).map((r) => r.version));
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file.version)) continue;
      for (const statement of file.statements) await tx.execute(sql.raw(statement));
      await tx.insert(backlogMigrations).values({ version: file.version, name: file.name });
      applied.push(file.version);
    }
    return applied;
  });
}

/**
 * Versions of `files` not yet applied to `db` (read only: never creates or changes anything).
 * A store without `backlog_migrations` (upstream's own) has every version pending.
 */
export async function pendingMigrations(db: BacklogDb, files: MigrationFile[] = readMigrations()): Promise<string[]> {
  const table = rowsOf<{ t: string | null }>(await db.execute(sql`SELECT to_regclass('backlog_migrations')::text AS t`));
  if (!table[0]?.t) return files.map((f) => f.version);
  const done = new Set(rowsOf<{ version: string }>(await db.execute(sql`SELECT version FROM backlog_migrations`)).map((r) => r.version));
  return files.filter((f) => !done.has(f.version)).map((f) => f.version);
}

/** True when the backlog tables exist (used by the snapshot, which must never migrate). */
export async function backlogTablesExist(db: BacklogDb): Promise<boolean> {
  const rows = rowsOf<{ t: string | null }>(await db.execute(sql`SELECT to_regclass('backlog')::text AS t`));
  return Boolean(rows[0]?.t);
}

/** One column of the `backlog` table as the database reports it. */
export interface BacklogColumnType {
  column: string;
  /** information_schema `data_type` (`USER-DEFINED` for the enum). */
  dataType: string;
  /** `udt_name`, e.g. `backlog_status`, `jsonb`, `text`, `int4`, `timestamptz`. */
  udtName: string;
  nullable: boolean;
  /** Column default as the database prints it, or null. */
  defaultValue: string | null;
}

/** The `backlog` table's columns, in table order (diagnostics and the compatibility tests). */
export async function backlogColumnTypes(db: BacklogDb): Promise<BacklogColumnType[]> {
  const rows = rowsOf<{ column_name: string; data_type: string; udt_name: string; is_nullable: string; column_default: string | null }>(
    await db.execute(sql`SELECT column_name, data_type, udt_name, is_nullable, column_default FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 'backlog' ORDER BY ordinal_position`),
  );
  return rows.map((r) => ({
    column: r.column_name,
    dataType: r.data_type,
    udtName: r.udt_name,
    nullable: r.is_nullable === 'YES',
    defaultValue: r.column_default,
  }));
}
