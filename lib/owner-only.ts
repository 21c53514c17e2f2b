/**
 * Owner-only modes for what the fleet keeps on disk: the run dir (heartbeats, `PAUSED`, the
 * backlog socket) and the PGlite data dir (card bodies in its WAL) are 0700, their files 0600.
 * Another local user must not read cards or beats, nor corrupt the catalog. Dependency-free.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Mode of every directory the program creates or keeps: owner only. */
export const OWNER_ONLY_DIR_MODE = 0o700;
/** Mode of every file the program writes: owner read/write. */
export const OWNER_ONLY_FILE_MODE = 0o600;

/**
 * Creates `dir` (and missing parents) with mode 0700; an existing `dir` owned by this user with
 * any group/other bit gets them removed (an older mosaic-top made it 0755). A dir owned by
 * someone else is left alone (not ours to change). Throws the filesystem error (ENOSPC,
 * EACCES, ENOTDIR, …) unchanged.
 */
export function ensureOwnerOnlyDir(dir: string): void {
  makeDirs(dir, OWNER_ONLY_DIR_MODE);
  tightenMode(dir, OWNER_ONLY_DIR_MODE);
}

/**
 * `mkdir -p dir` (mode `mode` for the dirs created) that throws the REAL cause: Node's
 * recursive mkdir reports ENOENT for the leaf when a missing parent cannot be created on a
 * read-only file system; here each missing component is created in turn, so the error is that
 * component's (EROFS, ENOSPC, EACCES, ENOTDIR) with its path. An existing `dir` is fine.
 */
export function makeDirs(dir: string, mode = OWNER_ONLY_DIR_MODE): void {
  const missing: string[] = [];
  let p = path.resolve(dir);
  for (;;) {
    try {
      if (fs.statSync(p).isDirectory()) break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    missing.push(p);
    const parent = path.dirname(p);
    if (parent === p) break;
    p = parent;
  }
  for (const d of missing.reverse()) {
    try {
      fs.mkdirSync(d, { mode });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !fs.statSync(d).isDirectory()) throw error;
    }
  }
}

/** Removes group/other bits of `file` when this user owns it and any is set; true when it changed. Throws filesystem errors. */
export function tightenMode(file: string, mode: number): boolean {
  const st = fs.statSync(file);
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) return false;
  if ((st.mode & 0o077) === 0) return false;
  fs.chmodSync(file, mode);
  return true;
}

/**
 * Makes a whole tree owner-only: `root` and every dir below 0700, every regular file 0600 (only
 * what this user owns, only where a group/other bit is set; symlinks are not followed). For the
 * PGlite data dir on every open: files initdb or an older version left 0666 are closed. Returns
 * the number of entries changed. Throws filesystem errors of `root` itself; entries that vanish
 * meanwhile are skipped.
 */
export function tightenTree(root: string): number {
  let changed = 0;
  const uid = typeof process.getuid === 'function' ? process.getuid() : null;
  const visit = (p: string, st: fs.Stats): void => {
    if (st.isSymbolicLink()) return;
    const dir = st.isDirectory();
    if ((uid === null || st.uid === uid) && (st.mode & 0o077) !== 0 && (dir || st.isFile())) {
      fs.chmodSync(p, dir ? OWNER_ONLY_DIR_MODE : OWNER_ONLY_FILE_MODE);
      changed += 1;
    }
    if (!dir) return;
    for (const name of fs.readdirSync(p)) {
      const child = path.join(p, name);
      let cst: fs.Stats;
      try {
        cst = fs.lstatSync(child);
      } catch {
        continue;
      }
      visit(child, cst);
    }
  };
  visit(root, fs.lstatSync(root));
  return changed;
}
