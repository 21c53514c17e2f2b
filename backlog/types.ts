/**
 * The backlog core's public contract: card shapes, the inputs and results of the verbs that the
 * console, the actions engine and the CLI call (the client API itself: backlog/verbs.ts), and
 * the typed error codes. Types only plus the
 * BacklogError class — importing this file loads no database code.
 *
 * Card columns follow upstream's "Fleet Backlog Conventions" (seed 001); the claim token
 * (fencing), advisory spend fields (upstream goal A4) and the events table go beyond upstream.
 */

import type { PausedFlag } from '../fleet/types.js';

/** Lifecycle status of a card (upstream: ready → claimed → done, blocked parks a card). */
export type CardStatus = 'ready' | 'claimed' | 'blocked' | 'done';

/** Every status, in lifecycle order. */
export const CARD_STATUSES: readonly CardStatus[] = ['ready', 'claimed', 'blocked', 'done'];

/** One backlog card. Times are ISO-8601 strings (UTC); durations are seconds. */
export interface Card {
  /** Stable, caller-supplied id (e.g. `A3a`). */
  id: string;
  title: string;
  body: string | null;
  phase: string | null;
  /** Higher = sooner. */
  priority: number;
  status: CardStatus;
  /** Ids of cards this one depends on; claimable only when all are `done`. */
  dependsOn: string[];
  claimOwner: string | null;
  claimTtlSeconds: number | null;
  claimedAt: string | null;
  /**
   * Fencing token of mosaic-top's last claim on this card: strictly increases with every claim
   * (any card). Null when the card was never claimed by mosaic-top, or claimed by upstream's
   * CLI since (its claims carry no token).
   */
  claimToken: number | null;
  /** When the current claim expires (claimedAt + TTL), null when not claimed. */
  expiresAt: string | null;
  /** Seconds left on the claim at read time (negative once expired), null when not claimed. */
  secondsLeft: number | null;
  /** How many times the card has been claimed. */
  attempts: number;
  idempotencyKey: string | null;
  /**
   * Acceptance criteria as upstream stores them (jsonb): usually a list of strings, possibly an
   * object or a string; null when none. Render with {@link acceptanceLines}.
   */
  acceptance: unknown;
  /** Advisory spend projection in tokens (upstream A4: no real meter, never enforced). */
  projectedTokens: number | null;
  /** Advisory actual spend in tokens, as reported by whoever completed the card. */
  actualTokens: number | null;
  createdAt: string;
  updatedAt: string;
}

/** Input of `create`. */
export interface CreateCardInput {
  id: string;
  title: string;
  body?: string | null;
  phase?: string | null;
  priority?: number;
  dependsOn?: string[];
  /** Any JSON value (upstream: a list of strings or an object); stored as jsonb. */
  acceptance?: unknown;
  idempotencyKey?: string | null;
  projectedTokens?: number | null;
  /** Who creates it (event actor); default `cli`. */
  actor?: string;
}

/** Result of `create`: `created` is false when the idempotency key matched an existing card. */
export interface CreateCardResult {
  card: Card;
  created: boolean;
  /**
   * Dependencies that name no card (yet): allowed — a dependent may be filed first — but the
   * card stays unclaimable until they exist and are done, so callers should say so. Only on
   * `created: true`; `[]` when every dependency exists.
   */
  missingDependencies?: string[];
}

/** Filters of `list`. `readyOnly` = status ready AND every dependency done (upstream). */
export interface ListCardsInput {
  status?: CardStatus;
  phase?: string;
  readyOnly?: boolean;
  /** Maximum rows (default: all). */
  limit?: number;
}

/** Input of `claim`: the next ready card (or `id`) for `owner` for `ttlSeconds` (default 900). */
export interface ClaimInput {
  owner: string;
  ttlSeconds?: number;
  id?: string;
  /**
   * Idempotent retry (embedded tier): the backlog server remembers the reply of a claim by its
   * request id for {@link CLAIM_REQUEST_MEMORY_SECONDS}; a claim repeated with the same id gets
   * that reply instead of a second card. The socket client makes one up when absent.
   */
  requestId?: string;
}

/** How long the backlog server remembers a claim's reply by its request id, seconds. */
export const CLAIM_REQUEST_MEMORY_SECONDS = 600;

/** Result of `claim`: `card` is null when nothing was claimable (not an error). */
export interface ClaimResult {
  card: Card | null;
}

/** Input of `renew`: extends a live claim held by `owner` (optionally fenced by `token`). */
export interface RenewInput {
  id: string;
  owner: string;
  /** New TTL from now, seconds (default: the claim's current TTL). */
  ttlSeconds?: number;
  token?: number;
}

/** Input of `complete`: with `owner` the claim must be live and held by that owner (and token). */
export interface CompleteInput {
  id: string;
  owner?: string;
  token?: number;
  actualTokens?: number;
  actor?: string;
}

/** Result of `reclaim`: ids returned to ready. */
export interface ReclaimResult {
  reclaimed: string[];
}

/** Backlog statistics: upstream's `stats` object, plus `waitingOnDeps`. */
export interface BacklogStats {
  counts: Record<CardStatus, number>;
  total: number;
  /** Age in seconds of the oldest ready card (by created_at), null when none is ready. */
  oldestReadyAgeSeconds: number | null;
  /** Claimed cards whose claimed_at + TTL is in the past (upstream's name). */
  expiredClaimCount: number;
  /** Beyond upstream: ready cards not claimable yet (at least one dependency not done). */
  waitingOnDeps: number;
}

/** One row of the append-only events table. */
export interface BacklogEvent {
  id: number;
  at: string;
  actor: string;
  /** create, claim, renew, reclaim, link, block, unblock, complete, import, dispatch, receipt, … */
  verb: string;
  cardId: string | null;
  detail: Record<string, unknown>;
}

/** Input of `recordEvent` (e.g. the actions engine's dispatch receipts). */
export interface RecordEventInput {
  actor: string;
  verb: string;
  cardId?: string | null;
  detail?: Record<string, unknown>;
}

/** One NORTH_STAR.yaml goal as imported (upstream seed 002 `goals:`). */
export interface NorthStarGoal {
  id: string;
  title: string;
  phase: string | null;
  /** Numeric priority after mapping must-have/should-have/… */
  priority: number;
  dependsOn: string[];
  body: string | null;
}

/**
 * Result of `importGoals`: ids created now, ids whose title, phase, priority or dependencies
 * changed (updated; status and claim untouched), and ids already as in the file.
 */
export interface ImportResult {
  created: string[];
  updated: string[];
  unchanged: string[];
}

/** What the console and the snapshot need in ONE round trip. */
export interface BacklogOverview {
  stats: BacklogStats;
  /** Every claimed card, soonest expiry first. */
  claimed: Card[];
  /** Top ready cards with dependencies satisfied, by priority then age. */
  ready: Card[];
  /** The fleet pause recorded in the store (server tier), null when none. */
  pause?: PausedFlag | null;
}

/** Input of `pauseFleet` (the store's fleet-wide pause). */
export interface FleetPauseInput {
  by: string;
  reason?: string | null;
  /** Replace an existing pause (default: an existing one is kept and returned with `created: false`). */
  force?: boolean;
}

/** Which storage tier a client talks to. */
export type BacklogTier = 'embedded' | 'server';

// The client API (BacklogClient) is derived from the service's verbs: backlog/verbs.ts.

/** Options of `openBacklog(paths, opts)` (backlog/client.ts). */
export interface OpenBacklogOptions {
  /** Create the store when it does not exist yet (default true). A snapshot passes false. */
  create?: boolean;
  signal?: AbortSignal;
  /** Per-request timeout in ms (default 30 000). */
  requestTimeoutMs?: number;
  /** How long to wait for the embedded server to come up, ms (default 60 000). */
  startTimeoutMs?: number;
  /** Progress lines for the operator (default: write to stderr). */
  onProgress?: (line: string) => void;
}

/** Typed error codes; the CLI maps them to exit codes (docs/backlog.md). */
export type BacklogErrorCode =
  'not_found' | 'conflict' | 'request_mismatch' | 'fenced' | 'cycle' | 'paused' | 'invalid' | 'absent' | 'unavailable' | 'timeout' | 'internal';

/** Error thrown by every backlog operation; `code` says which kind. Messages are credential-free. */
export class BacklogError extends Error {
  readonly code: BacklogErrorCode;
  constructor(code: BacklogErrorCode, message: string) {
    super(message);
    this.name = 'BacklogError';
    this.code = code;
  }
}

/** CLI exit code per error code (0 = ok, 2 = usage/invalid). */
export const EXIT_CODES: Record<BacklogErrorCode, number> = {
  invalid: 2,
  not_found: 3,
  conflict: 4,
  // A claim's request id replayed by another owner or with other arguments: refused, like a conflict (HTTP 409).
  request_mismatch: 4,
  fenced: 5,
  cycle: 6,
  paused: 7,
  absent: 8,
  unavailable: 1,
  timeout: 1,
  internal: 1,
};

/**
 * Acceptance criteria as text lines: a list gives one line per item, a string its lines, an
 * object or other JSON its compact JSON; none ⇒ `[]`. Pure.
 */
export function acceptanceLines(acceptance: unknown): string[] {
  if (acceptance === null || acceptance === undefined) return [];
  if (Array.isArray(acceptance)) return acceptance.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).filter((l) => l.trim() !== '');
  if (typeof acceptance === 'string') return acceptance.split('\n').filter((l) => l.trim() !== '');
  return [JSON.stringify(acceptance)];
}

/**
 * Parses an `--acceptance` argument as upstream's CLI does: JSON when it parses, else the list
 * of its non-empty newline- or `;`-separated items; empty ⇒ null.
 */
export function parseAcceptanceArgument(value: string | undefined | null): unknown {
  if (value === undefined || value === null || value.trim() === '') return null;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value
      .split(/[\n;]/)
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  }
}
