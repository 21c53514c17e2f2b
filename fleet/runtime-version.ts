/**
 * The version of the runtime running in a pane, read from its live process — never from what
 * the roster or an env file claims, never by running the program. For the pane pid and its
 * descendants (breadth first, the runtime before its tool children): the executable
 * (`/proc/<pid>/exe`), `argv[0]` when it is a path, and `argv[1]` when `argv[0]` is an
 * interpreter (`node /x/cli.js`); from each path, the nearest `package.json` up the tree whose
 * `name` is one of the runtime's packages (screen rules `packages`; a platform package
 * `<name>-linux-x64` counts) gives the version, else a `versionPath` pattern of the rules over
 * the path (a native install such as `~/.local/share/claude/versions/2.1.332`). Results are
 * cached per path. Remote panes and processes we cannot read give null (unknown).
 */
import fs from 'node:fs';
import path from 'node:path';
import { descendantsOf, readCmdline, type ProcessTree } from './proc.js';

/** What {@link RuntimeVersionReader.read} found: the version and where it came from. */
export interface RuntimeVersion {
  /** The runtime's version as its package says it (`2.1.332`). */
  version: string;
  /** `package.json of @anthropic-ai/claude-code` or `path /…/versions/2.1.332`. */
  source: string;
  /** The executable or script path the version was read for. */
  path: string;
}

/** How a runtime's version is found: its npm package names and an optional path pattern with a `version` group. */
export interface VersionSource {
  packages: readonly string[];
  versionPath?: RegExp | null;
}

/** Interpreters whose argv[1] is the program actually running (same list as the DRIFT check). */
const INTERPRETER = /^(node|nodejs|bun|deno|python[0-9.]*)$/;
/** Levels walked up from a path looking for package.json. */
const MAX_LEVELS = 8;
/** Most bytes read of one package.json. */
const MAX_PACKAGE_JSON = 256 * 1024;
/** Most paths remembered (oldest forgotten first). */
const MAX_CACHE = 512;

/** Reads `<dir>/package.json` (bounded) and returns `{name, version}`, or null. */
function readPackageJson(dir: string): { name: string; version: string } | null {
  let fd: number | null = null;
  try {
    fd = fs.openSync(path.join(dir, 'package.json'), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    if (!fs.fstatSync(fd).isFile()) return null;
    const buf = Buffer.alloc(MAX_PACKAGE_JSON);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const data = JSON.parse(buf.toString('utf8', 0, n)) as { name?: unknown; version?: unknown };
    return typeof data.name === 'string' && typeof data.version === 'string' ? { name: data.name, version: data.version } : null;
  } catch {
    return null;
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/** True when package `name` is one of `packages` or a platform build of one (`@x/y-linux-x64`). */
function isRuntimePackage(name: string, packages: readonly string[]): boolean {
  return packages.some((p) => name === p || name.startsWith(`${p}-`));
}

/**
 * The version for one executable or script path: the nearest runtime package.json up the tree
 * (at most 8 levels), else the `versionPath` pattern; null when neither says. Pure apart from
 * reading package.json files.
 */
export function versionOfPath(file: string, source: VersionSource): RuntimeVersion | null {
  let dir = path.dirname(file);
  for (let i = 0; i < MAX_LEVELS; i++) {
    const pkg = readPackageJson(dir);
    if (pkg && isRuntimePackage(pkg.name, source.packages)) return { version: pkg.version, source: `package.json of ${pkg.name}`, path: file };
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  const m = source.versionPath?.exec(file);
  return m?.groups?.version ? { version: m.groups.version, source: `path ${file}`, path: file } : null;
}

/**
 * Reads runtime versions of panes, caching the answer per executable/script path (a running
 * process keeps its file: the path's version changes only when the file is replaced, which
 * its mtime shows). Keep one per process (the module's {@link runtimeVersions}); never throws.
 */
export class RuntimeVersionReader {
  private readonly cache = new Map<string, { key: string; found: RuntimeVersion | null }>();

  /**
   * The runtime's version under `panePid` in `tree` (local /proc; a remote tree gives null: its
   * files are not here), looking at most 64 processes. Null when no process there belongs to
   * one of `source.packages`.
   */
  read(tree: ProcessTree | null, panePid: number | null, source: VersionSource): RuntimeVersion | null {
    if (!tree || tree.argv || panePid === null || !source.packages.length) return null;
    for (const pid of descendantsOf(tree, panePid, 64)) {
      for (const file of this.pathsOf(tree, pid)) {
        const found = this.cached(file, source);
        if (found) return found;
      }
    }
    return null;
  }

  /** The executable, argv[0] when a path, argv[1] behind an interpreter; `(deleted)` executables skipped. */
  private pathsOf(tree: ProcessTree, pid: number): string[] {
    const out: string[] = [];
    try {
      const exe = fs.readlinkSync(path.join(tree.procRoot, String(pid), 'exe'));
      if (!exe.endsWith(' (deleted)')) out.push(exe);
    } catch {
      /* not ours to read, or gone */
    }
    const argv = readCmdline(tree, pid);
    const argv0 = argv[0] ?? '';
    if (argv0.startsWith('/')) out.push(argv0);
    if (INTERPRETER.test(path.basename(argv0)) && argv[1]?.startsWith('/')) out.push(argv[1]);
    return out;
  }

  private cached(file: string, source: VersionSource): RuntimeVersion | null {
    let real: string;
    let key: string;
    try {
      real = fs.realpathSync(file);
      const st = fs.statSync(real);
      key = `${st.ino}:${st.mtimeMs}:${source.packages.join(',')}`;
    } catch {
      return null;
    }
    const hit = this.cache.get(real);
    if (hit && hit.key === key) return hit.found;
    const found = versionOfPath(real, source);
    if (this.cache.size >= MAX_CACHE) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(real, { key, found });
    return found;
  }
}

/** The process-wide reader (the console, `--once`, send and `hooks status` share its cache). */
export const runtimeVersions = new RuntimeVersionReader();
