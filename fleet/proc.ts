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
   * argv already read per entry (fleet/proc-reader.ts keeps it across reads): an entry kept
   * from the last read is the same process as then, so its `cmdline` is not read again.
   */
  cmdlines?: WeakMap<ProcEntry, string[]>;
  /**
   * Set by fleet/proc-reader.ts `ProcessTreeReader`: which of its reads this tree is (`read`, counting from 1)
   * and `dirty`, the pids whose subtree may differ from the read before — each process added,
   * replaced or gone, and all its ancestors, before and after — or null when that is not known
   * (a full read). A pid not in `dirty` has the same descendants, with the same entries, as then.
   */
  changes?: { read: number; dirty: ReadonlySet<number> | null };
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
  const ppid = ppidAt(text, close);
  if (!Number.isInteger(pid) || !Number.isInteger(ppid)) return null;
  return { pid, ppid, comm: text.slice(open + 1, close) };
}

/** Is `c` (a char code) an ASCII digit. */
const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/**
 * The ppid field after the comm's closing `)` at `close`: the second blank-separated field.
 * The kernel's shape (`) S 123 …`: one space, a one-letter state, one space, digits) is read in
 * place; anything else is split as words.
 */
function ppidAt(text: string, close: number): number {
  if (text.charCodeAt(close + 1) === 32 && text.charCodeAt(close + 2) > 32 && text.charCodeAt(close + 3) === 32 && isDigit(text.charCodeAt(close + 4))) {
    let end = close + 5;
    while (isDigit(text.charCodeAt(end))) end++;
    const next = text.charCodeAt(end);
    if (Number.isNaN(next) || next === 32) return Number(text.slice(close + 4, end));
  }
  return Number(
    text
      .slice(close + 1)
      .trim()
      .split(/\s+/)[1],
  );
}

/**
 * Threads of the process whose `stat` is `text` (field 20, `num_threads`), or null when the
 * text is not the kernel's shape (then every thread's `children` file is listed).
 */
function threadCount(text: string): number | null {
  let at = text.lastIndexOf(')') + 1;
  // Fields after the comm: state is field 3, num_threads field 20.
  for (let field = 2; field < 19; field++) {
    at = text.indexOf(' ', at + 1);
    if (at < 0) return null;
  }
  const end = text.indexOf(' ', at + 1);
  const n = Number(text.slice(at + 1, end < 0 ? undefined : end));
  return Number.isInteger(n) && n > 0 ? n : null;
}

/**
 * Reads every `/proc/<pid>/stat` once (processes that vanish meanwhile are skipped; names that
 * are not a pid, like `self`, are ignored). `procRoot` defaults to `/proc` (tests may point
 * elsewhere); `names`: its listing, when the caller has it. Throws only when `procRoot` cannot be listed.
 */
export function readProcessTree(procRoot = '/proc', names: readonly string[] = fs.readdirSync(procRoot)): ProcessTree {
  const entries = new Map<number, ProcEntry>();
  for (const name of names) {
    const pid = pidOfName(name);
    const entry = pid === null ? null : readStat(procRoot, pid);
    if (entry) entries.set(entry.pid, entry);
  }
  return { procRoot, entries, children: childrenOf(entries) };
}

/** The pid a `/proc` entry's name is (`1234`), null for any other name (`self`, `sys`, `01`). Pure. */
export function pidOfName(name: string): number | null {
  const pid = Number(name);
  return Number.isInteger(pid) && pid > 0 && name === String(pid) ? pid : null;
}

/** Reads and parses one `/proc/<pid>/stat` (one call: node reads it natively); null when the process is gone or the file is garbage. */
function readStat(procRoot: string, pid: number): ProcEntry | null {
  const text = readStatText(procRoot, pid);
  return text === null ? null : parseProcStat(text);
}

/** The text of `<procRoot>/<pid>/stat`, null when it cannot be read (the process is gone). */
export function readStatText(procRoot: string, pid: number): string | null {
  try {
    return fs.readFileSync(`${procRoot}/${pid}/stat`, UTF8);
  } catch {
    return null;
  }
}

const UTF8 = { encoding: 'utf8' } as const;

/** Children by parent pid of `entries`, in their order. */
export function childrenOf(entries: ReadonlyMap<number, ProcEntry>): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const e of entries.values()) {
    const list = children.get(e.ppid);
    if (list) list.push(e.pid);
    else children.set(e.ppid, [e.pid]);
  }
  return children;
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
    const raw = fs.readFileSync(`${tree.procRoot}/${pid}/cmdline`, UTF8);
    argv = raw.split('\u0000').filter(Boolean);
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
 * `pids`: the pane's {@link descendantsOf}, when the caller has them already.
 */
export function programsUnder(tree: ProcessTree, panePid: number, pids: readonly number[] = descendantsOf(tree, panePid)): string[] {
  const seen = new Set<string>();
  for (const pid of pids) {
    const entry = tree.entries.get(pid);
    if (entry?.comm) seen.add(baseName(entry.comm));
    const argv = readCmdline(tree, pid);
    const argv0 = argv[0] ? baseName(argv[0]) : '';
    if (argv0 && !argv0.startsWith('-')) seen.add(argv0);
    // argv[1] names the program only when argv[0] is an interpreter running a script (shebang).
    if (INTERPRETER.test(argv0) && argv[1] && !argv[1].startsWith('-')) seen.add(baseName(argv[1]));
  }
  return [...seen];
}

/** `path.basename(p)`, without its work for the common names (none or one `/` not at the end). */
function baseName(p: string): string {
  const slash = p.lastIndexOf('/');
  if (slash < 0) return p;
  return slash < p.length - 1 ? p.slice(slash + 1) : path.basename(p);
}

/**
 * The process tree under `pid` only (the pid and its descendants, at most `limit`), from
 * `<procRoot>/<pid>/task/<tid>/children` and each found process's `stat`: a few reads instead
 * of {@link readProcessTree}'s thousand on a busy machine (an action checking one pane). Null
 * when the kernel has no `children` files (CONFIG_PROC_CHILDREN) or `pid` is gone: read the
 * whole tree then. Processes that exit meanwhile are skipped.
 */
export function readProcessSubtree(pid: number, procRoot = '/proc', limit = 256): ProcessTree | null {
  return readProcessSubtrees([pid], procRoot, Infinity, limit);
}

/**
 * The process tree under each of `pids` (each pid and its descendants, at most `limit` per
 * pid), read as {@link readProcessSubtree} does: each process's `stat`, then its threads'
 * `children` files — the main thread's alone, without listing `task/`, when the `stat` says the
 * process has one thread. A parent's children are in the order {@link readProcessTree} finds them
 * (node lists `/proc` sorted by name: pids as strings).
 * Null when a pid is gone, the kernel has no `children` files, or the reads (files and listings)
 * exceed `maxReads` (the whole table is fewer reads then): read the whole tree instead.
 */
export function readProcessSubtrees(pids: readonly number[], procRoot: string, maxReads: number, limit = 256): ProcessTree | null {
  const entries = new Map<number, ProcEntry>();
  const budget = { reads: 0 };
  for (const pid of pids) {
    if (entries.has(pid)) continue;
    const queue = [pid];
    let found = 0;
    for (let i = 0; i < queue.length && found < limit; i++) {
      const p = queue[i]!;
      if (entries.has(p)) continue;
      budget.reads++;
      const text = readStatText(procRoot, p);
      const entry = text === null ? null : parseProcStat(text);
      if (!entry || text === null) {
        if (p === pid) return null;
        continue;
      }
      entries.set(p, entry);
      found++;
      if (!queueChildren(procRoot, p, threadCount(text) === 1, queue, budget) && p === pid) return null;
      if (budget.reads > maxReads) return null;
    }
  }
  const children = childrenOf(entries);
  for (const list of children.values()) if (list.length > 1) list.sort(byName);
  return { procRoot, entries, children };
}

/** Orders pids as their `/proc` names sort (`10` before `9`). */
const byName = (x: number, y: number): number => {
  const a = String(x);
  const b = String(y);
  return a < b ? -1 : a > b ? 1 : 0;
};

/**
 * Queues the children of process `p` from its threads' `children` files (the main thread's only
 * when `oneThread`; else `task/` listed, a listing that fails queues nothing). False when the
 * main thread has no `children` file (the kernel has none, or `p` is gone). Counts its reads.
 */
function queueChildren(procRoot: string, p: number, oneThread: boolean, queue: number[], budget: { reads: number }): boolean {
  let tids: string[] = [String(p)];
  if (!oneThread) {
    budget.reads++;
    try {
      tids = fs.readdirSync(`${procRoot}/${p}/task`);
    } catch {
      return true;
    }
  }
  let mainThreadFile = true;
  for (const tid of tids) {
    budget.reads++;
    let text: string;
    try {
      text = fs.readFileSync(`${procRoot}/${p}/task/${tid}/children`, UTF8);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && tid === String(p)) mainThreadFile = false;
      continue;
    }
    if (text.length > 0) for (const c of text.trim().split(/\s+/)) if (/^\d+$/.test(c)) queue.push(Number(c));
  }
  return mainThreadFile;
}
