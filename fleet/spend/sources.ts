/**
 * Which record files are whose. Evidence comes from two places, recorded per agent in
 * `<run>/spend/<agent>.sources` (NDJSON, owner-only, bounded to the last {@link MAX_SOURCES}):
 *
 * - `transcript`: the record file a runtime's hook named (Claude/Codex hook payloads carry
 *   `transcript_path` and `session_id`), written by `heartbeat-hook`: exact;
 * - `scope`: where the agent's runtime process writes (its `/proc/<pid>/environ` HOME,
 *   CLAUDE_CONFIG_DIR, CODEX_HOME, PI_CODING_AGENT_DIR and its cwd), written by the meter when
 *   it sees the process: Claude ⇒ `<config>/projects/<cwd slug>/`, Codex ⇒
 *   `<codex home>/sessions/` with the session's cwd, pi ⇒ `<agent dir>/sessions/` with the
 *   session's cwd, opencode ⇒ its database `<data home>/opencode/opencode.db` (XDG_DATA_HOME)
 *   with the session's cwd; an opencode session is named `<database>/<session id>`.
 *
 * Attribution never guesses: a file named by two agents' hooks, or inside the scope of two
 * agents (same directory and cwd) and named by no hook, is `unattributed` with that reason.
 */
import { readBoundedFile } from '../../lib/bounded-read.js';
import fs from 'node:fs';
import path from 'node:path';
import { ensureOwnerOnlyDir, OWNER_ONLY_FILE_MODE } from '../../lib/owner-only.js';
import { opencodeDbPath } from './opencode.js';
import type { SpendRuntime } from './types.js';
import { writeFileAtomic } from '../../lib/atomic-write.js';

/** One piece of evidence of where an agent's records are. */
export interface SpendSource {
  kind: 'transcript' | 'scope';
  runtime: SpendRuntime;
  /** transcript: the record file; scope: the directory holding the agent's record files (opencode: its database). */
  path: string;
  /** The session's working directory: filters a shared Codex/pi sessions dir; null = any. */
  cwd: string | null;
  /** The runtime's session id, when known (a Codex rollout's name ends with it). */
  session?: string | null;
  /** How it was learned, e.g. `hook SessionStart`, `process 1234 (CLAUDE_CONFIG_DIR)`. */
  evidence: string;
  /** Unix ms it was recorded. */
  at: number;
}

/** Sources kept per agent; older ones are dropped. */
export const MAX_SOURCES = 200;
const SOURCES_READ_LIMIT = 512 * 1024;

/** `<run>/spend/<agent>.sources`. */
export function sourcesPath(runDir: string, agent: string): string {
  return path.join(runDir, 'spend', `${agent}.sources`);
}

/** Reads an agent's sources (missing or unreadable file ⇒ none; bad lines skipped). */
export function readSources(runDir: string, agent: string): SpendSource[] {
  let text: string;
  try {
    const file = sourcesPath(runDir, agent);
    text = readBoundedFile(file, { maxBytes: SOURCES_READ_LIMIT })?.bytes.toString('utf8') ?? '';
  } catch {
    return [];
  }
  const out: SpendSource[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const s = JSON.parse(line) as SpendSource;
      if ((s.kind === 'transcript' || s.kind === 'scope') && typeof s.path === 'string' && ['claude', 'codex', 'pi', 'opencode'].includes(s.runtime))
        out.push(s);
    } catch {
      // a torn line: skip
    }
  }
  return out;
}

function sameSource(a: SpendSource, b: SpendSource): boolean {
  return a.kind === b.kind && a.runtime === b.runtime && a.path === b.path && (a.cwd ?? null) === (b.cwd ?? null);
}

/**
 * Records `source` for `agent` unless already there; keeps the last {@link MAX_SOURCES}. The
 * file is rewritten atomically (temp + rename), owner-only. Returns true when written. Throws
 * filesystem errors.
 */
export function recordSource(runDir: string, agent: string, source: SpendSource): boolean {
  const existing = readSources(runDir, agent);
  if (existing.some((s) => sameSource(s, source))) return false;
  const kept = [...existing, source].slice(-MAX_SOURCES);
  const file = sourcesPath(runDir, agent);
  ensureOwnerOnlyDir(path.dirname(file));
  writeFileAtomic(file, kept.map((s) => JSON.stringify(s)).join('\n') + '\n', { mode: OWNER_ONLY_FILE_MODE });
  return true;
}

/** Claude Code's project directory name for a cwd: every character but [A-Za-z0-9] becomes `-`. */
export function claudeProjectSlug(cwd: string): string {
  return cwd.replace(/[^A-Za-z0-9]/g, '-');
}

/** Environment of a process (`/proc/<pid>/environ`, bounded), or null when unreadable. */
export function readProcessEnv(pid: number, procRoot = '/proc'): Record<string, string> | null {
  try {
    const raw = fs.readFileSync(path.join(procRoot, String(pid), 'environ'));
    if (raw.length > SOURCES_READ_LIMIT) return null;
    const env: Record<string, string> = {};
    for (const kv of raw.toString('utf8').split('\u0000')) {
      const eq = kv.indexOf('=');
      if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    return env;
  } catch {
    return null;
  }
}

/**
 * The scope of a runtime process: where `runtime` writes its records given its environment
 * and cwd. Null when the environment names no HOME and no runtime dir.
 */
export function scopeOf(runtime: SpendRuntime, env: Record<string, string>, cwd: string, pid: number, now: number): SpendSource | null {
  const home = env.HOME;
  const pick = (name: string, fallback: string | null): [string, string] | null =>
    env[name] ? [env[name], name] : fallback && home ? [fallback, 'HOME'] : null;
  let found: [string, string] | null;
  let dir: string;
  if (runtime === 'claude') {
    found = pick('CLAUDE_CONFIG_DIR', home ? path.join(home, '.claude') : null);
    if (!found) return null;
    dir = path.join(found[0], 'projects', claudeProjectSlug(cwd));
  } else if (runtime === 'codex') {
    found = pick('CODEX_HOME', home ? path.join(home, '.codex') : null);
    if (!found) return null;
    dir = path.join(found[0], 'sessions');
  } else if (runtime === 'pi') {
    found = pick('PI_CODING_AGENT_DIR', home ? path.join(home, '.pi', 'agent') : null);
    if (!found) return null;
    dir = path.join(found[0], 'sessions');
  } else {
    found = pick('XDG_DATA_HOME', home ? path.join(home, '.local', 'share') : null);
    if (!found) return null;
    dir = opencodeDbPath(found[0]);
  }
  return { kind: 'scope', runtime, path: dir, cwd: runtime === 'claude' ? null : cwd, evidence: `process ${pid} (${found[1]}, cwd ${cwd})`, at: now };
}

/**
 * Record files under `dir` (`.jsonl`, depth ≤ 4, at most `limit`), sorted. Missing dir ⇒ none.
 * `onDir` is called with each directory just before it is read (`dir` first, missing or not).
 */
export function listRecordFiles(runtime: SpendRuntime, dir: string, limit = 100_000, onDir?: (dir: string) => void): string[] {
  const out: string[] = [];
  const walk = (d: string, depth: number) => {
    onDir?.(d);
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (out.length >= limit) return;
      const p = path.join(d, e.name);
      if (e.isDirectory() && depth < 4) walk(p, depth + 1);
      else if (e.isFile() && e.name.endsWith('.jsonl') && (runtime !== 'codex' || e.name.startsWith('rollout-'))) out.push(p);
    }
  };
  walk(dir, 0);
  return out.sort();
}

/** What the attribution decided for one file. */
export interface Attribution {
  agent: string | null;
  /** Why unattributed (null when attributed). */
  reason: string | null;
}

/**
 * Decides whose `file` is, from every agent's sources (see the module doc). `fileCwd` is the
 * session's cwd read from the file (Codex `session_meta`, pi `session`), null when unknown.
 * Returns null when no agent's evidence covers the file (not the fleet's).
 */
export function attributeFile(
  file: string,
  runtime: SpendRuntime,
  fileCwd: string | null,
  sources: ReadonlyMap<string, readonly SpendSource[]>,
): Attribution | null {
  const byHook: string[] = [];
  const byScope: string[] = [];
  const base = path.basename(file);
  for (const [agent, list] of sources) {
    for (const s of list) {
      if (s.runtime !== runtime) continue;
      // A Claude transcript also covers its subagents' files: `<session>/subagents/*.jsonl` beside it.
      const named = s.path === file || file.startsWith(s.path.replace(/\.jsonl$/, '') + path.sep);
      if (s.kind === 'transcript' && (named || (s.session && runtime === 'codex' && base.endsWith(`-${s.session}.jsonl`)))) {
        if (!byHook.includes(agent)) byHook.push(agent);
      } else if (s.kind === 'scope' && file.startsWith(s.path + path.sep) && (s.cwd === null || s.cwd === fileCwd)) {
        if (!byScope.includes(agent)) byScope.push(agent);
      }
    }
  }
  if (byHook.length === 1) return { agent: byHook[0] ?? null, reason: null };
  if (byHook.length > 1) return { agent: null, reason: `${runtime} session ${base} named by the hooks of ${byHook.sort().join(' and ')}` };
  if (byScope.length === 1) return { agent: byScope[0] ?? null, reason: null };
  if (byScope.length > 1)
    return {
      agent: null,
      reason: `${runtime} sessions in ${path.dirname(file)} could be ${byScope.sort().join(' or ')} (same directory and cwd, no hook named them)`,
    };
  return null;
}

/**
 * The record file a hook payload names (Claude Code and Codex hooks carry `transcript_path`
 * and `session_id`; Codex's `notify` JSON carries `thread-id`), as a `transcript` source; null
 * when the payload names none or the runtime keeps no records the meter reads.
 */
export function transcriptFromHookEvent(runtime: string, payload: unknown, now: number): SpendSource | null {
  if (runtime !== 'claude' && runtime !== 'codex') return null;
  const p = payload && typeof payload === 'object' ? (payload as Record<string, unknown>) : {};
  const file = typeof p.transcript_path === 'string' && path.isAbsolute(p.transcript_path) ? p.transcript_path : null;
  const session = typeof p.session_id === 'string' && p.session_id ? p.session_id : null;
  if (!file && !(runtime === 'codex' && session)) return null;
  const event = typeof p.hook_event_name === 'string' ? p.hook_event_name : 'event';
  return {
    kind: 'transcript',
    runtime,
    path: file ?? `session:${session}`,
    cwd: typeof p.cwd === 'string' ? p.cwd : null,
    session,
    evidence: `hook ${event}`,
    at: now,
  };
}
