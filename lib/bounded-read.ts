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
}

/** Options of {@link readBoundedFile}. */
export interface BoundedReadOptions {
  /** Most bytes read. */
  maxBytes: number;
  /** A larger file: read its first `maxBytes` (true) or throw `too-large` (false, default). */
  truncate?: boolean;
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
 * Reads `file` with a bound: opened `O_RDONLY | O_NONBLOCK` (a FIFO cannot block the open),
 * checked with `fstat` on that descriptor (a rename cannot slip between the check and the
 * read), refused unless a regular file, and read to at most `maxBytes` bytes (one more is read
 * to tell a larger file, since `st.size` may be stale for a file being written).
 * Returns null when the file does not exist. Throws {@link BoundedReadError}: code
 * `not-regular` (`<path>: a FIFO, not a regular file`), `too-large` (`<path>: larger than
 * 1 MiB`, only without `truncate`), or the errno code (`<path>: permission denied (EACCES)`).
 */
export function readBoundedFile(file: string, opts: BoundedReadOptions): BoundedRead | null {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return null;
    throw errnoError(file, e);
  }
  try {
    let st: fs.Stats;
    try {
      st = fs.fstatSync(fd);
    } catch (error) {
      throw errnoError(file, error as NodeJS.ErrnoException);
    }
    if (!st.isFile()) throw new BoundedReadError(file, 'not-regular', `${kindOf(st)}, not a regular file`);
    // Sized by the file (one byte more tells a file that grew since fstat), grown up to the bound
    // only when it did: a bound-sized buffer per read of a small file (a beat, an env file) cost
    // more CPU than the read itself once per agent per tick (docs/performance.md).
    const limit = opts.maxBytes + 1;
    let buffer = Buffer.allocUnsafe(Math.min(limit, Math.max(st.size + 1, 256)));
    let n = 0;
    try {
      for (;;) {
        if (n === buffer.length) {
          if (buffer.length >= limit) break;
          const bigger = Buffer.allocUnsafe(Math.min(limit, buffer.length * 2));
          buffer.copy(bigger, 0, 0, n);
          buffer = bigger;
        }
        const got = fs.readSync(fd, buffer, n, buffer.length - n, n);
        if (got === 0) break;
        n += got;
      }
    } catch (error) {
      throw errnoError(file, error as NodeJS.ErrnoException);
    }
    const truncated = n > opts.maxBytes;
    if (truncated && !opts.truncate)
      throw new BoundedReadError(file, 'too-large', `larger than ${formatBytes(opts.maxBytes)} (${st.size} bytes); is this the right file?`);
    return { bytes: buffer.subarray(0, Math.min(n, opts.maxBytes)), size: truncated ? Math.max(st.size, n) : n, truncated, mtimeMs: st.mtimeMs };
  } finally {
    try {
      fs.closeSync(fd);
    } catch {
      // Nothing to do: the read is over either way.
    }
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
};

function errnoError(file: string, e: NodeJS.ErrnoException): BoundedReadError {
  const code = e.code ?? 'EIO';
  return new BoundedReadError(file, code, `${CAUSES[code] ?? e.message.replace(/^[A-Z]+: /, '').replace(/, open '.*'$/, '')} (${code})`);
}
