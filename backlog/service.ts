/**
 * BacklogService — the ONE implementation of the backlog semantics (docs/backlog.md) for both
 * tiers, as one method per verb (backlog/verbs.ts lists them; the clients and the server's
 * dispatch derive from it). It takes a drizzle database (PGlite in the embedded server,
 * postgres-js on the server tier); each verb's SQL lives in backlog/sql/<verb>.ts, the input
 * checks in backlog/validate.ts, the row mappers in backlog/rows.ts, the cycle check in
 * backlog/graph.ts. Every change writes its event row in the same statement (data-modifying
 * CTE) or the same transaction.
 *
 * Upstream: BacklogService in seed 001 (atomic claim with FOR UPDATE SKIP LOCKED, TTL, reclaim,
 * deps gate, idempotent create). Beyond upstream: claim tokens (fencing), renew, cycle checks
 * naming the cycle, events, PAUSED refusal (upstream NS-8), NORTH_STAR import.
 */
import { describePause, readPausedFlag } from '../fleet/paused.js';
import type { PausedFlag } from '../fleet/types.js';
import type { BacklogDb } from './db.js';
import { blockCard, unblockCard } from './sql/block.js';
import { claimCard, type ClaimPauseGate } from './sql/claim.js';
import { completeCard } from './sql/complete.js';
import { createCard } from './sql/create.js';
import { listEvents, recordEvent } from './sql/events.js';
import { getCard } from './sql/get.js';
import { importGoals } from './sql/import.js';
import { linkCards } from './sql/link.js';
import { listCards } from './sql/list.js';
import { backlogOverview } from './sql/overview.js';
import { pauseFleet, readFleetPause, resumeFleet } from './sql/pause.js';
import { reclaimCards } from './sql/reclaim.js';
import { renewClaim } from './sql/renew.js';
import { backlogStats } from './sql/stats.js';
import type {
  BacklogEvent,
  BacklogOverview,
  BacklogStats,
  Card,
  ClaimInput,
  ClaimResult,
  CompleteInput,
  CreateCardInput,
  CreateCardResult,
  FleetPauseInput,
  ImportResult,
  ListCardsInput,
  NorthStarGoal,
  ReclaimResult,
  RecordEventInput,
  RenewInput,
} from './types.js';

/**
 * Options of the service: how `claim` reads the fleet's pause (`<run>/PAUSED`, and on a shared
 * store the store's pause — wired by {@link fleetBacklogService}). Absent ⇒ never paused.
 */
export type BacklogServiceOptions = ClaimPauseGate;

/** The backlog semantics over one drizzle database. Every method throws BacklogError. */
export class BacklogService {
  constructor(
    private readonly db: BacklogDb,
    private readonly opts: BacklogServiceOptions = {},
  ) {}

  /** The card `id`; throws BacklogError('not_found') (backlog/sql/get.ts). */
  get(id: string): Promise<Card> {
    return getCard(this.db, id);
  }

  /** Creates a card, idempotent by key; refuses cycles (backlog/sql/create.ts). */
  create(input: CreateCardInput): Promise<CreateCardResult> {
    return createCard(this.db, input);
  }

  /** Lists cards by priority, then age (backlog/sql/list.ts). */
  list(input: ListCardsInput = {}): Promise<Card[]> {
    return listCards(this.db, input);
  }

  /** Claims the next claimable card, or `id`, in one statement; refused while paused (backlog/sql/claim.ts). */
  claim(input: ClaimInput): Promise<ClaimResult> {
    return claimCard(this.db, input, this.opts);
  }

  /** Extends a live claim; a stale one ⇒ 'fenced' (backlog/sql/renew.ts). */
  renew(input: RenewInput): Promise<Card> {
    return renewClaim(this.db, input);
  }

  /** Returns expired claims (or `id`'s) to ready (backlog/sql/reclaim.ts). */
  reclaim(input: { id?: string; owner?: string; actor?: string } = {}): Promise<ReclaimResult> {
    return reclaimCards(this.db, input);
  }

  /** Adds the edge `from` depends on `to`; refuses cycles (backlog/sql/link.ts). */
  link(input: { from: string; to: string; actor?: string }): Promise<Card> {
    return linkCards(this.db, input);
  }

  /** Parks a ready or claimed card (backlog/sql/block.ts). */
  block(input: { id: string; reason?: string; actor?: string }): Promise<Card> {
    return blockCard(this.db, input);
  }

  /** Returns a blocked card to ready (backlog/sql/block.ts). */
  unblock(input: { id: string; actor?: string }): Promise<Card> {
    return unblockCard(this.db, input);
  }

  /** Marks a card done, fenced by its claim when `owner` is given (backlog/sql/complete.ts). */
  complete(input: CompleteInput): Promise<Card> {
    return completeCard(this.db, input);
  }

  /** Counts per status, oldest ready age, expired claims (backlog/sql/stats.ts). */
  stats(): Promise<BacklogStats> {
    return backlogStats(this.db);
  }

  /** Recent events, newest first (backlog/sql/events.ts). */
  events(input: { limit?: number; cardId?: string } = {}): Promise<BacklogEvent[]> {
    return listEvents(this.db, input);
  }

  /** Appends an event, e.g. a dispatch receipt (backlog/sql/events.ts). */
  recordEvent(input: RecordEventInput): Promise<BacklogEvent> {
    return recordEvent(this.db, input);
  }

  /** Imports NORTH_STAR goals as cards (backlog/sql/import.ts). */
  importGoals(input: { goals: NorthStarGoal[]; source?: string; actor?: string }): Promise<ImportResult> {
    return importGoals(this.db, input);
  }

  /** Stats, claimed cards, top ready cards and the pause, for the console (backlog/sql/overview.ts). */
  overview(input: { readyLimit?: number } = {}): Promise<BacklogOverview> {
    return backlogOverview(this.db, input);
  }

  /** The fleet-wide pause recorded in the store, or null (backlog/sql/pause.ts). */
  fleetPause(): Promise<PausedFlag | null> {
    return readFleetPause(this.db);
  }

  /** Records the fleet-wide pause in the store (backlog/sql/pause.ts). */
  pauseFleet(input: FleetPauseInput): Promise<{ pause: PausedFlag; created: boolean }> {
    return pauseFleet(this.db, input);
  }

  /** Removes the store's fleet pause (backlog/sql/pause.ts). */
  resumeFleet(input: { actor?: string } = {}): Promise<PausedFlag | null> {
    return resumeFleet(this.db, input);
  }
}

/**
 * The service as every tier opens it, wired to the fleet's pause, read before every claim
 * (upstream NS-8): `<run>/PAUSED` on this host, then the pause recorded in the store itself
 * (`backlog_fleet_pause`: on the server tier one pause stops claims from every host). The ONE
 * place that wiring lives; the embedded server and the server tier both call it.
 */
export function fleetBacklogService(db: BacklogDb, runDir: string): BacklogService {
  return new BacklogService(db, {
    readPaused: async () => {
      const file = readPausedFlag(runDir);
      if (file) return file;
      const stored = await readFleetPause(db);
      return stored ? { ...stored, source: 'store' as const } : null;
    },
    describePause,
  });
}
