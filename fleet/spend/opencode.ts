/**
 * opencode's spend records, read-only. opencode 1.18 keeps its sessions in SQLite:
 * `<XDG_DATA_HOME or HOME/.local/share>/opencode/opencode.db` (WAL mode), one `message` row per
 * message with `data` JSON; an assistant message carries `modelID`, `tokens` {`input`
 * (uncached), `output` (reasoning NOT included), `reasoning`, `cache` {`read`, `write`}} and
 * `time.completed` once its request ended; `session.directory` is the session's cwd.
 *
 * Node 20 has no SQLite module, so the rows are read with the `sqlite3` command-line shell
 * (Debian package `sqlite3`, ≥ 3.33 for `-json`), opened `-readonly` (a WAL reader: it never
 * blocks opencode's writes and changes no data; like any WAL reader it may leave an empty
 * `-wal` and the `-shm` index beside a database opencode had closed). A database is queried only when it or its WAL
 * changed since the last read (size + mtime), and only for rows updated since then (ordered by
 * `time_updated`, {@link PAGE_ROWS} at a time), each bounded by {@link QUERY_TIMEOUT_MS}.
 *
 * One count per request: a message is counted once it has completed, keyed on its id (a later
 * update of the same message replaces its count). Output is opencode's output + reasoning (what
 * the provider served as output); reasoning is also reported apart. Title generation (a side
 * request without tools) is in no message row.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { makeTokens, num, str, type UsageEvent } from './types.js';

/** Rows fetched per query; a database with more changed rows is read on in the same call. */
export const PAGE_ROWS = 2000;
/** Bound of one `sqlite3` query, ms. */
export const QUERY_TIMEOUT_MS = 5000;
/** Pages read per database per call (the rest waits for the next call). */
const MAX_PAGES = 20;

/** opencode's database under a data home (`XDG_DATA_HOME`, else `HOME/.local/share`). */
export function opencodeDbPath(dataHome: string): string {
  return path.join(dataHome, 'opencode', 'opencode.db');
}

/** One opencode session as read so far. */
export interface OpencodeSession {
  id: string;
  /** The session's working directory (`session.directory`). */
  cwd: string | null;
  /** Completed assistant messages, one usage event each (key: the message id). */
  events: UsageEvent[];
}

/** A row of the query (sqlite3 -json). */
interface Row {
  id?: unknown;
  session?: unknown;
  cwd?: unknown;
  updated?: unknown;
  completed?: unknown;
  created?: unknown;
  model?: unknown;
  input?: unknown;
  output?: unknown;
  reasoning?: unknown;
  cache_read?: unknown;
  cache_write?: unknown;
}

/**
 * The usage event of one message row, or null when the row is not a completed request with
 * tokens. Pure; exported for tests.
 */
export function eventOfRow(row: Row): UsageEvent | null {
  const id = str(row.id);
  const at = num(row.completed) || 0;
  if (!id || at <= 0) return null;
  const reasoning = num(row.reasoning);
  const tokens = makeTokens(num(row.input), num(row.output) + reasoning, num(row.cache_read), num(row.cache_write), reasoning);
  if (tokens.total === 0) return null;
  return { at, model: str(row.model) ?? 'unknown', tokens, key: id, cacheWrite1h: 0 };
}

/** The query of message rows updated at or after `cursor` (unix ms), oldest first. */
function query(cursor: number): string {
  const j = (p: string) => `json_extract(m.data, '$.${p}')`;
  return (
    `SELECT m.id AS id, m.session_id AS session, s.directory AS cwd, m.time_updated AS updated, m.time_created AS created, ` +
    `${j('time.completed')} AS completed, ${j('modelID')} AS model, ${j('tokens.input')} AS input, ${j('tokens.output')} AS output, ` +
    `${j('tokens.reasoning')} AS reasoning, ${j('tokens.cache.read')} AS cache_read, ${j('tokens.cache.write')} AS cache_write ` +
    `FROM message m JOIN session s ON s.id = m.session_id ` +
    `WHERE m.time_updated >= ${Math.max(0, Math.floor(cursor))} AND ${j('role')} = 'assistant' ` +
    `ORDER BY m.time_updated, m.id LIMIT ${PAGE_ROWS}`
  );
}

/** Runs `sql` read-only on `db` with `sqlite3 -json`; returns the rows. Throws a one-line cause. */
export type SqliteRunner = (db: string, sql: string) => Row[];

/** The default runner: the `sqlite3` shell on PATH (`-readonly -json`, busy timeout 1 s), bounded. */
export const sqliteShell: SqliteRunner = (db, sql) => {
  let out: string;
  try {
    out = execFileSync('sqlite3', ['-readonly', '-json', '-cmd', '.timeout 1000', db, sql], {
      encoding: 'utf8',
      timeout: QUERY_TIMEOUT_MS,
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string; signal?: string };
    if (e.code === 'ENOENT') throw new Error('sqlite3 not on PATH (install the sqlite3 package, e.g. apt-get install sqlite3)', { cause: error });
    if (e.signal) throw new Error(`sqlite3 on ${db} took over ${QUERY_TIMEOUT_MS} ms (killed by ${e.signal})`, { cause: error });
    throw new Error(`sqlite3 on ${db}: ${(e.stderr ?? e.message).trim().split('\n')[0]}`, { cause: error });
  }
  if (!out.trim()) return [];
  const rows: unknown = JSON.parse(out);
  return Array.isArray(rows) ? (rows as Row[]) : [];
};

interface DbState {
  signature: string;
  cursor: number;
  sessions: Map<string, { cwd: string | null; events: Map<string, UsageEvent> }>;
}

/** What the database's signature is made of (`fs.Stats` has it). */
export interface FileStat {
  ino: number;
  size: number;
  mtimeMs: number;
}

/** `fs.statSync` of `file`, null when missing or unreadable. */
function plainStat(file: string): FileStat | null {
  try {
    return fs.statSync(file, { throwIfNoEntry: false }) ?? null;
  } catch {
    return null;
  }
}

/** Size and mtime of the database and its WAL: what changes whenever opencode writes. */
function signatureOf(db: string, statOf: (file: string) => FileStat | null): string | null {
  const main = statOf(db);
  if (!main) return null;
  const w = statOf(`${db}-wal`);
  // An empty WAL is no change (a reader, ours included, leaves one after a clean close); none: checkpointed and closed.
  const wal = w && w.size > 0 ? `${w.size}:${w.mtimeMs}` : '';
  return `${main.ino}:${main.size}:${main.mtimeMs}|${wal}`;
}

/** Reader of opencode databases, kept across ticks (in memory: a new process reads again from `since`). */
export class OpencodeStore {
  private dbs = new Map<string, DbState>();

  constructor(private readonly run: SqliteRunner = sqliteShell) {}

  /**
   * The sessions of `db` with their completed requests, reading only what changed since the last
   * call; messages updated before `since` (unix ms) are not read on the first call. A missing
   * database gives no sessions and no error. Throws (one line) when the database cannot be
   * queried; what was read before stays. `statOf` stats the database and its WAL (default
   * `fs.statSync`; the meter's watched reads keep the answer until the directory changes).
   */
  read(db: string, since: number, statOf: (file: string) => FileStat | null = plainStat): OpencodeSession[] {
    const signature = signatureOf(db, statOf);
    if (signature === null) return [];
    let state = this.dbs.get(db);
    if (!state) {
      state = { signature: '', cursor: since, sessions: new Map() };
      this.dbs.set(db, state);
    }
    if (state.signature !== signature) {
      for (let page = 0; page < MAX_PAGES; page++) {
        const rows = this.run(db, query(state.cursor));
        for (const row of rows) this.take(state, row);
        if (rows.length < PAGE_ROWS) break;
      }
      state.signature = signature;
    }
    return [...state.sessions].map(([id, s]) => ({ id, cwd: s.cwd, events: [...s.events.values()].sort((a, b) => a.at - b.at) }));
  }

  private take(state: DbState, row: Row): void {
    const session = str(row.session);
    const id = str(row.id);
    if (!session || !id) return;
    state.cursor = Math.max(state.cursor, num(row.updated));
    let s = state.sessions.get(session);
    if (!s) {
      s = { cwd: str(row.cwd), events: new Map() };
      state.sessions.set(session, s);
    }
    const event = eventOfRow(row);
    if (event) s.events.set(id, event);
    else s.events.delete(id);
  }
}
