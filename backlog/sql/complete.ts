/**
 * The `complete` verb. Raw SQL (drizzle's `sql` template): the fenced pick (`FOR UPDATE`),
 * the update and the `complete` event are one statement (a data-modifying CTE), which
 * drizzle's builder cannot express.
 */
import { sql } from 'drizzle-orm';
import type { BacklogDb } from '../db.js';
import { toCard } from '../rows.js';
import type { Card, CompleteInput } from '../types.js';
import { assertInt, assertName, assertToken } from '../validate.js';
import { fencedError } from './fence.js';
import { CARD_COLUMNS, CLAIM_LIVE, firstRow } from './fragments.js';
import { getCard } from './get.js';

/**
 * Marks a card done and releases its claim. With `owner` (and optionally `token`) the claim
 * must be live and held by that owner: an expired, reclaimed or replaced claim ⇒ 'fenced'.
 * Without `owner` it is the operator's override (any status); done again is a no-op.
 */
export async function completeCard(db: BacklogDb, input: CompleteInput): Promise<Card> {
  const id = assertName(input.id, 'card id');
  const owner = input.owner === undefined ? null : assertName(input.owner, 'owner');
  const token = input.token === undefined ? undefined : assertToken(input.token);
  const actual = input.actualTokens === undefined ? null : assertInt(input.actualTokens, 'actual tokens', 0, Number.MAX_SAFE_INTEGER);
  const actor = owner ?? (input.actor ? assertName(input.actor, 'actor') : 'cli');
  const fence =
    owner === null
      ? sql`b.status <> 'done'`
      : sql`b.status = 'claimed' AND b.claim_owner = ${owner} ${token === undefined ? sql`` : sql`AND b.claim_token = ${token} AND b.claim_token_attempts = b.attempts`} AND ${CLAIM_LIVE}`;
  const row = await firstRow(
    db,
    sql`WITH old AS (
        SELECT b.id, b.status, b.claim_owner, b.claim_token FROM backlog b WHERE b.id = ${id} AND ${fence} FOR UPDATE OF b
      ), c AS (
        UPDATE backlog b SET status = 'done', claim_owner = NULL, claim_ttl_seconds = NULL, claimed_at = NULL,
          actual_tokens = COALESCE(${actual}::bigint, b.actual_tokens), updated_at = now()
        FROM old WHERE b.id = old.id RETURNING b.*, old.status AS previous_status, old.claim_owner AS previous_owner
      ), ev AS (
        INSERT INTO backlog_events (actor, verb, card_id, detail)
        SELECT ${actor}::text, 'complete', c.id,
          jsonb_build_object('previousStatus', c.previous_status, 'owner', c.previous_owner, 'token', c.claim_token, 'actualTokens', c.actual_tokens)
        FROM c
      )
      SELECT ${CARD_COLUMNS} FROM c`,
  );
  if (row) return toCard(row);
  if (owner !== null) throw await fencedError(db, id, owner, token, 'complete');
  return getCard(db, id);
}
