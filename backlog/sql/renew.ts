/**
 * The `renew` verb. Raw SQL (drizzle's `sql` template): the fenced update and its `renew`
 * event are one statement (a data-modifying CTE), which drizzle's builder cannot express.
 */
import { sql } from 'drizzle-orm';
import type { BacklogDb } from '../db.js';
import { toCard } from '../rows.js';
import type { Card, RenewInput } from '../types.js';
import { assertName, assertToken, assertTtl } from '../validate.js';
import { fencedError } from './fence.js';
import { CARD_COLUMNS, CLAIM_LIVE, firstRow } from './fragments.js';

/**
 * Extends a live claim held by `owner` (and `token` when given): the lease restarts now for
 * `ttlSeconds` (default: the claim's TTL). An expired, reclaimed or replaced claim ⇒ 'fenced'.
 */
export async function renewClaim(db: BacklogDb, input: RenewInput): Promise<Card> {
  const id = assertName(input.id, 'card id');
  const owner = assertName(input.owner, 'owner');
  const ttl = input.ttlSeconds === undefined ? null : assertTtl(input.ttlSeconds);
  const token = input.token === undefined ? undefined : assertToken(input.token);
  const row = await firstRow(
    db,
    sql`WITH r AS (
        UPDATE backlog b SET claimed_at = now(), claim_ttl_seconds = COALESCE(${ttl}::int, b.claim_ttl_seconds), updated_at = now()
        WHERE b.id = ${id} AND b.status = 'claimed' AND b.claim_owner = ${owner}
          ${token === undefined ? sql`` : sql`AND b.claim_token = ${token} AND b.claim_token_attempts = b.attempts`} AND ${CLAIM_LIVE}
        RETURNING b.*
      ), ev AS (
        INSERT INTO backlog_events (actor, verb, card_id, detail)
        SELECT ${owner}::text, 'renew', r.id, jsonb_build_object('token', r.claim_token, 'ttlSeconds', r.claim_ttl_seconds) FROM r
      )
      SELECT ${CARD_COLUMNS} FROM r c`,
  );
  if (row) return toCard(row);
  throw await fencedError(db, id, owner, token, 'renew');
}
