/**
 * The `list` verb. Raw SQL (drizzle's `sql` template): the readiness filter walks upstream's
 * jsonb `depends_on` (fragments.ts CLAIMABLE), which drizzle's builder cannot express.
 */
import { sql, type SQL } from 'drizzle-orm';
import { rowsOf, type BacklogDb } from '../db.js';
import { toCard, type Row } from '../rows.js';
import { BacklogError, CARD_STATUSES, type Card, type ListCardsInput } from '../types.js';
import { assertInt, assertText } from '../validate.js';
import { CARD_COLUMNS, CLAIMABLE } from './fragments.js';

/** The WHERE conditions of a list input, validated. */
function listFilters(input: ListCardsInput): SQL[] {
  const where: SQL[] = [];
  if (input.status !== undefined) {
    if (!CARD_STATUSES.includes(input.status))
      throw new BacklogError('invalid', `status must be one of ${CARD_STATUSES.join('|')}, got ${JSON.stringify(input.status)}`);
    where.push(sql`c.status = ${input.status}::backlog_status`);
  }
  if (input.phase !== undefined) where.push(sql`c.phase = ${assertText(input.phase, 'phase', { max: 100 })}`);
  if (input.readyOnly) where.push(CLAIMABLE);
  return where;
}

/** Lists cards by priority (desc), then age, then id; filters per upstream (`readyOnly` = ready with every dependency done). */
export async function listCards(db: BacklogDb, input: ListCardsInput = {}): Promise<Card[]> {
  const where = listFilters(input);
  const limit = input.limit === undefined ? null : assertInt(input.limit, 'limit', 1, 1_000_000);
  const rows = rowsOf<Row>(
    await db.execute(sql`SELECT ${CARD_COLUMNS} FROM backlog c
        ${where.length ? sql`WHERE ${sql.join(where, sql` AND `)}` : sql``}
        ORDER BY c.priority DESC, c.created_at, c.id
        ${limit === null ? sql`` : sql`LIMIT ${limit}`}`),
  );
  return rows.map(toCard);
}
