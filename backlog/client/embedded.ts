/**
 * The embedded tier's client: connects to the backlog server on `<run>/backlog.sock`; when
 * none answers, starts one (client/spawn.ts) and waits for its socket. Refuses, with one line
 * naming the pid and the fix, a server of another data dir, a stopped or hung server, and a
 * live lock holder that does not serve its socket.
 */
import fs from 'node:fs';
import type { MosaicPaths } from '../../lib/paths.js';
import { delay } from '../../lib/delay.js';
import { flattenLine } from '../../lib/sanitize.js';
import { dataDirIdentity, isHolderAlive, readDataDirLock, readProcessStat, type DataDirLockHolder } from '../lock.js';
import type { BacklogHello, DataDirIdentity, PingReply } from '../protocol.js';
import { BacklogError, type OpenBacklogOptions } from '../types.js';
import type { BacklogClient } from '../verbs.js';
import { abortError, requestTimeoutFromEnv } from './deadlines.js';
import { BacklogConnection, HELLO_TIMEOUT_MS, socketClient, tryConnect, type Connected, type NotConnected } from './socket.js';
import { incurableStartCheck, lastLogLine, serverLogPath, spawnBacklogServer, type SpawnedServer } from './spawn.js';
import { dataDirExists } from '../data-dir.js';

const DEFAULT_START_TIMEOUT_MS = 60_000;

/** How long a live lock holder may take from taking the lock to serving its socket (initdb on a slow disk), ms. */
export const HOLDER_START_GRACE_MS = 20_000;

/** True when `state` (from /proc/<pid>/stat) is a stopped process (SIGSTOP or traced). */
function isStopped(state: string | undefined): boolean {
  return state === 'T' || state === 't';
}

/**
 * The error for a backlog server that accepts connections but sends no hello: stopped (state
 * T in /proc) or hung. Names the pid, the socket and what to do.
 */
function silentServerError(paths: MosaicPaths, holder: DataDirLockHolder | null): BacklogError {
  const state = holder ? readProcessStat(holder.pid)?.state : undefined;
  const who = holder ? `backlog server pid ${holder.pid}` : 'the backlog server';
  const what = isStopped(state) ? 'is stopped (SIGSTOP)' : `accepted the connection but sent no hello within ${HELLO_TIMEOUT_MS / 1000} s (hung)`;
  const fix = holder
    ? isStopped(state)
      ? `\`kill -CONT ${holder.pid}\` to resume it, or \`mosaic-top backlog stop\``
      : `\`mosaic-top backlog stop\` (or \`kill ${holder.pid}\`) and retry`
    : '`mosaic-top backlog stop` and retry';
  return new BacklogError('unavailable', `${who} on ${paths.backlogSocket} ${what}: ${fix}`);
}

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

/** The client on a connected server, after checking it serves our data dir (else BacklogError('unavailable'), connection closed). */
async function clientOn(paths: MosaicPaths, opts: OpenBacklogOptions, c: Connected, socketPath: string): Promise<BacklogClient> {
  const requestTimeoutMs = opts.requestTimeoutMs ?? requestTimeoutFromEnv();
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
}

/** What the start loop of {@link openEmbedded} remembers between attempts. */
interface StartState {
  spawned: SpawnedServer | null;
  spawns: number;
  announced: boolean;
  /** The lock holder whose socket stayed silent last time: silent twice ⇒ stopped or hung. */
  silentHolder: DataDirLockHolder | null;
}

/** The server module's helpers, loaded when a start is needed (the connect path stays light). */
type ServerModule = Pick<typeof import('../server.js'), 'idleExitFromEnv'>;

/** Refuses at once what no start can cure: a read-only open of a missing store ('absent'), a socket path too long to bind. */
function refuseUnstartable(paths: MosaicPaths, opts: OpenBacklogOptions): void {
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
}

/** Starts a server when no live holder has the data dir and our last child (if any) exited, at most 3 times. */
async function spawnWhenNeeded(paths: MosaicPaths, opts: OpenBacklogOptions, state: StartState, holderAlive: boolean, server: ServerModule): Promise<void> {
  // Our server exited on a cause a restart cannot cure (a full disk, a read-only dir): say it now.
  if (!holderAlive && state.spawned?.exited()) incurableStartCheck(paths);
  if (holderAlive || (state.spawned !== null && !state.spawned.exited()) || state.spawns >= 3) return;
  // Another program (upstream's CLI opens PGlite in-process) has the data dir open: say so
  // instead of starting a server that would refuse it (or, worse, share it).
  const { dataDirInUseReason } = await import('../datadir-users.js');
  const inUse = dataDirExists(paths.backlogDataDir) ? dataDirInUseReason(paths.backlogDataDir) : null;
  if (inUse) throw new BacklogError('unavailable', inUse);
  if (!state.announced && !dataDirExists(paths.backlogDataDir)) {
    const progress = opts.onProgress ?? ((line: string) => process.stderr.write(line + '\n'));
    progress(`mosaic-top: creating backlog data dir ${paths.backlogDataDir} … (first run, ~5 s)`);
    state.announced = true;
  }
  state.spawned = spawnBacklogServer(paths, server.idleExitFromEnv());
  state.spawns += 1;
}

/** After a connect that got no hello: throws when waiting longer cannot help (an unserved lock, a silent server, 3 failed starts). */
function refuseAfterMiss(paths: MosaicPaths, state: StartState, holder: DataDirLockHolder | null, holderAlive: boolean, miss: NotConnected): void {
  // A live holder that is not our fresh child and does not answer: say so now (README: 30 s), not after a minute.
  const unserved =
    holderAlive && holder !== null && holder.pid !== state.spawned?.pid && miss.failure === 'absent' ? unservedLockRefusal(paths, holder, Date.now()) : null;
  if (unserved) throw new BacklogError('unavailable', unserved);
  if (miss.failure === 'silent' && holderAlive && holder !== null) {
    // Silent twice (the first try, or once here after a spawn): stopped or hung.
    if (state.silentHolder?.pid === holder.pid) throw silentServerError(paths, holder);
    state.silentHolder = holder;
  }
  const holderNow = readDataDirLock(paths.backlogDataDir);
  const log = serverLogPath(paths);
  if (state.spawns >= 3 && state.spawned?.exited() && !(holderNow && isHolderAlive(holderNow))) {
    throw new BacklogError(
      'unavailable',
      `backlog server failed to start ${state.spawns} times: ${lastLogLine(log) ?? `${log} is empty (a full disk? \`df ${paths.runDir}\`)`}`,
    );
  }
}

/** Starts the server as needed and connects, until `startTimeoutMs`; BacklogError('timeout') naming a live lock holder when none came up. */
async function startAndConnect(paths: MosaicPaths, opts: OpenBacklogOptions, state: StartState): Promise<BacklogClient> {
  const server: ServerModule = await import('../server.js');
  refuseUnstartable(paths, opts);
  const deadline = Date.now() + (opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
  let pause = 20;
  while (Date.now() < deadline) {
    if (opts.signal?.aborted) throw abortError(opts.signal);
    const holder = readDataDirLock(paths.backlogDataDir);
    const holderAlive = holder !== null && isHolderAlive(holder);
    await spawnWhenNeeded(paths, opts, state, holderAlive, server);
    const socketPath = holderAlive && holder?.socket ? holder.socket : paths.backlogSocket;
    const connected = await tryConnect(socketPath);
    if (connected.ok) return clientOn(paths, opts, connected, socketPath);
    refuseAfterMiss(paths, state, holder, holderAlive, connected);
    await delay(pause, opts.signal);
    pause = Math.min(pause * 1.5, 200);
  }
  const holder = readDataDirLock(paths.backlogDataDir);
  const who = holder && isHolderAlive(holder) ? ` (data dir locked by live pid ${holder.pid})` : '';
  throw new BacklogError('timeout', `backlog server did not come up on ${paths.backlogSocket}${who}; see ${serverLogPath(paths)}`);
}

/**
 * Connects to the embedded backlog server, starting it when nobody answers. With `create:
 * false` and no data dir yet, throws BacklogError('absent') instead of creating one. Throws
 * 'timeout' when no server answers within `startTimeoutMs` (default 60 s), 'unavailable' for
 * a server that cannot serve us (another data dir, stopped, hung, failed to start).
 */
export async function openEmbedded(paths: MosaicPaths, opts: OpenBacklogOptions): Promise<BacklogClient> {
  const first = await tryConnect(paths.backlogSocket);
  if (first.ok) return clientOn(paths, opts, first, paths.backlogSocket);
  // A listener that stays silent is a stopped or hung server: say so now, do not wait a minute for it.
  const silentHolder = first.failure === 'silent' ? readDataDirLock(paths.backlogDataDir) : null;
  if (silentHolder && isHolderAlive(silentHolder) && isStopped(readProcessStat(silentHolder.pid)?.state)) {
    throw silentServerError(paths, silentHolder);
  }
  return startAndConnect(paths, opts, { spawned: null, spawns: 0, announced: false, silentHolder });
}
