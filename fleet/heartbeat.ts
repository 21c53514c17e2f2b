/**
 * Heartbeat protocol v1 (docs/heartbeat.md): `<run>/<agent>.hb`, `key=value` lines. The tolerant parser
 * (legacy `ts=`-only files, partial beats, future ts, missing ts; a file with no v1 field at
 * all is no beat), the bounded reader and the atomic writer. Upstream
 * fixed only the path (`~/.config/mosaic/fleet/run/<agent>.hb`, FLEET-OBS-001) and wrote `ts=`.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { HeartbeatInfo } from './types.js';
import { isValidAgentName } from './roster.js';

/** Heartbeat states of protocol v1. */
export type HeartbeatState = 'busy' | 'idle';

/** Longest note kept (characters); longer notes are cut by the writer and the parser. */
export const MAX_NOTE_LENGTH = 200;

/** Bad input to the writer (agent name, state, card, interval): the caller's mistake, not I/O. */
export class HeartbeatInputError extends Error {
  override name = 'HeartbeatInputError';
}

/** Path of an agent's heartbeat file: `<runDir>/<agent>.hb`. */
export function heartbeatPath(runDir: string, agent: string): string {
  return path.join(runDir, `${agent}.hb`);
}

/** Most bytes of a heartbeat file that are read: a v1 beat is a few lines, far below this. */
export const HEARTBEAT_READ_LIMIT = 4096;

/** Keys of protocol v1; a file with none of them on a `key=value` line is not a heartbeat. */
const V1_KEYS: ReadonlySet<string> = new Set(['v', 'ts', 'state', 'interval', 'pid', 'card', 'note']);

/** Lines without `key=value` listed one by one in `problems`; the rest are counted. */
const MAX_LISTED_BAD_LINES = 3;

/** A heartbeat read or parsed: a usable beat, or none and why (`error` is null when there is simply no file). */
export interface HeartbeatRead {
  heartbeat: HeartbeatInfo | null;
  /** `<path> unreadable: <why>` (never raw bytes of the file), or null. */
  error: string | null;
}

/** Options of {@link parseHeartbeat}. */
export interface HeartbeatParseOptions {
  /** The file's path, for `HeartbeatInfo.path` and the error. */
  path: string;
  /** Unix seconds of the file's mtime: stands in for a missing/unreadable `ts`. */
  mtimeSeconds: number;
  /** Unix seconds of now: ages the beat and clamps a future `ts`. */
  nowSeconds: number;
  /** Size of the whole file when `input` is only its first bytes (a bounded read); default the input's size. */
  fileSize?: number;
}

/** C0 controls except tab/LF/CR, DEL: bytes no text heartbeat holds. */
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
/** Characters never quoted into problems/evidence as they are: controls, line/bidi separators, U+FFFD. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufffd]/g;

/** A file value for a problem message: at most 40 characters, unsafe characters shown as `?`. */
function quote(raw: string): string {
  return `"${raw.slice(0, 40).replace(UNSAFE, '?')}"`;
}

/**
 * Parses a heartbeat file's content (text, or its bytes — possibly only the first bytes of a
 * larger file, see `fileSize`). Never throws. The protocol as the team reconciled it:
 * - at least one `key=value` line with a v1 key (v, ts, state, interval, pid, card, note) ⇒ a
 *   usable beat from what parses; the file's mtime stands in for a missing/unreadable `ts`;
 *   every oddity lands in `problems` and sets `partial`;
 * - no such line (binary garbage, zeros, an empty file, text with no known key) ⇒ no beat, and
 *   `error` says why, e.g. `<path> unreadable: no v1 field (300 bytes, binary)` — readiness
 *   then says `unknown` rather than trusting the file's mtime as a fresh beat.
 * When `fileSize` exceeds the input, the input's last incomplete line is dropped (a cut
 * `ts=17` must not read as an old beat) and the beat is partial with the size in `problems`.
 */
export function parseHeartbeat(input: string | Uint8Array, opts: HeartbeatParseOptions): HeartbeatRead {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const fileSize = Math.max(opts.fileSize ?? bytes.length, bytes.length);
  const truncated = fileSize > bytes.length;
  const prefix = bytes.toString('utf8');
  // A cut prefix ends inside a line (and maybe inside a character): only whole lines count.
  let text = prefix;
  if (truncated) text = text.slice(0, text.lastIndexOf('\n') + 1);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  const problems: string[] = [];
  const badLines: number[] = [];
  const values = new Map<string, string>();
  let recognised = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').trim();
    if (!line || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq <= 0) {
      badLines.push(i + 1);
      return;
    }
    const key = line.slice(0, eq).trim();
    if (V1_KEYS.has(key)) recognised += 1;
    // Inline comments (`ts=123   # unix seconds`) are allowed for every key except `note`.
    let value = line.slice(eq + 1);
    if (key !== 'note') value = value.replace(/\s+#.*$/, '');
    values.set(key, value.trim());
  });

  if (recognised === 0) {
    // Undecodable UTF-8 shows as U+FFFD; a cut prefix may end in half a character.
    const undecodable = (truncated ? prefix.replace(/\ufffd+$/, '') : prefix).includes('\ufffd');
    const kind = CONTROL.test(prefix) || undecodable ? 'binary' : 'text';
    let why: string;
    if (fileSize === 0) why = 'empty file';
    else if (truncated) why = `no v1 field in the first ${bytes.length} bytes (file is ${fileSize} bytes, ${kind})`;
    else why = `no v1 field (${fileSize} bytes, ${kind})`;
    return { heartbeat: null, error: `${opts.path} unreadable: ${why}` };
  }

  for (const n of badLines.slice(0, MAX_LISTED_BAD_LINES)) problems.push(`line ${n}: no key=value`);
  if (badLines.length > MAX_LISTED_BAD_LINES) problems.push(`${badLines.length - MAX_LISTED_BAD_LINES} more lines without key=value`);
  if (truncated) problems.push(`file is ${fileSize} bytes: read only the first ${bytes.length}`);

  let version: number | null = null;
  if (values.has('v')) {
    const v = Number(values.get('v'));
    if (Number.isInteger(v) && v > 0) version = v;
    else problems.push(`v ${quote(values.get('v') ?? '')} is not a version number`);
  }

  let ts: number | null = null;
  const rawTs = values.get('ts');
  if (rawTs === undefined) problems.push('ts missing: used file mtime');
  else {
    const n = Number(rawTs);
    if (rawTs !== '' && Number.isFinite(n) && n > 0) ts = Math.floor(n);
    else problems.push(`ts ${quote(rawTs)} unreadable: used file mtime`);
  }
  if (ts === null) ts = Math.floor(opts.mtimeSeconds);

  let skewSeconds = 0;
  if (ts > opts.nowSeconds + 1) {
    skewSeconds = ts - Math.floor(opts.nowSeconds);
    problems.push(`ts ${skewSeconds}s in the future (clock skew): clamped to now`);
    ts = Math.floor(opts.nowSeconds);
  }

  let state: HeartbeatState | null = null;
  const rawState = values.get('state');
  if (rawState === 'busy' || rawState === 'idle') state = rawState;
  else if (rawState !== undefined) problems.push(`state ${quote(rawState)} is not busy|idle`);
  else if (version !== null && version >= 1) problems.push('state missing (required in v1)');

  const optInt = (key: string): number | null => {
    const raw = values.get(key);
    if (raw === undefined || raw === '') return null;
    const n = Number(raw);
    if (Number.isFinite(n) && n >= 0) return Math.floor(n);
    problems.push(`${key} ${quote(raw)} is not a number`);
    return null;
  };
  const intervalSeconds = optInt('interval');
  const pid = optInt('pid');
  const card = values.get('card') || null;
  const note = values.has('note') ? (values.get('note') ?? '').slice(0, MAX_NOTE_LENGTH) || null : null;

  return {
    heartbeat: {
      path: opts.path,
      version,
      ts,
      ageSeconds: Math.max(0, Math.floor(opts.nowSeconds) - ts),
      state,
      intervalSeconds,
      pid,
      card,
      note,
      partial: problems.length > 0 || version === null,
      skewSeconds,
      problems,
    },
    error: null,
  };
}

/** Read buffer of {@link readHeartbeat}: one byte over the limit tells a larger file. Shared by every read (each agent, every tick). */
const heartbeatBuffer = Buffer.alloc(HEARTBEAT_READ_LIMIT + 1);

/**
 * Reads `<runDir>/<agent>.hb`: at most {@link HEARTBEAT_READ_LIMIT} bytes (a 50 MB file is
 * not read whole every tick; the evidence says when it was larger), parsed by
 * {@link parseHeartbeat}. `{ heartbeat: null, error: null }` when there is no file; a null
 * beat with `error` (`<path> unreadable: <why>`) when it is not a regular file, cannot be
 * read, or holds no v1 field. Never throws. `nowSeconds` = unix seconds.
 */
export function readHeartbeat(runDir: string, agent: string, nowSeconds: number): HeartbeatRead {
  const file = heartbeatPath(runDir, agent);
  let fd: number | null = null;
  try {
    // O_NONBLOCK: opening a FIFO planted at the path must not hang the tick; fstat on the
    // descriptor then describes exactly the file read (a writer's rename can't slip between).
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return { heartbeat: null, error: `${file} unreadable: not a regular file` };
    let n = 0;
    while (n < heartbeatBuffer.length) {
      const got = fs.readSync(fd, heartbeatBuffer, n, heartbeatBuffer.length - n, n);
      if (got === 0) break;
      n += got;
    }
    const truncated = n > HEARTBEAT_READ_LIMIT;
    const bytes = heartbeatBuffer.subarray(0, Math.min(n, HEARTBEAT_READ_LIMIT));
    return parseHeartbeat(bytes, {
      path: file,
      mtimeSeconds: st.mtimeMs / 1000,
      nowSeconds,
      fileSize: truncated ? Math.max(st.size, n) : n,
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { heartbeat: null, error: null };
    return { heartbeat: null, error: `${file} unreadable: ${(error as Error).message}` };
  } finally {
    if (fd !== null) {
      try {
        fs.closeSync(fd);
      } catch {
        // Nothing to do: the read is over either way.
      }
    }
  }
}

/** What a writer reports in one beat. */
export interface HeartbeatBeat {
  state: HeartbeatState;
  card?: string | null;
  /** Free text, flattened to one line and cut to {@link MAX_NOTE_LENGTH}. */
  note?: string | null;
  /** Seconds between beats the writer promises. */
  interval?: number | null;
  pid?: number | null;
  /** Unix seconds; default now. */
  ts?: number;
}

/** Renders a v1 heartbeat file body (pure). Throws {@link HeartbeatInputError} on an invalid state, card or interval. */
export function formatHeartbeat(beat: HeartbeatBeat): string {
  if (beat.state !== 'busy' && beat.state !== 'idle') throw new HeartbeatInputError(`heartbeat state must be busy or idle, got "${beat.state}"`);
  const ts = Math.floor(beat.ts ?? Date.now() / 1000);
  const lines = ['v=1', `ts=${ts}`, `state=${beat.state}`];
  if (beat.interval !== undefined && beat.interval !== null) {
    if (!Number.isFinite(beat.interval) || beat.interval <= 0) throw new HeartbeatInputError(`heartbeat interval must be a positive number of seconds, got ${beat.interval}`);
    lines.push(`interval=${Math.round(beat.interval)}`);
  }
  if (beat.pid !== undefined && beat.pid !== null) lines.push(`pid=${Math.floor(beat.pid)}`);
  if (beat.card) {
    if (/[\s=\u0000-\u001f\u007f]/.test(beat.card)) throw new HeartbeatInputError(`heartbeat card id must not contain spaces, '=' or control characters: "${beat.card}"`);
    lines.push(`card=${beat.card}`);
  }
  if (beat.note) {
    const flat = beat.note.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim().slice(0, MAX_NOTE_LENGTH);
    if (flat) lines.push(`note=${flat}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Writes `<runDir>/<agent>.hb` atomically: a temp file in the same dir, then rename (readers
 * never see a half-written beat). Creates the run dir. Throws {@link HeartbeatInputError} on an
 * invalid agent name (no `/`, `.`, `:`, spaces), state or card; other errors are I/O. Returns the file path.
 */
export function writeHeartbeat(runDir: string, agent: string, beat: HeartbeatBeat): string {
  if (!isValidAgentName(agent)) throw new HeartbeatInputError(`invalid agent name "${agent}": use letters, digits, _ - + @ (no / . : or spaces)`);
  const body = formatHeartbeat(beat);
  fs.mkdirSync(runDir, { recursive: true });
  const file = heartbeatPath(runDir, agent);
  const tmp = path.join(runDir, `.${agent}.hb.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    fs.writeFileSync(tmp, body, { mode: 0o644 });
    fs.renameSync(tmp, file);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw error;
  }
  return file;
}
