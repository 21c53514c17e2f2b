/**
 * The `importGoals` verb (NORTH_STAR goals as cards). Raw SQL (drizzle's `sql` template): the
 * insert-or-update of one goal and its `import` / `import-update` event are one statement (a
 * data-modifying CTE comparing the old row), which drizzle's builder cannot express.
 */
import { sql } from 'drizzle-orm';
import { rowsOf, type BacklogDb } from '../db.js';
import { assertNoCycle, lockGraph } from '../graph.js';
import { BacklogError, type ImportResult, type NorthStarGoal } from '../types.js';
import { actorOr, assertInt, assertName, assertText, duplicateIds, requireText } from '../validate.js';
import { jsonbParam } from './fragments.js';

/** Validates the goals; duplicate ids are refused ('invalid', naming them and `source`). */
function validGoals(goals: unknown, source: string): NorthStarGoal[] {
  if (!Array.isArray(goals)) throw new BacklogError('invalid', 'goals must be a list');
  const valid = (goals as NorthStarGoal[]).map((g) => ({
    id: assertName(g.id, 'goal id'),
    title: requireText(g.title, `title of goal ${g.id}`, { max: 500 }),
    phase: assertText(g.phase, `phase of goal ${g.id}`, { max: 100 }),
    priority: assertInt(g.priority, `priority of goal ${g.id}`, -1_000_000, 1_000_000),
    dependsOn: [...new Set((Array.isArray(g.dependsOn) ? g.dependsOn : []).map((d) => assertName(d, `dependency of goal ${g.id}`)))],
    body: assertText(g.body, `body of goal ${g.id}`, { multiline: true }),
  }));
  const duplicates = duplicateIds(valid.map((g) => g.id));
  if (duplicates.length) throw new BacklogError('invalid', `${source}: duplicate goal id${duplicates.length > 1 ? 's' : ''} ${duplicates.join(', ')}`);
  return valid;
}

/** Writes one goal: created, updated (title, phase, priority or dependencies differ) or unchanged. */
async function importGoal(tx: BacklogDb, g: NorthStarGoal, actor: string, source: string): Promise<'created' | 'updated' | 'unchanged'> {
  const row = rowsOf<{ id: string; outcome: string }>(
    await tx.execute(sql`WITH old AS (
              SELECT b.id, b.title, b.phase, b.priority, b.depends_on FROM backlog b WHERE b.id = ${g.id} FOR UPDATE
            ), ins AS (
              INSERT INTO backlog (id, title, body, phase, priority, depends_on)
              SELECT ${g.id}, ${g.title}, ${g.body}, ${g.phase}, ${g.priority}, ${jsonbParam(g.dependsOn)}
              WHERE NOT EXISTS (SELECT 1 FROM old)
              ON CONFLICT (id) DO NOTHING RETURNING id
            ), upd AS (
              UPDATE backlog b SET title = ${g.title}, phase = ${g.phase}, priority = ${g.priority}, depends_on = ${jsonbParam(g.dependsOn)}, updated_at = now()
              FROM old WHERE b.id = old.id
                AND (old.title, old.phase, old.priority, old.depends_on) IS DISTINCT FROM (${g.title}::text, ${g.phase}::text, ${g.priority}::int, ${jsonbParam(g.dependsOn)})
              RETURNING b.id, old.title AS old_title, old.phase AS old_phase, old.priority AS old_priority, old.depends_on AS old_depends_on
            ), ev AS (
              INSERT INTO backlog_events (actor, verb, card_id, detail)
              SELECT ${actor}::text, 'import', ins.id, jsonb_build_object('source', ${source}::text, 'priority', ${g.priority}::int) FROM ins
              UNION ALL
              SELECT ${actor}::text, 'import-update', upd.id, jsonb_build_object('source', ${source}::text,
                'was', jsonb_build_object('title', upd.old_title, 'phase', upd.old_phase, 'priority', upd.old_priority, 'dependsOn', upd.old_depends_on)) FROM upd
            )
            SELECT id, 'created' AS outcome FROM ins UNION ALL SELECT id, 'updated' FROM upd`),
  )[0];
  if (row?.outcome === 'created') return 'created';
  if (row?.outcome === 'updated') return 'updated';
  return 'unchanged';
}

/**
 * Imports NORTH_STAR goals as cards. A new id is created; an existing card whose title,
 * phase, priority or dependencies differ from the goal is updated (its status, claim, body
 * and history are left alone, an `import-update` event records the old values); an identical
 * one is `unchanged`. Duplicate goal ids are refused ('invalid', naming them). Runs in one
 * transaction under the graph lock; a cycle the goals would close is refused ('cycle').
 */
export async function importGoals(db: BacklogDb, input: { goals: NorthStarGoal[]; source?: string; actor?: string }): Promise<ImportResult> {
  const actor = actorOr(input.actor, 'import');
  const source = assertText(input.source, 'source', { max: 1000 }) ?? 'NORTH_STAR.yaml';
  const goals = validGoals(input.goals, source);
  return db.transaction(async (t) => {
    const tx = t as BacklogDb;
    await lockGraph(tx);
    const result: ImportResult = { created: [], updated: [], unchanged: [] };
    for (const g of goals) result[await importGoal(tx, g, actor, source)].push(g.id);
    for (const g of goals) if (!result.unchanged.includes(g.id)) await assertNoCycle(tx, g.id, g.dependsOn);
    return result;
  });
}
