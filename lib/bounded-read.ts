/**
 * Bounded reads of the files the fleet's dirs hold (roster, `PAUSED`, agent `.env`, heartbeats,
 * NORTH_STAR): regular files only, opened non-blocking, at most a given number of bytes. A FIFO
 * planted at the path must not hang a tick, a symlink to `/dev/zero` must not grow the heap, a
 * 50 MB file must not be read whole. Dependency-free (ground floor).
 */
import fs from 'node:fs';

/** Why a bounded read failed: the path, and a cause an operator can act on. */
export class BoundedReadError extends Error {
  override name = 'BoundedReadError';
  /** `not-regular` (FIFO, device, directory, socket), `too-large`, or the errno code (`EACCES`, …). */
  readonly code: string;
  /** The path that was read. */
  readonly path: string;

  /** `message` is `<path>: <cause>` (no bytes of the file in it). */
  constructor(file: string, code: string, cause: string) {
    super(`${file}: ${cause}`);
    this.code = code;
    this.path = file;
  }
}

/** What {@link readBoundedFile} read. */
export interface BoundedRead {
  /** The bytes read: the whole file, or its first `maxBytes` when `truncate` allowed a cut. */
  bytes: Buffer;
  /** Size of the whole file, bytes (at least `bytes.length`). */
  size: number;
  /** True when the file was larger than `maxBytes` and only its first bytes are in `bytes`. */
  truncated: boolean;
  /** The file's mtime, unix milliseconds. */
  mtimeMs: number;
  /** The file's ctime (set by the kernel's clock on every change; no writer can set it), unix milliseconds. */
  ctimeMs: number;
  /** The file's inode number (with the times and size: tells the same unchanged file later). */
  ino: number;
}

/** Options of {@link readBoundedFile}. */
export interface BoundedReadOptions {
  /** Most bytes read. */
  maxBytes: number;
  /** A larger file: read its first `maxBytes` (true) or throw `too-large` (false, default). */
  truncate?: boolean;
  /** Read the LAST `maxBytes` of a larger file (a log, an append-only history); implies `truncate`. */
  tail?: boolean;
  /** Refuse a symlink at `file` (`O_NOFOLLOW`): code `symlink`, `<path>: a symlink (refused)`. */
  noFollow?: boolean;
}

function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Human size: `1 MiB`, `64 KiB`, `300 bytes`. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/**
 * Reads `file` with a bound: opened `O_RDONLY | O_NONBLOCK` (a FIFO cannot block the open;
 * `O_NOFOLLOW` with `noFollow`), checked with `fstat` on that descriptor (a rename cannot slip
 * between the check and the read), refused unless a regular file, and read to at most
 * `maxBytes` bytes (one more is read to tell a larger file, since `st.size` may be stale for a
 * file being written); with `tail`, the last `maxBytes` bytes from the size `fstat` gave.
 * Returns null when the file does not exist. Throws {@link BoundedReadError}: code
 * `not-regular` (`<path>: a FIFO, not a regular file`), `too-large` (`<path>: larger than
 * 1 MiB`, only without `truncate`/`tail`), `symlink` (with `noFollow`), or the errno code
 * (`<path>: permission denied (EACCES)`).
 */
export function readBoundedFile(file: string, opts: BoundedReadOptions): BoundedRead | null {
  const fd = openBoundedFd(file, fs.constants.O_RDONLY, opts.noFollow ?? false);
  if (fd === null) return null;
  try {
    const st = regularStat(file, fd);
    const start = opts.tail ? Math.max(0, st.size - opts.maxBytes) : 0;
    // Sized by the file (one byte more tells a file that grew since fstat), grown up to the bound
    // only when it did: a bound-sized buffer per read of a small file (a beat, an env file) cost
    // more CPU than the read itself once per agent per tick (docs/performance.md).
    const limit = opts.tail ? Math.min(opts.maxBytes, st.size) : opts.maxBytes + 1;
    let buffer = Buffer.allocUnsafe(opts.tail ? limit : Math.min(limit, Math.max(st.size + 1, 256)));
    let n = 0;
    try {
      for (;;) {
        if (n === buffer.length) {
          if (buffer.length >= limit) break;
          const bigger = Buffer.allocUnsafe(Math.min(limit, buffer.length * 2));
          buffer.copy(bigger, 0, 0, n);
          buffer = bigger;
        }
        const got = fs.readSync(fd, buffer, n, buffer.length - n, start + n);
        if (got === 0) break;
        n += got;
      }
    } catch (error) {
      throw errnoError(file, error as NodeJS.ErrnoException);
    }
    if (opts.tail)
      return { bytes: buffer.subarray(0, n), size: Math.max(st.size, start + n), truncated: start > 0, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino };
    const truncated = n > opts.maxBytes;
    if (truncated && !opts.truncate)
      throw new BoundedReadError(file, 'too-large', `larger than ${formatBytes(opts.maxBytes)} (${st.size} bytes); is this the right file?`);
    return {
      bytes: buffer.subarray(0, Math.min(n, opts.maxBytes)),
      size: truncated ? Math.max(st.size, n) : n,
      truncated,
      mtimeMs: st.mtimeMs,
      ctimeMs: st.ctimeMs,
      ino: st.ino,
    };
  } finally {
    closeQuietly(fd);
  }
}

/**
 * Reads `file`, which a directory listing just showed as a regular file: one non-blocking open,
 * one read of up to `buffer.length` bytes into `buffer` from its start, then `use(bytes, fd)`
 * with the descriptor still open (an `fstat` only if `use` wants one), then one close. A regular
 * file's read returns all it has up to the buffer's length; a FIFO swapped in after the listing
 * cannot hang it. Null when the open or the read fails or `use` throws (the caller reads the file
 * again with its bounded reader, which says why). For one snapshot's plain reads of beats and env
 * files (fleet/run-dir-watch.ts). Never throws.
 */
export function readListedFile<T>(file: string, buffer: Buffer, use: (bytes: number, fd: number) => T): T | null {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    return use(fs.readSync(fd, buffer, 0, buffer.length, 0), fd);
  } catch {
    return null;
  } finally {
    try {
      fs.closeSync(fd);
    } catch {
      // The read is over either way.
    }
  }
}

/** Options of {@link openBoundedForWrite}. */
export interface BoundedWriteOptions {
  /** Append (`O_APPEND`, the default) or truncate (`O_TRUNC`) an existing file. */
  append?: boolean;
  /** Mode of a file created here (default 0600); an existing file keeps its mode. */
  mode?: number;
  /** Refuse a symlink at `file` (`O_NOFOLLOW`). */
  noFollow?: boolean;
}

/**
 * Opens `file` for writing (created when missing) so that nothing planted there can block or
 * swallow the write: `O_WRONLY | O_CREAT | O_NONBLOCK` (a FIFO without a reader fails at once
 * instead of blocking the open), then `fstat` on the descriptor: anything but a regular file
 * (FIFO with a reader, device such as a link to `/dev/null`, socket, directory) is refused.
 * The descriptor stays non-blocking, which changes nothing for a regular file. Returns the fd
 * (the caller closes it). Throws {@link BoundedReadError} like {@link readBoundedFile}.
 */
export function openBoundedForWrite(file: string, opts: BoundedWriteOptions = {}): number {
  const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | (opts.append === false ? fs.constants.O_TRUNC : fs.constants.O_APPEND);
  const fd = openBoundedFd(file, flags, opts.noFollow ?? false, opts.mode ?? 0o600);
  if (fd === null) throw new BoundedReadError(file, 'ENOENT', 'a path component is missing (ENOENT)');
  try {
    regularStat(file, fd);
    return fd;
  } catch (error) {
    closeQuietly(fd);
    throw error;
  }
}

/** Opens with `O_NONBLOCK` (and `O_NOFOLLOW`); null on ENOENT; other failures as {@link BoundedReadError}. */
function openBoundedFd(file: string, flags: number, noFollow: boolean, mode?: number): number | null {
  try {
    return fs.openSync(file, flags | fs.constants.O_NONBLOCK | (noFollow ? fs.constants.O_NOFOLLOW : 0), mode);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return null;
    if (e.code === 'ELOOP' && noFollow) throw new BoundedReadError(file, 'symlink', 'a symlink (refused)');
    // A FIFO opened for writing without a reader: ENXIO; say what the path is.
    if (e.code === 'ENXIO' || e.code === 'EISDIR') {
      const kind = lstatKind(file);
      if (kind) throw new BoundedReadError(file, 'not-regular', `${kind}, not a regular file`);
    }
    throw errnoError(file, e);
  }
}

function lstatKind(file: string): string | null {
  try {
    const st = fs.statSync(file);
    return st.isFile() ? null : kindOf(st);
  } catch {
    return null;
  }
}

/** `fstat` of `fd`, refused unless a regular file. */
function regularStat(file: string, fd: number): fs.Stats {
  let st: fs.Stats;
  try {
    st = fs.fstatSync(fd);
  } catch (error) {
    throw errnoError(file, error as NodeJS.ErrnoException);
  }
  if (!st.isFile()) throw new BoundedReadError(file, 'not-regular', `${kindOf(st)}, not a regular file`);
  return st;
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // Nothing to do: the read is over either way.
  }
}

/** Short causes for the errno codes an operator meets on these files. */
const CAUSES: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'a directory, not a regular file',
  ELOOP: 'too many symlinks',
  ENOTDIR: 'a path component is not a directory',
  EIO: 'I/O error',
  ENXIO: 'no such device',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
};

function errnoError(file: string, e: NodeJS.ErrnoException): BoundedReadError {
  const code = e.code ?? 'EIO';
  return new BoundedReadError(file, code, `${CAUSES[code] ?? e.message.replace(/^[A-Z]+: /, '').replace(/, open '.*'$/, '')} (${code})`);
}
