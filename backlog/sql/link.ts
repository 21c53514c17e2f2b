/**
 * The `link` verb. Raw SQL (drizzle's `sql` template): the jsonb append to `depends_on` and
 * its `link` event are one statement (a data-modifying CTE), which drizzle's builder cannot
 * express.
 */
import { sql } from 'drizzle-orm';
import type { BacklogDb } from '../db.js';
import { assertNoCycle, lockGraph } from '../graph.js';
import { toCard } from '../rows.js';
import { BacklogError, type Card } from '../types.js';
import { actorOr, assertName } from '../validate.js';
import { CARD_COLUMNS, findCard, firstRow } from './fragments.js';

/**
 * Adds the edge `from` depends on `to`. Self-edges and cycles are refused with 'cycle', the
 * message naming the cycle (e.g. "A → B → C → A"). An existing edge is a no-op. Unknown ids
 * ⇒ 'not_found'. Runs in one transaction under the graph lock.
 */
export async function linkCards(db: BacklogDb, input: { from: string; to: string; actor?: string }): Promise<Card> {
  const from = assertName(input.from, '--from card id');
  const to = assertName(input.to, '--to card id');
  const actor = actorOr(input.actor, 'cli');
  if (from === to) throw new BacklogError('cycle', `card ${from} cannot depend on itself (${from} → ${from})`);
  return db.transaction(async (t) => {
    const tx = t as BacklogDb;
    await lockGraph(tx);
    const source = await findCard(tx, from);
    if (!source) throw new BacklogError('not_found', `no card ${from}`);
    if (!(await findCard(tx, to))) throw new BacklogError('not_found', `no card ${to}`);
    if (source.dependsOn.includes(to)) return source;
    await assertNoCycle(tx, from, [to]);
    const row = await firstRow(
      tx,
      sql`WITH c AS (
            UPDATE backlog b SET depends_on = (CASE WHEN jsonb_typeof(b.depends_on) = 'array' THEN b.depends_on ELSE '[]'::jsonb END) || jsonb_build_array(${to}::text),
              updated_at = now()
            WHERE b.id = ${from} RETURNING b.*
          ), ev AS (
            INSERT INTO backlog_events (actor, verb, card_id, detail)
            SELECT ${actor}::text, 'link', c.id, jsonb_build_object('dependsOn', ${to}::text) FROM c
          )
          SELECT ${CARD_COLUMNS} FROM c`,
    );
    // The card was found under the graph lock a moment ago: a missing row means it was deleted meanwhile.
    if (!row) throw new BacklogError('not_found', `no card ${from}`);
    return toCard(row);
  });
}
