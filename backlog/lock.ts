/**
 * The data-dir lock of the embedded tier: `<datadir>/mosaic-top.lock` holds the pid, the process
 * start time (from /proc/<pid>/stat, so a reused pid is not mistaken for the holder) and a random
 * token (proven on the holder's socket, {@link lockProof}) of the ONE
 * process allowed to open the PGlite data dir (two processes on one data dir corrupt it
 * silently — field notes). A lock is never taken from a live holder; a dead holder's lock is
 * taken over. Acquire/takeover/release run inside a short critical section guarded by
 * proper-lockfile (`<datadir>/mosaic-top.lock.guard`), so two racing servers cannot both win.
 * The lock lives INSIDE the data dir: upstream's updater (`mosaic update`, rsync --delete)
 * preserves `fleet/backlog` and `fleet/run` but would delete a `fleet/backlog.lock` beside it.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { readBoundedFile } from '../lib/bounded-read.js';
import type { DataDirIdentity } from './protocol.js';
import { writeFileAtomic } from '../lib/atomic-write.js';

/** Contents of the lock file ({@link lockPathFor}; mode 0600: only its owner reads the token). */
export interface DataDirLockHolder {
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot), null where /proc is unavailable. */
  startTime: string | null;
  /**
   * Random secret of the holder (32 hex digits), proven on its socket without being sent
   * ({@link lockProof}): `backlog stop` signals only a process that proves it. Absent in locks
   * written before it existed.
   */
  token?: string | null;
  /** Unix socket the holder serves on. */
  socket: string | null;
  /** ISO time the lock was taken. */
  acquiredAt: string;
}

/** Outcome of {@link acquireDataDirLock}. */
export type DataDirLockResult =
  { acquired: true; token: string; takenOverFrom: DataDirLockHolder | null; release: () => Promise<void> } | { acquired: false; holder: DataDirLockHolder };

/** Name of the lock file inside the data dir. */
export const LOCK_FILE_NAME = 'mosaic-top.lock';

/** `<datadir>/mosaic-top.lock` (PGlite ignores files it does not know in its data dir). */
export function lockPathFor(dataDir: string): string {
  return path.join(path.resolve(dataDir), LOCK_FILE_NAME);
}

/** Where older releases kept the lock, beside the data dir (`<datadir>.lock`): a live holder there is an older server. */
export function legacyLockPathFor(dataDir: string): string {
  return `${path.resolve(dataDir)}.lock`;
}

/** The identity of `dataDir` (realpath, `dev:ino`), or null when it does not exist or cannot be stat'ed. */
export function dataDirIdentity(dataDir: string): DataDirIdentity | null {
  try {
    const real = fs.realpathSync(dataDir);
    const st = fs.statSync(real);
    return st.isDirectory() ? { realpath: real, id: `${st.dev}:${st.ino}` } : null;
  } catch {
    return null;
  }
}

/** Reads `/proc/<pid>/stat`: start time (field 22) and state (field 3), or null when absent. */
export function readProcessStat(pid: number): { startTime: string; state: string } | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const [state, startTime] = [rest[0], rest[19]];
    // A truncated stat line (the process exiting mid-read) has no such fields: unknown.
    if (!state || !startTime) return null;
    return { state, startTime };
  } catch {
    return null;
  }
}

/** Start time of `pid` from /proc (field 22), or null. */
export function processStartTime(pid: number): string | null {
  return readProcessStat(pid)?.startTime ?? null;
}

/**
 * The proof of a lock token for a challenge `nonce`: hex SHA-256 of `<token>:<nonce>`. The
 * server answers a `prove` request with it; the token itself never crosses the socket. Pure.
 */
export function lockProof(token: string, nonce: string): string {
  return createHash('sha256').update(`${token}:${nonce}`).digest('hex');
}

/**
 * True when the recorded holder still runs: the pid exists, is not a zombie, and has the
 * recorded start time — a different start time means the pid was reused. A lock with no start
 * time (hand-written, or foreign) names no process precisely: dead where /proc exists.
 */
export function isHolderAlive(holder: DataDirLockHolder): boolean {
  if (!Number.isInteger(holder.pid) || holder.pid <= 0) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = readProcessStat(holder.pid);
  if (!stat) return fs.existsSync('/proc/self/stat') ? false : true;
  if (stat.state === 'Z' || stat.state === 'X') return false;
  if (!holder.startTime || stat.startTime !== holder.startTime) return false;
  return true;
}

/** Reads the lock file; null when absent or unparseable (an unparseable lock is treated as dead). */
export function readDataDirLock(dataDir: string): DataDirLockHolder | null {
  try {
    const read = readBoundedFile(lockPathFor(dataDir), { maxBytes: 4096 });
    if (!read) return null;
    const parsed = JSON.parse(read.bytes.toString('utf8')) as DataDirLockHolder;
    if (typeof parsed.pid !== 'number') return null;
    return parsed;
  } catch {
    return null;
  }
}

async function withGuard<T>(dataDir: string, fn: () => T): Promise<T> {
  const file = lockPathFor(dataDir);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Loaded here, not at import: clients read the lock on every start and need no guard.
  const { default: lockfile } = await import('proper-lockfile');
  const release = await lockfile.lock(file, {
    realpath: false,
    lockfilePath: `${file}.guard`,
    stale: 10_000,
    retries: { retries: 100, minTimeout: 10, maxTimeout: 100, factor: 1.3 },
    onCompromised: () => {},
  });
  try {
    return fn();
  } finally {
    await release().catch(() => {});
  }
}

/**
 * Takes the data-dir lock for this process (pid + start time + a fresh random token), unless a live process holds it.
 * A lock left by a dead (or reused) pid is taken over. Throws only on filesystem errors.
 */
export async function acquireDataDirLock(dataDir: string, opts: { socket?: string | null } = {}): Promise<DataDirLockResult> {
  const file = lockPathFor(dataDir);
  return withGuard(dataDir, () => {
    const current = readDataDirLock(dataDir);
    if (current && current.pid !== process.pid && isHolderAlive(current)) return { acquired: false as const, holder: current };
    const mine: DataDirLockHolder = {
      pid: process.pid,
      startTime: processStartTime(process.pid),
      token: randomBytes(16).toString('hex'),
      socket: opts.socket ?? null,
      acquiredAt: new Date().toISOString(),
    };
    // A full disk leaves no temp file behind (writeFileAtomic removes it).
    writeFileAtomic(file, JSON.stringify(mine) + '\n', { mode: 0o600 });
    return {
      acquired: true as const,
      token: mine.token as string,
      takenOverFrom: current && current.pid !== process.pid ? current : null,
      release: () => releaseDataDirLock(dataDir),
    };
  });
}

/** Removes the data-dir lock if this process holds it (never someone else's). */
export async function releaseDataDirLock(dataDir: string): Promise<void> {
  await withGuard(dataDir, () => {
    const current = readDataDirLock(dataDir);
    if (current && current.pid === process.pid) fs.rmSync(lockPathFor(dataDir), { force: true });
  });
}
