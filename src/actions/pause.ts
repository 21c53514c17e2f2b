import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PAUSED_FILE, readPausedFlag } from '../../fleet/paused.js';
import type { PausedFlag } from '../snapshot-types.js';

/** Who is acting, for `by=` and event records: `$USER@host` unless given. */
export function operatorName(): string {
  return `${os.userInfo().username}@${os.hostname()}`;
}

/**
 * Pauses the fleet (spec §9): writes `<runDir>/PAUSED` atomically (temp file + rename) with
 * `at=` (ISO), `by=`, `reason=`. Creates the run dir. Newlines in `reason` are flattened.
 * Returns the flag written. Throws on I/O errors.
 */
export function pauseFleet(runDir: string, opts: { by?: string; reason?: string } = {}): PausedFlag {
  fs.mkdirSync(runDir, { recursive: true });
  const flag: PausedFlag = {
    at: new Date().toISOString(),
    by: (opts.by ?? operatorName()).replace(/\s+/g, ' '),
    reason: opts.reason ? opts.reason.replace(/\s+/g, ' ').trim() : null,
  };
  const body = `at=${flag.at}\nby=${flag.by}\n${flag.reason ? `reason=${flag.reason}\n` : ''}`;
  const tmp = path.join(runDir, `.${PAUSED_FILE}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, body, { mode: 0o644 });
  fs.renameSync(tmp, path.join(runDir, PAUSED_FILE));
  return flag;
}

/** Resumes the fleet: removes `<runDir>/PAUSED`. Returns the flag that was removed, or null if not paused. */
export function resumeFleet(runDir: string): PausedFlag | null {
  const flag = readPausedFlag(runDir);
  fs.rmSync(path.join(runDir, PAUSED_FILE), { force: true });
  return flag;
}
