/**
 * The process tree from `/proc`: built once per snapshot from `/proc/<pid>/stat`
 * (ppid + comm); `/proc/<pid>/cmdline` is read only for pids under agent panes. Linux only:
 * elsewhere the tree is empty and the probe says so. Upstream's `fleet ps` used `pstree`.
 */
import fs from 'node:fs';
import path from 'node:path';

/** One process from `/proc/<pid>/stat`. */
export interface ProcEntry {
  pid: number;
  ppid: number;
  /** Kernel `comm` (≤ 15 chars, untrusted). */
  comm: string;
}

/** The process tree: entries by pid and children by parent pid. */
export interface ProcessTree {
  procRoot: string;
  entries: Map<number, ProcEntry>;
  children: Map<number, number[]>;
  /**
   * argv per pid when the tree was not read from a `/proc` (a remote host's `ps -o args=`, split
   * on blanks): {@link readCmdline} then looks here instead of `<procRoot>/<pid>/cmdline`.
   */
  argv?: Map<number, string[]>;
  /**
   * argv already read per entry ({@link ProcessTreeReader} keeps it across reads): an entry kept
   * from the last read is the same process as then, so its `cmdline` is not read again.
   */
  cmdlines?: WeakMap<ProcEntry, string[]>;
}

/**
 * Parses the content of `/proc/<pid>/stat`: `pid (comm) state ppid …`. The comm may itself
 * contain spaces and parentheses, so it is cut at the LAST `)`. Returns null on garbage.
 */
export function parseProcStat(text: string): ProcEntry | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const ppid = Number(rest[1]);
  if (!Number.isInteger(pid) || !Number.isInteger(ppid)) return null;
  return { pid, ppid, comm: text.slice(open + 1, close) };
}

/**
 * Reads every `/proc/<pid>/stat` once (processes that vanish meanwhile are skipped; names that
 * are not a pid, like `self`, are ignored). `procRoot` defaults to `/proc` (tests may point
 * elsewhere). Throws only when `procRoot` cannot be listed.
 */
export function readProcessTree(procRoot = '/proc'): ProcessTree {
  const entries = new Map<number, ProcEntry>();
  for (const name of fs.readdirSync(procRoot)) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0 || name !== String(pid)) continue;
    const entry = readStat(procRoot, pid);
    if (entry) entries.set(entry.pid, entry);
  }
  return { procRoot, entries, children: childrenOf(entries) };
}

/** Read buffer of {@link readStat}, shared by every read: a stat line is well under 1 KiB (comm ≤ 15 bytes). */
const statBuffer = Buffer.alloc(4096);

/** Reads and parses one `/proc/<pid>/stat`; null when the process is gone or the file is garbage. */
function readStat(procRoot: string, pid: number): ProcEntry | null {
  // open + read + close into one shared buffer: a machine has 1,000+ processes, and
  // readFileSync's fstat, allocation and decoding per file cost more than the read itself.
  let fd: number | null = null;
  try {
    fd = fs.openSync(`${procRoot}/${pid}/stat`, 'r');
    const n = fs.readSync(fd, statBuffer, 0, statBuffer.length, 0);
    return parseProcStat(statBuffer.toString('utf8', 0, n));
  } catch {
    return null;
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

function childrenOf(entries: ReadonlyMap<number, ProcEntry>): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const e of entries.values()) {
    const list = children.get(e.ppid);
    if (list) list.push(e.pid);
    else children.set(e.ppid, [e.pid]);
  }
  return children;
}

/** A pane as the process tree reader needs it: its pid and what tmux says runs in it. */
export interface PaneProcess {
  pid: number;
  currentCommand: string;
}

/**
 * Reads the process tree tick after tick without re-reading every `/proc/<pid>/stat`: a
 * console of 1,000 agents sits on a machine of 1,000+ processes, and a full read every 2 s
 * cost more than the rest of its tick. Per {@link read}: `/proc` is listed; new pids are read;
 * the children of vanished pids are read again (they were re-parented); the subtree of a pane
 * whose pid or current command changed since the last read is read again (an `exec` there
 * changes a program name). Everything else keeps its entry, and its argv once read. A full read happens on the first
 * call and every `fullEveryMs` (default 30 s), which bounds what the shortcut can miss (an
 * `exec` below an unchanged foreground process, a pid reused between two reads) to that time.
 */
export class ProcessTreeReader {
  private entries = new Map<number, ProcEntry>();
  private children = new Map<number, number[]>();
  private panes = new Map<number, string>();
  private lastFullMs = -Infinity;
  /** argv per kept entry: read once per process, again after a full read (readCmdline). */
  private readonly cmdlines = new WeakMap<ProcEntry, string[]>();

  constructor(
    readonly procRoot = '/proc',
    private readonly fullEveryMs = 30_000,
  ) {}

  /** The current tree for `panes` (the live panes of this snapshot); `nowMs`: unix ms. Throws only when `/proc` cannot be listed. */
  read(panes: readonly PaneProcess[], nowMs = Date.now()): ProcessTree {
    const previousPanes = this.panes;
    this.panes = new Map(panes.map((p) => [p.pid, p.currentCommand]));
    if (nowMs - this.lastFullMs >= this.fullEveryMs) {
      const tree = readProcessTree(this.procRoot);
      this.entries = tree.entries;
      this.children = tree.children;
      this.lastFullMs = nowMs;
      return { ...tree, cmdlines: this.cmdlines };
    }
    const alive = new Set<number>();
    for (const name of fs.readdirSync(this.procRoot)) {
      const pid = Number(name);
      if (Number.isInteger(pid) && pid > 0 && name === String(pid)) alive.add(pid);
    }
    const reread = new Set<number>();
    for (const pid of this.entries.keys()) {
      if (alive.has(pid)) continue;
      this.entries.delete(pid);
      for (const child of this.children.get(pid) ?? []) reread.add(child);
    }
    for (const pid of alive) if (!this.entries.has(pid)) reread.add(pid);
    for (const [pid, command] of this.panes) {
      if (previousPanes.get(pid) === command) continue;
      reread.add(pid);
      for (const d of descendantsOf({ procRoot: this.procRoot, entries: this.entries, children: this.children }, pid)) reread.add(d);
    }
    for (const pid of reread) {
      if (!alive.has(pid)) continue;
      const entry = readStat(this.procRoot, pid);
      if (entry) this.entries.set(pid, entry);
      else this.entries.delete(pid);
    }
    this.children = childrenOf(this.entries);
    return { procRoot: this.procRoot, entries: this.entries, children: this.children, cmdlines: this.cmdlines };
  }
}

/** The pid and all its descendants (breadth first, pid first), bounded to `limit` processes. */
export function descendantsOf(tree: ProcessTree, pid: number, limit = 256): number[] {
  const out: number[] = [];
  const queue = [pid];
  const seen = new Set<number>();
  while (queue.length && out.length < limit) {
    const p = queue.shift()!;
    if (seen.has(p)) continue;
    seen.add(p);
    if (p === pid || tree.entries.has(p)) out.push(p);
    for (const c of tree.children.get(p) ?? []) queue.push(c);
  }
  return out;
}

/** Interpreters whose argv[1] is the script actually running (`node /x/pi` runs `pi`). */
const INTERPRETER = /^(node|nodejs|python[0-9.]*|ruby[0-9.]*|perl[0-9.]*|sh|bash|dash|zsh|deno|bun|tsx|ts-node)$/;

/** argv of a process from `/proc/<pid>/cmdline` (NUL separated); empty when gone or unreadable. */
export function readCmdline(tree: ProcessTree, pid: number): string[] {
  if (tree.argv) return tree.argv.get(pid) ?? [];
  const entry = tree.cmdlines ? tree.entries.get(pid) : undefined;
  const kept = entry ? tree.cmdlines?.get(entry) : undefined;
  if (kept) return kept;
  let argv: string[] = [];
  try {
    const raw = fs.readFileSync(path.join(tree.procRoot, String(pid), 'cmdline'), 'utf8');
    argv = raw
      .split('\u0000')
      .filter((s, i, all) => s !== '' || i < all.length - 1)
      .filter(Boolean);
  } catch {
    // gone or unreadable: no argv
  }
  if (entry) tree.cmdlines?.set(entry, argv);
  return argv;
}

/**
 * Program names seen under a pane: for the pane pid and each descendant, the basename of
 * `comm`, `argv[0]`, and `argv[1]` when `argv[0]` is an interpreter (a shebang script shows as
 * its interpreter, so `node /x/pi` must still count as `pi`). Deduplicated, in discovery order.
 */
export function programsUnder(tree: ProcessTree, panePid: number): string[] {
  const seen = new Set<string>();
  for (const pid of descendantsOf(tree, panePid)) {
    const entry = tree.entries.get(pid);
    if (entry?.comm) seen.add(path.basename(entry.comm));
    const argv = readCmdline(tree, pid);
    const argv0 = argv[0] ? path.basename(argv[0]) : '';
    if (argv0 && !argv0.startsWith('-')) seen.add(argv0);
    // argv[1] names the program only when argv[0] is an interpreter running a script (shebang).
    if (INTERPRETER.test(argv0) && argv[1] && !argv[1].startsWith('-')) seen.add(path.basename(argv[1]));
  }
  return [...seen];
}

/**
 * The process tree under `pid` only (the pid and its descendants, at most `limit`), from
 * `<procRoot>/<pid>/task/<tid>/children` and each found process's `stat`: a few reads instead
 * of {@link readProcessTree}'s thousand on a busy machine (an action checking one pane). Null
 * when the kernel has no `children` files (CONFIG_PROC_CHILDREN) or `pid` is gone: read the
 * whole tree then. Processes that exit meanwhile are skipped.
 */
export function readProcessSubtree(pid: number, procRoot = '/proc', limit = 256): ProcessTree | null {
  const entries = new Map<number, ProcEntry>();
  const queue = [pid];
  while (queue.length && entries.size < limit) {
    const p = queue.shift()!;
    if (entries.has(p)) continue;
    const entry = readStat(procRoot, p);
    if (!entry) {
      if (p === pid) return null;
      continue;
    }
    entries.set(p, entry);
    let tasks: string[];
    try {
      tasks = fs.readdirSync(path.join(procRoot, String(p), 'task'));
    } catch {
      continue;
    }
    for (const tid of tasks) {
      let text: string;
      try {
        text = fs.readFileSync(path.join(procRoot, String(p), 'task', tid, 'children'), 'utf8');
      } catch (error) {
        if (p === pid && (error as NodeJS.ErrnoException).code === 'ENOENT' && tid === String(pid)) return null;
        continue;
      }
      for (const c of text.trim().split(/\s+/)) if (/^\d+$/.test(c)) queue.push(Number(c));
    }
  }
  return { procRoot, entries, children: childrenOf(entries) };
}
