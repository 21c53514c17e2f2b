import { maskCredentials, maskDatabaseUrl, type MosaicPaths } from '../src/paths.js';
import { BacklogError, type BacklogClient, type BacklogOverview } from './types.js';

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

/** Top ready cards shown in the snapshot. */
export const SNAPSHOT_READY_LIMIT = 10;

function emptySection(paths: MosaicPaths): BacklogSection {
  return {
    tier: paths.databaseUrl ? 'server' : 'embedded',
    location: paths.databaseUrl ? maskDatabaseUrl(paths.databaseUrl) : paths.backlogDataDir,
    ok: false,
    exists: false,
    error: null,
    stats: null,
    claimed: [],
    ready: [],
    blockedCount: 0,
  };
}

/** Builds the snapshot section from a backlog overview (pure). */
export function sectionFromOverview(base: BacklogSection, overview: BacklogOverview): BacklogSection {
  const claimed: ClaimedCardView[] = overview.claimed.map((c) => ({
    id: c.id,
    title: c.title,
    owner: c.claimOwner ?? '?',
    claimedAt: c.claimedAt ?? '',
    ttlSeconds: c.claimTtlSeconds ?? 0,
    secondsLeft: Math.round(c.secondsLeft ?? 0),
    expired: (c.secondsLeft ?? 0) <= 0,
  }));
  const ready: ReadyCardView[] = overview.ready.map((c) => ({ id: c.id, title: c.title, priority: c.priority, phase: c.phase }));
  const { counts, oldestReadyAgeSeconds, expiredClaims } = overview.stats;
  return {
    ...base,
    ok: true,
    exists: true,
    error: null,
    stats: { counts, oldestReadyAgeSeconds, expiredClaims },
    claimed,
    ready,
    blockedCount: counts.blocked,
  };
}

/**
 * Reads the backlog section for a snapshot (spec §7): tier, location (DATABASE_URL masked),
 * stats, claimed cards with owner and seconds left, the top ready cards, the blocked count.
 * Never creates a store: embedded with no data dir ⇒ `{ exists: false }`; server tier with no
 * table ⇒ `{ exists: false, error }` (no migration from a snapshot). With an existing data dir
 * it may start the embedded backlog server on demand. `timeoutMs` (default 3000) bounds the
 * whole read. Never throws: failures come back as `{ ok: false, error }`.
 */
export async function collectBacklogSection(
  paths: MosaicPaths,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<BacklogSection> {
  const base = emptySection(paths);
  const timeoutMs = opts.timeoutMs ?? 3000;
  if (!paths.databaseUrl) {
    const { dataDirExists } = await import('./server.js');
    if (!dataDirExists(paths.backlogDataDir)) return base;
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`backlog read timed out after ${timeoutMs} ms`)), timeoutMs);
  const onAbort = (): void => controller.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let client: BacklogClient | null = null;
  try {
    const { openBacklog } = await import('./client.js');
    client = await openBacklog(paths, {
      create: false,
      signal: controller.signal,
      requestTimeoutMs: timeoutMs,
      startTimeoutMs: timeoutMs,
      onProgress: () => {},
    });
    const overview = await client.overview({ readyLimit: SNAPSHOT_READY_LIMIT });
    return sectionFromOverview({ ...base, location: client.location }, overview);
  } catch (error) {
    const code = error instanceof BacklogError ? error.code : 'internal';
    const message = maskCredentials((error as Error)?.message ?? String(error));
    if (code === 'absent') return { ...base, exists: false, error: message };
    return { ...base, exists: true, error: message };
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    await client?.close().catch(() => {});
  }
}
