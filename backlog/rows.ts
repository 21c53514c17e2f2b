/**
 * Row mappers of the backlog store: a row as the drivers return it (PGlite `{ rows }` or
 * postgres-js arrays, read with backlog/db.ts rowsOf) to the public {@link Card} and
 * {@link BacklogEvent} shapes. Pure; timestamps arrive as epoch ms (float8) and bigints as text
 * (see backlog/sql/fragments.ts CARD_COLUMNS).
 */
import type { BacklogEvent, Card, CardStatus } from './types.js';

/** One raw result row, column name ⇒ value. */
export type Row = Record<string, unknown>;

/** A finite number from a driver value (number or numeric text); null for null, undefined or non-numbers. */
export function num(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** Epoch ms (a driver value) as ISO-8601, or null. */
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
export function idList(v: unknown): string[] {
  const parsed = jsonValue(v);
  return Array.isArray(parsed) ? parsed.map(String) : [];
}

/** Maps a row selected with CARD_COLUMNS to a Card. */
export function toCard(r: Row): Card {
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

/** Maps an event row (`id`, `at_ms`, `actor`, `verb`, `card_id`, `detail`) to a BacklogEvent; unparsable detail text becomes `{ raw }`. */
export function toEvent(r: Row): BacklogEvent {
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
