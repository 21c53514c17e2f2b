/**
 * The `overview` verb: what the console and the snapshot need in one round trip. Raw SQL for
 * the claimed cards (drizzle's `sql` template): ordered by expiry, an interval expression.
 */
import { sql } from 'drizzle-orm';
import { rowsOf, type BacklogDb } from '../db.js';
import { toCard, type Row } from '../rows.js';
import type { BacklogOverview } from '../types.js';
import { assertInt } from '../validate.js';
import { CARD_COLUMNS } from './fragments.js';
import { listCards } from './list.js';
import { readFleetPause } from './pause.js';
import { backlogStats } from './stats.js';

/** Stats, every claimed card (soonest expiry first), the top `readyLimit` (default 10) ready cards and the store's fleet pause. */
export async function backlogOverview(db: BacklogDb, input: { readyLimit?: number } = {}): Promise<BacklogOverview> {
  const readyLimit = input.readyLimit === undefined ? 10 : assertInt(input.readyLimit, 'ready limit', 1, 1000);
  const stats = await backlogStats(db);
  const claimed = rowsOf<Row>(
    await db.execute(sql`SELECT ${CARD_COLUMNS} FROM backlog c WHERE c.status = 'claimed'
        ORDER BY c.claimed_at + c.claim_ttl_seconds * interval '1 second', c.id`),
  ).map(toCard);
  const ready = await listCards(db, { readyOnly: true, limit: readyLimit });
  const pause = await readFleetPause(db);
  return { stats, claimed, ready, pause };
}
