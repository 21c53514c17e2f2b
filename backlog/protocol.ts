/**
 * The embedded backlog server's wire protocol: newline-delimited JSON over the Unix socket
 * `<run>/backlog.sock`. A request names a backlog COMMAND (never SQL) and carries an id; the
 * response echoes the id. The server executes requests one at a time.
 *
 *   → {"id":1,"method":"claim","params":{"owner":"coder1","ttlSeconds":900}}
 *   ← {"id":1,"ok":true,"result":{"card":{…}}}
 *   ← {"id":2,"ok":false,"error":{"code":"paused","message":"claim refused: fleet PAUSED since …"}}
 *
 * On every accepted connection the server first writes a hello line ({@link BacklogHello});
 * a client sends requests only after it: a connection closed before the hello (e.g. the server
 * was exiting when it connected) carried no request, so the client can safely start a new
 * server and try again.
 */
import type { BacklogErrorCode } from './types.js';
import { BACKLOG_VERBS } from './verbs.js';

/**
 * Commands the server accepts: every backlog verb (the BacklogService method of the same name,
 * backlog/verbs.ts), `ping` (the server's own diagnostics) and `prove` (the lock token, below).
 */
export const BACKLOG_METHODS = [...BACKLOG_VERBS, 'ping', 'prove'] as const;

/** One command name of {@link BACKLOG_METHODS}. */
export type BacklogMethod = (typeof BACKLOG_METHODS)[number];

/** One request line: `id` is echoed in the response; `params` is the method's single argument. */
export interface BacklogRequest {
  id: number;
  method: BacklogMethod;
  params?: unknown;
}

/** One response line: the result, or a typed error (code as in BacklogErrorCode). */
export type BacklogResponse =
  { id: number | null; ok: true; result: unknown } | { id: number | null; ok: false; error: { code: BacklogErrorCode; message: string } };

/** Protocol name and version in the hello line. */
export const BACKLOG_PROTOCOL = 'mosaic-top-backlog/1';

/**
 * First line the server writes on a connection. `version`, `root` and `startedAtMs` let a
 * client tell a server that runs older code than its own (started before an upgrade or a
 * rebuild); servers before they were added send only `hello` and `pid`.
 */
export interface BacklogHello {
  hello: typeof BACKLOG_PROTOCOL;
  pid: number;
  /** mosaic-top version (package.json) the server runs. */
  version?: string;
  /** Package root the server runs from. */
  root?: string;
  /** Unix ms when the server process loaded its code. */
  startedAtMs?: number;
  /**
   * The data dir the server has open: its realpath and `dev:ino` ({@link DataDirIdentity}).
   * A client uses a server only when it serves the data dir the client asked for (two data
   * dirs can share one run dir and so one socket); servers before it was added omit it.
   */
  dataDir?: DataDirIdentity;
}

/** Which data dir: `realpath` and `id` = `<st_dev>:<st_ino>` of that directory (a bind mount or a symlinked path is the same dir). */
export interface DataDirIdentity {
  realpath: string;
  id: string;
}

/**
 * `prove` (answered at once, never queued behind a running command): params `{nonce}` (a
 * random string the client chose), reply `{pid, proof}` with `proof = lockProof(token, nonce)`
 * (backlog/lock.ts) for the token in `<datadir>.lock`: the server shows it holds the lock
 * without sending the token. `backlog stop` signals only a server that proved it.
 */
export interface ProveReply {
  pid: number;
  proof: string;
}

/** Reply of `ping`: who serves, for diagnostics. */
export interface PingReply {
  pid: number;
  dataDir: string;
  startedAt: string;
  requests: number;
}

/** Longest accepted request line in bytes (a large import fits; a runaway client does not). */
export const MAX_LINE_BYTES = 8 * 1024 * 1024;

/** True when `name` is a known command. */
export function isBacklogMethod(name: unknown): name is BacklogMethod {
  return typeof name === 'string' && (BACKLOG_METHODS as readonly string[]).includes(name);
}

/**
 * Splits a byte stream into lines: feed chunks, get complete lines back. Throws when a line
 * grows past MAX_LINE_BYTES.
 */
export class LineSplitter {
  private buffer = '';
  push(chunk: string): string[] {
    this.buffer += chunk;
    const lines = this.buffer.split('\n');
    this.buffer = lines.pop() ?? '';
    if (this.buffer.length > MAX_LINE_BYTES) throw new Error(`request line longer than ${MAX_LINE_BYTES} bytes`);
    return lines.filter((l) => l.trim().length > 0);
  }
}
