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
  const rest = text.slice(close + 1).trim().split(/\s+/);
  const ppid = Number(rest[1]);
  if (!Number.isInteger(pid) || !Number.isInteger(ppid)) return null;
  return { pid, ppid, comm: text.slice(open + 1, close) };
}

/**
 * Reads every `/proc/<pid>/stat` once (processes that vanish meanwhile are skipped). `procRoot`
 * defaults to `/proc` (tests may point elsewhere). Throws only when `procRoot` cannot be listed.
 */
export function readProcessTree(procRoot = '/proc'): ProcessTree {
  const entries = new Map<number, ProcEntry>();
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync(procRoot)) {
    if (!/^\d+$/.test(name)) continue;
    let text: string;
    try {
      text = fs.readFileSync(path.join(procRoot, name, 'stat'), 'utf8');
    } catch {
      continue;
    }
    const entry = parseProcStat(text);
    if (!entry) continue;
    entries.set(entry.pid, entry);
    const list = children.get(entry.ppid);
    if (list) list.push(entry.pid);
    else children.set(entry.ppid, [entry.pid]);
  }
  return { procRoot, entries, children };
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
  try {
    const raw = fs.readFileSync(path.join(tree.procRoot, String(pid), 'cmdline'), 'utf8');
    return raw.split('\u0000').filter((s, i, all) => s !== '' || i < all.length - 1).filter(Boolean);
  } catch {
    return [];
  }
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
