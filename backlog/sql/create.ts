/**
 * The `create` verb. Raw SQL (drizzle's `sql` template): the card and its `create` event are
 * written in one statement (a data-modifying CTE), which drizzle's builder cannot express, and
 * the missing-dependency check walks a jsonb list.
 */
import { sql } from 'drizzle-orm';
import { rowsOf, type BacklogDb } from '../db.js';
import { assertNoCycle, lockGraph } from '../graph.js';
import { toCard } from '../rows.js';
import { BacklogError, type CreateCardInput, type CreateCardResult } from '../types.js';
import { actorOr, assertAcceptance, assertInt, assertName, assertText, requireText } from '../validate.js';
import { CARD_COLUMNS, firstRow, jsonbParam } from './fragments.js';

/** A create input, validated. */
interface NewCard {
  id: string;
  title: string;
  body: string | null;
  phase: string | null;
  acceptance: unknown;
  priority: number;
  key: string | null;
  deps: string[];
  projected: number | null;
  actor: string;
}

/** `dependsOn` validated: a list of ids, duplicates dropped. */
function dependencyIds(dependsOn: unknown): string[] {
  if (dependsOn === undefined) return [];
  if (!Array.isArray(dependsOn)) throw new BacklogError('invalid', 'dependsOn must be a list of card ids');
  return [...new Set(dependsOn.map((d) => assertName(d, 'dependency id')))];
}

/** Validates a create input; refuses a self-dependency ('cycle'). */
function newCard(input: CreateCardInput): NewCard {
  const id = assertName(input.id, 'card id');
  const card: NewCard = {
    id,
    title: requireText(input.title, 'title', { max: 500 }),
    body: assertText(input.body, 'body', { multiline: true }),
    phase: assertText(input.phase, 'phase', { max: 100 }),
    acceptance: assertAcceptance(input.acceptance),
    priority: input.priority === undefined ? 0 : assertInt(input.priority, 'priority', -1_000_000, 1_000_000),
    key: assertText(input.idempotencyKey, 'idempotency key', { max: 200 }),
    deps: dependencyIds(input.dependsOn),
    projected: input.projectedTokens == null ? null : assertInt(input.projectedTokens, 'projected tokens', 0, Number.MAX_SAFE_INTEGER),
    actor: actorOr(input.actor, 'cli'),
  };
  if (card.deps.includes(id)) throw new BacklogError('cycle', `card ${id} cannot depend on itself (${id} → ${id})`);
  return card;
}

/** The ids of `deps` that name no card, sorted. */
async function missingCards(tx: BacklogDb, deps: string[]): Promise<string[]> {
  if (!deps.length) return [];
  const rows = rowsOf<{ id: string }>(
    await tx.execute(sql`SELECT d.dep AS id FROM jsonb_array_elements_text(${jsonbParam(deps)}) AS d(dep)
              WHERE NOT EXISTS (SELECT 1 FROM backlog p WHERE p.id = d.dep) ORDER BY d.dep`),
  );
  return rows.map((r) => r.id);
}

/**
 * Creates a card. A repeated idempotency key returns the existing card (`created: false`);
 * an existing id without a matching key is a 'conflict'; dependencies that would close a
 * cycle are refused ('cycle'). Unknown dependency ids are allowed (they gate the claim) and
 * reported in `missingDependencies`. Runs in one transaction under the graph lock.
 */
export async function createCard(db: BacklogDb, input: CreateCardInput): Promise<CreateCardResult> {
  const c = newCard(input);
  return db.transaction(async (t) => {
    const tx = t as BacklogDb;
    await lockGraph(tx);
    const inserted = await firstRow(
      tx,
      sql`WITH c AS (
            INSERT INTO backlog (id, title, body, phase, priority, depends_on, acceptance, idempotency_key, projected_tokens)
            VALUES (${c.id}, ${c.title}, ${c.body}, ${c.phase}, ${c.priority}, ${jsonbParam(c.deps)}, ${c.acceptance === null ? null : jsonbParam(c.acceptance)}, ${c.key}, ${c.projected})
            ON CONFLICT DO NOTHING
            RETURNING *
          ), ev AS (
            INSERT INTO backlog_events (actor, verb, card_id, detail)
            SELECT ${c.actor}::text, 'create', c.id, jsonb_build_object('title', c.title, 'priority', c.priority, 'dependsOn', c.depends_on) FROM c
          )
          SELECT ${CARD_COLUMNS} FROM c`,
    );
    if (inserted) {
      await assertNoCycle(tx, c.id, c.deps);
      return { card: toCard(inserted), created: true, missingDependencies: await missingCards(tx, c.deps) };
    }
    if (c.key) {
      const existing = await firstRow(tx, sql`SELECT ${CARD_COLUMNS} FROM backlog c WHERE c.idempotency_key = ${c.key}`);
      if (existing) return { card: toCard(existing), created: false };
    }
    throw new BacklogError('conflict', `card ${c.id} already exists${c.key ? ' (with another idempotency key)' : ''}`);
  });
}
