/**
 * BacklogService — the ONE implementation of the backlog semantics (docs/backlog.md) for both tiers.
 * It takes a drizzle database (PGlite in the embedded server, postgres-js on the server tier)
 * and speaks SQL through drizzle's `sql` operator. Every change writes its event row in the
 * same statement (data-modifying CTE) or the same transaction.
 *
 * Upstream: BacklogService in seed 001 (atomic claim with FOR UPDATE SKIP LOCKED, TTL, reclaim,
 * deps gate, idempotent create). Beyond upstream: claim tokens (fencing), renew, cycle checks
 * naming the cycle, events, PAUSED refusal (upstream NS-8), NORTH_STAR import.
 */
import { sql, type SQL } from 'drizzle-orm';
import { describePause, readPausedFlag } from '../fleet/paused.js';
import type { PausedFlag } from '../fleet/types.js';
import { hasControlCharacters } from '../lib/sanitize.js';
import { executePrepared, rowsOf, type BacklogDb } from './db.js';
import { backlogEvents, backlogFleetPause } from './schema.js';
import {
  assertJsonDepth,
  BacklogError,
  CARD_STATUSES,
  type BacklogEvent,
  type BacklogOverview,
  type BacklogStats,
  type Card,
  type CardStatus,
  type ClaimInput,
  type ClaimResult,
  type CompleteInput,
  type CreateCardInput,
  type CreateCardResult,
  type FleetPauseInput,
  type ImportResult,
  type ListCardsInput,
  type NorthStarGoal,
  type ReclaimResult,
  type RecordEventInput,
  type RenewInput,
} from './types.js';

/** Default claim TTL in seconds (upstream: 900 s). */
export const DEFAULT_TTL_SECONDS = 900;

/** Advisory lock key serializing dependency-graph changes (create/link/import) across processes. */
const GRAPH_LOCK_KEY = 0x6d6f736169636c;

/** Ids, owners and actors: a letter or digit, then letters, digits and `._:@/-` (≤ 200 chars). */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,199}$/;

/** Options of the service. */
export interface BacklogServiceOptions {
  /**
   * Reads the fleet's pause (`<run>/PAUSED`, and on a shared store the store's pause — wired by
   * {@link fleetBacklogService}); a non-null flag refuses `claim` with BacklogError('paused').
   * Absent ⇒ never paused.
   */
  readPaused?: () => PausedFlag | null | Promise<PausedFlag | null>;
  /** Describes a pause for the refusal message (fleet/paused.ts describePause). */
  describePause?: (flag: PausedFlag) => string;
}

type Row = Record<string, unknown>;

/**
 * Card columns as selected from alias `c`, timestamps as epoch ms and bigints as text. The claim
 * token counts only while it belongs to the card's latest claim (an upstream claim since then
 * bumped `attempts`: no token).
 */
const CARD_COLUMNS = sql.raw(`c.id, c.title, c.body, c.phase, c.priority, c.status::text AS status, c.depends_on,
  c.claim_owner, c.claim_ttl_seconds,
  CASE WHEN c.claim_token_attempts = c.attempts THEN c.claim_token::text END AS claim_token, c.attempts,
  c.idempotency_key, c.acceptance, c.projected_tokens::text AS projected_tokens,
  c.actual_tokens::text AS actual_tokens,
  (extract(epoch FROM c.claimed_at) * 1000)::float8 AS claimed_ms,
  (extract(epoch FROM c.created_at) * 1000)::float8 AS created_ms,
  (extract(epoch FROM c.updated_at) * 1000)::float8 AS updated_ms,
  CASE WHEN c.status = 'claimed' THEN
    extract(epoch FROM (c.claimed_at + c.claim_ttl_seconds * interval '1 second' - now()))::float8 END AS seconds_left`);

/**
 * SQL condition on alias `c`: every dependency exists and is done. `depends_on` is upstream's
 * jsonb list of ids; anything but a list (never written by either tool) counts as no dependency.
 */
const DEPS_DONE = sql.raw(`(c.depends_on = '[]'::jsonb OR jsonb_typeof(c.depends_on) <> 'array' OR NOT EXISTS (
  SELECT 1 FROM jsonb_array_elements_text(c.depends_on) AS d(dep)
  WHERE NOT EXISTS (SELECT 1 FROM backlog p WHERE p.id = d.dep AND p.status = 'done')))`);

/**
 * SQL condition on alias `c`: claimable — ready (mosaic-top's partial claim index) with every
 * dependency done. The condition is evaluated on the store itself, so cards written or completed
 * by upstream's CLI gate correctly too.
 */
const CLAIMABLE = sql.join([sql.raw(`c.status = 'ready' AND `), DEPS_DONE]);

/** SQL condition on alias `b`: the claim is live (not past claimed_at + TTL). */
const CLAIM_LIVE = sql.raw(`b.claimed_at + b.claim_ttl_seconds * interval '1 second' > now()`);

function num(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

function iso(ms: unknown): string | null {
  const n = num(ms);
  return n === null ? null : new Date(Math.round(n)).toISOString();
}

/** A jsonb value as the drivers return it: parsed already, or JSON text (raw SQL paths). */
function jsonValue(v: unknown): unknown {
  if (typeof v !== 'string') return v ?? null;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}

/** `depends_on` (jsonb list of ids) as string[]; anything else ⇒ []. */
function idList(v: unknown): string[] {
  const parsed = jsonValue(v);
  return Array.isArray(parsed) ? parsed.map(String) : [];
}

/** Maps a row selected with CARD_COLUMNS to a Card. */
function toCard(r: Row): Card {
  const claimedAt = iso(r.claimed_ms);
  const ttl = num(r.claim_ttl_seconds);
  const status = String(r.status) as CardStatus;
  const claimedMs = num(r.claimed_ms);
  return {
    id: String(r.id),
    title: String(r.title),
    body: (r.body as string | null) ?? null,
    phase: (r.phase as string | null) ?? null,
    priority: Number(r.priority),
    status,
    dependsOn: idList(r.depends_on),
    claimOwner: (r.claim_owner as string | null) ?? null,
    claimTtlSeconds: ttl,
    claimedAt,
    claimToken: num(r.claim_token),
    expiresAt: status === 'claimed' && claimedMs !== null && ttl !== null ? new Date(Math.round(claimedMs + ttl * 1000)).toISOString() : null,
    secondsLeft: status === 'claimed' ? num(r.seconds_left) : null,
    attempts: Number(r.attempts),
    idempotencyKey: (r.idempotency_key as string | null) ?? null,
    acceptance: r.acceptance === null || r.acceptance === undefined ? null : jsonValue(r.acceptance),
    projectedTokens: num(r.projected_tokens),
    actualTokens: num(r.actual_tokens),
    createdAt: iso(r.created_ms) ?? new Date(0).toISOString(),
    updatedAt: iso(r.updated_ms) ?? new Date(0).toISOString(),
  };
}

function toEvent(r: Row): BacklogEvent {
  let detail = r.detail;
  if (typeof detail === 'string') {
    try {
      detail = JSON.parse(detail);
    } catch {
      detail = { raw: detail };
    }
  }
  return {
    id: Number(r.id),
    at: iso(r.at_ms) ?? new Date(0).toISOString(),
    actor: String(r.actor),
    verb: String(r.verb),
    cardId: (r.card_id as string | null) ?? null,
    detail: (detail as Record<string, unknown>) ?? {},
  };
}

/** A jsonb parameter (drizzle would expand a JS array into a list). */
function jsonbParam(value: unknown): SQL {
  return sql`${JSON.stringify(value)}::jsonb`;
}

/** Validates acceptance criteria: any JSON value up to 10 000 characters of JSON; none ⇒ null. */
function assertAcceptance(value: unknown): unknown {
  if (value === undefined || value === null || value === '') return null;
  assertJsonDepth(value, 'acceptance');
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  if (text === undefined) throw new BacklogError('invalid', 'acceptance must be JSON (a list of strings, an object or a string)');
  if (text.length > 10_000) throw new BacklogError('invalid', 'acceptance is longer than 10000 characters');
  if (hasControlCharacters(text, false)) throw new BacklogError('invalid', 'acceptance contains control characters');
  return value;
}

/** Ids that occur more than once in `ids`, in first-occurrence order. Pure. */
export function duplicateIds(ids: readonly string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const id of ids) (seen.has(id) ? dup : seen).add(id);
  return [...dup];
}

/** Throws BacklogError('invalid') unless `value` is a usable id/owner/actor. */
export function assertName(value: unknown, what: string): string {
  if (typeof value !== 'string' || !NAME_PATTERN.test(value)) {
    throw new BacklogError(
      'invalid',
      `${what} must be 1–200 characters of letters, digits and ._:@/- (starting with a letter or digit), got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function assertText(value: unknown, what: string, opts: { required?: boolean; multiline?: boolean; max?: number } = {}): string | null {
  if (value === undefined || value === null || value === '') {
    if (opts.required) throw new BacklogError('invalid', `${what} is required`);
    return null;
  }
  if (typeof value !== 'string') throw new BacklogError('invalid', `${what} must be text`);
  const max = opts.max ?? 10_000;
  if (value.length > max) throw new BacklogError('invalid', `${what} is longer than ${max} characters`);
  if (hasControlCharacters(value, opts.multiline ?? false)) throw new BacklogError('invalid', `${what} contains control characters`);
  if (opts.required && !value.trim()) throw new BacklogError('invalid', `${what} is required`);
  return value;
}

function assertInt(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new BacklogError('invalid', `${what} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** TTL validation: positive whole seconds up to 30 days. */
function assertTtl(value: unknown): number {
  return assertInt(value, 'TTL (seconds)', 1, 30 * 24 * 3600);
}

/**
 * Finds a dependency path start →…→ target (following depends_on), or null. Reachability is
 * computed in SQL (UNION dedups, so linear in the reachable subgraph), the path in JS.
 */
async function dependencyPath(db: BacklogDb, start: string, target: string): Promise<string[] | null> {
  if (start === target) return [start];
  const rows = rowsOf<{ id: string; depends_on: unknown }>(
    await db.execute(sql`WITH RECURSIVE reach(id) AS (
        SELECT ${start}::text
        UNION
        SELECT d.dep FROM reach r JOIN backlog b ON b.id = r.id
          CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(b.depends_on) = 'array' THEN b.depends_on ELSE '[]'::jsonb END) AS d(dep)
      )
      SELECT b.id, b.depends_on FROM backlog b JOIN reach r ON b.id = r.id`),
  );
  const edges = new Map(rows.map((r) => [r.id, idList(r.depends_on)]));
  const previous = new Map<string, string>();
  const queue = [start];
  const seen = new Set(queue);
  while (queue.length) {
    const at = queue.shift() as string;
    for (const next of edges.get(at) ?? []) {
      if (seen.has(next)) continue;
      seen.add(next);
      previous.set(next, at);
      if (next === target) {
        const path = [target];
        let step = target;
        while (previous.has(step)) {
          step = previous.get(step) as string;
          path.unshift(step);
        }
        return path;
      }
      queue.push(next);
    }
  }
  return null;
}

/** Refuses a cycle that `id depends on deps` would close; the message names it "A → B → A". */
async function assertNoCycle(db: BacklogDb, id: string, deps: string[]): Promise<void> {
  for (const dep of deps) {
    if (dep === id) throw new BacklogError('cycle', `card ${id} cannot depend on itself (${id} → ${id})`);
    const path = await dependencyPath(db, dep, id);
    if (path) throw new BacklogError('cycle', `dependency cycle refused: ${[id, ...path].join(' → ')}`);
  }
}

/** The backlog semantics over one drizzle database. Every method throws BacklogError. */
export class BacklogService {
  constructor(
    private readonly db: BacklogDb,
    private readonly opts: BacklogServiceOptions = {},
  ) {}

  private async one(query: SQL): Promise<Row | undefined> {
    return rowsOf<Row>(await this.db.execute(query))[0];
  }

  private async find(id: string, db: BacklogDb = this.db): Promise<Card | null> {
    const row = rowsOf<Row>(await db.execute(sql`SELECT ${CARD_COLUMNS} FROM backlog c WHERE c.id = ${id}`))[0];
    return row ? toCard(row) : null;
  }

  /** The card `id`; throws BacklogError('not_found'). */
  async get(id: string): Promise<Card> {
    assertName(id, 'card id');
    const card = await this.find(id);
    if (!card) throw new BacklogError('not_found', `no card ${id}`);
    return card;
  }

  /**
   * Creates a card. A repeated idempotency key returns the existing card (`created: false`);
   * an existing id without a matching key is a 'conflict'; dependencies that would close a
   * cycle are refused ('cycle'). Unknown dependency ids are allowed (they gate the claim).
   */
  async create(input: CreateCardInput): Promise<CreateCardResult> {
    const id = assertName(input.id, 'card id');
    const title = assertText(input.title, 'title', { required: true, max: 500 }) as string;
    const body = assertText(input.body, 'body', { multiline: true });
    const phase = assertText(input.phase, 'phase', { max: 100 });
    const acceptance = assertAcceptance(input.acceptance);
    const priority = input.priority === undefined ? 0 : assertInt(input.priority, 'priority', -1_000_000, 1_000_000);
    const key = assertText(input.idempotencyKey, 'idempotency key', { max: 200 });
    if (input.dependsOn !== undefined && !Array.isArray(input.dependsOn)) throw new BacklogError('invalid', 'dependsOn must be a list of card ids');
    const deps = [...new Set((input.dependsOn ?? []).map((d) => assertName(d, 'dependency id')))];
    const projected = input.projectedTokens == null ? null : assertInt(input.projectedTokens, 'projected tokens', 0, Number.MAX_SAFE_INTEGER);
    const actor = input.actor ? assertName(input.actor, 'actor') : 'cli';
    if (deps.includes(id)) throw new BacklogError('cycle', `card ${id} cannot depend on itself (${id} → ${id})`);
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(${GRAPH_LOCK_KEY})`);
      const inserted = rowsOf<Row>(
        await tx.execute(sql`WITH c AS (
            INSERT INTO backlog (id, title, body, phase, priority, depends_on, acceptance, idempotency_key, projected_tokens)
            VALUES (${id}, ${title}, ${body}, ${phase}, ${priority}, ${jsonbParam(deps)}, ${acceptance === null ? null : jsonbParam(acceptance)}, ${key}, ${projected})
            ON CONFLICT DO NOTHING
            RETURNING *
          ), ev AS (
            INSERT INTO backlog_events (actor, verb, card_id, detail)
            SELECT ${actor}::text, 'create', c.id, jsonb_build_object('title', c.title, 'priority', c.priority, 'dependsOn', c.depends_on) FROM c
          )
          SELECT ${CARD_COLUMNS} FROM c`),
      )[0];
      if (inserted) {
        await assertNoCycle(tx as BacklogDb, id, deps);
        const missing = deps.length
          ? rowsOf<{ id: string }>(
              await tx.execute(sql`SELECT d.dep AS id FROM jsonb_array_elements_text(${jsonbParam(deps)}) AS d(dep)
              WHERE NOT EXISTS (SELECT 1 FROM backlog p WHERE p.id = d.dep) ORDER BY d.dep`),
            ).map((r) => r.id)
          : [];
        return { card: toCard(inserted), created: true, missingDependencies: missing };
      }
      if (key) {
        const existing = rowsOf<Row>(await tx.execute(sql`SELECT ${CARD_COLUMNS} FROM backlog c WHERE c.idempotency_key = ${key}`))[0];
        if (existing) return { card: toCard(existing), created: false };
      }
      throw new BacklogError('conflict', `card ${id} already exists${key ? ' (with another idempotency key)' : ''}`);
    });
  }

  /** Lists cards by priority (desc), then age; filters per upstream (`readyOnly` = deps done). */
  async list(input: ListCardsInput = {}): Promise<Card[]> {
    const where: SQL[] = [];
    if (input.status !== undefined) {
      if (!CARD_STATUSES.includes(input.status))
        throw new BacklogError('invalid', `status must be one of ${CARD_STATUSES.join('|')}, got ${JSON.stringify(input.status)}`);
      where.push(sql`c.status = ${input.status}::backlog_status`);
    }
    if (input.phase !== undefined) where.push(sql`c.phase = ${assertText(input.phase, 'phase', { max: 100 })}`);
    if (input.readyOnly) where.push(CLAIMABLE);
    const limit = input.limit === undefined ? null : assertInt(input.limit, 'limit', 1, 1_000_000);
    const rows = rowsOf<Row>(
      await this.db.execute(sql`SELECT ${CARD_COLUMNS} FROM backlog c
        ${where.length ? sql`WHERE ${sql.join(where, sql` AND `)}` : sql``}
        ORDER BY c.priority DESC, c.created_at, c.id
        ${limit === null ? sql`` : sql`LIMIT ${limit}`}`),
    );
    return rows.map(toCard);
  }

  /**
   * Claims atomically, in ONE statement: the highest-priority, oldest, dependency-satisfied ready
   * card (or `id`), locked with FOR UPDATE SKIP LOCKED LIMIT 1, so two claimers never win the
   * same card. Sets owner, TTL (default 900 s), a new claim token, attempts+1 and writes the
   * event. Nothing claimable ⇒ `{ card: null }`. Refused with 'paused' while the fleet is
   * PAUSED (upstream NS-8); a claim by `id` that cannot be taken is a 'conflict' (or not_found).
   */
  async claim(input: ClaimInput): Promise<ClaimResult> {
    const owner = assertName(input.owner, 'owner');
    const ttl = assertTtl(input.ttlSeconds ?? DEFAULT_TTL_SECONDS);
    const id = input.id === undefined ? null : assertName(input.id, 'card id');
    const paused = (await this.opts.readPaused?.()) ?? null;
    if (paused) {
      const why = this.opts.describePause ? this.opts.describePause(paused) : `fleet PAUSED since ${paused.at ?? '?'}`;
      throw new BacklogError('paused', `claim refused: ${why}`);
    }
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
    const row = rowsOf<Row>(await executePrepared(this.db, id === null ? 'backlog_claim_next' : 'backlog_claim_id', query))[0];
    if (row) return { card: toCard(row) };
    if (id === null) return { card: null };
    const card = await this.find(id);
    if (!card) throw new BacklogError('not_found', `no card ${id}`);
    if (card.status === 'claimed') {
      throw new BacklogError(
        'conflict',
        `card ${id} is already claimed by ${card.claimOwner} (token ${card.claimToken}, ${Math.round(card.secondsLeft ?? 0)} s left)`,
      );
    }
    if (card.status !== 'ready') throw new BacklogError('conflict', `card ${id} is ${card.status}, not ready`);
    const waiting = await this.unmetDependencies(card);
    if (waiting.length) throw new BacklogError('conflict', `card ${id} waits on ${waiting.join(', ')}`);
    throw new BacklogError('conflict', `card ${id} is being claimed by someone else right now`);
  }

  private async unmetDependencies(card: Card): Promise<string[]> {
    if (!card.dependsOn.length) return [];
    const rows = rowsOf<{ id: string; status: string }>(
      await this.db.execute(sql`SELECT id, status::text AS status FROM backlog WHERE id IN (SELECT jsonb_array_elements_text(${jsonbParam(card.dependsOn)}))`),
    );
    const status = new Map(rows.map((r) => [r.id, r.status]));
    return card.dependsOn.filter((d) => status.get(d) !== 'done').map((d) => `${d} (${status.get(d) ?? 'missing'})`);
  }

  /** Explains why `owner`'s claim on `id` is not live, as a BacklogError ('not_found' or 'fenced'). */
  private async fencedError(id: string, owner: string, token: number | undefined, verb: string): Promise<BacklogError> {
    const card = await this.find(id);
    if (!card) return new BacklogError('not_found', `no card ${id}`);
    const refused = `${verb} refused for ${owner} on ${id}`;
    if (card.status === 'done') return new BacklogError('fenced', `${refused}: the card is already done`);
    if (card.status !== 'claimed')
      return new BacklogError('fenced', `${refused}: the card is ${card.status} (the claim expired and was reclaimed, or was never held)`);
    if (card.claimOwner !== owner) return new BacklogError('fenced', `${refused}: the card is claimed by ${card.claimOwner} (token ${card.claimToken})`);
    if (token !== undefined && card.claimToken !== token)
      return new BacklogError('fenced', `${refused}: token ${token} is not the live claim's token (${card.claimToken})`);
    if ((card.secondsLeft ?? 0) <= 0) return new BacklogError('fenced', `${refused}: the claim expired ${Math.round(-(card.secondsLeft ?? 0))} s ago`);
    return new BacklogError('fenced', `${refused}: the claim changed concurrently`);
  }

  /**
   * Extends a live claim held by `owner` (and `token` when given): the lease restarts now for
   * `ttlSeconds` (default: the claim's TTL). An expired, reclaimed or replaced claim ⇒ 'fenced'.
   */
  async renew(input: RenewInput): Promise<Card> {
    const id = assertName(input.id, 'card id');
    const owner = assertName(input.owner, 'owner');
    const ttl = input.ttlSeconds === undefined ? null : assertTtl(input.ttlSeconds);
    const token = input.token === undefined ? undefined : assertInt(input.token, 'token', 1, Number.MAX_SAFE_INTEGER);
    const row = await this.one(sql`WITH r AS (
        UPDATE backlog b SET claimed_at = now(), claim_ttl_seconds = COALESCE(${ttl}::int, b.claim_ttl_seconds), updated_at = now()
        WHERE b.id = ${id} AND b.status = 'claimed' AND b.claim_owner = ${owner}
          ${token === undefined ? sql`` : sql`AND b.claim_token = ${token} AND b.claim_token_attempts = b.attempts`} AND ${CLAIM_LIVE}
        RETURNING b.*
      ), ev AS (
        INSERT INTO backlog_events (actor, verb, card_id, detail)
        SELECT ${owner}::text, 'renew', r.id, jsonb_build_object('token', r.claim_token, 'ttlSeconds', r.claim_ttl_seconds) FROM r
      )
      SELECT ${CARD_COLUMNS} FROM r c`);
    if (row) return toCard(row);
    throw await this.fencedError(id, owner, token, 'renew');
  }

  /**
   * Returns expired claims (claimed_at + TTL < now) to ready, or with `id` that card's claim
   * regardless of expiry (upstream `reclaim --id`). With `id` and `owner`, only while `owner`
   * still holds it (the console releases the claim the operator saw, never a newer one):
   * otherwise nothing is reclaimed (`reclaimed: []`). Unknown `id` ⇒ 'not_found'.
   */
  async reclaim(input: { id?: string; owner?: string; actor?: string } = {}): Promise<ReclaimResult> {
    const id = input.id === undefined ? null : assertName(input.id, 'card id');
    const owner = input.owner === undefined || id === null ? null : assertName(input.owner, 'owner');
    const actor = input.actor ? assertName(input.actor, 'actor') : 'reclaim';
    const rows = rowsOf<{ id: string }>(
      await this.db.execute(sql`WITH old AS (
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
    if (id !== null && rows.length === 0 && !(await this.find(id))) throw new BacklogError('not_found', `no card ${id}`);
    return { reclaimed: rows.map((r) => r.id) };
  }

  /**
   * Adds the edge `from` depends on `to`. Self-edges and cycles are refused with 'cycle', the
   * message naming the cycle (e.g. "A → B → C → A"). An existing edge is a no-op.
   */
  async link(input: { from: string; to: string; actor?: string }): Promise<Card> {
    const from = assertName(input.from, '--from card id');
    const to = assertName(input.to, '--to card id');
    const actor = input.actor ? assertName(input.actor, 'actor') : 'cli';
    if (from === to) throw new BacklogError('cycle', `card ${from} cannot depend on itself (${from} → ${from})`);
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(${GRAPH_LOCK_KEY})`);
      const db = tx as BacklogDb;
      const source = await this.find(from, db);
      if (!source) throw new BacklogError('not_found', `no card ${from}`);
      if (!(await this.find(to, db))) throw new BacklogError('not_found', `no card ${to}`);
      if (source.dependsOn.includes(to)) return source;
      await assertNoCycle(db, from, [to]);
      const row = rowsOf<Row>(
        await tx.execute(sql`WITH c AS (
            UPDATE backlog b SET depends_on = (CASE WHEN jsonb_typeof(b.depends_on) = 'array' THEN b.depends_on ELSE '[]'::jsonb END) || jsonb_build_array(${to}::text),
              updated_at = now()
            WHERE b.id = ${from} RETURNING b.*
          ), ev AS (
            INSERT INTO backlog_events (actor, verb, card_id, detail)
            SELECT ${actor}::text, 'link', c.id, jsonb_build_object('dependsOn', ${to}::text) FROM c
          )
          SELECT ${CARD_COLUMNS} FROM c`),
      )[0];
      return toCard(row as Row);
    });
  }

  /** Parks a ready or claimed card (its claim is released); already blocked is a no-op; done ⇒ 'conflict'. */
  async block(input: { id: string; reason?: string; actor?: string }): Promise<Card> {
    const id = assertName(input.id, 'card id');
    const reason = assertText(input.reason, 'reason', { max: 500 });
    const actor = input.actor ? assertName(input.actor, 'actor') : 'cli';
    const row = await this.one(sql`WITH c AS (
        UPDATE backlog b SET status = 'blocked', claim_owner = NULL, claim_ttl_seconds = NULL, claimed_at = NULL, updated_at = now()
        WHERE b.id = ${id} AND b.status IN ('ready', 'claimed') RETURNING b.*
      ), ev AS (
        INSERT INTO backlog_events (actor, verb, card_id, detail)
        SELECT ${actor}::text, 'block', c.id, jsonb_build_object('reason', ${reason}::text) FROM c
      )
      SELECT ${CARD_COLUMNS} FROM c`);
    if (row) return toCard(row);
    const card = await this.get(id);
    if (card.status === 'blocked') return card;
    throw new BacklogError('conflict', `card ${id} is ${card.status}; only ready or claimed cards can be blocked`);
  }

  /** Returns a blocked card to ready; a ready card is a no-op; claimed/done ⇒ 'conflict'. */
  async unblock(input: { id: string; actor?: string }): Promise<Card> {
    const id = assertName(input.id, 'card id');
    const actor = input.actor ? assertName(input.actor, 'actor') : 'cli';
    const row = await this.one(sql`WITH c AS (
        UPDATE backlog b SET status = 'ready', updated_at = now() WHERE b.id = ${id} AND b.status = 'blocked' RETURNING b.*
      ), ev AS (
        INSERT INTO backlog_events (actor, verb, card_id, detail) SELECT ${actor}::text, 'unblock', c.id, '{}'::jsonb FROM c
      )
      SELECT ${CARD_COLUMNS} FROM c`);
    if (row) return toCard(row);
    const card = await this.get(id);
    if (card.status === 'ready') return card;
    throw new BacklogError('conflict', `card ${id} is ${card.status}, not blocked`);
  }

  /**
   * Marks a card done and releases its claim. With `owner` (and optionally `token`) the claim
   * must be live and held by that owner: an expired, reclaimed or replaced claim ⇒ 'fenced'.
   * Without `owner` it is the operator's override (any status); done again is a no-op.
   */
  async complete(input: CompleteInput): Promise<Card> {
    const id = assertName(input.id, 'card id');
    const owner = input.owner === undefined ? null : assertName(input.owner, 'owner');
    const token = input.token === undefined ? undefined : assertInt(input.token, 'token', 1, Number.MAX_SAFE_INTEGER);
    const actual = input.actualTokens === undefined ? null : assertInt(input.actualTokens, 'actual tokens', 0, Number.MAX_SAFE_INTEGER);
    const actor = owner ?? (input.actor ? assertName(input.actor, 'actor') : 'cli');
    const fence =
      owner === null
        ? sql`b.status <> 'done'`
        : sql`b.status = 'claimed' AND b.claim_owner = ${owner} ${token === undefined ? sql`` : sql`AND b.claim_token = ${token} AND b.claim_token_attempts = b.attempts`} AND ${CLAIM_LIVE}`;
    const row = rowsOf<Row>(
      await this.db.execute(sql`WITH old AS (
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
      SELECT ${CARD_COLUMNS} FROM c`),
    )[0];
    if (row) return toCard(row);
    if (owner !== null) throw await this.fencedError(id, owner, token, 'complete');
    return this.get(id);
  }

  /** Counts per status, age of the oldest ready card (seconds), expired claims (upstream `stats`). */
  async stats(): Promise<BacklogStats> {
    const r = (await this.one(sql`SELECT
        count(*) FILTER (WHERE status = 'ready')::int AS ready,
        count(*) FILTER (WHERE status = 'claimed')::int AS claimed,
        count(*) FILTER (WHERE status = 'blocked')::int AS blocked,
        count(*) FILTER (WHERE status = 'done')::int AS done,
        extract(epoch FROM now() - min(created_at) FILTER (WHERE status = 'ready'))::float8 AS oldest_ready,
        count(*) FILTER (WHERE status = 'claimed' AND claimed_at + claim_ttl_seconds * interval '1 second' <= now())::int AS expired,
        count(*) FILTER (WHERE status = 'ready' AND NOT ${DEPS_DONE})::int AS waiting
      FROM backlog c`)) as Row;
    const counts = { ready: Number(r.ready), claimed: Number(r.claimed), blocked: Number(r.blocked), done: Number(r.done) };
    return {
      counts,
      total: counts.ready + counts.claimed + counts.blocked + counts.done,
      oldestReadyAgeSeconds: num(r.oldest_ready) === null ? null : Math.max(0, Math.floor(num(r.oldest_ready) as number)),
      expiredClaimCount: Number(r.expired),
      waitingOnDeps: Number(r.waiting),
    };
  }

  /** Recent events, newest first (`limit` default 50, max 10 000), optionally for one card. */
  async events(input: { limit?: number; cardId?: string } = {}): Promise<BacklogEvent[]> {
    const limit = input.limit === undefined ? 50 : assertInt(input.limit, 'limit', 1, 10_000);
    const cardId = input.cardId === undefined ? null : assertName(input.cardId, 'card id');
    const rows = rowsOf<Row>(
      await this.db.execute(sql`SELECT e.id::text AS id, (extract(epoch FROM e.at) * 1000)::float8 AS at_ms, e.actor, e.verb, e.card_id, e.detail
        FROM backlog_events e ${cardId === null ? sql`` : sql`WHERE e.card_id = ${cardId}`}
        ORDER BY e.id DESC LIMIT ${limit}`),
    );
    return rows.map(toEvent);
  }

  /** Appends an event (e.g. a dispatch receipt from the actions engine). */
  async recordEvent(input: RecordEventInput): Promise<BacklogEvent> {
    const actor = assertName(input.actor, 'actor');
    const verb = assertName(input.verb, 'verb');
    const cardId = input.cardId == null ? null : assertName(input.cardId, 'card id');
    const detail = input.detail ?? {};
    if (typeof detail !== 'object' || Array.isArray(detail)) throw new BacklogError('invalid', 'event detail must be an object');
    const row = (await this.one(sql`INSERT INTO backlog_events (actor, verb, card_id, detail)
      VALUES (${actor}, ${verb}, ${cardId}, ${JSON.stringify(detail)}::jsonb)
      RETURNING id::text AS id, (extract(epoch FROM at) * 1000)::float8 AS at_ms, actor, verb, card_id, detail`)) as Row;
    return toEvent(row);
  }

  /**
   * Imports NORTH_STAR goals as cards. A new id is created; an existing card whose title,
   * phase, priority or dependencies differ from the goal is updated (its status, claim, body
   * and history are left alone, an `import-update` event records the old values); an identical
   * one is `unchanged`. Duplicate goal ids are refused ('invalid', naming them). Runs in one
   * transaction under the graph lock; a cycle the goals would close is refused ('cycle').
   */
  async importGoals(input: { goals: NorthStarGoal[]; source?: string; actor?: string }): Promise<ImportResult> {
    const actor = input.actor ? assertName(input.actor, 'actor') : 'import';
    const source = assertText(input.source, 'source', { max: 1000 }) ?? 'NORTH_STAR.yaml';
    if (!Array.isArray(input.goals)) throw new BacklogError('invalid', 'goals must be a list');
    const goals = input.goals.map((g) => ({
      id: assertName(g.id, 'goal id'),
      title: assertText(g.title, `title of goal ${g.id}`, { required: true, max: 500 }) as string,
      phase: assertText(g.phase, `phase of goal ${g.id}`, { max: 100 }),
      priority: assertInt(g.priority, `priority of goal ${g.id}`, -1_000_000, 1_000_000),
      dependsOn: [...new Set((Array.isArray(g.dependsOn) ? g.dependsOn : []).map((d) => assertName(d, `dependency of goal ${g.id}`)))],
      body: assertText(g.body, `body of goal ${g.id}`, { multiline: true }),
    }));
    const duplicates = duplicateIds(goals.map((g) => g.id));
    if (duplicates.length) throw new BacklogError('invalid', `${source}: duplicate goal id${duplicates.length > 1 ? 's' : ''} ${duplicates.join(', ')}`);
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(${GRAPH_LOCK_KEY})`);
      const created: string[] = [];
      const updated: string[] = [];
      const unchanged: string[] = [];
      for (const g of goals) {
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
        if (row?.outcome === 'created') created.push(g.id);
        else if (row?.outcome === 'updated') updated.push(g.id);
        else unchanged.push(g.id);
      }
      for (const g of goals) if (!unchanged.includes(g.id)) await assertNoCycle(tx as BacklogDb, g.id, g.dependsOn);
      return { created, updated, unchanged };
    });
  }

  /** Stats, every claimed card (soonest expiry first) and the top ready cards, for the console. */
  async overview(input: { readyLimit?: number } = {}): Promise<BacklogOverview> {
    const readyLimit = input.readyLimit === undefined ? 10 : assertInt(input.readyLimit, 'ready limit', 1, 1000);
    const stats = await this.stats();
    const claimed = rowsOf<Row>(
      await this.db.execute(sql`SELECT ${CARD_COLUMNS} FROM backlog c WHERE c.status = 'claimed'
        ORDER BY c.claimed_at + c.claim_ttl_seconds * interval '1 second', c.id`),
    ).map(toCard);
    const ready = await this.list({ readyOnly: true, limit: readyLimit });
    const pause = await this.fleetPause();
    return { stats, claimed, ready, pause };
  }

  /**
   * The fleet-wide pause recorded in the store (server tier: every host's claims and dispatches
   * honour it), or null. Times ISO-8601.
   */
  async fleetPause(): Promise<PausedFlag | null> {
    const rows = await this.db
      .select({ at: backlogFleetPause.at, by: backlogFleetPause.pausedBy, reason: backlogFleetPause.reason })
      .from(backlogFleetPause)
      .limit(1);
    const r = rows[0];
    if (!r) return null;
    const at = r.at instanceof Date ? r.at.toISOString() : r.at ? new Date(String(r.at)).toISOString() : null;
    return { at, by: r.by ?? null, reason: r.reason ?? null };
  }

  /**
   * Records the fleet-wide pause (at = now, by, reason) in the store. An existing pause is kept
   * and returned with `created: false` unless `force` (then replaced). Writes a `pause` event.
   */
  async pauseFleet(input: FleetPauseInput): Promise<{ pause: PausedFlag; created: boolean }> {
    const by = assertText(input.by, 'paused by', { required: true, max: 200 }) as string;
    const reason = assertText(input.reason, 'reason', { max: 500 });
    return this.db.transaction(async (tx) => {
      const values = { singleton: true, at: new Date(), pausedBy: by, reason };
      const inserted = input.force
        ? await tx
            .insert(backlogFleetPause)
            .values(values)
            .onConflictDoUpdate({ target: backlogFleetPause.singleton, set: { at: values.at, pausedBy: by, reason } })
            .returning()
        : await tx.insert(backlogFleetPause).values(values).onConflictDoNothing().returning();
      if (!inserted.length) {
        const current = await new BacklogService(tx as BacklogDb).fleetPause();
        return { pause: current ?? { at: null, by: null, reason: null }, created: false };
      }
      await tx
        .insert(backlogEvents)
        .values({ actor: assertName(by.replace(/[^A-Za-z0-9._:@/-]/g, '_'), 'actor'), verb: 'pause', cardId: null, detail: { reason } });
      return { pause: { at: values.at.toISOString(), by, reason }, created: true };
    });
  }

  /** Removes the store's fleet pause; returns the pause removed, or null. Writes a `resume` event. */
  async resumeFleet(input: { actor?: string } = {}): Promise<PausedFlag | null> {
    const actor = input.actor ? assertName(input.actor, 'actor') : 'cli';
    return this.db.transaction(async (tx) => {
      const removed = await tx.delete(backlogFleetPause).returning();
      const r = removed[0];
      if (!r) return null;
      await tx.insert(backlogEvents).values({ actor, verb: 'resume', cardId: null, detail: { pausedBy: r.pausedBy, reason: r.reason } });
      return { at: r.at instanceof Date ? r.at.toISOString() : String(r.at), by: r.pausedBy ?? null, reason: r.reason ?? null };
    });
  }
}

/**
 * The service as every tier opens it, wired to the fleet's pause, read before every claim
 * (upstream NS-8): `<run>/PAUSED` on this host, then the pause recorded in the store itself
 * (`backlog_fleet_pause`: on the server tier one pause stops claims from every host). The ONE
 * place that wiring lives; the embedded server and the server tier both call it.
 */
export function fleetBacklogService(db: BacklogDb, runDir: string): BacklogService {
  const service: BacklogService = new BacklogService(db, {
    readPaused: async () => {
      const file = readPausedFlag(runDir);
      if (file) return file;
      const stored = await service.fleetPause();
      return stored ? { ...stored, source: 'store' as const } : null;
    },
    describePause,
  });
  return service;
}
