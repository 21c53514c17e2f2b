/**
 * The backlog client API: `openBacklog(paths, opts)` gives a {@link BacklogClient} with
 * the same async methods on both tiers.
 *
 * - Server tier (`DATABASE_URL` set): the BacklogService in this process on Postgres via
 *   `postgres` (porsager) with ONE connection; migrations applied on first use.
 * - Embedded tier (default): requests to the backlog server on `<run>/backlog.sock`; when none
 *   answers, the server is spawned detached (`mosaic-top backlog serve --idle-exit N`, output to
 *   `<run>/backlog-server.log`) and the client waits for its socket.
 *
 * This module loads no database code at import time (the `--once` path stays light).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { maskCredentials, maskDatabaseUrl, type MosaicPaths } from '../lib/paths.js';
import { packageRoot, packageVersion } from '../lib/version.js';
import { BACKLOG_PROTOCOL, LineSplitter, type BacklogHello, type BacklogMethod, type BacklogResponse, type PingReply } from './protocol.js';
import { isHolderAlive, readDataDirLock } from './lock.js';
import { BacklogError, type OpenBacklogOptions } from './types.js';
import { verbsFrom, type BacklogClient, type BacklogVerb } from './verbs.js';

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_START_TIMEOUT_MS = 60_000;

function abortError(signal: AbortSignal | undefined): BacklogError {
  const reason = signal?.reason instanceof Error ? signal.reason.message : 'aborted';
  return new BacklogError('timeout', `backlog request aborted: ${reason}`);
}

/** A connection to the embedded backlog server over its Unix socket: requests by method name. */
class BacklogConnection {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private closed = false;
  readonly serverWarning: string | null;

  constructor(
    private readonly socket: net.Socket,
    hello: BacklogHello,
    readonly location: string,
    private readonly requestTimeoutMs: number,
    private readonly signal?: AbortSignal,
  ) {
    this.serverWarning = staleServerWarning(hello, ourIdentity());
    const splitter = new LineSplitter();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      let lines: string[];
      try {
        lines = splitter.push(chunk);
      } catch (error) {
        this.failAll(new BacklogError('internal', (error as Error).message));
        return;
      }
      for (const line of lines) {
        let response: BacklogResponse;
        try {
          response = JSON.parse(line) as BacklogResponse;
        } catch {
          continue;
        }
        if (response.id === null) continue;
        const waiter = this.pending.get(response.id);
        if (!waiter) continue;
        this.pending.delete(response.id);
        clearTimeout(waiter.timer);
        if (response.ok) waiter.resolve(response.result);
        else waiter.reject(new BacklogError(response.error.code, response.error.message));
      }
    });
    socket.on('error', (error) => this.failAll(new BacklogError('unavailable', `backlog server connection failed: ${error.message}`)));
    socket.on('close', () => this.failAll(new BacklogError('unavailable', 'backlog server connection lost before the reply (the request may or may not have been applied)')));
    if (signal) {
      this.onAbort = () => {
        this.failAll(abortError(signal));
        socket.destroy();
      };
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  private onAbort: (() => void) | null = null;

  private failAll(error: BacklogError): void {
    for (const [id, waiter] of this.pending) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
      this.pending.delete(id);
    }
  }

  /** Sends one command and waits for its reply (or the request timeout). */
  call<T>(method: BacklogMethod, params?: unknown): Promise<T> {
    if (this.closed || this.socket.destroyed) return Promise.reject(new BacklogError('unavailable', 'backlog client is closed'));
    if (this.signal?.aborted) return Promise.reject(abortError(this.signal));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new BacklogError('timeout', `backlog server did not answer ${method} within ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.socket.write(JSON.stringify({ id, method, params: params ?? {} }) + '\n');
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.onAbort) this.signal?.removeEventListener('abort', this.onAbort);
    this.failAll(new BacklogError('unavailable', 'backlog client closed'));
    await new Promise<void>((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.end();
      setTimeout(() => {
        this.socket.destroy();
        resolve();
      }, 1000).unref();
    });
  }
}

/** The embedded tier's client: every verb is one request on the connection. */
function socketClient(conn: BacklogConnection): BacklogClient {
  return {
    tier: 'embedded',
    location: conn.location,
    serverWarning: conn.serverWarning,
    close: () => conn.close(),
    ...verbsFrom((verb, input) => conn.call(verb, input)),
  };
}

/** What this client compares a server's hello with (see {@link staleServerWarning}). */
export interface CodeIdentity {
  /** mosaic-top version of this process. */
  version: string;
  /** Package root this process runs from. */
  root: string;
  /** Unix ms of the last change to the server code on disk (its module file's mtime); null when unknown. */
  codeChangedAtMs: number | null;
}

let cachedIdentity: CodeIdentity | null = null;

/** This process's {@link CodeIdentity} (computed once: a version, a root, one stat of the server module). */
function ourIdentity(): CodeIdentity {
  if (cachedIdentity) return cachedIdentity;
  let codeChangedAtMs: number | null;
  try {
    codeChangedAtMs = fs.statSync(fileURLToPath(new URL('./server.js', import.meta.url))).mtimeMs;
  } catch {
    codeChangedAtMs = null; // running from sources (tests): no compiled server module beside us
  }
  cachedIdentity = { version: packageVersion(), root: packageRoot(), codeChangedAtMs };
  return cachedIdentity;
}

/**
 * Why an embedded backlog server runs older code than this client, or null. A server outlives
 * upgrades (a console keeps it from idling out), so after `npm update` or a rebuild it can keep
 * serving the old code. Stale when the server reports no version (it predates the check), a
 * different version, or — same package root — was started before its module file last
 * changed on disk. The text names the server's pid and the fix (`mosaic-top backlog stop`;
 * the next backlog command starts a server on this code).
 * Pure. Strings from the hello are not sanitized here: callers sanitize for the terminal.
 */
export function staleServerWarning(hello: BacklogHello, ours: CodeIdentity): string | null {
  // Short, fix first: the console's header line is 80 columns at worst.
  const fix = `(pid ${hello.pid}): run \`mosaic-top backlog stop\``;
  if (hello.version === undefined) return `backlog server is older than ${ours.version} ${fix}`;
  if (hello.version !== ours.version) return `backlog server is ${hello.version}, not ${ours.version} ${fix}`;
  if (hello.root === ours.root && hello.startedAtMs !== undefined && ours.codeChangedAtMs !== null && ours.codeChangedAtMs > hello.startedAtMs) {
    const at = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
    return `backlog server predates this build ${fix} (started ${at(hello.startedAtMs)}, code changed ${at(ours.codeChangedAtMs)})`;
  }
  return null;
}

/**
 * Tries one connection to the socket and waits for the server's hello line; resolves the socket
 * and the hello. Resolves null when nobody listens (absent or stale socket), or the connection
 * closes or stays silent for `helloTimeoutMs` before the hello (a server that is exiting): no
 * request was sent on it.
 */
function tryConnect(socketPath: string, helloTimeoutMs = 5000): Promise<{ socket: net.Socket; hello: BacklogHello } | null> {
  return new Promise((resolve) => {
    const socket = net.createConnection(socketPath);
    let buffered = '';
    let settled = false;
    const fail = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(null);
    };
    const timer = setTimeout(fail, helloTimeoutMs);
    socket.setEncoding('utf8');
    const onData = (chunk: string): void => {
      buffered += chunk;
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      let hello: BacklogHello | null;
      try {
        hello = JSON.parse(buffered.slice(0, nl)) as BacklogHello;
      } catch {
        hello = null;
      }
      if (!hello || hello.hello !== BACKLOG_PROTOCOL) return fail();
      settled = true;
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('error', fail);
      socket.removeListener('close', fail);
      resolve({ socket, hello });
    };
    socket.on('data', onData);
    socket.once('error', fail);
    socket.once('close', fail);
  });
}

/**
 * Spawns `node <pkg>/bin/mosaic-top --mosaic-home <home> backlog serve --idle-exit N` detached,
 * stdio to `<run>/backlog-server.log`. Returns the child (already unref'd).
 */
export function spawnBacklogServer(paths: MosaicPaths, idleExitSeconds?: number): { pid: number | undefined; exited: () => boolean } {
  fs.mkdirSync(paths.runDir, { recursive: true, mode: 0o700 });
  const logFile = path.join(paths.runDir, 'backlog-server.log');
  const fd = fs.openSync(logFile, 'a', 0o600);
  const args = [path.join(packageRoot(), 'bin', 'mosaic-top'), '--mosaic-home', paths.mosaicHome, 'backlog', 'serve'];
  if (idleExitSeconds !== undefined) args.push('--idle-exit', String(idleExitSeconds));
  const env: NodeJS.ProcessEnv = { ...process.env, PGLITE_DATA_DIR: paths.backlogDataDir };
  delete env.DATABASE_URL;
  let exited = false;
  try {
    const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', fd, fd], env });
    child.on('exit', () => (exited = true));
    child.on('error', () => (exited = true));
    child.unref();
    return { pid: child.pid, exited: () => exited };
  } finally {
    fs.closeSync(fd);
  }
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Connects to the embedded backlog server, starting it when nobody answers. With `create:
 * false` and no data dir yet, throws BacklogError('absent') instead of creating one. Throws
 * 'timeout' when no server answers within `startTimeoutMs`.
 */
async function openEmbedded(paths: MosaicPaths, opts: OpenBacklogOptions): Promise<BacklogClient> {
  const requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const make = (c: { socket: net.Socket; hello: BacklogHello }): BacklogClient =>
    socketClient(new BacklogConnection(c.socket, c.hello, paths.backlogDataDir, requestTimeoutMs, opts.signal));
  const first = await tryConnect(paths.backlogSocket);
  if (first) return make(first);
  const { dataDirExists, idleExitFromEnv } = await import('./server.js');
  if (opts.create === false && !dataDirExists(paths.backlogDataDir)) {
    throw new BacklogError('absent', `no backlog yet at ${paths.backlogDataDir}`);
  }
  // Unix socket paths are limited to 107 bytes on Linux (sun_path).
  if (Buffer.byteLength(paths.backlogSocket) > 107) {
    throw new BacklogError('unavailable', `backlog socket path ${paths.backlogSocket} is longer than 107 bytes; use a shorter --mosaic-home`);
  }
  const progress = opts.onProgress ?? ((line: string) => process.stderr.write(line + '\n'));
  const deadline = Date.now() + (opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
  let spawned: ReturnType<typeof spawnBacklogServer> | null = null;
  let spawns = 0;
  let announced = false;
  let pause = 20;
  while (Date.now() < deadline) {
    if (opts.signal?.aborted) throw abortError(opts.signal);
    const holder = readDataDirLock(paths.backlogDataDir);
    const holderAlive = holder !== null && isHolderAlive(holder);
    if (!holderAlive && (spawned === null || spawned.exited()) && spawns < 3) {
      if (!announced && !dataDirExists(paths.backlogDataDir)) {
        progress(`mosaic-top: creating backlog data dir ${paths.backlogDataDir} … (first run, ~5 s)`);
        announced = true;
      }
      spawned = spawnBacklogServer(paths, idleExitFromEnv());
      spawns += 1;
    }
    const connected = await tryConnect(holderAlive && holder?.socket ? holder.socket : paths.backlogSocket);
    if (connected) return make(connected);
    const holderNow = readDataDirLock(paths.backlogDataDir);
    if (spawns >= 3 && spawned?.exited() && !(holderNow && isHolderAlive(holderNow))) {
      throw new BacklogError('unavailable', `backlog server failed to start ${spawns} times; see ${path.join(paths.runDir, 'backlog-server.log')}`);
    }
    await delay(pause, opts.signal);
    pause = Math.min(pause * 1.5, 200);
  }
  const holder = readDataDirLock(paths.backlogDataDir);
  const who = holder && isHolderAlive(holder) ? ` (data dir locked by live pid ${holder.pid})` : '';
  throw new BacklogError('timeout', `backlog server did not come up on ${paths.backlogSocket}${who}; see ${path.join(paths.runDir, 'backlog-server.log')}`);
}

/** The service in this process (server tier), behind the same interface as the socket client. */
function inProcessClient(service: import('./service.js').BacklogService, location: string, end: () => Promise<void>): BacklogClient {
  const run = async (verb: BacklogVerb, input: unknown): Promise<unknown> => {
    try {
      return await (service[verb] as (input: unknown) => Promise<unknown>).call(service, input);
    } catch (error) {
      if (error instanceof BacklogError) throw error;
      throw new BacklogError('unavailable', `backlog database error: ${maskCredentials((error as Error).message ?? String(error))}`);
    }
  };
  // The server tier has no backlog server that could run older code: no serverWarning.
  return { tier: 'server', location, serverWarning: null, close: end, ...verbsFrom(run) };
}

/**
 * Server tier: connects to `databaseUrl` with ONE connection, applies migrations when `create`
 * (default), else refuses with 'absent' when the tables are missing. Every error message has
 * its credentials masked.
 */
async function openServerTier(paths: MosaicPaths, databaseUrl: string, opts: OpenBacklogOptions): Promise<BacklogClient> {
  const [{ default: postgres }, { drizzle }, { migrateBacklog, backlogTablesExist }, { fleetBacklogService }] = await Promise.all([
    import('postgres'),
    import('drizzle-orm/postgres-js'),
    import('./migrate.js'),
    import('./service.js'),
  ]);
  const location = maskDatabaseUrl(databaseUrl);
  const sqlClient = postgres(databaseUrl, {
    max: 1,
    onnotice: () => {},
    connect_timeout: Math.ceil((opts.startTimeoutMs ?? 10_000) / 1000),
    idle_timeout: 0,
  });
  const end = async (): Promise<void> => {
    await sqlClient.end({ timeout: 5 }).catch(() => {});
  };
  try {
    const db = drizzle(sqlClient);
    if (opts.create === false) {
      if (!(await backlogTablesExist(db))) throw new BacklogError('absent', `no backlog table in ${location} (any backlog command creates it)`);
    } else {
      await migrateBacklog(db);
    }
    const service = fleetBacklogService(db, paths.runDir);
    return inProcessClient(service, location, end);
  } catch (error) {
    await end();
    if (error instanceof BacklogError) throw error;
    throw new BacklogError('unavailable', `backlog database ${location} unavailable: ${maskCredentials((error as Error).message ?? String(error))}`);
  }
}

/**
 * Opens the backlog for `paths`: server tier when `paths.databaseUrl` is set, else the embedded
 * tier through its backlog server (started on demand; "creating backlog data dir …" on stderr
 * during the first initdb). Throws BacklogError: 'absent' (create:false and no store),
 * 'timeout', 'unavailable'. Always `close()` the client.
 */
export async function openBacklog(paths: MosaicPaths, opts: OpenBacklogOptions = {}): Promise<BacklogClient> {
  if (paths.databaseUrl) return openServerTier(paths, paths.databaseUrl, opts);
  return openEmbedded(paths, opts);
}

/**
 * Stops the embedded backlog server of `paths`' data dir gracefully: SIGTERM to the lock
 * holder's pid (it finishes the command in progress, closes PGlite, removes its socket and
 * lock), then waits up to `timeoutMs` (ms) for it to exit. `pid` is null when none was running
 * (no lock, or a dead holder's). Never throws. Used by `backlog stop` and `demo down`.
 */
export async function stopEmbeddedServer(paths: MosaicPaths, timeoutMs = 10_000): Promise<{ pid: number | null; stopped: boolean }> {
  const holder = readDataDirLock(paths.backlogDataDir);
  if (!holder || !isHolderAlive(holder)) return { pid: null, stopped: false };
  try {
    process.kill(holder.pid, 'SIGTERM');
  } catch {
    return { pid: holder.pid, stopped: !isHolderAlive(holder) };
  }
  const deadline = Date.now() + timeoutMs;
  while (isHolderAlive(holder) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return { pid: holder.pid, stopped: !isHolderAlive(holder) };
}

/** Pings the embedded server without starting it: its pid and data dir, or null when none answers. */
export async function pingBacklogServer(paths: MosaicPaths, timeoutMs = 2000): Promise<PingReply | null> {
  const connected = await tryConnect(paths.backlogSocket);
  if (!connected) return null;
  const client = new BacklogConnection(connected.socket, connected.hello, paths.backlogDataDir, timeoutMs);
  try {
    return await client.call<PingReply>('ping');
  } catch {
    return null;
  } finally {
    await client.close();
  }
}
