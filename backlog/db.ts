/**
 * The drizzle database type both tiers share (PGlite driver or postgres-js driver), and
 * helpers that smooth over their raw-result differences.
 */
import type { SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';

/** A drizzle Postgres database: `drizzle-orm/pglite` or `drizzle-orm/postgres-js` (schema type `any`: the drivers differ). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the two drivers' schema types differ; no schema is used
export type BacklogDb = PgDatabase<PgQueryResultHKT, any>;

/**
 * Rows of a `db.execute()` result: PGlite returns `{ rows }`, postgres-js an array of rows.
 */
export function rowsOf<T = Record<string, unknown>>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  const rows = (result as { rows?: unknown }).rows;
  return Array.isArray(rows) ? (rows as T[]) : [];
}

/**
 * Runs `query` as a named prepared statement (the hot paths: claim). `db.execute()` sends raw
 * SQL unprepared, which on postgres-js costs an extra Parse/Describe round trip per call;
 * a prepared statement is parsed and described once per connection. Uses drizzle's session
 * (the same call `db.execute` makes, with a name); falls back to `db.execute` when the driver
 * does not expose it. Returns the raw driver result (read it with {@link rowsOf}).
 */
export async function executePrepared(db: BacklogDb, name: string, query: SQL): Promise<unknown> {
  const internals = db as unknown as {
    session?: { prepareQuery?: (q: unknown, fields: undefined, name: string, arrayMode: boolean) => { execute: (p?: unknown) => Promise<unknown> } };
    dialect?: { sqlToQuery?: (s: SQL) => unknown };
  };
  const session = internals.session;
  const dialect = internals.dialect;
  if (session && typeof session.prepareQuery === 'function' && dialect && typeof dialect.sqlToQuery === 'function') {
    return session.prepareQuery(dialect.sqlToQuery(query), undefined, name, false).execute(undefined);
  }
  return db.execute(query);
}
