/**
 * Drizzle (pg-core) description of the backlog store. The SQL in backlog/migrations/ is the
 * source of truth for the database; this mirrors it, and runtime code uses it where a typed
 * query serves (the migrator's bookkeeping, the fleet pause, event inserts).
 *
 * The `backlog` table is upstream's (seed 001, its migration 0011: enum `backlog_status`,
 * `depends_on` and `acceptance` jsonb, indexes on (status, priority), (status, claimed_at) and
 * a unique one on idempotency_key). mosaic-top adds only nullable columns beside it
 * (claim_token, claim_token_attempts, projected_tokens, actual_tokens), its own claim index,
 * and side tables (events, the fleet pause, migrations).
 */
import { sql } from 'drizzle-orm';
import { bigint, bigserial, boolean, index, integer, jsonb, pgEnum, pgSequence, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/** Upstream's card status enum. */
export const backlogStatus = pgEnum('backlog_status', ['ready', 'claimed', 'blocked', 'done']);

/** Global, strictly increasing source of claim tokens (one per mosaic-top claim, any card). */
export const claimTokenSequence = pgSequence('backlog_claim_token_seq');

/** One row per card: upstream's columns, then mosaic-top's nullable additions. */
export const backlogCards = pgTable(
  'backlog',
  {
    id: text('id').primaryKey(),
    title: text('title').notNull(),
    body: text('body'),
    phase: text('phase'),
    priority: integer('priority').notNull().default(0),
    status: backlogStatus('status').notNull().default('ready'),
    dependsOn: jsonb('depends_on').$type<string[]>().notNull().default([]),
    claimOwner: text('claim_owner'),
    claimTtlSeconds: integer('claim_ttl_seconds'),
    claimedAt: timestamp('claimed_at', { withTimezone: true }),
    attempts: integer('attempts').notNull().default(0),
    idempotencyKey: text('idempotency_key'),
    acceptance: jsonb('acceptance'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    /** mosaic-top: fencing token of its last claim on this card (null: never claimed by mosaic-top). */
    claimToken: bigint('claim_token', { mode: 'number' }),
    /** mosaic-top: `attempts` when claimToken was issued; a different value ⇒ upstream claimed since (token stale). */
    claimTokenAttempts: integer('claim_token_attempts'),
    projectedTokens: bigint('projected_tokens', { mode: 'number' }),
    actualTokens: bigint('actual_tokens', { mode: 'number' }),
  },
  (t) => [
    index('backlog_status_priority_idx').on(t.status, t.priority),
    index('backlog_status_claimed_at_idx').on(t.status, t.claimedAt),
    uniqueIndex('backlog_idempotency_key_idx').on(t.idempotencyKey),
    index('mosaic_top_backlog_claim_idx')
      .on(t.priority.desc(), t.createdAt, t.id)
      .where(sql`status = 'ready'`),
  ],
);

/** Append-only log of every change (who, what, when). */
export const backlogEvents = pgTable(
  'backlog_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    actor: text('actor').notNull(),
    verb: text('verb').notNull(),
    cardId: text('card_id'),
    detail: jsonb('detail').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [index('backlog_events_card_idx').on(t.cardId, t.id.desc())],
);

/** The fleet-wide pause of a shared store (at most one row; server tier). */
export const backlogFleetPause = pgTable('backlog_fleet_pause', {
  singleton: boolean('singleton').primaryKey().default(true),
  at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  pausedBy: text('paused_by'),
  reason: text('reason'),
});

/** Versions applied by backlog/migrate.ts. */
export const backlogMigrations = pgTable('backlog_migrations', {
  version: text('version').primaryKey(),
  name: text('name').notNull(),
  appliedAt: timestamp('applied_at', { withTimezone: true }).notNull().defaultNow(),
});
