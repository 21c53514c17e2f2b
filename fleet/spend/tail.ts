/**
 * Incremental, bounded JSONL reading: a record file is read from the byte offset where the last
 * read ended, in fixed chunks, so neither a large file nor a long line is ever held whole.
 *
 * - a line is handed out once: the cursor's offset only moves past whole lines;
 * - a partial last line (no `\n` yet) waits for its end: the offset stays before it;
 * - a line longer than {@link MAX_LINE_BYTES} is skipped as it streams by (never buffered
 *   beyond the limit) and counted in `oversizeLines`;
 * - a line that fails JSON.parse is skipped and counted in `invalidLines`, never thrown;
 * - a file that shrank, changed inode, or whose first bytes changed (a rewrite) is read again
 *   from 0 (`reset` tells the caller to drop what it had from this file);
 * - nothing changed (same size, mtime and inode) ⇒ one `stat` and no read.
 *
 * Only lines that may hold something (`wanted`, a byte test, e.g. contains `"usage"`) are
 * parsed; the first line of a file is always parsed (session headers).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';

/** Longest line parsed, bytes; a longer one is skipped while it streams by. */
export const MAX_LINE_BYTES = 1024 * 1024;
/** Bytes read per `read(2)`. */
const CHUNK_BYTES = 256 * 1024;
/** Bytes of the file's head hashed to recognise a rewrite. */
const HEAD_BYTES = 1024;

/** Where reading a file stands (JSON-serialisable; saved with the ledger). */
export interface TailCursor {
  /** Byte offset just past the last whole line handed out (or skipped). */
  offset: number;
  /** Size, mtime (ms) and inode at the last read: unchanged ⇒ nothing to read. */
  size: number;
  mtimeMs: number;
  ino: number;
  /** Length and sha1 of the head hashed at the first read, to recognise a rewrite. */
  headLen: number;
  headHash: string;
  /** True while inside an oversize line whose end was not read yet. */
  skipping: boolean;
  /** Lines skipped: not JSON, over the size limit. */
  invalidLines: number;
  oversizeLines: number;
}

/** A fresh cursor (offset 0). */
export function newCursor(): TailCursor {
  return { offset: 0, size: 0, mtimeMs: 0, ino: 0, headLen: 0, headHash: '', skipping: false, invalidLines: 0, oversizeLines: 0 };
}

/** What one {@link readNewLines} call did. */
export interface TailResult {
  /** True when the file was rewritten or truncated and read again from 0 (drop earlier results). */
  reset: boolean;
  /** False when the file is gone or unreadable (`error` says why). */
  ok: boolean;
  error: string | null;
  /** Bytes read by this call. */
  bytesRead: number;
  /** Whole lines seen by this call (parsed or not). */
  lines: number;
}

function headHash(fd: number, len: number): string {
  const buf = Buffer.alloc(len);
  const n = len ? fs.readSync(fd, buf, 0, len, 0) : 0;
  return crypto.createHash('sha1').update(buf.subarray(0, n)).digest('hex');
}

/** Options of {@link readNewLines}. */
export interface TailOptions {
  /** Bytes read by one call at most (the rest waits for the next call). Default: no bound. */
  maxBytes?: number;
  /** Called once, before any line, when the file was rewritten or truncated (drop what it gave). */
  onReset?: () => void;
}

/**
 * Reads the lines `file` gained since `cursor` (mutated), calling `onValue` with each parsed
 * JSON value of a wanted line, in file order. Never throws for the file's content; I/O errors
 * come back in `error` (`<file>: <errno>`).
 */
export function readNewLines(
  file: string,
  cursor: TailCursor,
  wanted: (line: Buffer) => boolean,
  onValue: (value: unknown) => void,
  opts: TailOptions = {},
): TailResult {
  const maxBytes = opts.maxBytes ?? Number.POSITIVE_INFINITY;
  const result: TailResult = { reset: false, ok: true, error: null, bytesRead: 0, lines: 0 };
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    return { ...result, ok: false, error: `${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.size === cursor.size && st.mtimeMs === cursor.mtimeMs && st.ino === cursor.ino) return result;
    const rewritten =
      cursor.headLen > 0 && (st.ino !== cursor.ino || st.size < cursor.offset || st.size < cursor.headLen || headHash(fd, cursor.headLen) !== cursor.headHash);
    if (rewritten) {
      Object.assign(cursor, newCursor());
      result.reset = true;
      opts.onReset?.();
    }
    if (cursor.headLen === 0 && st.size > 0) {
      cursor.headLen = Math.min(st.size, HEAD_BYTES);
      cursor.headHash = headHash(fd, cursor.headLen);
    }
    cursor.ino = st.ino;
    readLines(fd, st.size, cursor, result, wanted, onValue, maxBytes);
    cursor.size = st.size;
    cursor.mtimeMs = st.mtimeMs;
    return result;
  } catch (error) {
    return { ...result, ok: false, error: `${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
  } finally {
    fs.closeSync(fd);
  }
}

function readLines(
  fd: number,
  size: number,
  cursor: TailCursor,
  result: TailResult,
  wanted: (line: Buffer) => boolean,
  onValue: (value: unknown) => void,
  maxBytes: number,
): void {
  const chunk = Buffer.alloc(CHUNK_BYTES);
  let pos = cursor.offset;
  // Bytes of a line not finished in the previous chunk (never more than MAX_LINE_BYTES).
  let carry: Buffer[] = [];
  let carryLen = 0;
  const handle = (line: Buffer, lineStart: number) => {
    result.lines += 1;
    if (line.length && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    if (line.length === 0 || !(lineStart === 0 || wanted(line))) return;
    let value: unknown;
    try {
      value = JSON.parse(line.toString('utf8'));
    } catch {
      cursor.invalidLines += 1;
      return;
    }
    onValue(value);
  };
  while (pos < size && result.bytesRead < maxBytes) {
    const n = fs.readSync(fd, chunk, 0, Math.min(CHUNK_BYTES, size - pos), pos);
    if (n <= 0) break;
    result.bytesRead += n;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0 || nl >= n) break;
      const lineStart = pos + start - carryLen;
      if (cursor.skipping) {
        cursor.skipping = false;
      } else if (carryLen + nl - start > MAX_LINE_BYTES) {
        cursor.oversizeLines += 1;
        result.lines += 1;
      } else {
        const piece = chunk.subarray(start, nl);
        handle(carryLen ? Buffer.concat([...carry, piece]) : piece, lineStart);
      }
      carry = [];
      carryLen = 0;
      start = nl + 1;
      cursor.offset = pos + start;
    }
    if (start < n && !cursor.skipping) {
      const rest = chunk.subarray(start, n);
      if (carryLen + rest.length > MAX_LINE_BYTES) {
        // Too long to parse: stream past it, remember we are inside it.
        cursor.skipping = true;
        cursor.oversizeLines += 1;
        carry = [];
        carryLen = 0;
      } else {
        carry.push(Buffer.from(rest));
        carryLen += rest.length;
      }
    }
    pos += n;
    if (cursor.skipping) cursor.offset = pos;
  }
}
