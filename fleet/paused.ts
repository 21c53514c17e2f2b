import fs from 'node:fs';
import path from 'node:path';
import type { PausedFlag } from './types.js';

/** Name of the fleet kill-switch file inside the run dir (upstream NS-8). */
export const PAUSED_FILE = 'PAUSED';

/**
 * Parses a `<run>/PAUSED` file: `key=value` lines `at=`, `by=`, `reason=`. Anything else is
 * ignored; an empty or free-text file is still a pause (upstream only checks existence), with
 * the free text kept as the reason.
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
    if (key === 'at' || key === 'by' || key === 'reason') flag[key] = value || null;
    else loose.push(line);
  }
  if (!flag.reason && loose.length) flag.reason = loose.join(' ').slice(0, 200);
  return flag;
}

/**
 * Reads `<runDir>/PAUSED`. Returns null when the fleet is not paused. When the file exists
 * but cannot be read, the fleet is still paused (fail closed) with the error as the reason;
 * a missing `at=` falls back to the file's mtime (ISO).
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
    flag = parsePausedFlag(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    flag = { at: null, by: null, reason: `PAUSED unreadable: ${(error as Error).message}` };
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
