/**
 * The `events` and `recordEvent` verbs over `backlog_events`. Raw SQL (drizzle's `sql`
 * template): the event time is read as epoch ms and the id as text, the shape rows.ts toEvent
 * reads for every event (also those returned by the other verbs' statements).
 */
import { sql } from 'drizzle-orm';
import { rowsOf, type BacklogDb } from '../db.js';
import { toEvent, type Row } from '../rows.js';
import { BacklogError, type BacklogEvent, type RecordEventInput } from '../types.js';
import { assertInt, assertName } from '../validate.js';
import { firstRow } from './fragments.js';

/** Recent events, newest first (`limit` default 50, max 10 000), optionally for one card. */
export async function listEvents(db: BacklogDb, input: { limit?: number; cardId?: string } = {}): Promise<BacklogEvent[]> {
  const limit = input.limit === undefined ? 50 : assertInt(input.limit, 'limit', 1, 10_000);
  const cardId = input.cardId === undefined ? null : assertName(input.cardId, 'card id');
  const rows = rowsOf<Row>(
    await db.execute(sql`SELECT e.id::text AS id, (extract(epoch FROM e.at) * 1000)::float8 AS at_ms, e.actor, e.verb, e.card_id, e.detail
        FROM backlog_events e ${cardId === null ? sql`` : sql`WHERE e.card_id = ${cardId}`}
        ORDER BY e.id DESC LIMIT ${limit}`),
  );
  return rows.map(toEvent);
}

/** Appends an event (e.g. a dispatch receipt from the actions engine); `detail` must be an object. */
export async function recordEvent(db: BacklogDb, input: RecordEventInput): Promise<BacklogEvent> {
  const actor = assertName(input.actor, 'actor');
  const verb = assertName(input.verb, 'verb');
  const cardId = input.cardId == null ? null : assertName(input.cardId, 'card id');
  const detail = input.detail ?? {};
  if (typeof detail !== 'object' || Array.isArray(detail)) throw new BacklogError('invalid', 'event detail must be an object');
  const row = await firstRow(
    db,
    sql`INSERT INTO backlog_events (actor, verb, card_id, detail)
      VALUES (${actor}, ${verb}, ${cardId}, ${JSON.stringify(detail)}::jsonb)
      RETURNING id::text AS id, (extract(epoch FROM at) * 1000)::float8 AS at_ms, actor, verb, card_id, detail`,
  );
  if (!row) throw new BacklogError('internal', 'recording the event returned no row');
  return toEvent(row);
}
