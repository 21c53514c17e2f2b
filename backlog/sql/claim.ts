/**
 * The `claim` verb. Raw SQL (drizzle's `sql` template): the pick (`FOR UPDATE … SKIP LOCKED`),
 * the update with a token from `nextval` and the `claim` event are ONE statement (a
 * data-modifying CTE), which drizzle's builder cannot express; it runs as a prepared statement
 * (the hot path).
 */
import { inArray, sql } from 'drizzle-orm';
import type { PausedFlag } from '../../fleet/types.js';
import { executePrepared, rowsOf, type BacklogDb } from '../db.js';
import { toCard, type Row } from '../rows.js';
import { backlogCards } from '../schema.js';
import { BacklogError, type Card, type ClaimInput, type ClaimResult } from '../types.js';
import { assertName, assertTtl } from '../validate.js';
import { CARD_COLUMNS, CLAIMABLE, findCard } from './fragments.js';

/** Default claim TTL in seconds (upstream: 900 s). */
export const DEFAULT_TTL_SECONDS = 900;

/** How a claim learns whether the fleet is paused (wired by backlog/service.ts fleetBacklogService). */
export interface ClaimPauseGate {
  /**
   * Reads the fleet's pause (`<run>/PAUSED`, and on a shared store the store's pause); a
   * non-null flag refuses `claim` with BacklogError('paused'). Absent ⇒ never paused.
   */
  readPaused?: () => PausedFlag | null | Promise<PausedFlag | null>;
  /** Describes a pause for the refusal message (fleet/paused.ts describePause). */
  describePause?: (flag: PausedFlag) => string;
}

/** Throws BacklogError('paused') while the gate reads a pause. */
async function refuseWhilePaused(gate: ClaimPauseGate): Promise<void> {
  const paused = (await gate.readPaused?.()) ?? null;
  if (!paused) return;
  const why = gate.describePause ? gate.describePause(paused) : `fleet PAUSED since ${paused.at ?? '?'}`;
  throw new BacklogError('paused', `claim refused: ${why}`);
}

/** The dependencies of `card` that are not done, as `id (status)` (`missing` for an unknown id). */
async function unmetDependencies(db: BacklogDb, card: Card): Promise<string[]> {
  if (!card.dependsOn.length) return [];
  const rows = await db.select({ id: backlogCards.id, status: backlogCards.status }).from(backlogCards).where(inArray(backlogCards.id, card.dependsOn));
  const status = new Map<string, string>(rows.map((r) => [r.id, r.status]));
  return card.dependsOn.filter((d) => status.get(d) !== 'done').map((d) => `${d} (${status.get(d) ?? 'missing'})`);
}

/** Why the claim of card `id` took nothing: BacklogError 'not_found' or 'conflict' naming the cause. */
async function claimRefusal(db: BacklogDb, id: string): Promise<BacklogError> {
  const card = await findCard(db, id);
  if (!card) return new BacklogError('not_found', `no card ${id}`);
  if (card.status === 'claimed') {
    return new BacklogError(
      'conflict',
      `card ${id} is already claimed by ${card.claimOwner} (token ${card.claimToken}, ${Math.round(card.secondsLeft ?? 0)} s left)`,
    );
  }
  if (card.status !== 'ready') return new BacklogError('conflict', `card ${id} is ${card.status}, not ready`);
  const waiting = await unmetDependencies(db, card);
  if (waiting.length) return new BacklogError('conflict', `card ${id} waits on ${waiting.join(', ')}`);
  return new BacklogError('conflict', `card ${id} is being claimed by someone else right now`);
}

/**
 * Claims atomically, in ONE statement: the highest-priority, oldest, dependency-satisfied ready
 * card (or `id`), locked with FOR UPDATE SKIP LOCKED LIMIT 1, so two claimers never win the
 * same card. Sets owner, TTL (default 900 s), a new claim token, attempts+1 and writes the
 * event. Nothing claimable ⇒ `{ card: null }`. Refused with 'paused' while the fleet is
 * PAUSED (upstream NS-8); a claim by `id` that cannot be taken is a 'conflict' (or not_found).
 */
export async function claimCard(db: BacklogDb, input: ClaimInput, gate: ClaimPauseGate): Promise<ClaimResult> {
  const owner = assertName(input.owner, 'owner');
  const ttl = assertTtl(input.ttlSeconds ?? DEFAULT_TTL_SECONDS);
  const id = input.id === undefined ? null : assertName(input.id, 'card id');
  await refuseWhilePaused(gate);
  const query = sql`WITH picked AS (
        SELECT c.id FROM backlog c
        WHERE ${CLAIMABLE} ${id === null ? sql`` : sql`AND c.id = ${id}`}
        ORDER BY c.priority DESC, c.created_at, c.id
        LIMIT 1
        FOR UPDATE OF c SKIP LOCKED
      ), claimed AS (
        UPDATE backlog b SET status = 'claimed', claim_owner = ${owner}, claim_ttl_seconds = ${ttl},
          claimed_at = now(), claim_token = nextval('backlog_claim_token_seq'), claim_token_attempts = b.attempts + 1,
          attempts = b.attempts + 1, updated_at = now()
        FROM picked WHERE b.id = picked.id
        RETURNING b.*
      ), ev AS (
        INSERT INTO backlog_events (actor, verb, card_id, detail)
        SELECT ${owner}::text, 'claim', claimed.id,
          jsonb_build_object('owner', ${owner}::text, 'token', claimed.claim_token, 'ttlSeconds', ${ttl}::int, 'attempts', claimed.attempts)
        FROM claimed
      )
      SELECT ${CARD_COLUMNS} FROM claimed c`;
  const row = rowsOf<Row>(await executePrepared(db, id === null ? 'backlog_claim_next' : 'backlog_claim_id', query))[0];
  if (row) return { card: toCard(row) };
  if (id === null) return { card: null };
  throw await claimRefusal(db, id);
}
