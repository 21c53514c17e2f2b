/**
 * The server tier's client (`DATABASE_URL` set): the BacklogService in this process on
 * Postgres via `postgres` (porsager) with ONE connection, migrations applied on first use,
 * every request bounded (Postgres statement and lock timeouts, then a client-side deadline).
 */
import { describeCause, rootCause } from '../../lib/errors.js';
import { maskCredentials, maskDatabaseUrl, type MosaicPaths } from '../../lib/paths.js';
import type { BacklogDb } from '../db.js';
import type { BacklogService } from '../service.js';
import { BacklogError, type OpenBacklogOptions } from '../types.js';
import { verbsFrom, type BacklogClient, type BacklogVerb } from '../verbs.js';
import { abortError, requestTimeoutFromEnv, requestTimeoutMessage, seconds } from './deadlines.js';

/** Deadlines of the server tier, ms (see {@link serverTierTimeouts}). */
export interface ServerTierTimeouts {
  /** Client-side deadline of one request: past it the caller is answered, whatever Postgres does. */
  requestMs: number;
  /** Postgres `statement_timeout`: the server cancels a statement running longer (shorter than `requestMs`). */
  statementMs: number;
  /** Postgres `lock_timeout`: a statement waiting longer for a lock (a `LOCK TABLE backlog` elsewhere) fails. */
  lockMs: number;
  /** Connect timeout, seconds (postgres `connect_timeout`). */
  connectSeconds: number;
}

/**
 * The server tier's deadlines for a request deadline `requestMs` (ms): Postgres cancels first
 * (lock waits after half of it, statements 1 s before it), so a timed-out request has normally
 * changed nothing; the client-side deadline is the last resort (a stopped or unreachable server).
 * `startMs`: connect timeout, ms (default 10 000; at most `requestMs`). Pure.
 */
export function serverTierTimeouts(requestMs: number, startMs = 10_000): ServerTierTimeouts {
  return {
    requestMs,
    statementMs: Math.max(500, requestMs - 1000),
    lockMs: Math.max(250, Math.floor(requestMs / 2)),
    // Never past the request deadline (opening is under it): a longer connect timer outlived the
    // failed request and kept the process alive after its error line.
    connectSeconds: Math.max(1, Math.ceil(Math.min(startMs, requestMs) / 1000)),
  };
}

/**
 * One line for a server-tier failure of `method`: Postgres' statement and lock timeouts,
 * connect timeouts and refusals named as such, with what to do; any other cause unwrapped from
 * drizzle's `Failed query: <SQL> params: <card data>` (never printed). Credentials masked. Pure.
 */
export function serverTierErrorMessage(method: string, error: unknown, location: string, t: ServerTierTimeouts): string {
  const cause = rootCause(error) as { code?: string; message?: string };
  const code = typeof cause?.code === 'string' ? cause.code : '';
  const msg = String(cause?.message ?? '');
  if (code === '55P03' || /lock timeout/i.test(msg)) {
    return `${method} on ${location}: the backlog table stayed locked by another session for ${seconds(t.lockMs)} (lock_timeout): nothing was changed — retry later, or find the session holding the lock (pg_locks)`;
  }
  if (code === '57014' && /statement timeout/i.test(msg)) {
    return `${method} on ${location}: cancelled by Postgres after ${seconds(t.statementMs)} (statement_timeout): nothing was changed — the database is overloaded or blocked; retry later`;
  }
  if (code === 'CONNECT_TIMEOUT')
    return `backlog database ${location} unavailable: no connection within ${t.connectSeconds} s (connect timeout) — is Postgres running and reachable?`;
  return maskCredentials(`backlog database ${location} unavailable: ${describeCause(error)}`);
}

/** A server-tier failure as a BacklogError: Postgres' lock, statement and connect timeouts are 'timeout', the rest 'unavailable'. */
function serverTierError(method: string, error: unknown, location: string, t: ServerTierTimeouts): BacklogError {
  if (error instanceof BacklogError) return error;
  const cause = rootCause(error) as { code?: string };
  const code = cause?.code === '55P03' || cause?.code === '57014' || cause?.code === 'CONNECT_TIMEOUT' ? 'timeout' : 'unavailable';
  return new BacklogError(code, serverTierErrorMessage(method, error, location, t));
}

/** Requests of the server tier, bounded: the client-side deadline and the abort signal around each. */
class ServerTierRequests {
  /** Set when a request hit the client-side deadline: its statement may still hold the connection. */
  timedOut = false;
  constructor(
    readonly location: string,
    private readonly timeouts: ServerTierTimeouts,
    private readonly signal?: AbortSignal,
  ) {}

  /** Runs one request with the client-side deadline and the abort signal; errors become one-line BacklogErrors. */
  wrap<T>(method: string, params: unknown, fn: () => Promise<T>): Promise<T> {
    if (this.signal?.aborted) return Promise.reject(abortError(this.signal));
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const settle = (f: () => void): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.signal?.removeEventListener('abort', onAbort);
        f();
      };
      // Postgres cancels first (statement/lock timeouts); this is for a server that never answers.
      const timer = setTimeout(() => {
        this.timedOut = true;
        const message = requestTimeoutMessage(method, params, this.timeouts.requestMs, this.location, 'is Postgres running and reachable? retry when it is');
        settle(() => reject(new BacklogError('timeout', message)));
      }, this.timeouts.requestMs);
      const onAbort = (): void => {
        this.timedOut = true;
        settle(() => reject(abortError(this.signal)));
      };
      this.signal?.addEventListener('abort', onAbort, { once: true });
      fn().then(
        (value) => settle(() => resolve(value)),
        (error) => settle(() => reject(serverTierError(method, error, this.location, this.timeouts))),
      );
    });
  }
}

/** The service in this process (server tier), behind the same interface as the socket client; every verb bounded by `requests`. */
function inProcessClient(service: BacklogService, requests: ServerTierRequests, end: (timedOut: boolean) => Promise<void>): BacklogClient {
  const run = (verb: BacklogVerb, input: unknown): Promise<unknown> =>
    requests.wrap(verb, verb === 'importGoals' ? {} : input, () => (service[verb] as (input: unknown) => Promise<unknown>).call(service, input));
  // The server tier has no backlog server that could run older code: no serverWarning.
  return { tier: 'server', location: requests.location, serverWarning: null, close: () => end(requests.timedOut), ...verbsFrom(run) };
}

/**
 * Readies the store for this client: migrates when `create` (default); otherwise refuses with
 * 'absent' when the tables are missing or migrations are pending (a read-only verb never
 * migrates; on an older schema its queries would fail with raw SQL errors).
 */
async function readyStore(db: BacklogDb, location: string, create: boolean): Promise<void> {
  const { migrateBacklog, backlogTablesExist, pendingMigrations } = await import('../migrate.js');
  if (create) {
    await migrateBacklog(db);
    return;
  }
  if (!(await backlogTablesExist(db)))
    throw new BacklogError('absent', `no backlog table in ${location} (a read-only command does not create it; \`backlog create\` or \`backlog import\` does)`);
  const pending = await pendingMigrations(db);
  if (pending.length)
    throw new BacklogError(
      'absent',
      `this store needs migrating: run \`mosaic-top backlog migrate\` (${location} lacks migration ${pending.join(', ')}; a read-only command does not change it)`,
    );
}

/**
 * Server tier: connects to `databaseUrl` with ONE connection, applies migrations when `create`
 * (default), else refuses with 'absent' when the tables are missing or migrations are pending
 * ("this store needs migrating: run `mosaic-top backlog migrate`"). Bounded everywhere
 * ({@link serverTierTimeouts}): connect timeout, Postgres `statement_timeout` and
 * `lock_timeout` on the connection, and a client-side deadline per request
 * (`opts.requestTimeoutMs`, else `MOSAIC_BACKLOG_TIMEOUT`, else 30 s) — opening included.
 * Every error message is one line with its credentials masked.
 */
export async function openServerTier(paths: MosaicPaths, databaseUrl: string, opts: OpenBacklogOptions): Promise<BacklogClient> {
  const [{ default: postgres }, { drizzle }, { fleetBacklogService }] = await Promise.all([
    import('postgres'),
    import('drizzle-orm/postgres-js'),
    import('../service.js'),
  ]);
  const location = maskDatabaseUrl(databaseUrl);
  const timeouts = serverTierTimeouts(opts.requestTimeoutMs ?? requestTimeoutFromEnv(), opts.startTimeoutMs ?? 10_000);
  const sqlClient = postgres(databaseUrl, {
    max: 1,
    onnotice: () => {},
    connect_timeout: timeouts.connectSeconds,
    idle_timeout: 0,
    connection: { statement_timeout: timeouts.statementMs, lock_timeout: timeouts.lockMs, application_name: 'mosaic-top' },
  });
  const end = async (timedOut = false): Promise<void> => {
    // After a deadline the connection may be stuck in a statement: do not wait for it.
    await sqlClient.end({ timeout: timedOut ? 0 : 5 }).catch(() => {});
  };
  const db = drizzle(sqlClient);
  const requests = new ServerTierRequests(location, timeouts, opts.signal);
  try {
    // Opening is one more request under the same deadline (a stopped Postgres accepts TCP and says nothing).
    await requests.wrap('connect', {}, () => readyStore(db, location, opts.create !== false));
    return inProcessClient(fleetBacklogService(db, paths.runDir), requests, end);
  } catch (error) {
    await end(requests.timedOut || (error instanceof BacklogError && error.code === 'timeout'));
    throw error;
  }
}
