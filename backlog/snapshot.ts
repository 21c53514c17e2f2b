import { messageOf } from '../lib/errors.js';
import { maskCredentials, maskDatabaseUrl, type MosaicPaths } from '../lib/paths.js';
import { BacklogError, type BacklogOverview } from './types.js';
import { dataDirExists } from './data-dir.js';
import type { BacklogClient } from './verbs.js';
import type { PausedFlag } from '../fleet/types.js';

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

/** The backlog section of the snapshot: tier, stats, claimed and top ready cards. Owner: backlog. */
export interface BacklogSection {
  tier: 'embedded' | 'server';
  /** Data dir (embedded) or masked DATABASE_URL (server). */
  location: string;
  /** False when the store could not be read (error says why) or does not exist yet. */
  ok: boolean;
  /** False when the embedded data dir does not exist yet (a snapshot never creates it). */
  exists: boolean;
  error: string | null;
  /** The embedded backlog server runs older code than this mosaic-top (and the fix); null otherwise. */
  warning: string | null;
  stats: {
    counts: Record<'ready' | 'claimed' | 'blocked' | 'done', number>;
    oldestReadyAgeSeconds: number | null;
    expiredClaims: number;
    /** Ready cards waiting on a dependency (not claimable yet; not in `ready`). */
    waitingOnDeps: number;
  } | null;
  claimed: ClaimedCardView[];
  ready: ReadyCardView[];
  blockedCount: number;
  /** The fleet-wide pause recorded in the store (server tier), null when none or not read. */
  pause?: PausedFlag | null;
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
    warning: null,
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
  const { counts, oldestReadyAgeSeconds } = overview.stats;
  // A backlog server started before the upstream-compatible JSON still says `expiredClaims`.
  const expiredClaims = overview.stats.expiredClaimCount ?? (overview.stats as unknown as { expiredClaims?: number }).expiredClaims ?? 0;
  // A backlog server started before an upgrade does not report it: when the ready list came
  // back short of its limit it holds every claimable card, so the rest of `ready` waits.
  const waitingOnDeps = overview.stats.waitingOnDeps ?? (overview.ready.length < SNAPSHOT_READY_LIMIT ? Math.max(0, counts.ready - overview.ready.length) : 0);
  return {
    ...base,
    ok: true,
    exists: true,
    error: null,
    stats: { counts, oldestReadyAgeSeconds, expiredClaims, waitingOnDeps },
    claimed,
    ready,
    blockedCount: counts.blocked,
    pause: overview.pause ?? null,
  };
}

/** The section for a failed read: 'absent' ⇒ no store yet; anything else ⇒ an error in place. */
function failedSection(base: BacklogSection, error: unknown): BacklogSection {
  const code = error instanceof BacklogError ? error.code : 'internal';
  const message = maskCredentials(messageOf(error));
  if (code === 'absent') return { ...base, exists: false, error: message };
  return { ...base, exists: true, error: message };
}

/** Options for opening a client that reads snapshots (never creates a store, silent). */
function readerOpenOptions(timeoutMs: number, signal?: AbortSignal) {
  return { create: false, signal, requestTimeoutMs: timeoutMs, startTimeoutMs: timeoutMs, onProgress: () => {} } as const;
}

/** True when the embedded store does not exist yet (a snapshot must not create it). */
function embeddedStoreMissing(paths: MosaicPaths): boolean {
  if (paths.databaseUrl) return false;
  return !dataDirExists(paths.backlogDataDir);
}

/**
 * Reads the backlog section for a snapshot: tier, location (DATABASE_URL masked),
 * stats, claimed cards with owner and seconds left, the top ready cards, the blocked count.
 * Never creates a store: embedded with no data dir ⇒ `{ exists: false }`; server tier with no
 * table ⇒ `{ exists: false, error }` (no migration from a snapshot). With an existing data dir
 * it may start the embedded backlog server on demand. `timeoutMs` (default 3000) bounds the
 * whole read. Opens one client and closes it (for `--once`; the console keeps one with
 * {@link createBacklogSectionReader}). Never throws: failures come back as `{ ok: false, error }`.
 */
export async function collectBacklogSection(paths: MosaicPaths, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<BacklogSection> {
  const base = emptySection(paths);
  const timeoutMs = opts.timeoutMs ?? 3000;
  if (embeddedStoreMissing(paths)) return base;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`backlog read timed out after ${timeoutMs} ms`)), timeoutMs);
  const onAbort = (): void => controller.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let client: BacklogClient | null = null;
  try {
    const { openBacklog } = await import('./client.js');
    client = await openBacklog(paths, readerOpenOptions(timeoutMs, controller.signal));
    const overview = await client.overview({ readyLimit: SNAPSHOT_READY_LIMIT });
    return sectionFromOverview({ ...base, location: client.location, warning: client.serverWarning }, overview);
  } catch (error) {
    return failedSection(base, error);
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    await client?.close().catch(() => {});
  }
}

/** A backlog section reader that keeps its client between reads (see {@link createBacklogSectionReader}). */
export interface BacklogSectionReader {
  /** Same contract as {@link collectBacklogSection}: never throws, never creates a store. */
  read(paths: MosaicPaths, opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<BacklogSection>;
  /** Closes the kept client (and one still being opened). Reads after close open nothing. */
  close(): Promise<void>;
  /** Clients opened so far (a count for tests and benchmarks: 1 while the store stays up). */
  readonly opens: number;
}

/**
 * A backlog section reader for the console: ONE client kept across ticks instead of one per
 * tick — one Postgres connection for the console's life on the server tier ("one
 * connection per client process"), one socket to the embedded backlog server. A read that
 * fails drops the client and the next read opens a new one; a kept client found broken (the
 * backlog server restarted, Postgres closed the connection) is replaced once within the same
 * read. `timeoutMs` (default 3000) bounds each read, opening included; an abort `signal` ends
 * the read, not the client. A client still opening when a read gives up is kept for the next
 * read. Never throws from `read`.
 */
export function createBacklogSectionReader(): BacklogSectionReader {
  const reader = new KeptClientReader();
  // Plain functions: callers may pass `read` and `close` around unbound.
  return {
    read: (paths, opts) => reader.read(paths, opts),
    close: () => reader.close(),
    get opens() {
      return reader.opens;
    },
  };
}

/** Rejects when `timeoutMs` passes or `signal` aborts, whichever comes first; `clear` stops both. */
function readDeadline(timeoutMs: number, signal?: AbortSignal): { promise: Promise<never>; clear: () => void } {
  let clear = (): void => {};
  const promise = new Promise<never>((_, reject) => {
    const timer = setTimeout(() => reject(new BacklogError('timeout', `backlog read timed out after ${timeoutMs} ms`)), timeoutMs);
    const onAbort = (): void => reject(new BacklogError('timeout', 'backlog read aborted'));
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    clear = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
  });
  promise.catch(() => {});
  return { promise, clear };
}

/** The reader of {@link createBacklogSectionReader}: one client kept across reads. */
class KeptClientReader {
  private client: BacklogClient | null = null;
  private opening: Promise<BacklogClient> | null = null;
  /** Aborts the open in progress: a close (SIGTERM) must not wait for a server to start. */
  private openingAbort: AbortController | null = null;
  /** DATABASE_URL or socket path the kept client belongs to. */
  private key: string | null = null;
  private openCount = 0;
  private closed = false;

  get opens(): number {
    return this.openCount;
  }

  /** Forgets the kept client and closes it (and one still opening, once it opens). */
  private async drop(): Promise<void> {
    const kept = this.client;
    const pending = this.opening;
    this.client = null;
    this.opening = null;
    this.openingAbort?.abort(new Error('backlog reader closed'));
    this.openingAbort = null;
    await kept?.close().catch(() => {});
    await pending?.then((c) => c.close()).catch(() => {});
  }

  /** The kept client, or the open in progress, or a new open (kept once it succeeds, unless dropped or closed meanwhile). */
  private connect(paths: MosaicPaths, timeoutMs: number): Promise<BacklogClient> {
    if (this.client) return Promise.resolve(this.client);
    if (this.opening) return this.opening;
    this.openCount += 1;
    const abort = new AbortController();
    const attempt = import('./client.js').then(({ openBacklog }) => openBacklog(paths, readerOpenOptions(timeoutMs, abort.signal)));
    this.opening = attempt;
    this.openingAbort = abort;
    attempt.then(
      (c) => {
        if (this.opening !== attempt) return; // dropped meanwhile: drop() closes it
        this.opening = null;
        this.openingAbort = null;
        if (this.closed) void c.close().catch(() => {});
        else this.client = c;
      },
      () => {
        if (this.opening === attempt) {
          this.opening = null;
          this.openingAbort = null;
        }
      },
    );
    return attempt;
  }

  /** The overview through the kept client; a kept connection that broke since the last read gets one fresh retry. */
  private async overview(paths: MosaicPaths, base: BacklogSection, timeoutMs: number, limit: Promise<never>): Promise<BacklogSection> {
    for (let attempt = 0; ; attempt += 1) {
      const reused = this.client !== null;
      const c = await Promise.race([this.connect(paths, timeoutMs), limit]);
      try {
        const overview = await Promise.race([c.overview({ readyLimit: SNAPSHOT_READY_LIMIT }), limit]);
        return sectionFromOverview({ ...base, location: c.location, warning: c.serverWarning }, overview);
      } catch (error) {
        const broken = error instanceof BacklogError && error.code === 'unavailable';
        if (this.client === c) void this.drop();
        if (!(reused && broken && attempt === 0)) throw error;
      }
    }
  }

  async read(paths: MosaicPaths, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<BacklogSection> {
    const base = emptySection(paths);
    const timeoutMs = opts.timeoutMs ?? 3000;
    if (this.closed) return failedSection(base, new BacklogError('unavailable', 'backlog reader is closed'));
    const wanted = paths.databaseUrl ?? paths.backlogSocket;
    if (this.key !== wanted) void this.drop();
    this.key = wanted;
    if (embeddedStoreMissing(paths)) {
      void this.drop();
      return base;
    }
    const limit = readDeadline(timeoutMs, opts.signal);
    try {
      return await this.overview(paths, base, timeoutMs, limit.promise);
    } catch (error) {
      if (!(error instanceof BacklogError && error.code === 'timeout' && this.opening)) void this.drop();
      return failedSection(base, error);
    } finally {
      limit.clear();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.drop();
  }
}
