/**
 * The `reclaim` verb. Raw SQL (drizzle's `sql` template): the pick (`FOR UPDATE … SKIP
 * LOCKED`), the release and one `reclaim` event per card are one statement (a data-modifying
 * CTE), which drizzle's builder cannot express.
 */
import { sql } from 'drizzle-orm';
import { rowsOf, type BacklogDb } from '../db.js';
import { BacklogError, type ReclaimResult } from '../types.js';
import { actorOr, assertName } from '../validate.js';
import { CLAIM_LIVE, findCard } from './fragments.js';

/**
 * Returns expired claims (claimed_at + TTL < now) to ready, or with `id` that card's claim
 * regardless of expiry (upstream `reclaim --id`). With `id` and `owner`, only while `owner`
 * still holds it (the console releases the claim the operator saw, never a newer one):
 * otherwise nothing is reclaimed (`reclaimed: []`). Unknown `id` ⇒ 'not_found'.
 */
export async function reclaimCards(db: BacklogDb, input: { id?: string; owner?: string; actor?: string } = {}): Promise<ReclaimResult> {
  const id = input.id === undefined ? null : assertName(input.id, 'card id');
  const owner = input.owner === undefined || id === null ? null : assertName(input.owner, 'owner');
  const actor = actorOr(input.actor, 'reclaim');
  const rows = rowsOf<{ id: string }>(
    await db.execute(sql`WITH old AS (
          SELECT b.id, b.claim_owner, b.claim_token, b.claimed_at, b.claim_ttl_seconds FROM backlog b
          WHERE b.status = 'claimed' AND ${id === null ? sql`NOT (${CLAIM_LIVE})` : sql`b.id = ${id}`}
            ${owner === null ? sql`` : sql`AND b.claim_owner = ${owner}`}
          FOR UPDATE OF b SKIP LOCKED
        ), r AS (
          UPDATE backlog b SET status = 'ready', claim_owner = NULL, claim_ttl_seconds = NULL, claimed_at = NULL, updated_at = now()
          FROM old WHERE b.id = old.id
          RETURNING b.id, old.claim_owner, old.claim_token, (old.claimed_at + old.claim_ttl_seconds * interval '1 second' <= now()) AS expired
        ), ev AS (
          INSERT INTO backlog_events (actor, verb, card_id, detail)
          SELECT ${actor}::text, 'reclaim', r.id,
            jsonb_build_object('previousOwner', r.claim_owner, 'token', r.claim_token, 'expired', r.expired, 'forced', ${id !== null}::boolean)
          FROM r
        )
        SELECT id FROM r ORDER BY id`),
  );
  if (id !== null && rows.length === 0 && !(await findCard(db, id))) throw new BacklogError('not_found', `no card ${id}`);
  return { reclaimed: rows.map((r) => r.id) };
}
