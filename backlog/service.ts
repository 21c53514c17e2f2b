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
import {
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
   * Reads the fleet's PAUSED flag (fleet/paused.ts readPausedFlag on the run dir); a non-null
   * flag refuses `claim` with BacklogError('paused'). Absent ⇒ never paused.
   */
  readPaused?: () => PausedFlag | null;
  /** Describes a pause for the refusal message (fleet/paused.ts describePause). */
  describePause?: (flag: PausedFlag) => string;
}

type Row = Record<string, unknown>;

/** Card columns as selected from alias `c`, timestamps as epoch ms and bigints as text. */
const CARD_COLUMNS = sql.raw(`c.id, c.title, c.body, c.phase, c.priority, c.status, c.depends_on,
  c.claim_owner, c.claim_ttl_seconds, c.claim_token::text AS claim_token, c.attempts,
  c.idempotency_key, c.acceptance, c.projected_tokens::text AS projected_tokens,
  c.actual_tokens::text AS actual_tokens,
  (extract(epoch FROM c.claimed_at) * 1000)::float8 AS claimed_ms,
  (extract(epoch FROM c.created_at) * 1000)::float8 AS created_ms,
  (extract(epoch FROM c.updated_at) * 1000)::float8 AS updated_ms,
  CASE WHEN c.status = 'claimed' THEN
    extract(epoch FROM (c.claimed_at + c.claim_ttl_seconds * interval '1 second' - now()))::float8 END AS seconds_left`);

/** SQL condition on alias `c`: every dependency exists and is done. */
const DEPS_DONE = sql.raw(`(c.depends_on = '{}'::text[] OR NOT EXISTS (SELECT 1 FROM unnest(c.depends_on) AS d(dep)
  WHERE NOT EXISTS (SELECT 1 FROM backlog p WHERE p.id = d.dep AND p.status = 'done')))`);

/**
 * SQL condition on alias `c`: claimable — ready, the denormalized count of unmet dependencies
 * is zero (so the partial claim index applies), and, as a safety net, every dependency done.
 */
const CLAIMABLE = sql.join([sql.raw(`c.status = 'ready' AND c.deps_pending = 0 AND `), DEPS_DONE]);

/** SQL: how many of `deps` (a text[] expression) are not done — the initial deps_pending. */
function unmetCount(deps: SQL): SQL {
  return sql`(SELECT count(*)::int FROM unnest(${deps}) AS d(dep)
    WHERE NOT EXISTS (SELECT 1 FROM backlog p WHERE p.id = d.dep AND p.status = 'done'))`;
}

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

function textArray(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === 'string') {
    // '{a,b}' when a driver did not parse the array
    const inner = v.replace(/^\{|\}$/g, '');
    return inner ? inner.split(',').map((s) => s.replace(/^"|"$/g, '')) : [];
  }
  return [];
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
    dependsOn: textArray(r.depends_on),
    claimOwner: (r.claim_owner as string | null) ?? null,
    claimTtlSeconds: ttl,
    claimedAt,
    claimToken: num(r.claim_token),
    expiresAt: status === 'claimed' && claimedMs !== null && ttl !== null ? new Date(Math.round(claimedMs + ttl * 1000)).toISOString() : null,
    secondsLeft: status === 'claimed' ? num(r.seconds_left) : null,
    attempts: Number(r.attempts),
    idempotencyKey: (r.idempotency_key as string | null) ?? null,
    acceptance: (r.acceptance as string | null) ?? null,
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

/** A `text[]` parameter (drizzle expands JS arrays into lists, so go through jsonb). */
function textArrayParam(values: string[]): SQL {
  return sql`ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(values)}::jsonb))::text[]`;
}

/** Throws BacklogError('invalid') unless `value` is a usable id/owner/actor. */
export function assertName(value: unknown, what: string): string {
  if (typeof value !== 'string' || !NAME_PATTERN.test(value)) {
    throw new BacklogError('invalid', `${what} must be 1–200 characters of letters, digits and ._:@/- (starting with a letter or digit), got ${JSON.stringify(value)}`);
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
        SELECT d.dep FROM reach r JOIN backlog b ON b.id = r.id CROSS JOIN LATERAL unnest(b.depends_on) AS d(dep)
      )
      SELECT b.id, b.depends_on FROM backlog b JOIN reach r ON b.id = r.id`),
  );
  const edges = new Map(rows.map((r) => [r.id, textArray(r.depends_on)]));
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
    const acceptance = assertText(input.acceptance, 'acceptance', { multiline: true });
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
            INSERT INTO backlog (id, title, body, phase, priority, depends_on, deps_pending, acceptance, idempotency_key, projected_tokens)
            VALUES (${id}, ${title}, ${body}, ${phase}, ${priority}, ${textArrayParam(deps)}, ${unmetCount(textArrayParam(deps))}, ${acceptance}, ${key}, ${projected})
            ON CONFLICT DO NOTHING
            RETURNING *
          ), ev AS (
            INSERT INTO backlog_events (actor, verb, card_id, detail)
            SELECT ${actor}::text, 'create', c.id, jsonb_build_object('title', c.title, 'priority', c.priority, 'dependsOn', to_jsonb(c.depends_on)) FROM c
          )
          SELECT ${CARD_COLUMNS} FROM c`),
      )[0];
      if (inserted) {
        await assertNoCycle(tx as BacklogDb, id, deps);
        const missing = deps.length
          ? rowsOf<{ id: string }>(await tx.execute(sql`SELECT d.dep AS id FROM unnest(${textArrayParam(deps)}) AS d(dep)
              WHERE NOT EXISTS (SELECT 1 FROM backlog p WHERE p.id = d.dep) ORDER BY d.dep`)).map((r) => r.id)
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
      if (!CARD_STATUSES.includes(input.status)) throw new BacklogError('invalid', `status must be one of ${CARD_STATUSES.join('|')}, got ${JSON.stringify(input.status)}`);
      where.push(sql`c.status = ${input.status}`);
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
    const paused = this.opts.readPaused?.() ?? null;
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
          claimed_at = now(), claim_token = nextval('backlog_claim_token_seq'), attempts = b.attempts + 1, updated_at = now()
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
      throw new BacklogError('conflict', `card ${id} is already claimed by ${card.claimOwner} (token ${card.claimToken}, ${Math.round(card.secondsLeft ?? 0)} s left)`);
    }
    if (card.status !== 'ready') throw new BacklogError('conflict', `card ${id} is ${card.status}, not ready`);
    const waiting = await this.unmetDependencies(card);
    if (waiting.length) throw new BacklogError('conflict', `card ${id} waits on ${waiting.join(', ')}`);
    throw new BacklogError('conflict', `card ${id} is being claimed by someone else right now`);
  }

  private async unmetDependencies(card: Card): Promise<string[]> {
    if (!card.dependsOn.length) return [];
    const rows = rowsOf<{ id: string; status: string }>(
      await this.db.execute(sql`SELECT id, status FROM backlog WHERE id = ANY(${textArrayParam(card.dependsOn)})`),
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
    if (card.status !== 'claimed') return new BacklogError('fenced', `${refused}: the card is ${card.status} (the claim expired and was reclaimed, or was never held)`);
    if (card.claimOwner !== owner) return new BacklogError('fenced', `${refused}: the card is claimed by ${card.claimOwner} (token ${card.claimToken})`);
    if (token !== undefined && card.claimToken !== token) return new BacklogError('fenced', `${refused}: token ${token} is not the live claim's token (${card.claimToken})`);
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
          ${token === undefined ? sql`` : sql`AND b.claim_token = ${token}`} AND ${CLAIM_LIVE}
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
            UPDATE backlog b SET depends_on = array_append(b.depends_on, ${to}::text),
              deps_pending = b.deps_pending + (SELECT CASE WHEN t.status = 'done' THEN 0 ELSE 1 END FROM backlog t WHERE t.id = ${to}),
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
        : sql`b.status = 'claimed' AND b.claim_owner = ${owner} ${token === undefined ? sql`` : sql`AND b.claim_token = ${token}`} AND ${CLAIM_LIVE}`;
    // Under the graph lock: a concurrent link must not miss this completion (deps_pending).
    const row = await this.db.transaction(async (tx) => {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(${GRAPH_LOCK_KEY})`);
      return rowsOf<Row>(await tx.execute(sql`WITH old AS (
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
      ), dependents AS (
        UPDATE backlog d SET deps_pending = d.deps_pending - 1
        FROM c WHERE d.depends_on @> ARRAY[c.id]::text[] AND d.id <> c.id
      )
      SELECT ${CARD_COLUMNS} FROM c`))[0];
    });
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
        count(*) FILTER (WHERE status = 'ready' AND deps_pending > 0)::int AS waiting
      FROM backlog`)) as Row;
    const counts = { ready: Number(r.ready), claimed: Number(r.claimed), blocked: Number(r.blocked), done: Number(r.done) };
    return {
      counts,
      total: counts.ready + counts.claimed + counts.blocked + counts.done,
      oldestReadyAgeSeconds: num(r.oldest_ready) === null ? null : Math.max(0, Math.floor(num(r.oldest_ready) as number)),
      expiredClaims: Number(r.expired),
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
   * Imports NORTH_STAR goals as cards, idempotently: an id that already exists is left as is
   * (reported in `existing`). Runs in one transaction; a cycle among the goals is refused.
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
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(${GRAPH_LOCK_KEY})`);
      const created: string[] = [];
      const existing: string[] = [];
      for (const g of goals) {
        const row = rowsOf<{ id: string }>(
          await tx.execute(sql`WITH c AS (
              INSERT INTO backlog (id, title, body, phase, priority, depends_on, deps_pending)
              VALUES (${g.id}, ${g.title}, ${g.body}, ${g.phase}, ${g.priority}, ${textArrayParam(g.dependsOn)}, ${unmetCount(textArrayParam(g.dependsOn))})
              ON CONFLICT (id) DO NOTHING RETURNING *
            ), ev AS (
              INSERT INTO backlog_events (actor, verb, card_id, detail)
              SELECT ${actor}::text, 'import', c.id, jsonb_build_object('source', ${source}::text, 'priority', c.priority) FROM c
            )
            SELECT id FROM c`),
        )[0];
        (row ? created : existing).push(g.id);
      }
      for (const g of goals) if (created.includes(g.id)) await assertNoCycle(tx as BacklogDb, g.id, g.dependsOn);
      return { created, existing };
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
    return { stats, claimed, ready };
  }
}

/**
 * The service as every tier opens it: wired to the fleet's PAUSED flag in `runDir`
 * (`<run>/PAUSED`, read before every claim — upstream NS-8). The one place that wiring lives;
 * the embedded server and the server tier both call it.
 */
export function fleetBacklogService(db: BacklogDb, runDir: string): BacklogService {
  return new BacklogService(db, { readPaused: () => readPausedFlag(runDir), describePause });
}
