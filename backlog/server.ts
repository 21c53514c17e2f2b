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
import { acquireDataDirLock } from './lock.js';
import { BACKLOG_PROTOCOL, isBacklogMethod, LineSplitter, type BacklogHello, type BacklogRequest, type BacklogResponse, type PingReply } from './protocol.js';
import { BacklogError } from './types.js';
import { packageRoot, packageVersion } from '../lib/version.js';

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

/** Creates the run dir with mode 0700 when absent (an existing dir keeps its mode). */
export function ensureRunDir(runDir: string): void {
  if (!fs.existsSync(runDir)) fs.mkdirSync(runDir, { recursive: true, mode: 0o700 });
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
 */
export async function runBacklogServer(paths: MosaicPaths, opts: BacklogServerOptions = {}): Promise<number> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${new Date().toISOString()} backlog-server[${process.pid}] ${line}\n`));
  const idleMs = Math.max(0, (opts.idleExitSeconds ?? idleExitFromEnv()) * 1000);
  const dataDir = paths.backlogDataDir;
  const socketPath = paths.backlogSocket;
  ensureRunDir(path.dirname(socketPath));
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });

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
    const client = new PGlite(dataDir);
    pg = client;
    await client.waitReady;
    const db = drizzle(client);
    const applied = await migrateBacklog(db);
    if (applied.length) log(`applied migrations ${applied.join(', ')}`);
    const service = fleetBacklogService(db, paths.runDir);
    const startedAt = new Date().toISOString();
    // Sent in every hello: a client newer than this server says so (backlog/client.ts staleServerWarning).
    const identity = { version: packageVersion(), root: packageRoot(), startedAtMs: CODE_LOADED_AT_MS };
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
          const method = service[request.method] as (arg: unknown) => Promise<unknown>;
          const result = await method.call(service, request.params ?? {});
          return { id: request.id, ok: true, result: result ?? null };
        } catch (error) {
          if (error instanceof BacklogError) return { id: request.id, ok: false, error: { code: error.code, message: error.message } };
          return { id: request.id, ok: false, error: { code: 'internal', message: (error as Error).message ?? String(error) } };
        }
      };
      const next = queue.then(run, run);
      queue = next.catch(() => {});
      return next;
    };

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
            conn.write(JSON.stringify({ id: typeof request?.id === 'number' ? request.id : null, ok: false, error: { code: 'invalid', message: `unknown backlog command ${JSON.stringify(request?.method)}` } }) + '\n');
            continue;
          }
          void execute(request).then((response) => {
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

    // We hold the lock, so any socket file left here belongs to a dead server.
    fs.rmSync(socketPath, { force: true });
    const oldUmask = process.umask(0o077);
    try {
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(socketPath, () => resolve());
      });
    } finally {
      process.umask(oldUmask);
    }
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
    throw error;
  }
}
