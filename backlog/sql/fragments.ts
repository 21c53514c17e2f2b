/**
 * SQL shared by the backlog verbs (backlog/sql/<verb>.ts): the card columns, the claim and
 * dependency conditions, and the lookup of one card.
 *
 * One SQL style: drizzle's query builder where it can say the statement (the fleet pause, event
 * inserts, plain selects); drizzle's `sql` template — still parameterized — where it cannot:
 * a change and its event row written in ONE statement (data-modifying CTEs with
 * `FOR UPDATE … SKIP LOCKED`), jsonb functions over upstream's `depends_on`, epoch
 * conversions, `nextval`, advisory locks. Each file says which.
 */
import { sql, type SQL } from 'drizzle-orm';
import { rowsOf, type BacklogDb } from '../db.js';
import { toCard, type Row } from '../rows.js';
import type { Card } from '../types.js';

/**
 * Card columns as selected from alias `c`, timestamps as epoch ms and bigints as text. The claim
 * token counts only while it belongs to the card's latest claim (an upstream claim since then
 * bumped `attempts`: no token). Read with rows.ts toCard.
 */
export const CARD_COLUMNS = sql.raw(`c.id, c.title, c.body, c.phase, c.priority, c.status::text AS status, c.depends_on,
  c.claim_owner, c.claim_ttl_seconds,
  CASE WHEN c.claim_token_attempts = c.attempts THEN c.claim_token::text END AS claim_token, c.attempts,
  c.idempotency_key, c.acceptance, c.projected_tokens::text AS projected_tokens,
  c.actual_tokens::text AS actual_tokens,
  (extract(epoch FROM c.claimed_at) * 1000)::float8 AS claimed_ms,
  (extract(epoch FROM c.created_at) * 1000)::float8 AS created_ms,
  (extract(epoch FROM c.updated_at) * 1000)::float8 AS updated_ms,
  CASE WHEN c.status = 'claimed' THEN
    extract(epoch FROM (c.claimed_at + c.claim_ttl_seconds * interval '1 second' - now()))::float8 END AS seconds_left`);

/**
 * SQL condition on alias `c`: every dependency exists and is done. `depends_on` is upstream's
 * jsonb list of ids; anything but a list (never written by either tool) counts as no dependency.
 */
export const DEPS_DONE = sql.raw(`(c.depends_on = '[]'::jsonb OR jsonb_typeof(c.depends_on) <> 'array' OR NOT EXISTS (
  SELECT 1 FROM jsonb_array_elements_text(c.depends_on) AS d(dep)
  WHERE NOT EXISTS (SELECT 1 FROM backlog p WHERE p.id = d.dep AND p.status = 'done')))`);

/**
 * SQL condition on alias `c`: claimable — ready (mosaic-top's partial claim index) with every
 * dependency done. The condition is evaluated on the store itself, so cards written or completed
 * by upstream's CLI gate correctly too.
 */
export const CLAIMABLE = sql.join([sql.raw(`c.status = 'ready' AND `), DEPS_DONE]);

/** SQL condition on alias `b`: the claim is live (not past claimed_at + TTL). */
export const CLAIM_LIVE = sql.raw(`b.claimed_at + b.claim_ttl_seconds * interval '1 second' > now()`);

/** A jsonb parameter (drizzle would expand a JS array into a list). */
export function jsonbParam(value: unknown): SQL {
  return sql`${JSON.stringify(value)}::jsonb`;
}

/** The first row of `query`'s result, or undefined. */
export async function firstRow(db: BacklogDb, query: SQL): Promise<Row | undefined> {
  return rowsOf<Row>(await db.execute(query))[0];
}

/** The card `id` (already validated), or null when there is none. */
export async function findCard(db: BacklogDb, id: string): Promise<Card | null> {
  const row = await firstRow(db, sql`SELECT ${CARD_COLUMNS} FROM backlog c WHERE c.id = ${id}`);
  return row ? toCard(row) : null;
}
