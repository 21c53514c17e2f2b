import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PAUSED_FILE, readPausedFlag } from '../../fleet/paused.js';
import type { PausedFlag } from '../snapshot/types.js';

/** Who is acting, for `by=` and event records: `$USER@host` unless given. */
export function operatorName(): string {
  return `${os.userInfo().username}@${os.hostname()}`;
}

/** Thrown by {@link pauseFleet} when the fleet is already paused and `force` was not given. */
export class FleetAlreadyPausedError extends Error {
  /** The pause in place, left untouched. */
  readonly flag: PausedFlag;

  /** `flag`: the existing pause (from `<run>/PAUSED`). The message is raw (sanitize before printing). */
  constructor(flag: PausedFlag) {
    super(`already paused since ${flag.at ?? 'unknown time'} by ${flag.by ?? 'unknown'}: ${flag.reason ?? '(no reason given)'}`);
    this.name = 'FleetAlreadyPausedError';
    this.flag = flag;
  }
}

/**
 * Pauses the fleet (claims and dispatch are refused while it exists): writes `<runDir>/PAUSED` atomically with `at=` (ISO), `by=`,
 * `reason=`. Creates the run dir. Newlines in `reason` are flattened. Returns the flag written.
 * An existing pause is kept (its at/by/reason are the record of who stopped the fleet and why):
 * throws {@link FleetAlreadyPausedError} unless `force`, which replaces it. The no-overwrite
 * write is race-free: the temp file is hard-linked into place (fails if PAUSED exists);
 * `force` renames it over. Throws on I/O errors.
 */
export function pauseFleet(runDir: string, opts: { by?: string; reason?: string; force?: boolean } = {}): PausedFlag {
  fs.mkdirSync(runDir, { recursive: true });
  const existing = opts.force ? null : readPausedFlag(runDir);
  if (existing) throw new FleetAlreadyPausedError(existing);
  const flag: PausedFlag = {
    at: new Date().toISOString(),
    by: (opts.by ?? operatorName()).replace(/\s+/g, ' '),
    reason: opts.reason ? opts.reason.replace(/\s+/g, ' ').trim() : null,
  };
  const body = `at=${flag.at}\nby=${flag.by}\n${flag.reason ? `reason=${flag.reason}\n` : ''}`;
  const tmp = path.join(runDir, `.${PAUSED_FILE}.${process.pid}.tmp`);
  const target = path.join(runDir, PAUSED_FILE);
  fs.writeFileSync(tmp, body, { mode: 0o644 });
  if (opts.force) {
    fs.renameSync(tmp, target);
    return flag;
  }
  try {
    fs.linkSync(tmp, target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Paused by someone else between the check and the link.
    throw new FleetAlreadyPausedError(readPausedFlag(runDir) ?? { at: null, by: null, reason: null });
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return flag;
}

/** Resumes the fleet: removes `<runDir>/PAUSED`. Returns the flag that was removed, or null if not paused. */
export function resumeFleet(runDir: string): PausedFlag | null {
  const flag = readPausedFlag(runDir);
  fs.rmSync(path.join(runDir, PAUSED_FILE), { force: true });
  return flag;
}
