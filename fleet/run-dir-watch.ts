/**
 * The run dir's and agents dir's files as the console reads them each tick — heartbeats
 * (`<run>/<agent>.hb`), the fleet's `PAUSED` flag, agents' env files (`<agents>/<agent>.env`) —
 * read again only when the directory's watch says the file changed (./dir-watch.ts), with the
 * same answers as the plain readers (./heartbeat.ts, ./paused.ts, ./agent-env.ts). A kept
 * heartbeat is aged to the tick's `now` exactly as a fresh parse would age it.
 */
import { readAgentEnv } from './agent-env.js';
import { DirWatchCache, type DirWatchOptions, type DirWatchStats } from './dir-watch.js';
import { heartbeatPath, readHeartbeat, type HeartbeatRead } from './heartbeat.js';
import { PAUSED_FILE, readPausedFlag } from './paused.js';
import type { PausedFlag } from './types.js';
import path from 'node:path';

/** A heartbeat read at `nowSeconds` (unix seconds). */
interface KeptBeat {
  read: HeartbeatRead;
  nowSeconds: number;
}

/** The readers a snapshot uses for the run dir's files; {@link RunDirWatch} implements them with watches. */
export interface RunDirReaders {
  /** As fleet/heartbeat.ts `readHeartbeat`. */
  heartbeat(runDir: string, agent: string, nowSeconds: number): HeartbeatRead;
  /** As fleet/agent-env.ts `readAgentEnv`. */
  agentEnv(agentsDir: string, agent: string): Record<string, string>;
  /** As fleet/paused.ts `readPausedFlag`. */
  paused(runDir: string): PausedFlag | null;
}

/**
 * The run dir's files, read through watches: a file is read again only after its directory
 * reported it changed (or at the cache's periodic full re-read). `onChange` is called for every
 * change (the console runs a tick at once for `PAUSED`, see {@link isPausedChange}).
 */
export class RunDirWatch implements RunDirReaders {
  private readonly cache: DirWatchCache;

  constructor(opts: DirWatchOptions = {}) {
    this.cache = new DirWatchCache(opts);
  }

  /** Reads done and avoided (tests, the bench). */
  get stats(): DirWatchStats {
    return this.cache.stats;
  }

  /**
   * The agent's beat at `nowSeconds`: a kept read is re-aged (`ageSeconds` from its `ts`) when
   * its parse had no clock skew and the clock did not go back; otherwise the file is read again.
   */
  heartbeat(runDir: string, agent: string, nowSeconds: number): HeartbeatRead {
    const file = heartbeatPath(runDir, agent);
    const fresh = (): KeptBeat => ({ read: readHeartbeat(runDir, agent, nowSeconds), nowSeconds });
    const dir = path.dirname(file);
    const name = path.basename(file);
    const kept = this.cache.get<KeptBeat>(dir, name, () => ({ value: fresh(), keep: true }), fresh);
    if (kept.nowSeconds === nowSeconds) return kept.read;
    const beat = kept.read.heartbeat;
    if (!beat) return kept.read;
    // A clamped future ts ages from the file's times, and a clock gone back may un-clamp it: parse again.
    if (beat.skewSeconds !== 0 || Math.floor(nowSeconds) < Math.floor(kept.nowSeconds)) return this.cache.reread(dir, name, fresh).read;
    return { heartbeat: { ...beat, ageSeconds: Math.max(0, Math.floor(nowSeconds) - beat.ts) }, error: kept.read.error };
  }

  /** The agent's env file (`{}` when there is none). */
  agentEnv(agentsDir: string, agent: string): Record<string, string> {
    return this.cache.get(
      agentsDir,
      `${agent}.env`,
      () => ({ value: readAgentEnv(agentsDir, agent), keep: true }),
      () => ({}),
    );
  }

  /** The fleet's `PAUSED` flag, or null. */
  paused(runDir: string): PausedFlag | null {
    return this.cache.get(
      runDir,
      PAUSED_FILE,
      () => ({ value: readPausedFlag(runDir), keep: true }),
      () => null,
    );
  }

  /** Stops the watches. Idempotent. */
  close(): void {
    this.cache.close();
  }
}

/** True when a change event (directory, file name) is about the fleet's `PAUSED` flag or a whole directory. */
export function isPausedChange(name: string | null): boolean {
  return name === null || name === PAUSED_FILE;
}

/** The plain readers: every call reads the disk (`--once`, and the console with push off). */
export const PLAIN_RUN_DIR_READERS: RunDirReaders = { heartbeat: readHeartbeat, agentEnv: readAgentEnv, paused: readPausedFlag };
