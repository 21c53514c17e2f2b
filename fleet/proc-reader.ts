/**
 * The console's process table, read tick after tick without re-reading every
 * `/proc/<pid>/stat` ({@link ProcessTreeReader}): what it keeps between reads, when it lists
 * `/proc` ({@link taskMark}) and how it tells a kept process from an exec'd one ({@link imageMark}).
 * The one-off reads and the tree's walks are fleet/proc.ts.
 */
import fs from 'node:fs';
import { childrenOf, descendantsOf, parseProcStat, pidOfName, readStatText, type ProcEntry, type ProcessTree } from './proc.js';

/** The machine's task count and the last pid given out (`/proc/loadavg`'s 4th field after its `/`, and its 5th). */
export interface TaskMark {
  tasks: number;
  lastPid: number;
}

/**
 * The task mark of `<procRoot>/loadavg` (`0.00 0.01 0.05 1/1211 2490`): every task created moves
 * the last pid, every task reaped lowers the count, so an unchanged mark means the same
 * processes as before. Null when the file is missing or not the kernel's shape, or the last pid
 * is 0. Reads one small file.
 */
export function taskMark(procRoot: string): TaskMark | null {
  let text: string;
  try {
    text = fs.readFileSync(`${procRoot}/loadavg`, 'latin1');
  } catch {
    return null;
  }
  const m = /^\S+ \S+ \S+ \d+\/(\d+) (\d+)\s*$/.exec(text);
  if (!m) return null;
  const lastPid = Number(m[2]);
  return lastPid > 0 ? { tasks: Number(m[1]), lastPid } : null;
}

/** A pane as the process tree reader needs it: its pid and what tmux says runs in it. */
export interface PaneProcess {
  pid: number;
  currentCommand: string;
}

/**
 * The image mark of a process from the text of its `stat`: fields 48 and 49 (`arg_start`,
 * `arg_end`: where its argv lies in its memory), which an `exec` sets anew — with address space
 * randomisation a new image practically never has both where the old one had them. Null when
 * the text has no such fields or the kernel hides them (zeros: another user's process): the
 * process is then taken as exec'd.
 */
export function imageMark(text: string): string | null {
  let at = text.lastIndexOf(')') + 1;
  // `at` is the blank before field 3 (the state); step to the blank before field 48.
  for (let field = 3; field < 48 && at > 0; field++) at = text.indexOf(' ', at + 1);
  if (at < 0) return null;
  let end = text.indexOf(' ', at + 1);
  if (end < 0) return null;
  end = text.indexOf(' ', end + 1);
  const mark = text.slice(at + 1, end < 0 ? undefined : end).trim();
  return /^[1-9]\d* [1-9]\d*$/.test(mark) ? mark : null;
}

/** Timing of a {@link ProcessTreeReader}, milliseconds. */
export interface ProcessTreeReaderTiming {
  /** The whole table is read again this often (default 300 000). */
  fullEveryMs?: number;
  /** The processes under the live panes are checked this often (default 30 000). */
  paneEveryMs?: number;
  /** A read this long after the last one reads the whole table (default 10 000): a pid may have been reused meanwhile. */
  maxGapMs?: number;
}

/**
 * Reads the process tree tick after tick without re-reading every `/proc/<pid>/stat`: a
 * console of 1,000 agents sits on a machine of 1,000+ processes, and a full read every 2 s
 * cost more than the rest of its tick. Per {@link read}: `/proc` is listed; new pids are read;
 * the children of vanished pids are read again (they were re-parented); the subtree of a pane
 * whose pid or current command changed since the last read is read again (an `exec` there
 * changes a program name). Everything else keeps its entry, and its argv once read.
 * Every `paneEveryMs` the processes under the live panes (all the snapshot looks up) have their
 * `stat` read again: an entry whose comm, ppid and {@link imageMark} are the same is kept (the
 * same process, not exec'd: its argv too), any other is replaced — which bounds what the
 * shortcut can miss there (an `exec` below an unchanged foreground process) to that time.
 * The whole table is read on the first call, every `fullEveryMs`, and when the last read is
 * more than `maxGapMs` ago (a stopped console): a pid ended and reused between two listings is
 * the one thing left unseen, and that takes the pid space wrapping around between them.
 * `/proc` is listed only when its {@link taskMark} moved since the last read (once the kernel
 * has shown that its last pid moves): on a quiet machine a tick lists nothing.
 */
export class ProcessTreeReader {
  private entries = new Map<number, ProcEntry>();
  private children = new Map<number, number[]>();
  private panes = new Map<number, string>();
  private lastFullMs = -Infinity;
  private lastPaneMs = -Infinity;
  private lastReadMs = -Infinity;
  private readonly fullEveryMs: number;
  private readonly paneEveryMs: number;
  private readonly maxGapMs: number;
  /** argv per kept entry: read once per process, again after a full read (readCmdline). */
  private readonly cmdlines = new WeakMap<ProcEntry, string[]>();
  /** The {@link imageMark} each entry was read with (none when the kernel did not show it). */
  private readonly marks = new WeakMap<ProcEntry, string>();
  /** Reads done ({@link ProcessTree.changes}). */
  private reads = 0;
  /** This read's changed pids and their ancestors ({@link ProcessTree.changes}). */
  private dirty = new Set<number>();
  /** The pids of the last listing, and the {@link taskMark} read just before it. */
  private alive = new Set<number>();
  private listedMark: TaskMark | null = null;
  /** True once two marks had different last pids: this kernel keeps the field (gVisor-like ones may not). */
  private lastPidMoves = false;
  /** `stat` files read, `/proc` listings, full reads, pane checks (tests, the bench). */
  readonly stats = { statReads: 0, listings: 0, fullReads: 0, paneChecks: 0 };

  /** `timing`: a number is `fullEveryMs` (then the panes are checked as often: every read before this shortcut). */
  constructor(
    readonly procRoot = '/proc',
    timing: number | ProcessTreeReaderTiming = {},
  ) {
    const t = typeof timing === 'number' ? { fullEveryMs: timing, paneEveryMs: timing } : timing;
    this.fullEveryMs = t.fullEveryMs ?? 300_000;
    this.paneEveryMs = t.paneEveryMs ?? 30_000;
    this.maxGapMs = t.maxGapMs ?? 10_000;
  }

  /** The current tree for `panes` (the live panes of this snapshot); `nowMs`: unix ms. Throws only when `/proc` cannot be listed. */
  read(panes: readonly PaneProcess[], nowMs = Date.now()): ProcessTree {
    const previousPanes = this.panes;
    this.panes = new Map(panes.map((p) => [p.pid, p.currentCommand]));
    const gap = nowMs - this.lastReadMs;
    this.lastReadMs = nowMs;
    this.reads++;
    this.dirty = new Set();
    if (nowMs - this.lastFullMs >= this.fullEveryMs || gap > this.maxGapMs || gap < 0) {
      this.stats.fullReads++;
      this.entries = new Map();
      for (const pid of this.list()) {
        const entry = this.readEntry(pid, null);
        if (entry) this.entries.set(pid, entry);
      }
      this.children = childrenOf(this.entries);
      this.lastFullMs = this.lastPaneMs = nowMs;
      return { procRoot: this.procRoot, entries: this.entries, children: this.children, cmdlines: this.cmdlines, changes: { read: this.reads, dirty: null } };
    }
    const listedBefore = this.stats.listings;
    const alive = this.listIfMoved();
    const reread = new Set<number>();
    if (this.stats.listings !== listedBefore) {
      for (const pid of this.entries.keys()) {
        if (alive.has(pid)) continue;
        this.markChanged(pid);
        this.entries.delete(pid);
        for (const child of this.children.get(pid) ?? []) reread.add(child);
      }
      for (const pid of alive) if (!this.entries.has(pid)) reread.add(pid);
    }
    const tree = { procRoot: this.procRoot, entries: this.entries, children: this.children };
    for (const [pid, command] of this.panes) {
      if (previousPanes.get(pid) === command) continue;
      for (const d of descendantsOf(tree, pid)) reread.add(d);
    }
    for (const pid of reread) if (alive.has(pid)) this.update(pid, this.readEntry(pid, null));
    if (nowMs - this.lastPaneMs >= this.paneEveryMs) {
      this.checkPanes(alive, reread);
      this.lastPaneMs = nowMs;
    }
    // Every change of an entry marked its pid dirty: no mark, the same children.
    if (this.dirty.size) this.children = childrenOf(this.entries);
    return {
      procRoot: this.procRoot,
      entries: this.entries,
      children: this.children,
      cmdlines: this.cmdlines,
      changes: { read: this.reads, dirty: this.dirty },
    };
  }

  /** Lists `procRoot` (`mark`, its {@link taskMark}, read first): the pids, kept as {@link alive}. */
  private list(mark = taskMark(this.procRoot)): Set<number> {
    this.listedMark = mark;
    this.stats.listings++;
    const alive = new Set<number>();
    for (const name of fs.readdirSync(this.procRoot)) {
      const pid = pidOfName(name);
      if (pid !== null) alive.add(pid);
    }
    return (this.alive = alive);
  }

  /**
   * The pids alive: the last listing's while the {@link taskMark} has not moved since (no task
   * was created — the last pid would have moved — and so none ended: the count would have
   * fallen), else a new listing. Trusted only once this kernel's last pid was seen to move.
   * The last pid is the reader's pid namespace's: a `procRoot` of another namespace (a host's
   * `/proc` in a container) can see a task created and another ended between two reads with
   * the mark unchanged; the pane check and the full read bound what that misses, as for an exec.
   */
  private listIfMoved(): Set<number> {
    const mark = taskMark(this.procRoot);
    const before = this.listedMark;
    if (mark && before && mark.lastPid !== before.lastPid) this.lastPidMoves = true;
    if (this.lastPidMoves && mark && before && mark.lastPid === before.lastPid && mark.tasks === before.tasks) return this.alive;
    return this.list(mark);
  }

  /** Puts `entry` (null: gone) for `pid`; a change marks the pid and its ancestors before and after. */
  private update(pid: number, entry: ProcEntry | null): void {
    const old = this.entries.get(pid);
    if (old === entry || (!old && !entry)) return;
    this.markChanged(pid);
    if (entry) {
      this.entries.set(pid, entry);
      this.markChanged(entry.ppid);
    } else this.entries.delete(pid);
  }

  /** Marks `pid` and its ancestors (as the entries have them now) changed in this read. */
  private markChanged(pid: number): void {
    for (let p = pid, steps = 0; p > 0 && steps < 4096 && !this.dirty.has(p); steps++) {
      this.dirty.add(p);
      p = this.entries.get(p)?.ppid ?? 0;
    }
  }

  /** Reads `stat` of every process under the live panes not read this tick; keeps an entry that is the same process, not exec'd ({@link imageMark}). */
  private checkPanes(alive: ReadonlySet<number>, done: ReadonlySet<number>): void {
    this.stats.paneChecks++;
    const tree = { procRoot: this.procRoot, entries: this.entries, children: this.children };
    const pids = new Set<number>();
    for (const pane of this.panes.keys()) for (const d of descendantsOf(tree, pane)) if (!done.has(d) && alive.has(d)) pids.add(d);
    for (const pid of pids) this.update(pid, this.readEntry(pid, this.entries.get(pid) ?? null));
  }

  /**
   * Reads `<procRoot>/<pid>/stat`: null when gone or garbage; `kept` (the entry read before)
   * when it is the same comm, ppid and image mark, else a new entry (its mark noted).
   */
  private readEntry(pid: number, kept: ProcEntry | null): ProcEntry | null {
    this.stats.statReads++;
    const text = readStatText(this.procRoot, pid);
    const entry = text === null ? null : parseProcStat(text);
    if (!entry || text === null) return null;
    const mark = imageMark(text);
    if (kept && mark !== null && kept.comm === entry.comm && kept.ppid === entry.ppid && this.marks.get(kept) === mark) return kept;
    if (mark !== null) this.marks.set(entry, mark);
    return entry;
  }
}
