/**
 * Stamps of files read: what a file was when it was read (inode, size, mtime, ctime), so that a
 * kept read can later be confirmed with one `lstat` instead of a read and a parse — the watched
 * readers' safety net (./dir-watch.ts) uses it for beats and env files. Dependency-free.
 */
import fs from 'node:fs';

/**
 * What a file was when it was read: inode, size, mtime and ctime (unix ms); `absent` when there
 * was no file; null when it cannot be told later (an unreadable file, or one changed so shortly
 * before its read that a change in the same clock tick would leave the same times: see
 * {@link fileStamp}).
 */
export type FileStamp = { ino: number; size: number; mtimeMs: number; ctimeMs: number } | 'absent' | null;

/**
 * How long after a file's last change (its ctime) a read of it can be stamped, ms: the kernel
 * stamps file times from a coarse clock (one tick: 1–10 ms), so a write in the same tick as the
 * read would leave the times unchanged; a file read this soon after a change is read again at
 * the safety net instead (as git treats "racily clean" files).
 */
export const STAMP_SETTLE_MS = 1000;

/** The stamp of a file read at `readAtMs` (unix ms) with these `stat` values ({@link FileStamp}). Pure. */
export function fileStamp(st: { ino: number; size: number; mtimeMs: number; ctimeMs: number }, readAtMs: number): FileStamp {
  if (readAtMs - st.ctimeMs < STAMP_SETTLE_MS || readAtMs - st.mtimeMs < STAMP_SETTLE_MS) return null;
  return { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
}

/**
 * True when `file` is still what `stamp` says (one `lstat`): absent and still absent, or the same
 * regular file with the same inode, size, mtime and ctime. False for a null stamp and on any error.
 */
export function unchangedSince(file: string, stamp: FileStamp): boolean {
  if (stamp === null) return false;
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(file, { throwIfNoEntry: false });
  } catch {
    return false;
  }
  if (!st) return stamp === 'absent';
  return stamp !== 'absent' && st.isFile() && st.ino === stamp.ino && st.size === stamp.size && st.mtimeMs === stamp.mtimeMs && st.ctimeMs === stamp.ctimeMs;
}
