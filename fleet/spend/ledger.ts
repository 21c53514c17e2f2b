/**
 * The spend ledger: what has been read from each record file (its cursor, its parser state,
 * the usage events and last rate report it held), kept in memory and cached on disk in
 * `<run>/spend/cache/<sha1 of the path>.json` (dir 0700, files 0600, written atomically: a
 * temp file renamed into place), so a later run or tick reads only the bytes the file gained.
 * A cache file that does not parse, or names another path, is ignored (the file is read again).
 */
import { readBoundedFile } from '../../lib/bounded-read.js';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ensureOwnerOnlyDir, OWNER_ONLY_FILE_MODE } from '../../lib/owner-only.js';
import { parseRecord, type ParserState } from './records.js';
import { newCursor, readNewLines, type TailCursor } from './tail.js';
import { makeTokens, type RateReport, type SpendRuntime, type UsageEvent } from './types.js';
import { writeFileAtomic } from '../../lib/atomic-write.js';

/** Everything the ledger knows about one record file. */
export interface LedgerFile {
  file: string;
  runtime: SpendRuntime;
  cursor: TailCursor;
  parser: ParserState;
  /** Usage events in file order, one per API request (repeats within the file dropped). */
  events: UsageEvent[];
  /** Records dropped as repeats of a request already counted (same key). */
  duplicates: number;
  /** The file's last rate-limit report (Codex), or null. */
  rate: RateReport | null;
  /** Keys of `events` (not saved; rebuilt on load). */
  keys: Set<string>;
  /** True when changed since the last save. */
  dirty: boolean;
}

/** Byte tests deciding which lines may hold usage (the rest are never parsed). */
const WANTED: Record<SpendRuntime, (line: Buffer) => boolean> = {
  claude: (l) => l.includes('"usage"'),
  codex: (l) => l.includes('"token_count"') || l.includes('"turn_context"') || l.includes('"session_meta"'),
  pi: (l) => l.includes('"usage"'),
  // opencode keeps SQLite, never tailed (fleet/spend/opencode.ts).
  opencode: () => false,
};

const CACHE_VERSION = 1;

type SavedEvent = [number, number, number, number, number, number, number, number, string | null];

function cachePath(cacheDir: string, file: string): string {
  return path.join(cacheDir, `${crypto.createHash('sha1').update(file).digest('hex').slice(0, 20)}.json`);
}

function fresh(file: string, runtime: SpendRuntime): LedgerFile {
  return { file, runtime, cursor: newCursor(), parser: {}, events: [], duplicates: 0, rate: null, keys: new Set(), dirty: true };
}

/** Encodes an entry for the cache file. */
function encode(f: LedgerFile): string {
  const models: string[] = [];
  const index = new Map<string, number>();
  const events: SavedEvent[] = f.events.map((e) => {
    let i = index.get(e.model);
    if (i === undefined) {
      i = models.length;
      models.push(e.model);
      index.set(e.model, i);
    }
    const t = e.tokens;
    return [e.at, i, t.input, t.output, t.cacheRead, t.cacheWrite, t.reasoning, e.cacheWrite1h, e.key];
  });
  return JSON.stringify({
    v: CACHE_VERSION,
    file: f.file,
    runtime: f.runtime,
    cursor: f.cursor,
    parser: f.parser,
    duplicates: f.duplicates,
    rate: f.rate,
    models,
    events,
  });
}

/** Decodes a cache file's text, or null when it is not ours / not for `file`. */
function decode(text: string, file: string, runtime: SpendRuntime): LedgerFile | null {
  try {
    const raw = JSON.parse(text) as Record<string, unknown>;
    if (raw.v !== CACHE_VERSION || raw.file !== file || raw.runtime !== runtime) return null;
    const models = raw.models as string[];
    const events = (raw.events as SavedEvent[]).map((e): UsageEvent => ({
      at: e[0],
      model: models[e[1]] ?? 'unknown',
      tokens: makeTokens(e[2], e[3], e[4], e[5], e[6]),
      cacheWrite1h: e[7],
      key: e[8],
    }));
    const cursor = { ...newCursor(), ...(raw.cursor as TailCursor) };
    const keys = new Set(events.map((e) => e.key).filter((k): k is string => k !== null));
    return {
      file,
      runtime,
      cursor,
      parser: (raw.parser as ParserState) ?? {},
      events,
      duplicates: Number(raw.duplicates) || 0,
      rate: (raw.rate as RateReport) ?? null,
      keys,
      dirty: false,
    };
  } catch {
    return null;
  }
}

/** What one {@link SpendLedger.update} did. */
export interface LedgerUpdate {
  changed: boolean;
  reset: boolean;
  bytesRead: number;
  error: string | null;
}

/**
 * The ledger of record files. `cacheDir` null keeps it in memory only (tests, bench of the
 * first scan). Not thread-safe; one per process.
 */
export class SpendLedger {
  readonly files = new Map<string, LedgerFile>();

  constructor(readonly cacheDir: string | null) {}

  /** The entry of `file`, loading its cache on first use. */
  entry(file: string, runtime: SpendRuntime): LedgerFile {
    let f = this.files.get(file);
    if (f && f.runtime === runtime) return f;
    f = null as unknown as LedgerFile;
    if (this.cacheDir) {
      try {
        const cached = readBoundedFile(cachePath(this.cacheDir, file), { maxBytes: 16 * 1024 * 1024 });
        if (cached) f = decode(cached.bytes.toString('utf8'), file, runtime) as LedgerFile;
      } catch {
        // no cache yet
      }
    }
    f ??= fresh(file, runtime);
    this.files.set(file, f);
    return f;
  }

  /**
   * Reads what `file` gained since the last update (at most `maxBytes`). A rewritten or
   * truncated file drops its events and is read again. Never throws; an unreadable file keeps
   * what was read before and returns the error.
   */
  update(file: string, runtime: SpendRuntime, maxBytes?: number): LedgerUpdate {
    const f = this.entry(file, runtime);
    let reset = false;
    const onValue = (value: unknown) => {
      const r = parseRecord(runtime, value, f.parser);
      if (!r) return;
      if (r.rate) f.rate = r.rate;
      const e = r.event;
      if (!e) return;
      if (e.key !== null) {
        if (f.keys.has(e.key)) {
          f.duplicates += 1;
          return;
        }
        f.keys.add(e.key);
      }
      f.events.push(e);
    };
    const before = { ...f.cursor };
    const onReset = () => {
      reset = true;
      f.events = [];
      f.keys = new Set();
      f.parser = {};
      f.duplicates = 0;
      f.rate = null;
    };
    const res = readNewLines(file, f.cursor, WANTED[runtime], onValue, { maxBytes, onReset });
    if (reset) {
      f.dirty = true;
      return { changed: true, reset, bytesRead: res.bytesRead, error: res.error };
    }
    const changed =
      f.cursor.offset !== before.offset || f.cursor.size !== before.size || f.cursor.mtimeMs !== before.mtimeMs || f.cursor.skipping !== before.skipping;
    if (changed) f.dirty = true;
    return { changed, reset, bytesRead: res.bytesRead, error: res.error };
  }

  /** Forgets a file (gone from disk). */
  drop(file: string): void {
    this.files.delete(file);
    if (this.cacheDir) fs.rmSync(cachePath(this.cacheDir, file), { force: true });
  }

  /**
   * Writes the cache of every changed entry (owner-only, atomic); nothing changed ⇒ no file
   * touched. Returns the error of the first failure, or null.
   */
  save(): string | null {
    if (!this.cacheDir) return null;
    if (![...this.files.values()].some((f) => f.dirty)) return null;
    let first: string | null = null;
    try {
      ensureOwnerOnlyDir(this.cacheDir);
    } catch (error) {
      return `${this.cacheDir}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
    }
    for (const f of this.files.values()) {
      if (!f.dirty) continue;
      const target = cachePath(this.cacheDir, f.file);
      try {
        writeFileAtomic(target, encode(f), { mode: OWNER_ONLY_FILE_MODE });
        f.dirty = false;
      } catch (error) {
        first ??= `${target}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
      }
    }
    return first;
  }
}
