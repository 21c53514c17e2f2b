/**
 * Heartbeat protocol v1 (docs/heartbeat.md): `<run>/<agent>.hb`, `key=value` lines. The tolerant parser
 * (legacy `ts=`-only files, partial beats, future ts, missing ts; a file with no v1 field at
 * all is no beat), the bounded reader and the atomic writer. Upstream
 * fixed only the path (`~/.config/mosaic/fleet/run/<agent>.hb`, FLEET-OBS-001) and wrote `ts=`.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { HeartbeatInfo, HeartbeatState } from './types.js';
import { BoundedReadError, readBoundedFile, readListedFile } from '../lib/bounded-read.js';
import { fileStamp, type FileStamp } from './file-stamp.js';
import { ensureOwnerOnlyDir } from '../lib/owner-only.js';
import { writeFileAtomic } from '../lib/atomic-write.js';
import { isValidAgentName } from './roster.js';
import { flattenLine, hasControlCharacters, looksBinary, maskUnquotable } from '../lib/sanitize.js';
import { messageOf } from '../lib/errors.js';

export type { HeartbeatState } from './types.js';

/** Heartbeat states of protocol v1, in the order the docs list them. */
export const HEARTBEAT_STATES: readonly HeartbeatState[] = ['busy', 'idle', 'waiting', 'stuck'];

/** True when `s` is a v1 heartbeat state. */
export function isHeartbeatState(s: unknown): s is HeartbeatState {
  return typeof s === 'string' && (HEARTBEAT_STATES as readonly string[]).includes(s);
}

/** Longest `reason=` kept (characters); a longer one is cut. */
export const MAX_REASON_LENGTH = 200;

/**
 * A `reason=` value as the snapshot keeps it (untrusted input from any writer): C0/C1
 * controls, DEL, line/bidi separators and U+FFFD become spaces, runs of blanks collapse to one,
 * cut to {@link MAX_REASON_LENGTH} characters; null when nothing is left. Pure.
 */
export function sanitizeReason(raw: string): string | null {
  const flat = flattenLine(raw);
  return flat ? [...flat].slice(0, MAX_REASON_LENGTH).join('') : null;
}

/**
 * States a writer may report: every v1 state; `waiting` (a permission prompt, a question) and
 * `stuck` (an API error ended the turn: rate limit, rejected credentials) carry a `reason=`.
 */
export type HeartbeatWriteState = HeartbeatState;

/** Every {@link HeartbeatWriteState}. */
export const HEARTBEAT_WRITE_STATES: readonly HeartbeatWriteState[] = HEARTBEAT_STATES;

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
const V1_KEYS: ReadonlySet<string> = new Set(['v', 'ts', 'state', 'reason', 'interval', 'pid', 'card', 'note']);

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
  /** Unix seconds of now: ages the beat and clamps a future `ts` (whose age then comes from `mtimeSeconds`). */
  nowSeconds: number;
  /**
   * Unix seconds of the file's ctime (the kernel's clock at its last change; no writer can set
   * it): the age of a beat whose `ts` and mtime are both in the future. Absent: such a beat is
   * aged from now (0 s).
   */
  ctimeSeconds?: number;
  /** Size of the whole file when `input` is only its first bytes (a bounded read); default the input's size. */
  fileSize?: number;
}

/** A file value for a problem message: at most 40 characters, unsafe characters shown as `?`. */
function quote(raw: string): string {
  return `"${maskUnquotable(raw.slice(0, 40))}"`;
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
  return parseHeartbeatText(bytes.toString('utf8'), bytes.length, fileSize, opts.path, opts.nowSeconds, () => opts);
}

/** A beat file's times, unix seconds (see {@link HeartbeatParseOptions}). */
type BeatFileTimes = Pick<HeartbeatParseOptions, 'mtimeSeconds' | 'ctimeSeconds'>;

/**
 * {@link parseHeartbeat} of `prefix` (the first `readBytes` bytes of a file of `fileSize` bytes,
 * decoded), asking `times` for the file's times only when the beat needs them (no usable `ts`,
 * or a `ts` in the future): most beats are parsed without them.
 */
function parseHeartbeatText(prefix: string, readBytes: number, fileSize: number, file: string, nowSeconds: number, times: () => BeatFileTimes): HeartbeatRead {
  const truncated = fileSize > readBytes;
  const lines = splitHeartbeatLines(wholeLines(prefix, truncated));
  if (lines.recognised === 0) return { heartbeat: null, error: `${file} unreadable: ${noFieldReason(prefix, readBytes, fileSize)}` };

  const problems: string[] = [];
  const { values } = lines;
  for (const n of lines.badLines.slice(0, MAX_LISTED_BAD_LINES)) problems.push(`line ${n}: no key=value`);
  if (lines.badLines.length > MAX_LISTED_BAD_LINES) problems.push(`${lines.badLines.length - MAX_LISTED_BAD_LINES} more lines without key=value`);
  if (truncated) problems.push(`file is ${fileSize} bytes: read only the first ${readBytes}`);

  const version = parseVersion(values, problems);
  const { ts, ageFrom, skewSeconds } = ageOfBeat(parseTs(values, times, problems), nowSeconds, times, problems);
  const state = parseState(values, version, problems);
  const intervalSeconds = optionalCount(values, 'interval', problems);
  const pid = optionalCount(values, 'pid', problems);
  const card = values.get('card') || null;
  const note = values.has('note') ? (values.get('note') ?? '').slice(0, MAX_NOTE_LENGTH) || null : null;
  const rawReason = values.get('reason');
  const reason = rawReason === undefined ? null : sanitizeReason(rawReason);

  return {
    heartbeat: {
      path: file,
      version,
      ts,
      ageSeconds: Math.max(0, Math.floor(nowSeconds) - ageFrom),
      state,
      // Present only when the beat has one (older snapshot readers never see the key otherwise).
      ...(reason !== null ? { reason } : {}),
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

/** A whole non-negative number of `key` (floored), null when absent or empty; a problem when it is something else. */
function optionalCount(values: ReadonlyMap<string, string>, key: string, problems: string[]): number | null {
  const raw = values.get(key);
  if (raw === undefined || raw === '') return null;
  const n = Number(raw);
  if (Number.isFinite(n) && n >= 0) return Math.floor(n);
  problems.push(`${key} ${quote(raw)} is not a number`);
  return null;
}

/** The text of whole lines: a cut prefix ends inside a line (and maybe inside a character), so its tail is dropped; a BOM is dropped. */
function wholeLines(prefix: string, truncated: boolean): string {
  let text = prefix;
  if (truncated) text = text.slice(0, text.lastIndexOf('\n') + 1);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return text;
}

/** A heartbeat's `key=value` lines: the last value of each key, the 1-based numbers of lines without `=`, how many lines carry a v1 key. */
interface HeartbeatLines {
  values: Map<string, string>;
  badLines: number[];
  recognised: number;
}

/** Splits heartbeat text into {@link HeartbeatLines}; blank lines and `#` comments are skipped, inline comments cut from all but the free-text keys. */
function splitHeartbeatLines(text: string): HeartbeatLines {
  const values = new Map<string, string>();
  const badLines: number[] = [];
  let recognised = 0;
  let number = 0;
  for (const raw of text.split('\n')) {
    number += 1;
    // trim() drops a CR before the line's end too.
    const line = raw.trim();
    if (!line || line.charCodeAt(0) === 0x23 /* # */) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) {
      badLines.push(number);
      continue;
    }
    const key = line.slice(0, eq).trim();
    if (V1_KEYS.has(key)) recognised += 1;
    // Inline comments (`ts=123   # unix seconds`) are allowed for every key except the free-text ones.
    let value = line.slice(eq + 1);
    if (key !== 'note' && key !== 'reason' && value.includes('#')) value = value.replace(/\s+#.*$/, '');
    values.set(key, value.trim());
  }
  return { values, badLines, recognised };
}

/** Why a file with no v1 field is no beat: `empty file`, or `no v1 field (<size> bytes, binary|text)` (naming the bytes read of a larger file). */
function noFieldReason(prefix: string, readBytes: number, fileSize: number): string {
  const truncated = fileSize > readBytes;
  // Undecodable UTF-8 shows as U+FFFD; a cut prefix may end in half a character.
  const undecodable = (truncated ? prefix.replace(/\ufffd+$/, '') : prefix).includes('\ufffd');
  const kind = looksBinary(prefix) || undecodable ? 'binary' : 'text';
  if (fileSize === 0) return 'empty file';
  if (truncated) return `no v1 field in the first ${readBytes} bytes (file is ${fileSize} bytes, ${kind})`;
  return `no v1 field (${fileSize} bytes, ${kind})`;
}

/** `v=` as a positive integer, null when absent or unreadable (a problem then). */
function parseVersion(values: ReadonlyMap<string, string>, problems: string[]): number | null {
  const raw = values.get('v');
  if (raw === undefined) return null;
  const v = Number(raw);
  if (Number.isInteger(v) && v > 0) return v;
  problems.push(`v ${quote(raw)} is not a version number`);
  return null;
}

/** `ts=` in whole unix seconds; the file's mtime when missing or unreadable (a problem then). */
function parseTs(values: ReadonlyMap<string, string>, times: () => BeatFileTimes, problems: string[]): number {
  const rawTs = values.get('ts');
  if (rawTs === undefined) problems.push('ts missing: used file mtime');
  else {
    const n = Number(rawTs);
    if (rawTs !== '' && Number.isFinite(n) && n > 0) return Math.floor(n);
    problems.push(`ts ${quote(rawTs)} unreadable: used file mtime`);
  }
  return Math.floor(times().mtimeSeconds);
}

/**
 * Age of the beat: from `ts`, except a `ts` in the future, which is clamped for display while
 * the age comes from the file's mtime, so a dead writer still goes stale. When the mtime is in
 * the future too (a writer's clock ahead, or a `touch -d`), the age comes from the ctime, which
 * only the kernel's clock sets: the beat still ages and goes stale. Returns the displayed `ts`,
 * the unix second the age counts from, and the skew (0 unless clamped).
 */
function ageOfBeat(ts: number, nowSeconds: number, times: () => BeatFileTimes, problems: string[]): { ts: number; ageFrom: number; skewSeconds: number } {
  if (ts <= nowSeconds + 1) return { ts, ageFrom: ts, skewSeconds: 0 };
  const now = Math.floor(nowSeconds);
  const skewSeconds = ts - now;
  const { mtimeSeconds, ctimeSeconds } = times();
  const mtime = Math.floor(mtimeSeconds);
  const ctime = ctimeSeconds === undefined ? null : Math.floor(ctimeSeconds);
  if (mtime <= now) {
    problems.push(`ts ${skewSeconds}s in the future (clock skew): clamped to now, age from the file's mtime`);
    return { ts: now, ageFrom: mtime, skewSeconds };
  }
  if (ctime !== null && ctime <= now) {
    problems.push(`ts ${skewSeconds}s and mtime ${mtime - now}s in the future (clock skew): clamped to now, age from the file's ctime`);
    return { ts: now, ageFrom: ctime, skewSeconds };
  }
  problems.push(`ts ${skewSeconds}s and the file's times in the future (clock skew): clamped to now, age unknown`);
  return { ts: now, ageFrom: now, skewSeconds };
}

/** `state=` when it is a v1 state; a problem when it is something else, or missing from a v1 beat. */
function parseState(values: ReadonlyMap<string, string>, version: number | null, problems: string[]): HeartbeatState | null {
  const rawState = values.get('state');
  if (isHeartbeatState(rawState)) return rawState;
  if (rawState !== undefined) problems.push(`state ${quote(rawState)} is not ${HEARTBEAT_STATES.join('|')}`);
  else if (version !== null && version >= 1) problems.push('state missing (required in v1)');
  return null;
}

/**
 * Reads `<runDir>/<agent>.hb`: at most {@link HEARTBEAT_READ_LIMIT} bytes through
 * {@link readBoundedFile} (regular files only, non-blocking open: a FIFO or `/dev/zero` planted
 * at the path cannot hang or bloat a tick; a 50 MB file is not read whole every tick and the
 * evidence says when it was larger), parsed by {@link parseHeartbeat}.
 * `{ heartbeat: null, error: null }` when there is no file; a null beat with `error`
 * (`<path> unreadable: <why>`, control characters shown as `?`) when it is not a regular file,
 * cannot be read, or holds no v1 field. Never throws. `nowSeconds` = unix seconds.
 */
export function readHeartbeat(runDir: string, agent: string, nowSeconds: number): HeartbeatRead {
  return readHeartbeatStamped(runDir, agent, nowSeconds).read;
}

/**
 * {@link readHeartbeat}, with the stamp of what was read (./file-stamp.ts: the file's
 * inode, size and times from the `fstat` of the descriptor read; `absent` without a file; null
 * when unreadable or changed less than a second before `readAtMs`, unix ms): a kept beat whose
 * file still has that stamp is still its beat. Never throws.
 */
export function readHeartbeatStamped(runDir: string, agent: string, nowSeconds: number, readAtMs = Date.now()): { read: HeartbeatRead; stamp: FileStamp } {
  const file = heartbeatPath(runDir, agent);
  try {
    const read = readBoundedFile(file, { maxBytes: HEARTBEAT_READ_LIMIT, truncate: true });
    if (!read) return { read: { heartbeat: null, error: null }, stamp: 'absent' };
    return {
      read: parseHeartbeat(read.bytes, { path: file, mtimeSeconds: read.mtimeMs / 1000, ctimeSeconds: read.ctimeMs / 1000, nowSeconds, fileSize: read.size }),
      stamp: fileStamp(read, readAtMs),
    };
  } catch (error) {
    const why = error instanceof BoundedReadError ? error.message.slice(file.length + 2) : messageOf(error);
    return { read: { heartbeat: null, error: maskUnquotable(`${file} unreadable: ${why}`) }, stamp: null };
  }
}

/** Read buffer of {@link readListedHeartbeat}, shared by every read (one byte more than the bound tells a larger file). */
const listedBeatBuffer = Buffer.allocUnsafe(HEARTBEAT_READ_LIMIT + 1);

/** Thrown inside {@link readListedHeartbeat} when the descriptor read is not a regular file after all. */
const NOT_REGULAR = new Error('not a regular file');

/**
 * {@link readHeartbeat} of `file` (`<runDir>/<agent>.hb` as {@link heartbeatPath} spells it), which
 * a directory listing just showed as a regular file (one snapshot's plain reads,
 * fleet/run-dir-watch.ts): opened non-blocking, read once into a shared buffer, closed; `fstat`ed
 * only when the beat needs the file's times (no usable `ts`, or a `ts` in the future) — a
 * regular file's read returns all it has up to the bound. Null when the read is not that plain
 * case (the file is gone, empty, larger than {@link HEARTBEAT_READ_LIMIT}, not a regular file when
 * `fstat`ed, any error): the caller reads it again with {@link readHeartbeat}, which tells why. A
 * FIFO swapped in after the listing cannot hang the read (non-blocking), at worst its first bytes
 * are parsed. Never throws.
 */
export function readListedHeartbeat(file: string, nowSeconds: number): HeartbeatRead | null {
  return readListedFile(file, listedBeatBuffer, (n, fd) => {
    if (n === 0 || n > HEARTBEAT_READ_LIMIT) return null;
    let times: BeatFileTimes | undefined;
    const fileTimes = (): BeatFileTimes => {
      if (times) return times;
      const st = fs.fstatSync(fd);
      if (!st.isFile()) throw NOT_REGULAR;
      return (times = { mtimeSeconds: st.mtimeMs / 1000, ctimeSeconds: st.ctimeMs / 1000 });
    };
    return parseHeartbeatText(listedBeatBuffer.toString('utf8', 0, n), n, n, file, nowSeconds, fileTimes);
  });
}

/** What a writer reports in one beat. */
export interface HeartbeatBeat {
  state: HeartbeatWriteState;
  card?: string | null;
  /** Free text, flattened to one line and cut to {@link MAX_NOTE_LENGTH}. */
  note?: string | null;
  /** What a `waiting` agent waits for / why a `stuck` one is stuck; flattened, cut to {@link MAX_REASON_LENGTH}. */
  reason?: string | null;
  /** Seconds between beats the writer promises. */
  interval?: number | null;
  pid?: number | null;
  /** Unix seconds; default now. */
  ts?: number;
}

/** Renders a v1 heartbeat file body (pure): `v`, `ts`, `state`, then `interval`, `pid`, `card`, `reason`, `note` when given. Throws {@link HeartbeatInputError} on an invalid state, card or interval. */
export function formatHeartbeat(beat: HeartbeatBeat): string {
  if (!isHeartbeatState(beat.state)) throw new HeartbeatInputError(`heartbeat state must be busy, idle, waiting or stuck, got "${beat.state}"`);
  const ts = Math.floor(beat.ts ?? Date.now() / 1000);
  const lines = ['v=1', `ts=${ts}`, `state=${beat.state}`];
  const reason = beat.reason ? sanitizeReason(beat.reason) : null;
  if (reason) lines.push(`reason=${reason}`);
  if (beat.interval !== undefined && beat.interval !== null) {
    if (!Number.isFinite(beat.interval) || beat.interval <= 0)
      throw new HeartbeatInputError(`heartbeat interval must be a positive number of seconds, got ${beat.interval}`);
    lines.push(`interval=${Math.round(beat.interval)}`);
  }
  if (beat.pid !== undefined && beat.pid !== null) lines.push(`pid=${Math.floor(beat.pid)}`);
  if (beat.card) {
    if (/[\s=]/.test(beat.card) || hasControlCharacters(beat.card))
      throw new HeartbeatInputError(`heartbeat card id must not contain spaces, '=' or control characters: "${beat.card}"`);
    lines.push(`card=${beat.card}`);
  }
  if (beat.note) {
    const flat = flattenLine(beat.note).slice(0, MAX_NOTE_LENGTH);
    if (flat) lines.push(`note=${flat}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Writes `<runDir>/<agent>.hb` atomically through {@link writeFileAtomic} (readers never see a
 * half-written beat; a file planted at the temp name is refused), mode 0600. Creates the run dir 0700 (an existing one of ours
 * loses group/other bits). Throws {@link HeartbeatInputError} on an
 * invalid agent name (no `/`, `.`, `:`, spaces), state or card; other errors are I/O. Returns the file path.
 */
export function writeHeartbeat(runDir: string, agent: string, beat: HeartbeatBeat): string {
  if (!isValidAgentName(agent)) throw new HeartbeatInputError(`invalid agent name "${agent}": use letters, digits, _ - + @ (no / . : or spaces)`);
  const body = formatHeartbeat(beat);
  ensureOwnerOnlyDir(runDir);
  const file = heartbeatPath(runDir, agent);
  writeFileAtomic(file, body, { mode: 0o600 });
  return file;
}
