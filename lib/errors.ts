/**
 * One-line errors for the CLI: what failed, the path or peer, the cause, what to do — never a
 * stack trace (unless `MOSAIC_DEBUG=1`), never the SQL or the parameters of a failed query (they
 * hold card data). Dependency-free (ground floor).
 */
import { flattenLine } from './sanitize.js';

/** Exit code of an unexpected error (a bug, or a cause the program does not know): sysexits' EX_SOFTWARE. */
export const INTERNAL_EXIT = 70;

/** An error meant for the operator: its message is already one clear line; `exitCode` is documented in the README. */
export class OperatorError extends Error {
  override name = 'OperatorError';
  /** Process exit code to use. */
  readonly exitCode: number;

  /** `message`: `<what failed> <path or peer>: <cause>; <what to do>`. */
  constructor(message: string, exitCode = 1, options?: { cause?: unknown }) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

/** Short causes for the errno codes seen on the fleet's files and sockets. */
const ERRNO_CAUSES: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  ENOENT: 'no such file or directory',
  EEXIST: 'already exists',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'timed out',
  EPIPE: 'broken pipe',
  EIO: 'I/O error',
  ENOTEMPTY: 'directory not empty',
  ERR_FS_EISDIR: 'is a directory',
  ELOOP: 'too many symlinks',
  ENXIO: 'no such device or address',
};

/**
 * Emscripten's errno numbers (PGlite's WebAssembly file system throws `{name: 'ErrnoError',
 * errno: 51}`, not an Error): the ones a data dir meets, as their POSIX names.
 */
const EMSCRIPTEN_ERRNO: Record<number, string> = {
  2: 'EACCES',
  19: 'EDQUOT',
  20: 'EEXIST',
  29: 'EIO',
  31: 'EISDIR',
  44: 'ENOENT',
  51: 'ENOSPC',
  54: 'ENOTDIR',
  55: 'ENOTEMPTY',
  63: 'EPERM',
  69: 'EROFS',
};

/** A non-Error thrown value (PGlite's `ErrnoError` object, a string, a plain object) as an Error-like with `code` when it has one. */
function asErrorLike(e: unknown): { message: string; code?: string } {
  if (typeof e === 'string') return { message: e };
  if (e && typeof e === 'object') {
    const o = e as { name?: unknown; errno?: unknown; code?: unknown; message?: unknown };
    const code = typeof o.code === 'string' ? o.code : o.name === 'ErrnoError' && typeof o.errno === 'number' ? EMSCRIPTEN_ERRNO[o.errno] : undefined;
    if (code) return { message: typeof o.message === 'string' ? o.message : code, code };
    if (typeof o.message === 'string') return { message: o.message };
    if (o.name === 'ErrnoError') return { message: `file system error (errno ${String(o.errno)} of the WebAssembly runtime)` };
    try {
      return { message: JSON.stringify(e).slice(0, 200) };
    } catch {
      return { message: 'unknown error' };
    }
  }
  return { message: String(e) };
}

/** PGlite's WebAssembly runtime aborted (`Aborted(). Build with -sASSERTIONS…`): what that means for an operator. */
const WASM_ABORT =
  'the PGlite database engine aborted (its WebAssembly runtime stopped, usually after an earlier write failed: a full disk or a read-only data dir) — free space or fix the data dir, then `mosaic-top backlog stop` and retry';

/** True when `message` is drizzle's wrapper `Failed query: <SQL>\nparams: <values>`. */
function isFailedQuery(message: string): boolean {
  return message.startsWith('Failed query:');
}

/**
 * The innermost error behind wrappers that only repeat the query (drizzle's `Failed query: …`
 * with its `cause`), e.g. the PostgresError with its SQLSTATE `code`, or Node's errno error.
 * Returns `error` itself when it wraps nothing. Pure.
 */
export function rootCause(error: unknown): unknown {
  let e: unknown = error;
  for (let depth = 0; depth < 8; depth++) {
    if (!(e instanceof Error) || !isFailedQuery(e.message)) break;
    const next = (e as { cause?: unknown }).cause;
    if (next === undefined || next === null) break;
    e = next;
  }
  return e;
}

/**
 * The cause an operator can act on, as one line: follows `cause` chains past wrappers that
 * only repeat the query (drizzle's `Failed query: … params: …`), names errno codes
 * (`no space left on device (ENOSPC)`), drops Node's `SystemError [ERR_…]:` prefixes and file
 * names are kept. Never returns SQL or query parameters: a failed-query wrapper without a cause
 * becomes `database query failed`. Pure.
 */
export function describeCause(error: unknown): string {
  let e: unknown = error;
  for (let depth = 0; depth < 8; depth++) {
    if (!(e instanceof Error)) break;
    const next = (e as { cause?: unknown }).cause;
    if (isFailedQuery(e.message) || (e.name === 'AggregateError' && next === undefined)) {
      if (next === undefined || next === null) {
        const errors = (e as { errors?: unknown[] }).errors;
        if (Array.isArray(errors) && errors.length) {
          e = errors[0];
          continue;
        }
        return 'database query failed';
      }
      e = next;
      continue;
    }
    break;
  }
  // The bounded reader's errors are already `<path>: <cause> (<ERRNO>)`.
  if (e instanceof Error && e.name === 'BoundedReadError') return oneLine(e.message);
  if (!(e instanceof Error)) {
    const like = asErrorLike(e);
    if (like.code && ERRNO_CAUSES[like.code]) return `${ERRNO_CAUSES[like.code]} (${like.code})`;
    return oneLine(like.message);
  }
  const code = (e as NodeJS.ErrnoException).code;
  let message = e.message;
  if (e.name === 'AggregateError' && Array.isArray((e as { errors?: unknown[] }).errors)) {
    const first = (e as unknown as { errors: unknown[] }).errors[0];
    if (first) return describeCause(first);
  }
  if (isFailedQuery(message)) return 'database query failed';
  // Node: "ENOSPC: no space left on device, write" / "Path is a directory: rm returned EISDIR …".
  if (typeof code === 'string' && ERRNO_CAUSES[code]) {
    const syscall = (e as NodeJS.ErrnoException).syscall;
    const where = (e as NodeJS.ErrnoException).path ?? (e as { info?: { path?: string } }).info?.path;
    return oneLine(`${ERRNO_CAUSES[code]} (${code}${syscall ? `, ${syscall}` : ''}${where ? ` ${where}` : ''})`);
  }
  message = message.replace(/^SystemError \[[A-Z_]+\]: /, '');
  if (/^Aborted\(/.test(message)) return WASM_ABORT;
  return oneLine(message || e.name || 'unknown error');
}

/**
 * THE error-to-line function: `<subject>: <cause>` in one line, the cause from
 * {@link describeCause} (errno code, syscall and path kept; PGlite's errno objects and
 * WebAssembly aborts explained; no SQL). `subject` (a path, a peer, `PGlite data dir …`) is
 * left out when the cause already names it. Pure.
 */
export function messageOf(error: unknown, subject?: string): string {
  const cause = describeCause(error);
  if (!subject || cause.includes(subject)) return cause;
  return oneLine(`${subject}: ${cause}`);
}

/** Flattens to one line (control characters and line breaks become spaces) of at most 400 characters. */
function oneLine(text: string): string {
  return flattenLine(text, 400);
}

/**
 * What the CLI prints for an error that reached the top: `error.message` of an
 * {@link OperatorError}, else `unexpected error: <cause>; rerun with MOSAIC_DEBUG=1 for the
 * stack trace`; with `debug`, the stack follows on the next lines. Pure.
 */
export function formatFatal(error: unknown, debug: boolean): string {
  const line =
    error instanceof OperatorError ? oneLine(error.message) : `unexpected error: ${describeCause(error)}; rerun with MOSAIC_DEBUG=1 for the stack trace`;
  if (debug && error instanceof Error && error.stack) return `${line}\n${error.stack}`;
  return line;
}

/** Exit code for an error that reached the top: an {@link OperatorError}'s own, else {@link INTERNAL_EXIT}. */
export function fatalExitCode(error: unknown): number {
  return error instanceof OperatorError ? error.exitCode : INTERNAL_EXIT;
}

/** True when `MOSAIC_DEBUG=1` (stack traces wanted). */
export function debugWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.MOSAIC_DEBUG === '1';
}
