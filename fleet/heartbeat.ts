/**
 * Heartbeat protocol v1 (spec §4): `<run>/<agent>.hb`, `key=value` lines. The tolerant parser
 * (legacy `ts=`-only files, garbage, future ts, missing ts) and the atomic writer. Upstream
 * fixed only the path (`~/.config/mosaic/fleet/run/<agent>.hb`, FLEET-OBS-001) and wrote `ts=`.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { HeartbeatInfo } from '../src/snapshot-types.js';
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

/**
 * Parses heartbeat text. `mtimeSeconds` (unix seconds) stands in for a missing/unreadable
 * `ts`; `nowSeconds` clamps a future `ts` (the skew is reported). Never throws: every oddity
 * lands in `problems` and sets `partial`.
 */
export function parseHeartbeat(
  text: string,
  opts: { path: string; mtimeSeconds: number; nowSeconds: number },
): HeartbeatInfo {
  const problems: string[] = [];
  const values = new Map<string, string>();
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').trim();
    if (!line || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq <= 0) {
      problems.push(`line ${i + 1}: no key=value`);
      return;
    }
    const key = line.slice(0, eq).trim();
    // Inline comments (`ts=123   # unix seconds`) are allowed for every key except `note`.
    let value = line.slice(eq + 1);
    if (key !== 'note') value = value.replace(/\s+#.*$/, '');
    values.set(key, value.trim());
  });

  let version: number | null = null;
  if (values.has('v')) {
    const v = Number(values.get('v'));
    if (Number.isInteger(v) && v > 0) version = v;
    else problems.push(`v "${values.get('v')}" is not a version number`);
  }

  let ts: number | null = null;
  const rawTs = values.get('ts');
  if (rawTs === undefined) problems.push('ts missing: used file mtime');
  else {
    const n = Number(rawTs);
    if (rawTs !== '' && Number.isFinite(n) && n > 0) ts = Math.floor(n);
    else problems.push(`ts "${rawTs.slice(0, 40)}" unreadable: used file mtime`);
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
  else if (rawState !== undefined) problems.push(`state "${rawState.slice(0, 40)}" is not busy|idle`);
  else if (version !== null && version >= 1) problems.push('state missing (required in v1)');

  const optInt = (key: string): number | null => {
    const raw = values.get(key);
    if (raw === undefined || raw === '') return null;
    const n = Number(raw);
    if (Number.isFinite(n) && n >= 0) return Math.floor(n);
    problems.push(`${key} "${raw.slice(0, 40)}" is not a number`);
    return null;
  };
  const intervalSeconds = optInt('interval');
  const pid = optInt('pid');
  const card = values.get('card') || null;
  const note = values.has('note') ? (values.get('note') ?? '').slice(0, MAX_NOTE_LENGTH) || null : null;

  return {
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
  };
}

/** Read buffer of {@link readHeartbeat}: at most 8 KiB of a beat is read. */
const heartbeatBuffer = Buffer.alloc(8192);

/**
 * Reads `<runDir>/<agent>.hb`. Returns null when there is no file (or it cannot be read — the
 * reason is in `error`). Never throws. `nowSeconds` = unix seconds.
 */
export function readHeartbeat(
  runDir: string,
  agent: string,
  nowSeconds: number,
): { heartbeat: HeartbeatInfo | null; error: string | null } {
  const file = heartbeatPath(runDir, agent);
  try {
    const st = fs.statSync(file, { throwIfNoEntry: false });
    if (!st) return { heartbeat: null, error: null };
    if (!st.isFile()) return { heartbeat: null, error: `${file}: not a regular file` };
    // Bound the read: a heartbeat is a few lines; a huge file is garbage, not a reason to stall.
    // One buffer for every read (the console reads each agent's beat every tick).
    const fd = fs.openSync(file, 'r');
    let text: string;
    try {
      const n = fs.readSync(fd, heartbeatBuffer, 0, Math.min(st.size, heartbeatBuffer.length), 0);
      text = heartbeatBuffer.toString('utf8', 0, n);
    } finally {
      fs.closeSync(fd);
    }
    return { heartbeat: parseHeartbeat(text, { path: file, mtimeSeconds: st.mtimeMs / 1000, nowSeconds }), error: null };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { heartbeat: null, error: null };
    return { heartbeat: null, error: `${file}: ${(error as Error).message}` };
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
