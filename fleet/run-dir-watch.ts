/**
 * The run dir's and agents dir's files as the console reads them each tick — heartbeats
 * (`<run>/<agent>.hb`), the fleet's `PAUSED` flag, agents' env files (`<agents>/<agent>.env`) —
 * read again only when the directory's watch says the file changed (./dir-watch.ts), with the
 * same answers as the plain readers (./heartbeat.ts, ./paused.ts, ./agent-env.ts). A kept
 * heartbeat is aged to the tick's `now` exactly as a fresh parse would age it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readAgentEnv, readListedAgentEnv } from './agent-env.js';
import { DirWatchCache, type DirWatchOptions, type DirWatchStats } from './dir-watch.js';
import { fileStamp, unchangedSince, type FileStamp } from './file-stamp.js';
import { readHeartbeat, readHeartbeatStamped, readListedHeartbeat, type HeartbeatRead } from './heartbeat.js';
import { PAUSED_FILE, readPausedFlag } from './paused.js';
import type { PausedFlag } from './types.js';

/** A heartbeat read at `nowSeconds` (unix seconds), and the stamp of the file read. */
interface KeptBeat {
  read: HeartbeatRead;
  nowSeconds: number;
  stamp: FileStamp;
}

/** An env file's parsed values, and the stamp of the file read. */
interface KeptEnv {
  env: Record<string, string>;
  stamp: FileStamp;
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

/** Most file names kept per suffix (a roster's agents; more only builds some names again). */
const NAMES_KEPT = 65_536;

/** `<agent><suffix>` built once per agent: the same string each tick, so its lookups hash nothing new. */
class FileNames {
  private readonly names = new Map<string, string>();

  constructor(private readonly suffix: string) {}

  of(agent: string): string {
    let name = this.names.get(agent);
    if (name === undefined) {
      if (this.names.size >= NAMES_KEPT) this.names.clear();
      this.names.set(agent, (name = `${agent}${this.suffix}`));
    }
    return name;
  }
}

/** A beat is kept again at the safety net when its file still has the stamp of its read. */
const beatUnchanged = (file: string, kept: KeptBeat) => unchangedSince(file, kept.stamp);
const envUnchanged = (file: string, kept: KeptEnv) => unchangedSince(file, kept.stamp);

/**
 * The run dir's files, read through watches: a file is read again only after its directory
 * reported it changed; at the cache's periodic safety net a beat or env file is confirmed by one
 * `lstat` (same inode, size and times as when read) and read again only when that differs.
 * `onChange` is called for every change (the console runs a tick at once for `PAUSED`, see
 * {@link isPausedChange}).
 */
export class RunDirWatch implements RunDirReaders {
  private readonly cache: DirWatchCache;
  private readonly beatNames = new FileNames('.hb');
  private readonly envNames = new FileNames('.env');
  /** The last directory asked and its normal form (the cache's key, as `path.dirname` of a file gives it). */
  private lastDir = '';
  private lastDirNormal = '';
  /** The clock reads are stamped with (the cache's), unix ms. */
  private readonly clock: () => number;

  constructor(opts: DirWatchOptions = {}) {
    this.cache = new DirWatchCache(opts);
    this.clock = opts.now ?? Date.now;
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
    if (agent.includes('/')) return readHeartbeat(runDir, agent, nowSeconds);
    const dir = this.normal(runDir);
    const name = this.beatNames.of(agent);
    const fresh = (): KeptBeat => {
      const { read, stamp } = readHeartbeatStamped(runDir, agent, nowSeconds, this.clock());
      return { read, nowSeconds, stamp };
    };
    const kept = this.cache.get<KeptBeat>(dir, name, () => ({ value: fresh(), keep: true }), fresh, beatUnchanged);
    if (kept.nowSeconds === nowSeconds) return kept.read;
    const beat = kept.read.heartbeat;
    if (!beat) return kept.read;
    // A clamped future ts ages from the file's times, and a clock gone back may un-clamp it: parse again.
    if (beat.skewSeconds !== 0 || Math.floor(nowSeconds) < Math.floor(kept.nowSeconds)) return this.cache.reread(dir, name, fresh).read;
    return { heartbeat: { ...beat, ageSeconds: Math.max(0, Math.floor(nowSeconds) - beat.ts) }, error: kept.read.error };
  }

  /** The agent's env file (`{}` when there is none). */
  agentEnv(agentsDir: string, agent: string): Record<string, string> {
    if (agent.includes('/')) return readAgentEnv(agentsDir, agent);
    const dir = this.normal(agentsDir);
    const kept = this.cache.get<KeptEnv>(
      dir,
      this.envNames.of(agent),
      (file) => ({ value: readEnvStamped(file, agentsDir, agent, this.clock()), keep: true }),
      () => ({ env: {}, stamp: null }),
      envUnchanged,
    );
    return kept.env;
  }

  /** The fleet's `PAUSED` flag, or null. */
  paused(runDir: string): PausedFlag | null {
    return this.cache.get(
      this.normal(runDir),
      PAUSED_FILE,
      () => ({ value: readPausedFlag(runDir), keep: true }),
      () => null,
    );
  }

  /** Stops the watches. Idempotent. */
  close(): void {
    this.cache.close();
  }

  /** `dir` normalised as `path.dirname(path.join(dir, name))` gives it (the same key as before), worked out once per directory asked. */
  private normal(dir: string): string {
    if (dir !== this.lastDir) {
      this.lastDir = dir;
      this.lastDirNormal = path.dirname(path.join(dir, 'x'));
    }
    return this.lastDirNormal;
  }
}

/** An agent's env file with its stamp: the `stat` is taken before the read, so a change after it shows in a later stamp. */
function readEnvStamped(file: string, agentsDir: string, agent: string, startedMs: number): KeptEnv {
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(file, { throwIfNoEntry: false });
  } catch {
    return { env: readAgentEnv(agentsDir, agent), stamp: null };
  }
  if (!st) return { env: {}, stamp: 'absent' };
  return { env: readAgentEnv(agentsDir, agent), stamp: st.isFile() ? fileStamp(st, startedMs) : null };
}

/** True when a change event (directory, file name) is about the fleet's `PAUSED` flag or a whole directory. */
export function isPausedChange(name: string | null): boolean {
  return name === null || name === PAUSED_FILE;
}

/** The plain readers: every call reads the disk (`--once`, and the console with push off). */
export const PLAIN_RUN_DIR_READERS: RunDirReaders = { heartbeat: readHeartbeat, agentEnv: readAgentEnv, paused: readPausedFlag };

/**
 * One directory's listing for {@link plainRunDirReaders}: each name and whether it is a regular
 * file (the entry's type, no `stat`), and the prefix `path.join(dir, name)` starts with.
 */
interface Listing {
  regular: Map<string, boolean>;
  prefix: string;
}

/** `dir` listed with its entries' types; empty when it does not exist; null when it cannot be listed otherwise (read file by file then). */
function listDir(dir: string): Listing | null {
  const regular = new Map<string, boolean>();
  try {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) regular.set(entry.name, entry.isFile());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return null;
  }
  // `path.join(dir, name)` for a name without `/` (an agent's file): the normal form of the dir, then the name.
  return { regular, prefix: path.join(dir, 'x').slice(0, -1) };
}

/**
 * Plain readers for ONE snapshot (`--once`, and each tick of the console with push off): as
 * {@link PLAIN_RUN_DIR_READERS}, except that each directory is listed once, with its entries'
 * types, at its first read: a file the listing lacks is answered as missing without touching it
 * (most agents have no env file; a missing directory holds nothing), and a file it shows as a
 * regular file is read with one open, one read and one close (fleet/heartbeat.ts
 * `readListedHeartbeat`, fleet/agent-env.ts `readListedAgentEnv`); anything else (a symlink, a
 * FIFO, a directory, a read that is not plain) goes through the plain reader, which says what it
 * is. A directory that cannot be listed is read file by file. A file created after the listing is
 * seen by the next snapshot.
 */
export function plainRunDirReaders(): RunDirReaders {
  const listings = new Map<string, Listing | null>();
  const listingOf = (dir: string): Listing | null => {
    let listing = listings.get(dir);
    if (listing === undefined) listings.set(dir, (listing = listDir(dir)));
    return listing;
  };
  return {
    heartbeat: (runDir, agent, nowSeconds) => {
      const listing = agent.includes('/') ? null : listingOf(runDir);
      if (!listing) return readHeartbeat(runDir, agent, nowSeconds);
      const name = `${agent}.hb`;
      const regular = listing.regular.get(name);
      if (regular === undefined) return { heartbeat: null, error: null };
      return (regular ? readListedHeartbeat(listing.prefix + name, nowSeconds) : null) ?? readHeartbeat(runDir, agent, nowSeconds);
    },
    agentEnv: (agentsDir, agent) => {
      const listing = agent.includes('/') ? null : listingOf(agentsDir);
      if (!listing) return readAgentEnv(agentsDir, agent);
      const name = `${agent}.env`;
      const regular = listing.regular.get(name);
      if (regular === undefined) return {};
      return regular ? readListedAgentEnv(listing.prefix + name) : readAgentEnv(agentsDir, agent);
    },
    paused: readPausedFlag,
  };
}
