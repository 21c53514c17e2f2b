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
import { acquireDataDirLock, dataDirIdentity, lockProof } from './lock.js';
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
 * True when the PGlite data dir holds a database (its `PG_VERSION`): the lock file inside it
 * alone is not a store yet.
 */
export function dataDirExists(dataDir: string): boolean {
  return fs.existsSync(path.join(dataDir, 'PG_VERSION'));
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

async function serve(paths: MosaicPaths, opts: BacklogServerOptions, log: (line: string) => void): Promise<number> {
  const idleMs = Math.max(0, (opts.idleExitSeconds ?? idleExitFromEnv()) * 1000);
  const dataDir = paths.backlogDataDir;
  const socketPath = paths.backlogSocket;
  ensureRunDir(path.dirname(socketPath));
  fs.mkdirSync(path.dirname(dataDir), { recursive: true, mode: 0o700 });

  const lock = await acquireDataDirLock(dataDir, { socket: socketPath });
  if (!lock.acquired) {
    log(`data dir ${dataDir} is owned by live pid ${lock.holder.pid} (socket ${lock.holder.socket ?? '?'}); exiting`);
    return 0;
  }
  if (lock.takenOverFrom) log(`took over the lock of dead pid ${lock.takenOverFrom.pid}`);
  const { dataDirInUseReason } = await import('./datadir-users.js');
  const inUse = dataDirInUseReason(dataDir);
  if (inUse) {
    await lock.release().catch(() => {});
    throw new Error(inUse);
  }

  try {
    clearSocketPath(socketPath);
  } catch (error) {
    await lock.release().catch(() => {});
    throw error;
  }
  const firstRun = !dataDirExists(dataDir);
  let pg: { close(): Promise<void> } | null = null;
  let server: net.Server | null = null;
  try {
    log(`${firstRun ? 'creating' : 'opening'} PGlite data dir ${dataDir}`);
    const [{ PGlite }, { drizzle }, { migrateBacklog }, { fleetBacklogService }] = await Promise.all([
      import('@electric-sql/pglite'),
      import('drizzle-orm/pglite'),
      import('./migrate.js'),
      import('./service.js'),
    ]);
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // An existing dir made by an older version (0755 dir, 0666 files) is closed on every open.
    const tightened = tightenTree(dataDir);
    if (tightened) log(`made ${tightened} entries of ${dataDir} owner-only`);
    const client = new PGlite(dataDir);
    pg = client;
    await client.waitReady;
    tightenTree(dataDir);
    const db = drizzle(client);
    const applied = await migrateBacklog(db);
    if (applied.length) log(`applied migrations ${applied.join(', ')}`);
    const service = fleetBacklogService(db, paths.runDir);
    const startedAt = new Date().toISOString();
    // Sent in every hello: a client newer than this server says so (backlog/client.ts staleServerWarning),
    // and a client for another data dir refuses this server (backlog/client.ts dataDirMismatch).
    const identity = { version: packageVersion(), root: packageRoot(), startedAtMs: CODE_LOADED_AT_MS, dataDir: dataDirIdentity(dataDir) ?? undefined };
    let requests = 0;

    // Serialized execution: one command at a time, in arrival order.
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
          // Never the SQL or its parameters (card data): the cause (ENOSPC, …) in one line.
          return { id: request.id, ok: false, error: { code: 'internal', message: `backlog server (data dir ${dataDir}): ${describeCause(error)}` } };
        }
      };
      const next = queue.then(run, run);
      queue = next.catch(() => {});
      return next;
    };

    // Claims remembered by request id: a repeat gets the first reply, a mismatched replay is refused.
    const replays = new ClaimReplays();
    const executeOnce = (request: BacklogRequest): Promise<BacklogResponse> => replays.run(request, execute);

    let shuttingDown = false;
    let idleTimer: NodeJS.Timeout | null = null;
    const connections = new Set<net.Socket>();
    let resolveDone: (code: number) => void = () => {};
    const done = new Promise<number>((resolve) => (resolveDone = resolve));

    const shutdown = async (why: string): Promise<void> => {
      if (shuttingDown) return;
      shuttingDown = true;
      log(`shutting down (${why})`);
      if (idleTimer) clearTimeout(idleTimer);
      server?.close();
      for (const c of connections) c.end();
      await queue.catch(() => {});
      for (const c of connections) c.destroy();
      try {
        await client.close();
        pg = null;
      } catch (error) {
        log(`closing PGlite failed: ${(error as Error).message}`);
      }
      try {
        if (fs.lstatSync(socketPath).isSocket()) fs.rmSync(socketPath, { force: true });
      } catch {
        /* already gone */
      }
      await lock.release().catch(() => {});
      log('stopped');
      resolveDone(0);
    };

    const armIdle = (): void => {
      if (idleTimer) clearTimeout(idleTimer);
      idleTimer = null;
      if (idleMs > 0 && connections.size === 0 && !shuttingDown) {
        idleTimer = setTimeout(() => void shutdown(`idle for ${idleMs / 1000} s`), idleMs);
      }
    };

    const onSignal = (signal: NodeJS.Signals): void => void shutdown(signal);
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    process.once('SIGHUP', onSignal);

    server = net.createServer((conn) => {
      // A connection that races our shutdown gets no hello: its client retries elsewhere.
      if (shuttingDown) {
        conn.destroy();
        return;
      }
      connections.add(conn);
      armIdle();
      conn.setEncoding('utf8');
      const hello: BacklogHello = { hello: BACKLOG_PROTOCOL, pid: process.pid, ...identity };
      conn.write(JSON.stringify(hello) + '\n');
      const splitter = new LineSplitter();
      conn.on('data', (chunk: string) => {
        let lines: string[];
        try {
          lines = splitter.push(chunk);
        } catch (error) {
          conn.end(JSON.stringify({ id: null, ok: false, error: { code: 'invalid', message: (error as Error).message } }) + '\n');
          return;
        }
        for (const line of lines) {
          let request: BacklogRequest;
          try {
            request = JSON.parse(line) as BacklogRequest;
          } catch {
            conn.write(JSON.stringify({ id: null, ok: false, error: { code: 'invalid', message: 'request is not JSON' } }) + '\n');
            continue;
          }
          if (!isBacklogMethod(request?.method) || typeof request.id !== 'number') {
            conn.write(
              JSON.stringify({
                id: typeof request?.id === 'number' ? request.id : null,
                ok: false,
                error: { code: 'invalid', message: `unknown backlog command ${JSON.stringify(request?.method)}` },
              }) + '\n',
            );
            continue;
          }
          if (request.method === 'prove') {
            // Answered at once (not queued): `backlog stop` must reach a server busy with a long command.
            const nonce = (request.params as { nonce?: unknown } | undefined)?.nonce;
            const response: BacklogResponse =
              typeof nonce === 'string' && nonce.length >= 16 && nonce.length <= 200
                ? { id: request.id, ok: true, result: { pid: process.pid, proof: lockProof(lock.token, nonce) } satisfies ProveReply }
                : { id: request.id, ok: false, error: { code: 'invalid', message: 'prove needs a nonce of 16 to 200 characters' } };
            conn.write(JSON.stringify(response) + '\n');
            continue;
          }
          void executeOnce(request).then((response) => {
            if (!conn.destroyed) conn.write(JSON.stringify(response) + '\n');
          });
        }
      });
      conn.on('error', () => {});
      conn.on('close', () => {
        connections.delete(conn);
        armIdle();
      });
    });

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
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(socketPath, () => resolve());
    });
    fs.chmodSync(socketPath, 0o600);
    log(`serving ${socketPath} (idle exit ${idleMs ? `${idleMs / 1000} s` : 'never'})`);
    opts.onListening?.(socketPath);
    armIdle();
    const code = await done;
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGHUP', onSignal);
    return code;
  } catch (error) {
    server?.close();
    if (pg) await pg.close().catch(() => {});
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
