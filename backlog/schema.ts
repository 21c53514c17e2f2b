/**
 * Drizzle (pg-core) description of the backlog tables. The SQL in backlog/migrations/ is the
 * source of truth for the database; this mirrors it for typed queries and documentation.
 * Columns follow upstream's card schema (seed 001) plus claim_token (fencing) and the advisory
 * spend fields (upstream A4).
 */
import { sql } from 'drizzle-orm';
import { bigint, bigserial, index, integer, jsonb, pgSequence, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** Global, strictly increasing source of claim tokens (one per claim, any card). */
export const claimTokenSequence = pgSequence('backlog_claim_token_seq');

/** One row per card. */
export const backlogCards = pgTable(
  'backlog',
  {
    id: text('id').primaryKey(),
    title: text('title').notNull(),
    body: text('body'),
    phase: text('phase'),
    priority: integer('priority').notNull().default(0),
    status: text('status', { enum: ['ready', 'claimed', 'blocked', 'done'] }).notNull().default('ready'),
    dependsOn: text('depends_on').array().notNull().default(sql`'{}'::text[]`),
    /** How many of depends_on are not done yet (kept by create/link/import/complete; migration 0002). */
    depsPending: integer('deps_pending').notNull().default(0),
    claimOwner: text('claim_owner'),
    claimTtlSeconds: integer('claim_ttl_seconds'),
    claimedAt: timestamp('claimed_at', { withTimezone: true }),
    claimToken: bigint('claim_token', { mode: 'number' }),
    attempts: integer('attempts').notNull().default(0),
    idempotencyKey: text('idempotency_key').unique(),
    acceptance: text('acceptance'),
    projectedTokens: bigint('projected_tokens', { mode: 'number' }),
    actualTokens: bigint('actual_tokens', { mode: 'number' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('backlog_claim_order_idx').on(t.priority.desc(), t.createdAt, t.id).where(sql`status = 'ready' AND deps_pending = 0`),
    index('backlog_depends_on_idx').using('gin', t.dependsOn),
    index('backlog_status_priority_idx').on(t.status, t.priority.desc(), t.createdAt),
    index('backlog_reclaim_idx').on(t.claimedAt).where(sql`status = 'claimed'`),
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

/** Versions applied by backlog/migrate.ts. */
export const backlogMigrations = pgTable('backlog_migrations', {
  version: text('version').primaryKey(),
  name: text('name').notNull(),
  appliedAt: timestamp('applied_at', { withTimezone: true }).notNull().defaultNow(),
});
