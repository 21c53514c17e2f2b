import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PAUSED_FILE, readPausedFlag } from '../../fleet/paused.js';
import type { MosaicPaths } from '../../lib/paths.js';
import type { PausedFlag } from '../snapshot/types.js';
import { describeCause, OperatorError } from '../../lib/errors.js';
import { ensureOwnerOnlyDir } from '../../lib/owner-only.js';
import { writeFileAtomic } from '../../lib/atomic-write.js';

/** Exit code of a pause/resume that could not write or remove the flag (documented in the README). */
export const PAUSE_IO_EXIT = 1;

/** Refuses a `PAUSED` path that is a directory (it cannot be replaced nor removed like a flag): what it is and what to do. */
function checkFlagPath(target: string, verb: 'pause' | 'resume'): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(target);
  } catch {
    return;
  }
  if (!st.isDirectory()) return;
  throw new OperatorError(
    `${verb} failed: ${target} is a directory, not a flag file; the fleet counts as paused while it exists — remove it by hand, then ${verb === 'pause' ? 'pause again' : 'it is resumed'}`,
    PAUSE_IO_EXIT,
  );
}

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
 * write is race-free: {@link writeFileAtomic} links the temp file into place (fails if PAUSED
 * exists); `force` renames it over; the file is 0600, the run dir 0700. Throws {@link OperatorError}
 * (exit {@link PAUSE_IO_EXIT}) on I/O errors (ENOSPC, `PAUSED` a directory, …), with no temp
 * file left behind.
 */
export function pauseFleet(runDir: string, opts: { by?: string; reason?: string; force?: boolean } = {}): PausedFlag {
  const target = path.join(runDir, PAUSED_FILE);
  try {
    ensureOwnerOnlyDir(runDir);
  } catch (error) {
    throw new OperatorError(`pause failed: cannot create the run dir ${runDir}: ${describeCause(error)}`, PAUSE_IO_EXIT, { cause: error });
  }
  checkFlagPath(target, 'pause');
  const existing = opts.force ? null : readPausedFlag(runDir);
  if (existing) throw new FleetAlreadyPausedError(existing);
  const flag: PausedFlag = {
    at: new Date().toISOString(),
    by: (opts.by ?? operatorName()).replace(/\s+/g, ' '),
    reason: opts.reason ? opts.reason.replace(/\s+/g, ' ').trim() : null,
  };
  const body = `at=${flag.at}\nby=${flag.by}\n${flag.reason ? `reason=${flag.reason}\n` : ''}`;
  try {
    writeFileAtomic(target, body, { mode: 0o600, replace: opts.force === true });
    return flag;
  } catch (error) {
    // Paused by someone else between the check and the link.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST' && !opts.force)
      throw new FleetAlreadyPausedError(readPausedFlag(runDir) ?? { at: null, by: null, reason: null });
    throw new OperatorError(
      `pause failed: cannot write ${target}: ${describeCause(error)}; the fleet is NOT paused — free space or fix permissions and retry`,
      PAUSE_IO_EXIT,
      { cause: error },
    );
  }
}

/**
 * Resumes the fleet: removes `<runDir>/PAUSED`. Returns the flag that was removed, or null if
 * not paused. Throws {@link OperatorError} (exit {@link PAUSE_IO_EXIT}) when `PAUSED` is a
 * directory or cannot be removed, naming the path, the cause and what to do.
 */
export function resumeFleet(runDir: string): PausedFlag | null {
  const target = path.join(runDir, PAUSED_FILE);
  checkFlagPath(target, 'resume');
  const flag = readPausedFlag(runDir);
  try {
    fs.rmSync(target, { force: true });
  } catch (error) {
    throw new OperatorError(`resume failed: cannot remove ${target}: ${describeCause(error)}; the fleet is still paused`, PAUSE_IO_EXIT, { cause: error });
  }
  return flag;
}

/**
 * The fleet-wide half of a pause on the server tier: with `DATABASE_URL` set, the
 * pause `flag` (as written to `<run>/PAUSED`) is also recorded in the shared backlog store, so
 * claims and dispatches on every host refuse. Without `DATABASE_URL` nothing is done
 * (`{ recorded: false }`: the run dir is the whole story on one host). `existing` is the store's
 * earlier pause when one was kept (not replaced without `force`). Throws BacklogError when the
 * store cannot be reached.
 */
export async function recordFleetPause(
  paths: MosaicPaths,
  flag: PausedFlag,
  opts: { force?: boolean } = {},
): Promise<{ recorded: boolean; existing: PausedFlag | null }> {
  if (!paths.databaseUrl) return { recorded: false, existing: null };
  const { openBacklog } = await import('../../backlog/client.js');
  const client = await openBacklog(paths, { onProgress: () => {} });
  try {
    const r = await client.pauseFleet({ by: flag.by ?? operatorName(), reason: flag.reason, force: opts.force });
    return { recorded: r.created, existing: r.created ? null : r.pause };
  } finally {
    await client.close();
  }
}

/**
 * Clears the store's fleet-wide pause (server tier); returns the pause removed, or null (also
 * without `DATABASE_URL`). Throws BacklogError when the store cannot be reached.
 */
export async function clearFleetPause(paths: MosaicPaths): Promise<PausedFlag | null> {
  if (!paths.databaseUrl) return null;
  const { openBacklog } = await import('../../backlog/client.js');
  const client = await openBacklog(paths, { onProgress: () => {} });
  try {
    return await client.resumeFleet();
  } finally {
    await client.close();
  }
}
