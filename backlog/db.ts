/**
 * The drizzle database type both tiers share (PGlite driver or postgres-js driver), and
 * helpers that smooth over their raw-result differences.
 */
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';

/** A drizzle Postgres database: `drizzle-orm/pglite` or `drizzle-orm/postgres-js`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type BacklogDb = PgDatabase<PgQueryResultHKT, any>;

/**
 * Rows of a `db.execute()` result: PGlite returns `{ rows }`, postgres-js an array of rows.
 */
export function rowsOf<T = Record<string, unknown>>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  const rows = (result as { rows?: unknown }).rows;
  return Array.isArray(rows) ? (rows as T[]) : [];
}
