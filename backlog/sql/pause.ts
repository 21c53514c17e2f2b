/**
 * The fleet-wide pause of a shared store (`backlog_fleet_pause`, at most one row): the
 * `fleetPause`, `pauseFleet` and `resumeFleet` verbs, in drizzle's query builder.
 */
import type { PausedFlag } from '../../fleet/types.js';
import type { BacklogDb } from '../db.js';
import { backlogEvents, backlogFleetPause } from '../schema.js';
import type { FleetPauseInput } from '../types.js';
import { actorOr, assertName, assertText, requireText } from '../validate.js';

/** A timestamp column as the drivers return it (a Date, or text) as ISO-8601; null when absent. */
function isoOf(at: unknown): string | null {
  if (at instanceof Date) return at.toISOString();
  return at ? new Date(String(at)).toISOString() : null;
}

/**
 * The fleet-wide pause recorded in the store (server tier: every host's claims and dispatches
 * honour it), or null. Times ISO-8601.
 */
export async function readFleetPause(db: BacklogDb): Promise<PausedFlag | null> {
  const rows = await db.select({ at: backlogFleetPause.at, by: backlogFleetPause.pausedBy, reason: backlogFleetPause.reason }).from(backlogFleetPause).limit(1);
  const r = rows[0];
  if (!r) return null;
  return { at: isoOf(r.at), by: r.by ?? null, reason: r.reason ?? null };
}

/**
 * Records the fleet-wide pause (at = now, by, reason) in the store. An existing pause is kept
 * and returned with `created: false` unless `force` (then replaced). Writes a `pause` event
 * (actor: `by` with characters outside ids replaced by `_`).
 */
export async function pauseFleet(db: BacklogDb, input: FleetPauseInput): Promise<{ pause: PausedFlag; created: boolean }> {
  const by = requireText(input.by, 'paused by', { max: 200 });
  const reason = assertText(input.reason, 'reason', { max: 500 });
  return db.transaction(async (tx) => {
    const values = { singleton: true, at: new Date(), pausedBy: by, reason };
    const inserted = input.force
      ? await tx
          .insert(backlogFleetPause)
          .values(values)
          .onConflictDoUpdate({ target: backlogFleetPause.singleton, set: { at: values.at, pausedBy: by, reason } })
          .returning()
      : await tx.insert(backlogFleetPause).values(values).onConflictDoNothing().returning();
    if (!inserted.length) {
      const current = await readFleetPause(tx as BacklogDb);
      return { pause: current ?? { at: null, by: null, reason: null }, created: false };
    }
    await tx
      .insert(backlogEvents)
      .values({ actor: assertName(by.replace(/[^A-Za-z0-9._:@/-]/g, '_'), 'actor'), verb: 'pause', cardId: null, detail: { reason } });
    return { pause: { at: values.at.toISOString(), by, reason }, created: true };
  });
}

/** Removes the store's fleet pause; returns the pause removed, or null. Writes a `resume` event. */
export async function resumeFleet(db: BacklogDb, input: { actor?: string } = {}): Promise<PausedFlag | null> {
  const actor = actorOr(input.actor, 'cli');
  return db.transaction(async (tx) => {
    const removed = await tx.delete(backlogFleetPause).returning();
    const r = removed[0];
    if (!r) return null;
    await tx.insert(backlogEvents).values({ actor, verb: 'resume', cardId: null, detail: { pausedBy: r.pausedBy, reason: r.reason } });
    return { at: r.at instanceof Date ? r.at.toISOString() : String(r.at), by: r.pausedBy ?? null, reason: r.reason ?? null };
  });
}
