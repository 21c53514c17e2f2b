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
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { maskCredentials, maskDatabaseUrl, type MosaicPaths } from '../lib/paths.js';
import { packageRoot, packageVersion } from '../lib/version.js';
import { ensureOwnerOnlyDir } from '../lib/owner-only.js';
import { describeCause, messageOf, rootCause } from '../lib/errors.js';
import { openBoundedForWrite, readBoundedFile } from '../lib/bounded-read.js';
import {
  BACKLOG_PROTOCOL,
  LineSplitter,
  type BacklogHello,
  type DataDirIdentity,
  type BacklogMethod,
  type BacklogResponse,
  type PingReply,
  type ProveReply,
} from './protocol.js';
import { dataDirIdentity, isHolderAlive, lockPathFor, lockProof, readDataDirLock, readProcessStat, type DataDirLockHolder } from './lock.js';
import { BacklogError, type OpenBacklogOptions } from './types.js';
import { verbsFrom, type BacklogClient, type BacklogVerb } from './verbs.js';
import { delay } from '../lib/delay.js';
import { flattenLine, stripControls } from '../lib/sanitize.js';

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * Per-request deadline, ms: `MOSAIC_BACKLOG_TIMEOUT` (seconds) when set to a positive number,
 * else 30 000. Applies to both tiers (a socket request; a Postgres statement, lock wait and query).
 */
export function requestTimeoutFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.MOSAIC_BACKLOG_TIMEOUT);
  return env.MOSAIC_BACKLOG_TIMEOUT && Number.isFinite(n) && n > 0 ? Math.round(n * 1000) : DEFAULT_REQUEST_TIMEOUT_MS;
}

/** Verbs that change the backlog: a timed-out one may still be applied. */
const MUTATING: ReadonlySet<string> = new Set(['create', 'claim', 'renew', 'reclaim', 'link', 'block', 'unblock', 'complete', 'recordEvent', 'importGoals']);

/** `30 s`, `2.5 s`: a deadline in ms as operators read it. */
function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/**
 * The message of a request that got no answer within its deadline: for a verb that changes
 * the backlog, that it may still be applied and how to check (`backlog show --id`, or a claim
 * retried with its request id); for a read, that the server may be stopped or hung, and
 * `readFix` (default: `backlog stop` the embedded server). Pure.
 */
export function requestTimeoutMessage(
  method: string,
  params: unknown,
  timeoutMs: number,
  peer: string,
  readFix = 'run `mosaic-top backlog stop` and retry',
): string {
  const p = (params ?? {}) as { id?: unknown; requestId?: unknown; from?: unknown };
  const id = typeof p.id === 'string' ? p.id : typeof p.from === 'string' ? p.from : null;
  if (!MUTATING.has(method)) return `${method}: no answer from ${peer} within ${seconds(timeoutMs)}; it may be stopped or hung — ${readFix}`;
  const check = id
    ? `check \`mosaic-top backlog show --id ${id}\``
    : method === 'claim'
      ? 'check `mosaic-top backlog list --status claimed`'
      : 'check `mosaic-top backlog events`';
  const retry =
    method === 'claim' && typeof p.requestId === 'string'
      ? `, or repeat the claim with --request-id ${p.requestId} (it returns that claim's result, never a second card)`
      : '';
  return `${method} sent to ${peer}, no answer within ${seconds(timeoutMs)}: it may have been applied — ${check}${retry}`;
}
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
  /** The server's pid (from its hello) and its socket, for messages. */
  private readonly serverPid: number;
  private readonly socketPath: string;

  constructor(
    private readonly socket: net.Socket,
    hello: BacklogHello,
    readonly location: string,
    private readonly requestTimeoutMs: number,
    private readonly signal?: AbortSignal,
    socketPath?: string,
  ) {
    this.serverWarning = staleServerWarning(hello, ourIdentity());
    this.serverPid = hello.pid;
    this.socketPath = socketPath ?? 'its socket';
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
    socket.on('close', () =>
      this.failAll(new BacklogError('unavailable', 'backlog server connection lost before the reply (the request may or may not have been applied)')),
    );
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
        reject(
          new BacklogError(
            'timeout',
            requestTimeoutMessage(method, params, this.requestTimeoutMs, `backlog server pid ${this.serverPid} on ${this.socketPath}`),
          ),
        );
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

/**
 * The embedded tier's client: every verb is one request on the connection. Every claim carries
 * a request id (the caller's `requestId`, else a random one): the server remembers its reply,
 * so a repeat with it never claims a second card.
 */
function socketClient(conn: BacklogConnection): BacklogClient {
  const withRequestId = (input: unknown): unknown => {
    const claim = (input ?? {}) as { requestId?: string };
    return { ...claim, requestId: claim.requestId ?? `rq-${randomBytes(6).toString('hex')}` };
  };
  return {
    tier: 'embedded',
    location: conn.location,
    serverWarning: conn.serverWarning,
    close: () => conn.close(),
    ...verbsFrom((verb, input) => conn.call(verb, verb === 'claim' ? withRequestId(input) : input)),
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

/** Why {@link tryConnect} got no hello: nobody listens, or a listener that stayed silent or closed. */
let lastConnectFailure: 'absent' | 'silent' | 'closed' = 'absent';

/**
 * Tries one connection to the socket and waits for the server's hello line; resolves the socket
 * and the hello. Resolves null when nobody listens (absent or stale socket), or the connection
 * closes or stays silent for `helloTimeoutMs` before the hello (a server that is exiting, or a
 * stopped/hung one: {@link lastConnectFailure} says which): no request was sent on it.
 */
function tryConnect(socketPath: string, helloTimeoutMs = HELLO_TIMEOUT_MS): Promise<{ socket: net.Socket; hello: BacklogHello } | null> {
  return new Promise((resolve) => {
    const socket = net.createConnection(socketPath);
    let buffered = '';
    let settled = false;
    let connected = false;
    const fail = (why: 'silent' | 'closed'): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      lastConnectFailure = connected ? why : 'absent';
      resolve(null);
    };
    const timer = setTimeout(() => fail('silent'), helloTimeoutMs);
    socket.setEncoding('utf8');
    socket.once('connect', () => (connected = true));
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
      if (!hello || hello.hello !== BACKLOG_PROTOCOL) return fail('closed');
      settled = true;
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      resolve({ socket, hello });
    };
    const onError = (): void => fail('closed');
    const onClose = (): void => fail('closed');
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}

/** Deadline of a server's hello after connecting, ms: a live server writes it at once. */
export const HELLO_TIMEOUT_MS = 3000;

/**
 * The error for a backlog server that accepts connections but sends no hello: stopped (state
 * T in /proc) or hung. Names the pid, the socket and what to do.
 */
function silentServerError(paths: MosaicPaths, holder: DataDirLockHolder | null): BacklogError {
  const state = holder ? readProcessStat(holder.pid)?.state : undefined;
  const who = holder ? `backlog server pid ${holder.pid}` : 'the backlog server';
  const what = state === 'T' || state === 't' ? 'is stopped (SIGSTOP)' : `accepted the connection but sent no hello within ${HELLO_TIMEOUT_MS / 1000} s (hung)`;
  const fix = holder
    ? state === 'T' || state === 't'
      ? `\`kill -CONT ${holder.pid}\` to resume it, or \`mosaic-top backlog stop\``
      : `\`mosaic-top backlog stop\` (or \`kill ${holder.pid}\`) and retry`
    : '`mosaic-top backlog stop` and retry';
  return new BacklogError('unavailable', `${who} on ${paths.backlogSocket} ${what}: ${fix}`);
}

/**
 * Spawns `node <pkg>/bin/mosaic-top --mosaic-home <home> backlog serve --idle-exit N` detached,
 * stdio to `<run>/backlog-server.log`. Returns the child (already unref'd).
 */
export function spawnBacklogServer(paths: MosaicPaths, idleExitSeconds?: number): { pid: number | undefined; exited: () => boolean } {
  const logFile = path.join(paths.runDir, 'backlog-server.log');
  let fd: number;
  try {
    ensureOwnerOnlyDir(paths.runDir);
    // The one bounded open: a FIFO, a device or a directory planted as the log is refused, never blocks.
    fd = openBoundedForWrite(logFile, { append: true, mode: 0o600, noFollow: true });
  } catch (error) {
    throw new BacklogError('unavailable', `cannot start the backlog server: ${messageOf(error, logFile)} — fix or remove it and retry`);
  }
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

/** The last non-empty line of a log (its last 4 KiB, through the bounded reader, control characters dropped), `<log>: <line>`; null when empty or unreadable. */
function lastLogLine(log: string): string | null {
  try {
    const read = readBoundedFile(log, { maxBytes: 4096, tail: true, noFollow: true });
    if (!read) return null;
    const line = read.bytes
      .toString('utf8')
      .split('\n')
      .map((l) => stripControls(l).trim())
      .filter(Boolean)
      .pop();
    return line ? `${log}: ${line.slice(0, 300)}` : null;
  } catch {
    return null;
  }
}

/** Causes a restart cannot cure: a server that exited with one of these in its log is not started again. */
const FATAL_START_CAUSE = /\((ENOSPC|EDQUOT|EROFS|EACCES|EPERM)\b|is served by live backlog server|is a directory, not a socket/;

/**
 * The data dir an older server (whose hello names none) reports in its `ping` reply, identified
 * here (realpath, `dev:ino`; `id` `?` when that path does not exist for us); undefined when it
 * does not answer `ping` with one.
 */
async function pingedDataDir(conn: BacklogConnection): Promise<DataDirIdentity | undefined> {
  const ping = await conn.call<PingReply | null>('ping').catch(() => null);
  if (!ping || typeof ping.dataDir !== 'string') return undefined;
  return dataDirIdentity(ping.dataDir) ?? { realpath: ping.dataDir, id: '?' };
}

/** Throws the one-line error of a server that exited on a {@link FATAL_START_CAUSE} (its log's last line); returns otherwise. */
function incurableStartCheck(paths: MosaicPaths): void {
  const line = lastLogLine(path.join(paths.runDir, 'backlog-server.log'));
  if (line && FATAL_START_CAUSE.test(line)) throw new BacklogError('unavailable', `backlog server failed to start: ${line}`);
}

/**
 * Refuses a server that does not serve the data dir this client asked for (two data dirs,
 * one run dir, one socket): the server's hello names its data dir's realpath and `dev:ino`
 * ({@link dataDirIdentity}); ours must be the same directory. A server that names none
 * (older code) and does not report one in `ping` either is refused too: it cannot prove which
 * store it serves. Returns the refusal, or
 * null when the server serves our data dir. `ours`: our data dir's identity (null when it does not exist).
 */
export function dataDirMismatch(hello: BacklogHello, dataDir: string, ours: DataDirIdentity | null, socketPath: string): string | null {
  const theirs = hello.dataDir;
  if (theirs && ours && theirs.id === ours.id) return null;
  const what = theirs
    ? `serves data dir ${theirs.realpath}, not ${dataDir}`
    : `does not say which data dir it serves (older mosaic-top), and ${dataDir} was asked for`;
  const stop = theirs
    ? `\`PGLITE_DATA_DIR=${flattenLine(theirs.realpath, 200)} mosaic-top backlog stop\``
    : '`mosaic-top backlog stop` with its PGLITE_DATA_DIR';
  return `backlog server pid ${hello.pid} on ${socketPath} ${what}: nothing was read or changed — stop it (${stop}) or give each data dir its own --mosaic-home`;
}

/**
 * Connects to the embedded backlog server, starting it when nobody answers. With `create:
 * false` and no data dir yet, throws BacklogError('absent') instead of creating one. Throws
 * 'timeout' when no server answers within `startTimeoutMs`.
 */
async function openEmbedded(paths: MosaicPaths, opts: OpenBacklogOptions): Promise<BacklogClient> {
  const requestTimeoutMs = opts.requestTimeoutMs ?? requestTimeoutFromEnv();
  const make = async (c: { socket: net.Socket; hello: BacklogHello }, socketPath = paths.backlogSocket): Promise<BacklogClient> => {
    const conn = new BacklogConnection(c.socket, c.hello, paths.backlogDataDir, requestTimeoutMs, opts.signal, socketPath);
    const refusal = dataDirMismatch(
      { ...c.hello, dataDir: c.hello.dataDir ?? (await pingedDataDir(conn)) },
      paths.backlogDataDir,
      dataDirIdentity(paths.backlogDataDir),
      socketPath,
    );
    if (refusal) {
      await conn.close();
      throw new BacklogError('unavailable', refusal);
    }
    return socketClient(conn);
  };

  const first = await tryConnect(paths.backlogSocket);
  if (first) return make(first);
  // A listener that stays silent is a stopped or hung server: say so now, do not wait a minute for it.
  let silentHolder = lastConnectFailure === 'silent' ? readDataDirLock(paths.backlogDataDir) : null;
  if (lastConnectFailure === 'silent' && silentHolder && isHolderAlive(silentHolder)) {
    const state = readProcessStat(silentHolder.pid)?.state;
    if (state === 'T' || state === 't') throw silentServerError(paths, silentHolder);
  }
  const { dataDirExists, idleExitFromEnv } = await import('./server.js');
  if (opts.create === false && !dataDirExists(paths.backlogDataDir)) {
    throw new BacklogError(
      'absent',
      `no backlog yet at ${paths.backlogDataDir} (a read-only command does not create one; \`backlog create\` or \`backlog import\` does)`,
    );
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
    // Our server exited on a cause a restart cannot cure (a full disk, a read-only dir): say it now.
    if (!holderAlive && spawned?.exited()) incurableStartCheck(paths);
    if (!holderAlive && (spawned === null || spawned.exited()) && spawns < 3) {
      // Another program (upstream's CLI opens PGlite in-process) has the data dir open: say so
      // instead of starting a server that would refuse it (or, worse, share it).
      const { dataDirInUseReason } = await import('./datadir-users.js');
      const inUse = dataDirExists(paths.backlogDataDir) ? dataDirInUseReason(paths.backlogDataDir) : null;
      if (inUse) throw new BacklogError('unavailable', inUse);
      if (!announced && !dataDirExists(paths.backlogDataDir)) {
        progress(`mosaic-top: creating backlog data dir ${paths.backlogDataDir} … (first run, ~5 s)`);
        announced = true;
      }
      spawned = spawnBacklogServer(paths, idleExitFromEnv());
      spawns += 1;
    }
    const socketPath = holderAlive && holder?.socket ? holder.socket : paths.backlogSocket;
    const connected = await tryConnect(socketPath);
    if (connected) return make(connected, socketPath);
    // A live holder that is not our fresh child and does not answer: say so now (README: 30 s), not after a minute.
    const unserved = holderAlive && holder.pid !== spawned?.pid && lastConnectFailure === 'absent' ? unservedLockRefusal(paths, holder, Date.now()) : null;
    if (unserved) throw new BacklogError('unavailable', unserved);
    if (lastConnectFailure === 'silent' && holderAlive) {
      // Silent twice (the first try above, or once here after a spawn): stopped or hung.
      if (silentHolder?.pid === holder?.pid) throw silentServerError(paths, holder);
      silentHolder = holder;
    }
    const holderNow = readDataDirLock(paths.backlogDataDir);
    const log = path.join(paths.runDir, 'backlog-server.log');
    if (spawns >= 3 && spawned?.exited() && !(holderNow && isHolderAlive(holderNow))) {
      throw new BacklogError(
        'unavailable',
        `backlog server failed to start ${spawns} times: ${lastLogLine(log) ?? `${log} is empty (a full disk? \`df ${paths.runDir}\`)`}`,
      );
    }
    await delay(pause, opts.signal);
    pause = Math.min(pause * 1.5, 200);
  }
  const holder = readDataDirLock(paths.backlogDataDir);
  const who = holder && isHolderAlive(holder) ? ` (data dir locked by live pid ${holder.pid})` : '';
  throw new BacklogError('timeout', `backlog server did not come up on ${paths.backlogSocket}${who}; see ${path.join(paths.runDir, 'backlog-server.log')}`);
}

/** How long a live lock holder may take from taking the lock to serving its socket (initdb on a slow disk), ms. */
export const HOLDER_START_GRACE_MS = 20_000;

/**
 * The refusal for a data dir whose lock is held by a live process that does not serve its
 * socket, or null while it may still be starting (its lock is younger than
 * {@link HOLDER_START_GRACE_MS} at `nowMs`). Names the pid, what it runs, since when, and the fix.
 */
export function unservedLockRefusal(paths: MosaicPaths, holder: DataDirLockHolder, nowMs: number): string | null {
  const since = Date.parse(holder.acquiredAt);
  if (Number.isFinite(since) && nowMs - since < HOLDER_START_GRACE_MS && since <= nowMs) return null;
  let what = '';
  try {
    const argv = fs.readFileSync(`/proc/${holder.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    if (argv.length) what = ` (${flattenLine(argv.join(' '), 80)})`;
  } catch {
    // /proc unavailable: the pid alone.
  }
  const socket = holder.socket ?? paths.backlogSocket;
  return `backlog data dir ${paths.backlogDataDir} is locked by live pid ${holder.pid}${what} since ${flattenLine(String(holder.acquiredAt), 40)}, which does not serve ${socket}: stop that process (\`kill ${holder.pid}\`) or wait for it, then retry`;
}

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
 * `startMs`: connect timeout, ms (default 10 000). Pure.
 */
export function serverTierTimeouts(requestMs: number, startMs = 10_000): ServerTierTimeouts {
  return {
    requestMs,
    statementMs: Math.max(500, requestMs - 1000),
    lockMs: Math.max(250, Math.floor(requestMs / 2)),
    connectSeconds: Math.max(1, Math.ceil(startMs / 1000)),
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
        settle(() =>
          reject(
            new BacklogError(
              'timeout',
              requestTimeoutMessage(method, params, this.timeouts.requestMs, this.location, 'is Postgres running and reachable? retry when it is'),
            ),
          ),
        );
      }, this.timeouts.requestMs);
      const onAbort = (): void => {
        this.timedOut = true;
        settle(() => reject(abortError(this.signal)));
      };
      this.signal?.addEventListener('abort', onAbort, { once: true });
      fn().then(
        (value) => settle(() => resolve(value)),
        (error) =>
          settle(() => {
            if (error instanceof BacklogError) reject(error);
            else {
              const cause = rootCause(error) as { code?: string };
              const code = cause?.code === '55P03' || cause?.code === '57014' || cause?.code === 'CONNECT_TIMEOUT' ? 'timeout' : 'unavailable';
              reject(new BacklogError(code, serverTierErrorMessage(method, error, this.location, this.timeouts)));
            }
          }),
      );
    });
  }
}

/** The service in this process (server tier), behind the same interface as the socket client; every verb bounded by `requests`. */
function inProcessClient(
  service: import('./service.js').BacklogService,
  requests: ServerTierRequests,
  end: (timedOut: boolean) => Promise<void>,
): BacklogClient {
  const run = (verb: BacklogVerb, input: unknown): Promise<unknown> =>
    requests.wrap(verb, verb === 'importGoals' ? {} : input, () => (service[verb] as (input: unknown) => Promise<unknown>).call(service, input));
  // The server tier has no backlog server that could run older code: no serverWarning.
  return { tier: 'server', location: requests.location, serverWarning: null, close: () => end(requests.timedOut), ...verbsFrom(run) };
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
async function openServerTier(paths: MosaicPaths, databaseUrl: string, opts: OpenBacklogOptions): Promise<BacklogClient> {
  const [{ default: postgres }, { drizzle }, { migrateBacklog, backlogTablesExist, pendingMigrations }, { fleetBacklogService }] = await Promise.all([
    import('postgres'),
    import('drizzle-orm/postgres-js'),
    import('./migrate.js'),
    import('./service.js'),
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
  // Opening runs under the same bounds as a request.
  const requests = new ServerTierRequests(location, timeouts, opts.signal);
  try {
    // Opening is one more request under the same deadline (a stopped Postgres accepts TCP and says nothing).
    await requests.wrap('connect', {}, async () => {
      if (opts.create === false) {
        if (!(await backlogTablesExist(db)))
          throw new BacklogError(
            'absent',
            `no backlog table in ${location} (a read-only command does not create it; \`backlog create\` or \`backlog import\` does)`,
          );
        // A read-only verb never migrates; on an older schema its queries would fail with raw SQL errors.
        const pending = await pendingMigrations(db);
        if (pending.length)
          throw new BacklogError(
            'absent',
            `this store needs migrating: run \`mosaic-top backlog migrate\` (${location} lacks migration ${pending.join(', ')}; a read-only command does not change it)`,
          );
      } else {
        await migrateBacklog(db);
      }
    });
    const service = fleetBacklogService(db, paths.runDir);
    return inProcessClient(service, requests, end);
  } catch (error) {
    await end(requests.timedOut || (error instanceof BacklogError && error.code === 'timeout'));
    throw error;
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

/** Outcome of {@link proveHolder}. */
export type HolderProof = 'proven' | 'refuted' | 'no-answer';

/**
 * Asks the process on the lock's socket to prove the lock's token (protocol `prove`, a fresh
 * random nonce): `proven` when the hello names the lock's pid and the proof matches; `refuted`
 * when something else answers (another pid, a wrong proof, no token in the lock); `no-answer`
 * when nothing answers within `timeoutMs` (ms; a stopped or hung server, or no socket).
 */
export async function proveHolder(holder: DataDirLockHolder, socketPath: string, timeoutMs = 2000): Promise<HolderProof> {
  if (!holder.token) return 'refuted';
  const connected = await tryConnect(holder.socket ?? socketPath, timeoutMs);
  if (!connected) return 'no-answer';
  if (connected.hello.pid !== holder.pid) {
    connected.socket.destroy();
    return 'refuted';
  }
  const client = new BacklogConnection(connected.socket, connected.hello, '', timeoutMs, undefined, holder.socket ?? socketPath);
  const nonce = randomBytes(16).toString('hex');
  try {
    const reply = await client.call<ProveReply>('prove', { nonce });
    return reply.pid === holder.pid && reply.proof === lockProof(holder.token, nonce) ? 'proven' : 'refuted';
  } catch (error) {
    return error instanceof BacklogError && error.code === 'timeout' ? 'no-answer' : 'refuted';
  } finally {
    await client.close();
  }
}

/** True when `/proc/<pid>/cmdline` is a `… backlog serve …` of mosaic-top run by this user (a server too stopped to prove its token). */
function looksLikeOurServer(pid: number): boolean {
  try {
    const st = fs.statSync(`/proc/${pid}`);
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) return false;
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const i = argv.indexOf('backlog');
    return i > 0 && argv[i + 1] === 'serve' && argv.some((a) => a.endsWith('mosaic-top'));
  } catch {
    return false;
  }
}

/**
 * Stops the embedded backlog server of `paths`' data dir gracefully: SIGTERM (and SIGCONT, in
 * case it was stopped) to the lock holder — ONLY when it is proven to be our server: its lock
 * names pid + start time + token, that pid still has that start time, and it proves the token on
 * its socket ({@link proveHolder}); a server too stopped or hung to answer must at least be a
 * `mosaic-top … backlog serve` of this user with the recorded start time. Then waits up to
 * `timeoutMs` (ms) for it to exit (it finishes the command in progress, closes PGlite, removes
 * its socket and lock). `pid` is null when none was running (no lock, or a dead holder's);
 * `refused` says why a live pid was not signalled. Never throws. Used by `backlog stop` and `demo down`.
 */
export async function stopEmbeddedServer(paths: MosaicPaths, timeoutMs = 10_000): Promise<{ pid: number | null; stopped: boolean; refused?: string }> {
  const holder = readDataDirLock(paths.backlogDataDir);
  if (!holder || !isHolderAlive(holder)) return { pid: null, stopped: false };
  const lockFile = lockPathFor(paths.backlogDataDir);
  if (!holder.token) {
    return {
      pid: holder.pid,
      stopped: false,
      refused: `the lock ${lockFile} names pid ${holder.pid} without a token: not proven to be a backlog server, not signalled (stop it yourself if it is one)`,
    };
  }
  const proof = await proveHolder(holder, paths.backlogSocket);
  if (proof === 'refuted') {
    return { pid: holder.pid, stopped: false, refused: `pid ${holder.pid} (named by ${lockFile}) did not prove the lock's token on its socket: not signalled` };
  }
  if (proof === 'no-answer' && !looksLikeOurServer(holder.pid)) {
    return {
      pid: holder.pid,
      stopped: false,
      refused: `pid ${holder.pid} (named by ${lockFile}) does not answer on its socket and is not a mosaic-top backlog server of this user: not signalled`,
    };
  }
  try {
    process.kill(holder.pid, 'SIGTERM');
    // A SIGSTOPped server would hold SIGTERM pending forever.
    process.kill(holder.pid, 'SIGCONT');
  } catch {
    return { pid: holder.pid, stopped: !isHolderAlive(holder) };
  }
  const deadline = Date.now() + timeoutMs;
  while (isHolderAlive(holder) && Date.now() < deadline) await delay(50);
  return { pid: holder.pid, stopped: !isHolderAlive(holder) };
}

/** Pings the embedded server without starting it: its pid and data dir, or null when none answers. */
export async function pingBacklogServer(paths: MosaicPaths, timeoutMs = 2000): Promise<PingReply | null> {
  const connected = await tryConnect(paths.backlogSocket);
  if (!connected) return null;
  const client = new BacklogConnection(connected.socket, connected.hello, paths.backlogDataDir, timeoutMs, undefined, paths.backlogSocket);
  try {
    return await client.call<PingReply>('ping');
  } catch {
    return null;
  } finally {
    await client.close();
  }
}
