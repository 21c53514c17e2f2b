import type { MosaicPaths } from '../src/paths.js';

/** A claimed card as the snapshot shows it. */
export interface ClaimedCardView {
  id: string;
  title: string;
  owner: string;
  claimedAt: string;
  ttlSeconds: number;
  /** Seconds left on the TTL at snapshot time (negative once expired). */
  secondsLeft: number;
  expired: boolean;
}

/** A ready card as the snapshot shows it (top N by priority, then age). */
export interface ReadyCardView {
  id: string;
  title: string;
  priority: number;
  phase: string | null;
}

/** The backlog section of the snapshot (spec §7 "into the snapshot"). Owner: backlog. */
export interface BacklogSection {
  tier: 'embedded' | 'server';
  /** Data dir (embedded) or masked DATABASE_URL (server). */
  location: string;
  /** False when the store could not be read (error says why) or does not exist yet. */
  ok: boolean;
  /** False when the embedded data dir does not exist yet (a snapshot never creates it). */
  exists: boolean;
  error: string | null;
  stats: {
    counts: Record<'ready' | 'claimed' | 'blocked' | 'done', number>;
    oldestReadyAgeSeconds: number | null;
    expiredClaims: number;
  } | null;
  claimed: ClaimedCardView[];
  ready: ReadyCardView[];
  blockedCount: number;
}

/**
 * Reads the backlog section for a snapshot without ever creating a store that does not exist.
 * Never throws: failures come back as `{ ok: false, error }`. Stub until the backlog issue lands.
 */
export async function collectBacklogSection(
  paths: MosaicPaths,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<BacklogSection> {
  void opts;
  return {
    tier: paths.databaseUrl ? 'server' : 'embedded',
    location: paths.backlogDataDir,
    ok: false,
    exists: false,
    error: 'backlog not built yet',
    stats: null,
    claimed: [],
    ready: [],
    blockedCount: 0,
  };
}
