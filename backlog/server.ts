/**
 * The embedded tier's backlog server: the ONE process that opens the PGlite data dir. Clients
 * start it on demand (like tmux starts its server) or an operator runs it in the foreground
 * (`mosaic-top backlog serve`, e.g. under systemd). It takes `<datadir>/mosaic-top.lock`,
 * refuses a data dir another process has open (backlog/datadir-users.ts), opens PGlite,
 * applies migrations, and serves backlog commands over `<run>/backlog.sock` (mode 0600, run dir
 * 0700 when created here) — newline-delimited JSON (backlog/protocol.ts), one request at a time.
 * It exits when idle, and on SIGTERM/SIGINT closes PGlite before releasing the lock.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { MosaicPaths } from '../lib/paths.js';
import { acquireDataDirLock, dataDirIdentity, lockProof, type DataDirLockResult } from './lock.js';
import type { BacklogService } from './service.js';
import {
  BACKLOG_PROTOCOL,
  isBacklogMethod,
  LineSplitter,
  type BacklogHello,
  type BacklogRequest,
  type BacklogResponse,
  type PingReply,
  type ProveReply,
} from './protocol.js';
import { BacklogError } from './types.js';
import { ClaimReplays } from './claim-replay.js';
import { packageRoot, packageVersion } from '../lib/version.js';
import { ensureOwnerOnlyDir, tightenTree } from '../lib/owner-only.js';
import { describeCause, messageOf } from '../lib/errors.js';
import { dataDirExists } from './data-dir.js';

/** When this process loaded the server's code (Unix ms): clients compare it with the code on disk. */
const CODE_LOADED_AT_MS = Date.now();

/** Default idle exit of an on-demand server, seconds (override: MOSAIC_BACKLOG_IDLE_EXIT). */
export const DEFAULT_IDLE_EXIT_SECONDS = 120;

/** Options of {@link runBacklogServer}. */
export interface BacklogServerOptions {
  /** Exit after this many seconds without a connection or request; 0 = never. */
  idleExitSeconds?: number;
  /** Diagnostic lines (default: stderr with a timestamp). */
  log?: (line: string) => void;
  /** Resolves once the socket is listening (tests, foreground mode). */
  onListening?: (socket: string) => void;
}

/** Idle exit from `MOSAIC_BACKLOG_IDLE_EXIT` (seconds, 0 = never), else the default. */
export function idleExitFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.MOSAIC_BACKLOG_IDLE_EXIT;
  if (raw === undefined || raw === '') return DEFAULT_IDLE_EXIT_SECONDS;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : DEFAULT_IDLE_EXIT_SECONDS;
}

/** Creates the run dir with mode 0700; an existing one of ours loses its group/other bits. */
export function ensureRunDir(runDir: string): void {
  ensureOwnerOnlyDir(runDir);
}

/**
 * Runs the server until idle exit or a signal. Resolves with the process exit code: 0 after a
 * clean shutdown, and also 0 when another live process already owns the data dir (the loser of
 * a start race exits quietly). Throws when PGlite cannot be opened or the socket cannot be bound.
 * Runs with umask 077 (restored on return): the data dir is 0700 and its files 0600, also those
 * initdb creates; an existing data dir is made owner-only on every open (lib/owner-only.ts).
 */
export async function runBacklogServer(paths: MosaicPaths, opts: BacklogServerOptions = {}): Promise<number> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${new Date().toISOString()} backlog-server[${process.pid}] ${line}\n`));
  // Owner-only from the start: every file PGlite's initdb and later writes create (WAL, catalog,
  // relation files) is 0600 and every dir 0700, and so is the socket. Kept for the server's life.
  const oldUmask = process.umask(0o077);
  try {
    return await serve(paths, opts, log);
  } finally {
    process.umask(oldUmask);
  }
}

/** The opened store: PGlite (closed on shutdown) and the service over it. */
interface OpenStore {
  pg: { close(): Promise<void> };
  service: BacklogService;
}

/**
 * Opens PGlite on `dataDir` with the server's memory settings (created first when missing: a
 * copy of the store template, or initdb in a child process; an existing dir made owner-only), applies migrations and wires
 * the service to the fleet's pause. Closes PGlite again when a later step fails. Throws the
 * cause (initdb's as an in-process open would throw it: backlog/pglite-open.ts).
 */
async function openStore(paths: MosaicPaths, log: (line: string) => void): Promise<OpenStore> {
  const dataDir = paths.backlogDataDir;
  const creating = !dataDirExists(dataDir);
  log(`${creating ? 'creating' : 'opening'} PGlite data dir ${dataDir}`);
  const [
    { PGlite },
    { drizzle },
    { migrateBacklog },
    { fleetBacklogService },
    { createDataDirApart, serverPgliteOptions, tuneWasmTieringForStore },
    { storeTemplateRoot },
  ] = await Promise.all([
    import('@electric-sql/pglite'),
    import('drizzle-orm/pglite'),
    import('./migrate.js'),
    import('./service.js'),
    import('./pglite-open.js'),
    import('./store-template.js'),
  ]);
  tuneWasmTieringForStore();
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // An existing dir made by an older version (0755 dir, 0666 files) is closed on every open.
  const tightened = tightenTree(dataDir);
  if (tightened) log(`made ${tightened} entries of ${dataDir} owner-only`);
  if (creating) {
    // A copy of the store template, or initdb in a child process: its ~600 MB peak leaves with
    // it (backlog/pglite-open.ts, backlog/store-template.ts).
    const startParams = serverPgliteOptions(PGlite.defaultStartParams).startParams ?? [];
    const made = await createDataDirApart(dataDir, { startParams, templateRoot: storeTemplateRoot(), log });
    if (made.source === 'template') log(`created the store from the store template ${made.template}`);
    else {
      log(`created the store in a child process (its peak RSS ${made.peakRssKb === null ? 'unknown' : `${Math.round(made.peakRssKb / 1024)} MB`})`);
      if (made.migrations.length) log(`applied migrations ${made.migrations.join(', ')}`);
    }
  }
  const pg = new PGlite(dataDir, serverPgliteOptions(PGlite.defaultStartParams));
  try {
    await pg.waitReady;
    tightenTree(dataDir);
    const db = drizzle(pg);
    const applied = await migrateBacklog(db);
    if (applied.length) log(`applied migrations ${applied.join(', ')}`);
    return { pg, service: fleetBacklogService(db, paths.runDir) };
  } catch (error) {
    await pg.close().catch(() => {});
    throw error;
  }
}

/** Runs requests one at a time, in arrival order; claims remembered by request id. */
interface RequestQueue {
  /** Runs `request` after those before it; never rejects (failures become error responses). */
  run(request: BacklogRequest): Promise<BacklogResponse>;
  /** Resolves once every queued request has finished. */
  drained(): Promise<void>;
}

/**
 * The server's request queue over `service`: `ping` answered with pid, data dir, start time
 * and request count; every verb run on the service. A BacklogError goes back as is; any other
 * failure as 'internal' with its cause in one line — never the SQL or its parameters (card data).
 * A claim repeated with its request id gets the first reply; a mismatched replay is refused.
 */
function requestQueue(service: BacklogService, dataDir: string): RequestQueue {
  const startedAt = new Date().toISOString();
  let requests = 0;
  let queue: Promise<unknown> = Promise.resolve();
  const execute = (request: BacklogRequest): Promise<BacklogResponse> => {
    const run = async (): Promise<BacklogResponse> => {
      requests += 1;
      try {
        if (request.method === 'ping') {
          const reply: PingReply = { pid: process.pid, dataDir, startedAt, requests };
          return { id: request.id, ok: true, result: reply };
        }
        const method = service[request.method as Exclude<BacklogRequest['method'], 'ping' | 'prove'>] as (arg: unknown) => Promise<unknown>;
        const result = await method.call(service, request.params ?? {});
        return { id: request.id, ok: true, result: result ?? null };
      } catch (error) {
        if (error instanceof BacklogError) return { id: request.id, ok: false, error: { code: error.code, message: error.message } };
        return { id: request.id, ok: false, error: { code: 'internal', message: `backlog server (data dir ${dataDir}): ${describeCause(error)}` } };
      }
    };
    const next = queue.then(run, run);
    queue = next.catch(() => {});
    return next;
  };
  const replays = new ClaimReplays();
  return {
    run: (request) => replays.run(request, execute),
    drained: () =>
      queue.then(
        () => {},
        () => {},
      ),
  };
}

/** An error response to a line that is no request (request id null when it has none). */
function refusal(id: number | null, message: string): BacklogResponse {
  return { id, ok: false, error: { code: 'invalid', message } };
}

/**
 * The response to one request line: refusals and `prove` at once (`prove` is never queued:
 * `backlog stop` must reach a server busy with a long command), every other method through
 * `queue`.
 */
function answerLine(line: string, lockToken: string, queue: RequestQueue): BacklogResponse | Promise<BacklogResponse> {
  let request: BacklogRequest;
  try {
    request = JSON.parse(line) as BacklogRequest;
  } catch {
    return refusal(null, 'request is not JSON');
  }
  if (!isBacklogMethod(request?.method) || typeof request.id !== 'number') {
    return refusal(typeof request?.id === 'number' ? request.id : null, `unknown backlog command ${JSON.stringify(request?.method)}`);
  }
  if (request.method !== 'prove') return queue.run(request);
  const nonce = (request.params as { nonce?: unknown } | undefined)?.nonce;
  if (typeof nonce !== 'string' || nonce.length < 16 || nonce.length > 200) return refusal(request.id, 'prove needs a nonce of 16 to 200 characters');
  return { id: request.id, ok: true, result: { pid: process.pid, proof: lockProof(lockToken, nonce) } satisfies ProveReply };
}

/** Serves one client connection: the hello, then one response line per request line. */
function serveConnection(conn: net.Socket, hello: BacklogHello, lockToken: string, queue: RequestQueue): void {
  conn.setEncoding('utf8');
  conn.write(JSON.stringify(hello) + '\n');
  const splitter = new LineSplitter();
  conn.on('data', (chunk: string) => {
    let lines: string[];
    try {
      lines = splitter.push(chunk);
    } catch (error) {
      conn.end(JSON.stringify(refusal(null, messageOf(error))) + '\n');
      return;
    }
    for (const line of lines) {
      const answer = answerLine(line, lockToken, queue);
      if (!(answer instanceof Promise)) conn.write(JSON.stringify(answer) + '\n');
      else
        void answer.then((response) => {
          if (!conn.destroyed) conn.write(JSON.stringify(response) + '\n');
        });
    }
  });
  conn.on('error', () => {});
}

/** Throws when a live server (of another data dir) answers on `socketPath`; else removes the dead server's socket file left there. */
async function takeSocketPath(socketPath: string): Promise<void> {
  // We hold our data dir's lock, but a server of ANOTHER data dir may serve this run dir's
  // socket: never take a live socket over (its clients would reach the wrong store).
  const other = await socketHello(socketPath);
  if (other && other.pid !== process.pid) {
    throw new Error(
      `${socketPath} is served by live backlog server pid ${other.pid}${other.dataDir ? ` for data dir ${other.dataDir.realpath}` : ''}: stop it (\`PGLITE_DATA_DIR=… mosaic-top backlog stop\`) or give each data dir its own --mosaic-home`,
    );
  }
  // Nobody answers: the socket file left here belongs to a dead server.
  fs.rmSync(socketPath, { force: true });
}

/** Binds `server` to `socketPath` (mode 0600). */
async function listenOn(server: net.Server, socketPath: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  fs.chmodSync(socketPath, 0o600);
}

/** A lock on the data dir, as {@link acquireDataDirLock} grants it. */
type HeldLock = Extract<DataDirLockResult, { acquired: true }>;

/**
 * Takes the data dir: its lock (null when a live process owns it: the loser of a start race
 * exits quietly), then refuses a data dir another program has open and clears what lies at the
 * socket path. Releases the lock again when a check throws.
 */
async function claimDataDir(paths: MosaicPaths, log: (line: string) => void): Promise<HeldLock | null> {
  const dataDir = paths.backlogDataDir;
  const lock = await acquireDataDirLock(dataDir, { socket: paths.backlogSocket });
  if (!lock.acquired) {
    log(`data dir ${dataDir} is owned by live pid ${lock.holder.pid} (socket ${lock.holder.socket ?? '?'}); exiting`);
    return null;
  }
  if (lock.takenOverFrom) log(`took over the lock of dead pid ${lock.takenOverFrom.pid}`);
  try {
    const { dataDirInUseReason } = await import('./datadir-users.js');
    const inUse = dataDirInUseReason(dataDir);
    if (inUse) throw new Error(inUse);
    clearSocketPath(paths.backlogSocket);
  } catch (error) {
    await lock.release().catch(() => {});
    throw error;
  }
  return lock;
}

/** The listening server's life: connections, the idle timer, and one shutdown. */
class ServerLife {
  private shuttingDown = false;
  private idleTimer: NodeJS.Timeout | null = null;
  private readonly connections = new Set<net.Socket>();
  private resolveDone: (code: number) => void = () => {};
  /** Resolves with the exit code once shut down. */
  readonly done = new Promise<number>((resolve) => (this.resolveDone = resolve));
  readonly server: net.Server;

  constructor(
    private readonly ctx: { socketPath: string; idleMs: number; store: OpenStore; lock: HeldLock; log: (line: string) => void },
    private readonly queue: RequestQueue,
    hello: BacklogHello,
  ) {
    this.server = net.createServer((conn) => {
      // A connection that races our shutdown gets no hello: its client retries elsewhere.
      if (this.shuttingDown) {
        conn.destroy();
        return;
      }
      this.connections.add(conn);
      this.armIdle();
      serveConnection(conn, hello, ctx.lock.token, queue);
      conn.on('close', () => {
        this.connections.delete(conn);
        this.armIdle();
      });
    });
  }

  /** (Re)starts the idle timer while no client is connected (idle exit 0 = never). */
  armIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    const { idleMs } = this.ctx;
    if (idleMs > 0 && this.connections.size === 0 && !this.shuttingDown) {
      this.idleTimer = setTimeout(() => void this.shutdown(`idle for ${idleMs / 1000} s`), idleMs);
    }
  }

  /** Stops accepting, finishes the request in progress, closes PGlite, removes the socket, releases the lock; resolves {@link done} with 0. */
  async shutdown(why: string): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    const { log, store, socketPath, lock } = this.ctx;
    log(`shutting down (${why})`);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.server.close();
    for (const c of this.connections) c.end();
    await this.queue.drained();
    for (const c of this.connections) c.destroy();
    try {
      await store.pg.close();
    } catch (error) {
      log(`closing PGlite failed: ${messageOf(error)}`);
    }
    try {
      if (fs.lstatSync(socketPath).isSocket()) fs.rmSync(socketPath, { force: true });
    } catch {
      /* already gone */
    }
    await lock.release().catch(() => {});
    log('stopped');
    this.resolveDone(0);
  }
}

/** Serves the store until a signal or idle exit; resolves the exit code. Throws when the socket cannot be taken or bound. */
async function serveStore(paths: MosaicPaths, opts: BacklogServerOptions, ctx: ConstructorParameters<typeof ServerLife>[0]): Promise<number> {
  const dataDir = paths.backlogDataDir;
  // Sent in every hello: a client newer than this server says so (backlog/client/identity.ts staleServerWarning),
  // and a client for another data dir refuses this server (backlog/client/embedded.ts dataDirMismatch).
  const hello: BacklogHello = {
    hello: BACKLOG_PROTOCOL,
    pid: process.pid,
    version: packageVersion(),
    root: packageRoot(),
    startedAtMs: CODE_LOADED_AT_MS,
    dataDir: dataDirIdentity(dataDir) ?? undefined,
  };
  const life = new ServerLife(ctx, requestQueue(ctx.store.service, dataDir), hello);
  const onSignal = (signal: NodeJS.Signals): void => void life.shutdown(signal);
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
  for (const signal of signals) process.once(signal, onSignal);
  try {
    await takeSocketPath(ctx.socketPath);
    await listenOn(life.server, ctx.socketPath);
  } catch (error) {
    life.server.close();
    for (const signal of signals) process.removeListener(signal, onSignal);
    throw error;
  }
  ctx.log(`serving ${ctx.socketPath} (idle exit ${ctx.idleMs ? `${ctx.idleMs / 1000} s` : 'never'})`);
  opts.onListening?.(ctx.socketPath);
  life.armIdle();
  const code = await life.done;
  for (const signal of signals) process.removeListener(signal, onSignal);
  return code;
}

async function serve(paths: MosaicPaths, opts: BacklogServerOptions, log: (line: string) => void): Promise<number> {
  const idleMs = Math.max(0, (opts.idleExitSeconds ?? idleExitFromEnv()) * 1000);
  const dataDir = paths.backlogDataDir;
  const socketPath = paths.backlogSocket;
  ensureRunDir(path.dirname(socketPath));
  fs.mkdirSync(path.dirname(dataDir), { recursive: true, mode: 0o700 });
  const lock = await claimDataDir(paths, log);
  if (!lock) return 0;
  let store: OpenStore | null = null;
  try {
    store = await openStore(paths, log);
    return await serveStore(paths, opts, { socketPath, idleMs, store, lock, log });
  } catch (error) {
    if (store) await store.pg.close().catch(() => {});
    await lock.release().catch(() => {});
    // One line with the cause (ENOSPC from PGlite's file system is an object, not an Error).
    throw new Error(messageOf(error, `backlog server for data dir ${dataDir}`), { cause: error });
  }
}

/**
 * Checks what lies at the socket path before the (slow) PGlite open: a socket is dealt with at
 * bind time (a live one is never taken over); a FIFO, a regular file or a symlink planted there
 * is removed (only a socket belongs there; an agent can write the run dir); a directory is
 * refused with one line — never removed recursively. Throws the refusal.
 */
function clearSocketPath(socketPath: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(socketPath);
  } catch {
    return;
  }
  if (st.isSocket()) return;
  if (st.isDirectory()) throw new Error(`${socketPath} is a directory, not a socket: remove it (\`rmdir ${socketPath}\`) and retry`);
  fs.rmSync(socketPath, { force: true });
}

/**
 * The hello of a live server on `socketPath`, or null when nobody answers within `timeoutMs`
 * (no socket, a stale one, a silent listener). Never throws.
 */
function socketHello(socketPath: string, timeoutMs = 1500): Promise<BacklogHello | null> {
  return new Promise((resolve) => {
    const conn = net.createConnection(socketPath);
    let buffered = '';
    const done = (hello: BacklogHello | null): void => {
      clearTimeout(timer);
      conn.destroy();
      resolve(hello);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    conn.setEncoding('utf8');
    conn.on('data', (chunk: string) => {
      buffered += chunk;
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      try {
        const hello = JSON.parse(buffered.slice(0, nl)) as BacklogHello;
        done(hello?.hello === BACKLOG_PROTOCOL && typeof hello.pid === 'number' ? hello : null);
      } catch {
        done(null);
      }
    });
    conn.on('error', () => done(null));
    conn.on('close', () => done(null));
  });
}
