/**
 * The `stats` verb. Raw SQL (drizzle's `sql` template): counts with `FILTER`, an epoch age and
 * the dependency condition over jsonb (fragments.ts DEPS_DONE), which drizzle's builder cannot
 * express.
 */
import { sql } from 'drizzle-orm';
import type { BacklogDb } from '../db.js';
import { num } from '../rows.js';
import type { BacklogStats } from '../types.js';
import { DEPS_DONE, firstRow } from './fragments.js';

/** Counts per status, age of the oldest ready card (seconds), expired claims, ready cards waiting on dependencies (upstream `stats`). */
export async function backlogStats(db: BacklogDb): Promise<BacklogStats> {
  // An aggregate without GROUP BY always returns one row; an empty result reads as all zeros.
  const r =
    (await firstRow(
      db,
      sql`SELECT
        count(*) FILTER (WHERE status = 'ready')::int AS ready,
        count(*) FILTER (WHERE status = 'claimed')::int AS claimed,
        count(*) FILTER (WHERE status = 'blocked')::int AS blocked,
        count(*) FILTER (WHERE status = 'done')::int AS done,
        extract(epoch FROM now() - min(created_at) FILTER (WHERE status = 'ready'))::float8 AS oldest_ready,
        count(*) FILTER (WHERE status = 'claimed' AND claimed_at + claim_ttl_seconds * interval '1 second' <= now())::int AS expired,
        count(*) FILTER (WHERE status = 'ready' AND NOT ${DEPS_DONE})::int AS waiting
      FROM backlog c`,
    )) ?? {};
  const counts = { ready: Number(r.ready ?? 0), claimed: Number(r.claimed ?? 0), blocked: Number(r.blocked ?? 0), done: Number(r.done ?? 0) };
  const oldest = num(r.oldest_ready);
  return {
    counts,
    total: counts.ready + counts.claimed + counts.blocked + counts.done,
    oldestReadyAgeSeconds: oldest === null ? null : Math.max(0, Math.floor(oldest)),
    expiredClaimCount: Number(r.expired ?? 0),
    waitingOnDeps: Number(r.waiting ?? 0),
  };
}
