/**
 * The `block` and `unblock` verbs. Raw SQL (drizzle's `sql` template): the status change and
 * its event are one statement (a data-modifying CTE), which drizzle's builder cannot express.
 */
import { sql } from 'drizzle-orm';
import type { BacklogDb } from '../db.js';
import { toCard } from '../rows.js';
import { BacklogError, type Card } from '../types.js';
import { actorOr, assertName, assertText } from '../validate.js';
import { CARD_COLUMNS, firstRow } from './fragments.js';
import { getCard } from './get.js';

/** Parks a ready or claimed card (its claim is released); already blocked is a no-op; done ⇒ 'conflict'. */
export async function blockCard(db: BacklogDb, input: { id: string; reason?: string; actor?: string }): Promise<Card> {
  const id = assertName(input.id, 'card id');
  const reason = assertText(input.reason, 'reason', { max: 500 });
  const actor = actorOr(input.actor, 'cli');
  const row = await firstRow(
    db,
    sql`WITH c AS (
        UPDATE backlog b SET status = 'blocked', claim_owner = NULL, claim_ttl_seconds = NULL, claimed_at = NULL, updated_at = now()
        WHERE b.id = ${id} AND b.status IN ('ready', 'claimed') RETURNING b.*
      ), ev AS (
        INSERT INTO backlog_events (actor, verb, card_id, detail)
        SELECT ${actor}::text, 'block', c.id, jsonb_build_object('reason', ${reason}::text) FROM c
      )
      SELECT ${CARD_COLUMNS} FROM c`,
  );
  if (row) return toCard(row);
  const card = await getCard(db, id);
  if (card.status === 'blocked') return card;
  throw new BacklogError('conflict', `card ${id} is ${card.status}; only ready or claimed cards can be blocked`);
}

/** Returns a blocked card to ready; a ready card is a no-op; claimed/done ⇒ 'conflict'. */
export async function unblockCard(db: BacklogDb, input: { id: string; actor?: string }): Promise<Card> {
  const id = assertName(input.id, 'card id');
  const actor = actorOr(input.actor, 'cli');
  const row = await firstRow(
    db,
    sql`WITH c AS (
        UPDATE backlog b SET status = 'ready', updated_at = now() WHERE b.id = ${id} AND b.status = 'blocked' RETURNING b.*
      ), ev AS (
        INSERT INTO backlog_events (actor, verb, card_id, detail) SELECT ${actor}::text, 'unblock', c.id, '{}'::jsonb FROM c
      )
      SELECT ${CARD_COLUMNS} FROM c`,
  );
  if (row) return toCard(row);
  const card = await getCard(db, id);
  if (card.status === 'ready') return card;
  throw new BacklogError('conflict', `card ${id} is ${card.status}, not blocked`);
}
