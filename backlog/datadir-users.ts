/**
 * Who else has the embedded data dir open. PGlite keeps real file descriptors on the data dir's
 * files while a database is open (measured: ~45 after open, more after writes), so a process
 * that holds it shows up in `/proc/<pid>/fd`. PGlite's own `postmaster.pid` is of no help: it
 * always records pid -42. Upstream's `mosaic fleet backlog` opens PGlite in-process, per
 * command: a store shared with it belongs on Postgres (DATABASE_URL); on one embedded dir,
 * this check turns silent corruption into a clear refusal where it can be seen.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LOCK_FILE_NAME, legacyLockPathFor, isHolderAlive, readDataDirLock, type DataDirLockHolder } from './lock.js';

/** A process with files of the data dir open. */
export interface DataDirUser {
  pid: number;
  /** Its command line (NUL-separated words joined by spaces, at most 200 characters), or `?`. */
  command: string;
  /** How many of its file descriptors point into the data dir. */
  openFiles: number;
}

function commandOf(procRoot: string, pid: number): string {
  try {
    const raw = fs.readFileSync(path.join(procRoot, String(pid), 'cmdline'), 'utf8');
    const text = raw.split('\0').filter(Boolean).join(' ').trim();
    return text ? text.slice(0, 200) : '?';
  } catch {
    return '?';
  }
}

/**
 * True when `target` (a resolved `/proc/<pid>/fd` link) is one of PGlite's files under the data
 * dir `root`: the data dir itself or a file inside it, except mosaic-top's own lock family
 * (`mosaic-top.lock`, its `.guard` and its `<pid>.tmp` writes, possibly `(deleted)`). Every
 * client reads the lock to find the server, so an open descriptor on it says nothing about
 * PGlite; counting it made concurrent clients refuse each other. Pure.
 */
export function isDataDirFile(root: string, target: string): boolean {
  const prefix = root.endsWith(path.sep) ? root : root + path.sep;
  if (target === root) return true;
  if (!target.startsWith(prefix)) return false;
  const rest = target.slice(prefix.length).replace(/ \(deleted\)$/, '');
  return !(rest === LOCK_FILE_NAME || rest.startsWith(`${LOCK_FILE_NAME}.`));
}

/**
 * Processes other than `opts.exclude` (default: this one) with a file descriptor on a PGlite
 * file inside `dataDir` ({@link isDataDirFile}: the lock files do not count), found by reading
 * `/proc/<pid>/fd` links (processes we may not inspect are skipped). Empty where /proc does not
 * exist. Never throws. Cost: one readdir per process and one readlink per descriptor; called
 * only when a backlog server is about to open the dir.
 */
export function dataDirUsers(dataDir: string, opts: { exclude?: readonly number[]; procRoot?: string } = {}): DataDirUser[] {
  const procRoot = opts.procRoot ?? '/proc';
  const exclude = new Set(opts.exclude ?? [process.pid]);
  let root: string;
  try {
    root = fs.realpathSync(dataDir);
  } catch {
    return [];
  }
  let pids: string[];
  try {
    pids = fs.readdirSync(procRoot).filter((d) => /^\d+$/.test(d));
  } catch {
    return [];
  }
  const users: DataDirUser[] = [];
  for (const p of pids) {
    const pid = Number(p);
    if (exclude.has(pid)) continue;
    let fds: string[];
    try {
      fds = fs.readdirSync(path.join(procRoot, p, 'fd'));
    } catch {
      continue;
    }
    let openFiles = 0;
    for (const fd of fds) {
      let target: string;
      try {
        target = fs.readlinkSync(path.join(procRoot, p, 'fd', fd));
      } catch {
        continue;
      }
      if (isDataDirFile(root, target)) openFiles += 1;
    }
    if (openFiles > 0) users.push({ pid, command: commandOf(procRoot, pid), openFiles });
  }
  return users;
}

/** The live holder of the lock older releases kept beside the data dir (`<datadir>.lock`), or null. */
export function legacyLockHolder(dataDir: string): DataDirLockHolder | null {
  try {
    const parsed = JSON.parse(fs.readFileSync(legacyLockPathFor(dataDir), 'utf8')) as DataDirLockHolder;
    return typeof parsed.pid === 'number' && isHolderAlive(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

/**
 * Why this process must not open `dataDir` now, or null: another process has its files open
 * (named by pid and command) — the live holder of the data-dir lock excepted, it is the
 * backlog server that owns the dir — or a backlog server of an older release holds its old lock.
 * `exclude`: pids that may hold it (default: this process). The text says what to do.
 */
export function dataDirInUseReason(dataDir: string, opts: { exclude?: readonly number[]; procRoot?: string } = {}): string | null {
  const legacy = legacyLockHolder(dataDir);
  if (legacy && !(opts.exclude ?? [process.pid]).includes(legacy.pid)) {
    return `backlog data dir ${dataDir} is held by pid ${legacy.pid}, a backlog server of an older mosaic-top (lock ${legacyLockPathFor(dataDir)}); stop it (kill ${legacy.pid}) and retry`;
  }
  // The backlog server that owns the lock may have opened the dir while we scanned (a client
  // racing a server that another client just started): it is the rightful user, not a stranger.
  // A server takes the lock before it opens a file of the dir, so the lock read after the scan
  // names every server the scan saw; the one read before names a holder that left meanwhile.
  const before = readDataDirLock(dataDir);
  const scanned = dataDirUsers(dataDir, opts);
  const owners = new Set([before, readDataDirLock(dataDir)].flatMap((h) => (h && isHolderAlive(h) ? [h.pid] : [])));
  const users = scanned.filter((u) => !owners.has(u.pid));
  if (!users.length) return null;
  const who = users.map((u) => `pid ${u.pid} (${u.command})`).join(', ');
  return (
    `backlog data dir ${dataDir} is open in another process: ${who}. Two processes on one PGlite data dir corrupt it ` +
    `(upstream's \`mosaic fleet backlog\` opens it in-process). Wait for that process to exit, or share the store through Postgres (DATABASE_URL)`
  );
}
