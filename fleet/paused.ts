import fs from 'node:fs';
import path from 'node:path';
import type { PausedFlag } from './types.js';
import { readBoundedFile } from '../lib/bounded-read.js';
import { messageOf } from '../lib/errors.js';

/** Name of the fleet kill-switch file inside the run dir (upstream NS-8). */
export const PAUSED_FILE = 'PAUSED';

/** Most bytes of `PAUSED` read: a flag is three short lines; a larger file is read only this far. */
export const PAUSED_READ_LIMIT = 8192;

/** Longest `at`, `by` and `reason` kept (characters); longer values are cut with `…`. */
export const PAUSED_FIELD_LIMIT = 200;

function cap(value: string): string {
  return value.length > PAUSED_FIELD_LIMIT ? `${value.slice(0, PAUSED_FIELD_LIMIT - 1)}…` : value;
}

/**
 * Parses a `<run>/PAUSED` file: `key=value` lines `at=`, `by=`, `reason=`. Anything else is
 * ignored; an empty or free-text file is still a pause (upstream only checks existence), with
 * the free text kept as the reason. Every value is cut to {@link PAUSED_FIELD_LIMIT} characters.
 */
export function parsePausedFlag(text: string): PausedFlag {
  const flag: PausedFlag = { at: null, by: null, reason: null };
  const loose: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq).trim() : '';
    const value = eq > 0 ? line.slice(eq + 1).trim() : '';
    if (key === 'at' || key === 'by' || key === 'reason') flag[key] = value ? cap(value) : null;
    else loose.push(line);
  }
  if (!flag.reason && loose.length) flag.reason = cap(loose.join(' '));
  return flag;
}

/**
 * Reads `<runDir>/PAUSED` through {@link readBoundedFile} (non-blocking, at most
 * {@link PAUSED_READ_LIMIT} bytes: a FIFO or `/dev/zero` at the path cannot hang or bloat a
 * tick). Returns null when the fleet is not paused. When the path exists but cannot be read
 * (not a regular file, permission denied), the fleet is still paused (fail closed) with the
 * error as the reason; a missing `at=` falls back to the file's mtime (ISO). Never throws.
 */
export function readPausedFlag(runDir: string): PausedFlag | null {
  const file = path.join(runDir, PAUSED_FILE);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return null;
  }
  let flag: PausedFlag;
  try {
    const read = readBoundedFile(file, { maxBytes: PAUSED_READ_LIMIT, truncate: true });
    if (!read) return null;
    // A cut file still pauses; its values are capped anyway.
    flag = parsePausedFlag(read.bytes.toString('utf8'));
  } catch (error) {
    flag = { at: null, by: null, reason: cap(`PAUSED unreadable: ${messageOf(error)}`) };
  }
  if (!flag.at) flag.at = stat.mtime.toISOString();
  return flag;
}

/** One-line description for refusals: "fleet PAUSED since <at> by <by>: <reason>". */
export function describePause(flag: PausedFlag): string {
  const by = flag.by ? ` by ${flag.by}` : '';
  const why = flag.reason ? `: ${flag.reason}` : '';
  const where = flag.source === 'store' ? ' (fleet-wide, recorded in the shared backlog store)' : '';
  return `fleet PAUSED since ${flag.at ?? 'unknown time'}${by}${why}${where}`;
}
