/**
 * How the spend meter reaches the disk each tick: the agents' sources and quota files, the
 * price and roster files, the listings of the runtimes' record directories and the record files
 * themselves. Two implementations:
 *
 * - {@link plainMeterReads} (`--once`, `events`, the console with push off): every read goes to
 *   the disk each tick; a record directory is listed again at most every {@link RELIST_MS};
 * - {@link WatchedMeterReads} (the console with push on): through directory watches
 *   (fleet/dir-watch.ts, inotify): a file's last read is kept until its directory names it in
 *   an event, a listing until one of its directories changes (an entry that is not one of its
 *   record files added, removed or renamed). Kept reads and listings are dropped every
 *   `fullEveryMs` (default 30 s, the safety net for what inotify cannot see), when a watch is
 *   lost, and a directory that cannot be watched (no inotify, beyond {@link MAX_SPEND_WATCHES})
 *   is polled as by the plain reads. A tick where nothing changed touches no file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DirWatchCache, type DirWatchStats, type Kept } from '../dir-watch.js';
import { listRecordFiles } from './sources.js';
import type { SpendRuntime } from './types.js';

/** How often a record directory that is not watched is listed again for new files, ms. */
export const RELIST_MS = 10_000;
/** Most directories the meter watches (dirs, never files); beyond it they are polled. */
export const MAX_SPEND_WATCHES = 4096;

/** The meter's reads (see the module doc). */
export interface MeterReads {
  /** True when reads are kept between ticks (watched). */
  readonly watching: boolean;
  /** Sets the clock of the tick about to run (unix ms): kept reads age on it. */
  tick(now: number): void;
  /** The value of `file`: the kept one while its directory did not name it, else `read(file)` (kept when `keep`). */
  file<T>(file: string, read: (file: string) => Kept<T>): T;
  /** Forgets the kept read of `file` (the meter just wrote it). */
  forget(file: string): void;
  /**
   * A number that stays the same while every kept read of files in `dir` stays usable
   * (fleet/dir-watch.ts `epochOf`), so what was derived from them may be kept; null when reads
   * of `dir` are not kept (plain reads, or `dir` not watchable).
   */
  epochOf(dir: string): number | null;
  /**
   * True when `name` is known not to be in `dir` without touching it: plain reads list `dir`
   * once per tick (one listing instead of a `stat` per agent); watched reads never say so (their
   * kept reads answer a missing file without touching it already).
   */
  missing(dir: string, name: string): boolean;
  /** The record files under `dir` (fleet/spend/sources.ts `listRecordFiles`), sorted. */
  list(runtime: SpendRuntime, dir: string): string[];
  /** Stops the watches. Idempotent. */
  close(): void;
}

/** A listing kept across ticks. */
interface Listing {
  files: string[];
  /** `files` as a set, to tell a record file's write from a new entry. */
  known: Set<string>;
  /** Every directory walked (each watched before it was read). */
  dirs: string[];
  at: number;
  /** True when one of `dirs` could not be watched: listed again after {@link RELIST_MS}. */
  polled: boolean;
  stale: boolean;
}

/** Listings kept by time only (the plain reads). */
class PlainMeterReads implements MeterReads {
  readonly watching = false;
  private now = 0;
  private listings = new Map<string, { at: number; files: string[] }>();
  /** Names in each directory asked this tick (null: could not be listed). */
  private names = new Map<string, Set<string> | null>();

  tick(now: number): void {
    this.now = now;
    this.names.clear();
  }

  file<T>(file: string, read: (file: string) => Kept<T>): T {
    return read(file).value;
  }

  forget(file: string): void {
    this.names.delete(path.dirname(file));
  }

  epochOf(): null {
    return null;
  }

  missing(dir: string, name: string): boolean {
    let names = this.names.get(dir);
    if (names === undefined) {
      try {
        names = new Set(fs.readdirSync(dir));
      } catch (error) {
        // No directory: nothing in it. Unlistable: ask file by file.
        names = (error as NodeJS.ErrnoException).code === 'ENOENT' ? new Set() : null;
      }
      this.names.set(dir, names);
    }
    return names !== null && !names.has(name);
  }

  list(runtime: SpendRuntime, dir: string): string[] {
    const key = `${runtime}\0${dir}`;
    const cached = this.listings.get(key);
    if (cached && this.now - cached.at < RELIST_MS) return cached.files;
    const files = listRecordFiles(runtime, dir);
    this.listings.set(key, { at: this.now, files });
    return files;
  }

  close(): void {}
}

/** Every read from the disk, listings every {@link RELIST_MS} (a new one per meter). */
export function plainMeterReads(): MeterReads {
  return new PlainMeterReads();
}

/** Options of {@link WatchedMeterReads}. */
export interface WatchedMeterReadsOptions {
  /** Drop every kept read and listing this often, ms (default 30 000). */
  fullEveryMs?: number;
  /** Most directories watched (default {@link MAX_SPEND_WATCHES}). */
  maxWatches?: number;
}

/** The meter's reads through directory watches (see the module doc). */
export class WatchedMeterReads implements MeterReads {
  readonly watching = true;
  private readonly cache: DirWatchCache;
  private readonly fullEveryMs: number;
  private now = 0;
  private listings = new Map<string, Listing>();
  /** Files read so far, split into directory and name. */
  private parts = new Map<string, [string, string]>();
  /** Listing keys by the directories they walked. */
  private byDir = new Map<string, Set<string>>();
  /** Listings walked (tests, the bench). */
  listed = 0;
  /** Change events received from the watches, in all and per directory (tests wait on them). */
  changes = 0;
  readonly changesIn = new Map<string, number>();

  constructor(opts: WatchedMeterReadsOptions = {}) {
    this.fullEveryMs = opts.fullEveryMs ?? 30_000;
    this.cache = new DirWatchCache({
      fullEveryMs: this.fullEveryMs,
      maxWatches: opts.maxWatches ?? MAX_SPEND_WATCHES,
      now: () => this.now,
      onChange: (dir, name) => this.changed(dir, name),
    });
  }

  /** Reads done and avoided, watches started and lost. */
  get stats(): DirWatchStats {
    return this.cache.stats;
  }

  /** Sets the tick's clock (unix ms). */
  tick(now: number): void {
    this.now = now;
  }

  /** The kept value of `file` while its directory named it in no event, else `read(file)`. */
  file<T>(file: string, read: (file: string) => Kept<T>): T {
    const [dir, name] = this.split(file);
    return this.cache.get(dir, name, read, () => read(file).value);
  }

  /** Forgets the kept read of `file`. */
  forget(file: string): void {
    const [dir, name] = this.split(file);
    this.cache.forget(dir, name);
  }

  /** The epoch of `dir`'s kept reads (fleet/dir-watch.ts `epochOf`), or null when it is not watched. */
  epochOf(dir: string): number | null {
    return this.cache.epochOf(dir);
  }

  /** Never known without a read: the kept reads answer missing files. */
  missing(): boolean {
    return false;
  }

  /** A file's directory and name, split once per file. */
  private split(file: string): [string, string] {
    let parts = this.parts.get(file);
    if (!parts) this.parts.set(file, (parts = [path.dirname(file), path.basename(file)]));
    return parts;
  }

  /** The record files under `dir`: the kept listing while none of its dirs changed (see the module doc). */
  list(runtime: SpendRuntime, dir: string): string[] {
    const key = `${runtime}\0${dir}`;
    const kept = this.listings.get(key);
    const keepFor = kept?.polled ? Math.min(RELIST_MS, this.fullEveryMs) : this.fullEveryMs;
    // Kept while no change was reported, for at most keepFor (a clock gone back lists again).
    if (kept && !kept.stale && this.now >= kept.at && this.now - kept.at < keepFor) return kept.files;
    if (kept) for (const d of kept.dirs) this.byDir.get(d)?.delete(key);
    this.listed++;
    const dirs: string[] = [];
    let polled = false;
    // Each directory is watched before it is read: an entry added after the read leaves an event.
    const files = listRecordFiles(runtime, dir, undefined, (d) => {
      dirs.push(d);
      if (!this.cache.watchDir(d)) polled = true;
    });
    const listing: Listing = { files, known: new Set(files), dirs, at: this.now, polled, stale: false };
    this.listings.set(key, listing);
    for (const d of dirs) {
      let keys = this.byDir.get(d);
      if (!keys) this.byDir.set(d, (keys = new Set()));
      keys.add(key);
    }
    return files;
  }

  /** A watched directory changed: listings that walked it are stale unless the entry is one of their record files. */
  private changed(dir: string, name: string | null): void {
    this.changes++;
    this.changesIn.set(dir, (this.changesIn.get(dir) ?? 0) + 1);
    for (const key of this.byDir.get(dir) ?? []) {
      const listing = this.listings.get(key);
      if (listing && (name === null || !listing.known.has(path.join(dir, name)))) listing.stale = true;
    }
  }

  /** Stops the watches; later reads go to the disk. Idempotent. */
  close(): void {
    this.cache.close();
    this.listings.clear();
    this.byDir.clear();
  }
}
