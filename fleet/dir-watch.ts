/**
 * Reads of files in a few directories, kept until the directory says a file changed: one
 * `fs.watch` (inotify) per directory, and a file's last read is reused while no event named it.
 * The console reads every agent's heartbeat and env file each tick; with this, a tick re-reads
 * only the files written since the last one (docs/performance.md).
 *
 * Correctness rules (a change must never be missed for long):
 * - a directory is watched BEFORE the first read that is kept, so a write after that read
 *   always leaves an event;
 * - an event naming a file drops that file's read; an event without a name, an `error` or the
 *   directory itself going away (removed, renamed, replaced) drops every read of it, and the
 *   watch is started again at the next read;
 * - a missing directory is watched through its parent (for its creation); when neither can be
 *   watched, nothing is kept: every read goes to the disk (poll);
 * - a file reached through a symlink is never kept (its target's changes make no event here);
 * - every `fullEveryMs` (default 30 s) every kept read is dropped: a full re-read, the safety
 *   net for what inotify cannot see (a network filesystem, an overflowed event queue); a reader
 *   that can tell an unchanged file by a `stat` (`verify`) keeps its read after one `stat`.
 * An event is delivered by the event loop: a write in the last instant before a read is seen
 * one read later, as a write just after a read always was.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Counters (tests and the bench): reads done, reads answered from what was kept, watches. */
export interface DirWatchStats {
  /** Reads that went to the disk. */
  reads: number;
  /** Reads answered from a kept read (no file touched). */
  skipped: number;
  /** Watches started (directories or, for a missing directory, its parent). */
  watches: number;
  /** Watches that ended by themselves (error, directory gone). */
  watchesLost: number;
  /** Full re-reads (every kept read dropped by the safety net). */
  fullRereads: number;
  /** Kept reads the safety net found unchanged by their `verify` (one `stat`, no read). */
  verified: number;
}

/** Options of {@link DirWatchCache}. */
export interface DirWatchOptions {
  /** Drop every kept read this often, ms (default 30 000). */
  fullEveryMs?: number;
  /** Called with (directory, file name or null) on every change event, after the kept read is dropped. */
  onChange?: (dir: string, name: string | null) => void;
  /** Clock, unix ms (tests). */
  now?: () => number;
  /**
   * Most directories watched at once (default: no bound). A directory beyond it is not watched:
   * its files are read from the disk on every read (poll), as when inotify is unavailable.
   */
  maxWatches?: number;
}

interface DirState {
  /** The watch of the directory itself (reads are kept only while it runs). */
  watcher: fs.FSWatcher | null;
  /** The watch of the parent while the directory is missing (it is absent until an event). */
  parentWatcher: fs.FSWatcher | null;
  /** Inode of the watched directory (tells it was replaced). */
  ino: number;
  /** Kept reads by file name. */
  kept: Map<string, unknown>;
  /** Reads kept before the last safety net: usable again once their `verify` says the file did not change. */
  unverified: Map<string, unknown>;
  /** True while the directory is known to be missing (parent watched). */
  absent: boolean;
  /** Changes whenever a kept read of the directory may have been dropped ({@link DirWatchCache.epochOf}). */
  epoch: number;
}

/** What a read of a file gave, and whether it may be kept until the file changes. */
export type Kept<T> = { value: T; keep: boolean };

/** One cache of reads over watched directories. {@link close} it with the console. */
export class DirWatchCache {
  readonly stats: DirWatchStats = { reads: 0, skipped: 0, watches: 0, watchesLost: 0, fullRereads: 0, verified: 0 };
  private readonly dirs = new Map<string, DirState>();
  private readonly opts: DirWatchOptions;
  private lastFullMs: number;
  private closed = false;
  /** Source of epochs: every one handed out is new. */
  private seq = 0;

  constructor(opts: DirWatchOptions = {}) {
    this.opts = opts;
    this.lastFullMs = this.now();
  }

  /**
   * The value of file `name` in directory `dir`: the kept one when the directory is watched and
   * no event named the file since it was read, else `read(file)` (its answer is kept when
   * `keep` is true and the file is not a symlink). `missing` answers a file of a directory
   * that does not exist (kept while its parent is watched). `verify(file, kept)`: after the
   * safety net dropped the kept reads, a kept value it says is still the file's (e.g. the same
   * inode, size, mtime and ctime: one `stat`) is kept again without a read. Never throws what
   * `read` or `verify` do not.
   */
  get<T>(dir: string, name: string, read: (file: string) => Kept<T>, missing: () => T, verify?: (file: string, kept: T) => boolean): T {
    this.checkFull();
    const state = this.watch(dir);
    if (state?.absent) {
      if (state.kept.has(name)) {
        this.stats.skipped++;
        return state.kept.get(name) as T;
      }
      const value = missing();
      state.kept.set(name, value);
      this.stats.reads++;
      return value;
    }
    if (state?.watcher && state.kept.has(name)) {
      this.stats.skipped++;
      return state.kept.get(name) as T;
    }
    const file = path.join(dir, name);
    if (state?.watcher && verify && state.unverified.has(name)) {
      const old = state.unverified.get(name) as T;
      state.unverified.delete(name);
      if (verify(file, old)) {
        this.stats.verified++;
        state.kept.set(name, old);
        return old;
      }
    }
    this.stats.reads++;
    const got = read(file);
    if (state?.watcher && got.keep && !isSymlink(file)) state.kept.set(name, got.value);
    return got.value;
  }

  /**
   * A read of file `name` that must not come from what was kept (the caller found the kept one
   * unusable): `read()` is done, counted, and replaces the kept one. Returns its value.
   */
  reread<T>(dir: string, name: string, read: () => T): T {
    this.stats.reads++;
    const value = read();
    const state = this.dirs.get(dir);
    if (state?.kept.has(name)) state.kept.set(name, value);
    return value;
  }

  /** Drops the kept read of file `name` in `dir` (its owner just wrote it): the next {@link get} reads it. */
  forget(dir: string, name: string): void {
    const state = this.dirs.get(dir);
    if (!state) return;
    state.kept.delete(name);
    state.unverified.delete(name);
    state.epoch = ++this.seq;
  }

  /**
   * The epoch of `dir` (its watch started when there is none, the safety net run when due): a
   * number that stays the same exactly as long as every read kept for `dir` stays usable — no
   * event for it, no lost watch, no safety net, nothing forgotten. A caller that derived
   * something from the kept reads of `dir` may keep it while the epoch is unchanged. Null when
   * `dir` cannot be watched (its reads are not kept: poll).
   */
  epochOf(dir: string): number | null {
    this.checkFull();
    return this.watch(dir)?.epoch ?? null;
  }

  /**
   * Starts the watch of `dir` when there is none (through its parent while `dir` is missing).
   * True when a change of `dir` (an entry added, removed, renamed or written; `dir` itself
   * created or removed) will reach `onChange`; false when it cannot be watched (no inotify, no
   * parent, the cap reached): the caller must poll `dir`.
   */
  watchDir(dir: string): boolean {
    return this.watch(dir) !== null;
  }

  /** Stops every watch and drops every kept read. Idempotent; later reads go to the disk. */
  close(): void {
    this.closed = true;
    for (const dir of [...this.dirs.keys()]) this.drop(dir);
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  private checkFull(): void {
    const nowMs = this.now();
    if (nowMs - this.lastFullMs < (this.opts.fullEveryMs ?? 30_000)) return;
    this.lastFullMs = nowMs;
    this.stats.fullRereads++;
    for (const state of this.dirs.values()) {
      state.unverified = state.kept;
      state.kept = new Map();
      state.epoch = ++this.seq;
    }
  }

  /** The state of `dir`, its watch started when there is none; null when nothing can be watched. */
  private watch(dir: string): DirState | null {
    if (this.closed) return null;
    const known = this.dirs.get(dir);
    if (known && (known.watcher || known.parentWatcher)) return known;
    this.drop(dir);
    if (this.dirs.size >= (this.opts.maxWatches ?? Number.POSITIVE_INFINITY)) return null;
    const state: DirState = { watcher: null, parentWatcher: null, ino: 0, kept: new Map(), unverified: new Map(), absent: false, epoch: ++this.seq };
    state.watcher = this.startWatch(
      dir,
      (name) => this.onDirEvent(dir, state, name),
      () => this.lost(dir, null),
    );
    if (state.watcher) {
      const ino = inodeOf(dir);
      if (ino === null) {
        // Removed between the watch and the stat: start over at the next read.
        state.watcher.close();
        return null;
      }
      state.ino = ino;
      this.dirs.set(dir, state);
      return state;
    }
    // The directory is missing (or unwatchable): watch its parent for its creation.
    const base = path.basename(dir);
    state.parentWatcher = this.startWatch(
      path.dirname(dir),
      (name) => {
        if (name === null || name === base) this.lost(dir, name);
      },
      () => this.lost(dir, null),
    );
    if (!state.parentWatcher) return null;
    if (fs.existsSync(dir)) {
      // Created meanwhile (or there but not watchable): no reads kept.
      state.parentWatcher.close();
      return null;
    }
    state.absent = true;
    this.dirs.set(dir, state);
    return state;
  }

  /** `fs.watch` of `dir` (not keeping the process alive), or null when it cannot be watched (missing, no inotify). */
  private startWatch(dir: string, onEvent: (name: string | null) => void, onError: () => void): fs.FSWatcher | null {
    let watcher: fs.FSWatcher;
    try {
      watcher = fs.watch(dir, { persistent: false }, (_event, name) => onEvent(name === null ? null : String(name)));
    } catch {
      return null;
    }
    this.stats.watches++;
    watcher.on('error', onError);
    return watcher;
  }

  private onDirEvent(dir: string, state: DirState, name: string | null): void {
    if (this.dirs.get(dir) !== state) return;
    // The directory itself removed or renamed shows as an event with its own name (Linux).
    if (name === null || (name === path.basename(dir) && inodeOf(dir) !== state.ino)) {
      this.lost(dir, name);
      return;
    }
    state.kept.delete(name);
    state.unverified.delete(name);
    state.epoch = ++this.seq;
    this.opts.onChange?.(dir, name);
  }

  /** A watch ended or cannot be trusted: drop everything of `dir` (or of a child dir whose parent said so). */
  private lost(dir: string, name: string | null): void {
    if (!this.dirs.has(dir)) return;
    this.stats.watchesLost++;
    this.drop(dir);
    this.opts.onChange?.(dir, name);
  }

  private drop(dir: string): void {
    const state = this.dirs.get(dir);
    if (!state) return;
    this.dirs.delete(dir);
    state.kept.clear();
    state.unverified.clear();
    state.watcher?.close();
    state.parentWatcher?.close();
  }
}

function inodeOf(dir: string): number | null {
  try {
    return fs.statSync(dir).ino;
  } catch {
    return null;
  }
}

function isSymlink(file: string): boolean {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}
