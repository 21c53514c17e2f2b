/**
 * THE temp-file-and-rename writer: a reader of the target sees the old content or the new one,
 * never half a write. The temp file sits beside the target (same file system, so the rename is
 * atomic) as `<target>.<pid>.<random>.tmp`, is created exclusively (`O_EXCL | O_NOFOLLOW`: a
 * file or symlink planted at that name is refused, never followed or truncated) and never
 * outlives the call. Dependency-free (ground floor).
 */
import fs from 'node:fs';

/** Options of {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** Mode of the written file (default 0600; the process umask applies as for any create). */
  mode?: number;
  /**
   * true (default): the temp file is renamed over `file`. false: it is hard-linked into place,
   * so an existing `file` is never replaced and the call throws Node's EEXIST error instead —
   * race-free between processes.
   */
  replace?: boolean;
}

/** Path of a fresh temp file beside `file`: `<file>.<pid>.<random>.tmp`. */
export function tempPathFor(file: string): string {
  return `${file}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`;
}

/**
 * Writes `data` to `file` atomically (temp file beside it, then rename or link — see
 * {@link AtomicWriteOptions.replace}). The directory must exist. Throws the filesystem error
 * unchanged (ENOSPC, EACCES, EISDIR when `file` is a directory, EEXIST with `replace: false`),
 * after removing the temp file.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  const tmp = tempPathFor(file);
  const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;
  try {
    const fd = fs.openSync(tmp, flags, opts.mode ?? 0o600);
    try {
      fs.writeFileSync(fd, data);
    } finally {
      fs.closeSync(fd);
    }
    if (opts.replace === false) fs.linkSync(tmp, file);
    else fs.renameSync(tmp, file);
  } finally {
    // Gone already after a rename; after a link or a failed write (ENOSPC) it is removed here.
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // Not removable (the directory vanished or became read-only): nothing more to do.
    }
  }
}
