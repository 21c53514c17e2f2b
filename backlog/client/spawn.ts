/**
 * Starting the embedded backlog server on demand: the detached `mosaic-top backlog serve`
 * child, its log `<run>/backlog-server.log`, and reading that log when a start fails.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { openBoundedForWrite, readBoundedFile } from '../../lib/bounded-read.js';
import { messageOf } from '../../lib/errors.js';
import { ensureOwnerOnlyDir } from '../../lib/owner-only.js';
import type { MosaicPaths } from '../../lib/paths.js';
import { stripControls } from '../../lib/sanitize.js';
import { packageRoot } from '../../lib/version.js';
import { BacklogError } from '../types.js';

/** A spawned server: its pid (undefined when the spawn failed) and whether it has exited. */
export interface SpawnedServer {
  pid: number | undefined;
  exited: () => boolean;
}

/** The server's log: `<run>/backlog-server.log`. */
export function serverLogPath(paths: MosaicPaths): string {
  return path.join(paths.runDir, 'backlog-server.log');
}

/**
 * Spawns `node <pkg>/bin/mosaic-top --mosaic-home <home> backlog serve --idle-exit N` detached,
 * stdio to `<run>/backlog-server.log`. Returns the child (already unref'd). Throws
 * BacklogError('unavailable') when the log cannot be opened (a FIFO, a device or a directory
 * planted there is refused without blocking).
 */
export function spawnBacklogServer(paths: MosaicPaths, idleExitSeconds?: number): SpawnedServer {
  const logFile = serverLogPath(paths);
  let fd: number;
  try {
    ensureOwnerOnlyDir(paths.runDir);
    // The one bounded open: a FIFO, a device or a directory planted as the log is refused, never blocks.
    fd = openBoundedForWrite(logFile, { append: true, mode: 0o600, noFollow: true });
  } catch (error) {
    throw new BacklogError('unavailable', `cannot start the backlog server: ${messageOf(error, logFile)} — fix or remove it and retry`);
  }
  const args = [path.join(packageRoot(), 'bin', 'mosaic-top'), '--mosaic-home', paths.mosaicHome, 'backlog', 'serve'];
  if (idleExitSeconds !== undefined) args.push('--idle-exit', String(idleExitSeconds));
  const env: NodeJS.ProcessEnv = { ...process.env, PGLITE_DATA_DIR: paths.backlogDataDir };
  delete env.DATABASE_URL;
  let exited = false;
  try {
    const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', fd, fd], env });
    child.on('exit', () => (exited = true));
    child.on('error', () => (exited = true));
    child.unref();
    return { pid: child.pid, exited: () => exited };
  } finally {
    fs.closeSync(fd);
  }
}

/** The last non-empty line of a log (its last 4 KiB, through the bounded reader, control characters dropped), `<log>: <line>`; null when empty or unreadable. */
export function lastLogLine(log: string): string | null {
  try {
    const read = readBoundedFile(log, { maxBytes: 4096, tail: true, noFollow: true });
    if (!read) return null;
    const line = read.bytes
      .toString('utf8')
      .split('\n')
      .map((l) => stripControls(l).trim())
      .filter(Boolean)
      .pop();
    return line ? `${log}: ${line.slice(0, 300)}` : null;
  } catch {
    return null;
  }
}

/** Causes a restart cannot cure: a server that exited with one of these in its log is not started again. */
const FATAL_START_CAUSE = /\((ENOSPC|EDQUOT|EROFS|EACCES|EPERM)\b|is served by live backlog server|is a directory, not a socket/;

/** Throws the one-line error of a server that exited on a {@link FATAL_START_CAUSE} (its log's last line); returns otherwise. */
export function incurableStartCheck(paths: MosaicPaths): void {
  const line = lastLogLine(serverLogPath(paths));
  if (line && FATAL_START_CAUSE.test(line)) throw new BacklogError('unavailable', `backlog server failed to start: ${line}`);
}
