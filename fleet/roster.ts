/**
 * The roster: upstream's `roster.yaml`, read as upstream writes it. Errors name
 * file:line:column; a failed reload keeps the last good roster ({@link RosterCache}).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Node as YamlNode, YAMLMap } from 'yaml';
import { writeFileAtomic } from '../lib/atomic-write.js';
import { BoundedReadError, readBoundedFile } from '../lib/bounded-read.js';
import { floorFromValue, type FloorRequirement } from './profile.js';
import { yaml } from '../lib/yaml.js';
import { isAbsent, rosterContext, type RosterContext } from './roster-yaml.js';
import { messageOf } from '../lib/errors.js';

/** Runtime of an agent whose roster entry names none (upstream's launcher default). */
export const DEFAULT_RUNTIME = 'pi';

/** Holder session when `tmux.holder_session` is absent (upstream's default). */
export const DEFAULT_HOLDER_SESSION = '_holder';

/** One agent of the roster. */
export interface RosterAgent {
  /** = tmux session name and systemd instance name (`mosaic-agent@<name>.service`). */
  name: string;
  /**
   * claude | codex | pi | opencode | any other string. Absent in the roster ⇒ `pi`, upstream's
   * launcher default ({@link runtimeDeclared} false: the agent's `.env` MOSAIC_AGENT_RUNTIME, if
   * any, decides — fleet/agent-env.ts agentLaunch).
   */
  runtime: string;
  /** True when the roster entry names its runtime (absent: treated as named). */
  runtimeDeclared?: boolean;
  /** Role: orchestrator, enhancer, coder, … (upstream's role library); null when absent. */
  class: string | null;
  modelHint: string | null;
  /** Remote host the agent lives on (not probed locally); null = this host. */
  host: string | null;
  ssh: string | null;
  /** tmux socket for this agent: per-agent `socket`, else the roster's `socket_name`; null = default socket (no -L). */
  socket: string | null;
  /** The agent's own `working_directory`, else the roster's `defaults.working_directory`. */
  workingDirectory: string | null;
  /** True when the agent entry itself names its working directory (the `.env` MOSAIC_AGENT_WORKDIR beats a roster default). */
  workingDirectoryDeclared?: boolean;
}

/** One entry of the roster's `runtimes:` section (upstream: per-runtime settings). */
export interface RosterRuntime {
  /**
   * `reset_command` (or `resetCommand`): what to type to give the runtime a fresh context, e.g.
   * codex `/clear` (upstream NS-6 `reset_between_tasks`); null when absent.
   */
  resetCommand: string | null;
}

/** A loaded roster. */
export interface Roster {
  file: string;
  version: number | null;
  transport: string | null;
  /** `tmux.socket_name` (or `socketName`); null when absent = the default tmux socket (upstream FIX2). */
  socket: string | null;
  /**
   * `tmux.holder_session` (or `holderSession`), `_holder` when absent (upstream's default): keeps
   * the server alive; never an agent, never unmanaged.
   */
  holderSession: string | null;
  /**
   * The `runtimes:` section keyed by runtime name (`codex: { reset_command: /clear }`); `{}` when
   * the roster has none (optional only for rosters built by hand, e.g. in tests).
   */
  runtimes?: Record<string, RosterRuntime>;
  /** `profile:` — upstream system-type profile id (fleet/profile.ts); null when absent. */
  profile?: string | null;
  /** `floor:` — the roster's own floor (classes, or classes with minimum counts); null when absent. */
  floor?: FloorRequirement[] | null;
  agents: RosterAgent[];
}

/** Result of {@link loadRoster} / {@link parseRosterText}: a roster, or errors naming file:line:column. */
export type RosterResult = { ok: true; roster: Roster } | { ok: false; errors: string[] };

/** Agent names must be usable as tmux session names, systemd instance names and file names. */
const AGENT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_@+-]*$/;

/** True when `name` is a valid agent name (no `/`, `.`, `:`, spaces or control characters). */
export function isValidAgentName(name: string): boolean {
  return name.length > 0 && name.length <= 100 && AGENT_NAME.test(name);
}

/**
 * Parses roster YAML text. `file` is used in messages only. Accepts snake_case and camelCase
 * keys (`socket_name`/`socketName`, `holder_session`/`holderSession`, `model_hint`/`modelHint`,
 * `working_directory`/`workingDirectory`, `reset_command`/`resetCommand` under `runtimes:`); unknown keys are ignored. Errors (YAML syntax, wrong
 * types, missing `name`, invalid or duplicate names, a malformed `floor:`) come back as
 * `"<file>:<line>:<column>: <message>"`. Never throws.
 */
export function parseRosterText(text: string, file: string): RosterResult {
  const { isMap, isScalar, LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  // merge: YAML 1.1 merge keys (`<<: *base`), which upstream rosters use for shared defaults.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true });
  const errors: string[] = [];
  for (const e of doc.errors) {
    const { line, col } = lineCounter.linePos(e.pos[0]);
    errors.push(`${file}:${line}:${col}: YAML syntax: ${e.message.split('\n')[0] ?? ''}`);
  }
  if (errors.length) return { ok: false, errors };
  const cx = rosterContext(doc, lineCounter, file, errors);
  const root = doc.contents as YamlNode | null;
  if (!isMap(root)) {
    cx.at(root, 'roster must be a mapping with an `agents:` list');
    return { ok: false, errors };
  }
  const versionNode = cx.pick(root, 'version');
  let version: number | null = null;
  if (versionNode !== undefined) {
    if (isScalar(versionNode) && typeof versionNode.value === 'number') version = versionNode.value;
    else cx.at(versionNode, 'version must be a number');
  }
  const transport = cx.optString(cx.pick(root, 'transport'), 'transport');
  const { socket, holderSession } = parseTmuxSection(cx, root);
  const profile = cx.optString(cx.pick(root, 'profile', 'system_type', 'systemType'), 'profile') || null;
  const floor = parseFloorSection(cx, root);
  const defaultWorkdir = parseDefaultsSection(cx, root);
  const runtimes = parseRuntimesSection(cx, root);
  const agents = parseAgentsSection(cx, root, { socket, defaultWorkdir });
  if (errors.length) return { ok: false, errors };
  return { ok: true, roster: { file, version, transport, socket, holderSession, runtimes, profile, floor, agents } };
}

/** `tmux:` — the fleet's socket (null: tmux's default) and holder session. */
function parseTmuxSection(cx: RosterContext, root: YAMLMap): { socket: string | null; holderSession: string | null } {
  const tmuxNode = cx.pick(root, 'tmux');
  if (isAbsent(tmuxNode)) return { socket: null, holderSession: DEFAULT_HOLDER_SESSION };
  if (!yaml().isMap(tmuxNode)) {
    cx.at(tmuxNode, 'tmux must be a mapping');
    return { socket: null, holderSession: DEFAULT_HOLDER_SESSION };
  }
  return {
    socket: cx.optString(cx.pick(tmuxNode, 'socket_name', 'socketName'), 'tmux.socket_name') || null,
    holderSession: cx.optString(cx.pick(tmuxNode, 'holder_session', 'holderSession'), 'tmux.holder_session') || DEFAULT_HOLDER_SESSION,
  };
}

/** `floor:` — the per-class minimums ({@link floorFromValue}), null when absent or malformed (an error then). */
function parseFloorSection(cx: RosterContext, root: YAMLMap): FloorRequirement[] | null {
  const floorNode = cx.pick(root, 'floor');
  if (isAbsent(floorNode)) return null;
  const parsed = floorFromValue(floorNode.toJSON());
  if (typeof parsed !== 'string') return parsed;
  cx.at(floorNode, parsed);
  return null;
}

/** `defaults.working_directory`, null when absent. */
function parseDefaultsSection(cx: RosterContext, root: YAMLMap): string | null {
  const defaultsNode = cx.pick(root, 'defaults');
  if (isAbsent(defaultsNode)) return null;
  if (!yaml().isMap(defaultsNode)) {
    cx.at(defaultsNode, 'defaults must be a mapping');
    return null;
  }
  return cx.optString(cx.pick(defaultsNode, 'working_directory', 'workingDirectory'), 'defaults.working_directory');
}

/** `runtimes:` — per runtime name its settings (`reset_command`); a bare name has none. */
function parseRuntimesSection(cx: RosterContext, root: YAMLMap): Record<string, RosterRuntime> {
  const { isMap, isScalar } = yaml();
  const runtimes: Record<string, RosterRuntime> = {};
  const runtimesNode = cx.pick(root, 'runtimes');
  if (isAbsent(runtimesNode)) return runtimes;
  if (!isMap(runtimesNode)) {
    cx.at(runtimesNode, 'runtimes must be a mapping of runtime name to its settings');
    return runtimes;
  }
  for (const pair of runtimesNode.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : null;
    const value = pair.value as YamlNode | null;
    if (!key) continue;
    if (value === null || (isScalar(value) && value.value === null)) {
      runtimes[key] = { resetCommand: null };
      continue;
    }
    if (!isMap(value)) {
      cx.at(value, `runtimes.${key} must be a mapping`);
      continue;
    }
    const reset = cx.optString(cx.pick(value, 'reset_command', 'resetCommand'), `runtimes.${key}.reset_command`);
    runtimes[key] = { resetCommand: reset && reset.trim() ? reset : null };
  }
  return runtimes;
}

/** `agents:` — every valid, non-duplicate agent (the same name twice on one host and socket is an error); an absent list is an empty fleet. */
function parseAgentsSection(cx: RosterContext, root: YAMLMap, fleet: { socket: string | null; defaultWorkdir: string | null }): RosterAgent[] {
  const agents: RosterAgent[] = [];
  const agentsNode = cx.pick(root, 'agents');
  // An empty fleet is a valid roster.
  if (isAbsent(agentsNode)) return agents;
  if (!yaml().isSeq(agentsNode)) {
    cx.at(agentsNode, 'agents must be a list');
    return agents;
  }
  const seen = new Map<string, string>();
  agentsNode.items.forEach((item, index) => {
    let node = item as YamlNode;
    if (yaml().isAlias(node)) node = node.resolve(cx.doc) as YamlNode;
    if (!yaml().isMap(node)) {
      cx.at(node, `agents[${index}] must be a mapping`);
      return;
    }
    const entry = parseAgentEntry(cx, node, index, fleet);
    if (!entry) return;
    const { agent, nameNode } = entry;
    const key = `${agent.host ?? ''}\u0000${agent.socket ?? ''}\u0000${agent.name}`;
    const first = seen.get(key);
    if (first) {
      cx.at(nameNode, `duplicate agent name "${agent.name}" (first defined at ${first})`);
      return;
    }
    const { line, col } = cx.lineCounter.linePos(nameNode.range?.[0] ?? 0);
    seen.set(key, `${cx.file}:${line}:${col}`);
    agents.push(agent);
  });
  return agents;
}

/** One `agents[index]` mapping as an agent (with its name's node, for positions); null when its name is missing or invalid (an error then). */
function parseAgentEntry(
  cx: RosterContext,
  node: YAMLMap,
  index: number,
  fleet: { socket: string | null; defaultWorkdir: string | null },
): { agent: RosterAgent; nameNode: YamlNode } | null {
  const nameNode = cx.pick(node, 'name');
  const name = cx.optString(nameNode, `agents[${index}].name`);
  if (nameNode === undefined || (name === null && yaml().isScalar(nameNode) && nameNode.value === null)) {
    cx.at(node, `agents[${index}]: missing required key \`name\``);
    return null;
  }
  if (name === null) return null;
  if (!isValidAgentName(name)) {
    cx.at(nameNode, `agents[${index}].name "${name}" is not a valid agent name (letters, digits, _ - + @; no / . : or spaces)`);
    return null;
  }
  const runtime = cx.optString(cx.pick(node, 'runtime'), `agent ${name}: runtime`) || null;
  const agentSocketNode = cx.pick(node, 'socket', 'socket_name', 'socketName');
  const agentSocket = cx.optString(agentSocketNode, `agent ${name}: socket`);
  const agent: RosterAgent = {
    name,
    runtime: runtime ?? DEFAULT_RUNTIME,
    runtimeDeclared: runtime !== null,
    class: cx.optString(cx.pick(node, 'class'), `agent ${name}: class`),
    modelHint: cx.optString(cx.pick(node, 'model_hint', 'modelHint'), `agent ${name}: model_hint`),
    host: cx.optString(cx.pick(node, 'host'), `agent ${name}: host`),
    ssh: cx.optString(cx.pick(node, 'ssh'), `agent ${name}: ssh`),
    socket: agentSocketNode !== undefined ? agentSocket || null : fleet.socket,
    workingDirectory: null,
    workingDirectoryDeclared: false,
  };
  const ownWorkdir = cx.optString(cx.pick(node, 'working_directory', 'workingDirectory'), `agent ${name}: working_directory`);
  agent.workingDirectory = ownWorkdir ?? fleet.defaultWorkdir;
  agent.workingDirectoryDeclared = ownWorkdir !== null;
  return { agent, nameNode };
}

/** Most bytes of a roster file read: a roster of hundreds of agents is far below this. */
export const ROSTER_READ_LIMIT = 1024 * 1024;

/**
 * Reads and parses the roster file through {@link readBoundedFile} (regular files only,
 * non-blocking, at most {@link ROSTER_READ_LIMIT} bytes: a FIFO or `/dev/zero` at the path is
 * an error, not a hang). A missing/unreadable file is an error result naming the path, never a throw.
 */
export function loadRoster(file: string): RosterResult {
  let text: string;
  try {
    const read = readBoundedFile(file, { maxBytes: ROSTER_READ_LIMIT });
    if (!read) return { ok: false, errors: [`${file}: roster not found`] };
    text = read.bytes.toString('utf8');
  } catch (error) {
    return { ok: false, errors: [error instanceof BoundedReadError ? error.message : `${file}: ${messageOf(error)}`] };
  }
  return parseRosterText(text, file);
}

/** Bump when the {@link Roster} shape changes, so old cache files are ignored. */
const ROSTER_CACHE_FORMAT = 2;

/**
 * Default directory of parsed-roster cache files: `$XDG_CACHE_HOME/mosaic-top/roster`, else
 * `~/.cache/mosaic-top/roster`.
 */
export function defaultRosterCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  return path.join(base, 'mosaic-top', 'roster');
}

function statKey(st: fs.Stats): string {
  return `${ROSTER_CACHE_FORMAT}:${st.mtimeMs}:${st.ctimeMs}:${st.size}:${st.ino}:${st.dev}`;
}

function cacheFileFor(cacheDir: string, file: string): string {
  return path.join(cacheDir, `${createHash('sha256').update(file).digest('hex').slice(0, 24)}.json`);
}

/**
 * Loads a roster, reusing a parsed copy from `cacheDir` when the file's stat (mtime, ctime,
 * size, inode, device) is unchanged — a cold `--once` then skips loading and running the YAML
 * parser (~100 ms for 100 agents). Good rosters are written to the cache atomically (owner-only);
 * errors are never cached. `cacheDir: null` disables the cache. Never throws.
 */
export function loadRosterCached(file: string, cacheDir: string | null = defaultRosterCacheDir()): RosterResult {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return loadRoster(file);
  }
  const key = statKey(st);
  const cacheFile = cacheDir ? cacheFileFor(cacheDir, file) : null;
  if (cacheFile) {
    try {
      const cached = JSON.parse(fs.readFileSync(cacheFile, 'utf8')) as { key?: string; file?: string; roster?: Roster };
      if (cached.key === key && cached.file === file && cached.roster && Array.isArray(cached.roster.agents)) {
        return { ok: true, roster: cached.roster };
      }
    } catch {
      // no cache yet, or unreadable: parse below
    }
  }
  const result = loadRoster(file);
  if (result.ok && cacheFile && cacheDir) {
    try {
      fs.mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
      writeFileAtomic(cacheFile, JSON.stringify({ key, file, roster: result.roster }), { mode: 0o600 });
      pruneRosterCache(cacheDir);
    } catch {
      // A cache that cannot be written is only slower.
    }
  }
  return result;
}

/** Cache entries kept at most (one per roster path read): the newest by mtime stay. */
export const ROSTER_CACHE_ENTRIES = 32;

/** Removes all but the `keep` newest entries (by mtime) of the roster cache `cacheDir`, and stale temp files. Never throws. */
export function pruneRosterCache(cacheDir: string, keep = ROSTER_CACHE_ENTRIES): void {
  try {
    const entries = fs
      .readdirSync(cacheDir)
      .map((name) => {
        try {
          return { name, mtime: fs.lstatSync(path.join(cacheDir, name)).mtimeMs };
        } catch {
          return null;
        }
      })
      .filter((e): e is { name: string; mtime: number } => e !== null)
      .sort((a, b) => b.mtime - a.mtime);
    for (const e of entries.slice(keep)) fs.rmSync(path.join(cacheDir, e.name), { force: true });
  } catch {
    // Pruning is housekeeping: a failure only leaves more entries.
  }
}

/** What {@link RosterCache.get} returns: the roster in use (possibly the last good one) and current errors. */
export interface RosterState {
  /** The roster in use; the last good one when the current file fails to load; null if none ever loaded. */
  roster: Roster | null;
  /** Errors of the current file (empty when it loaded). */
  errors: string[];
  /** True when `roster` is the last good one, not the file's current content. */
  stale: boolean;
}

/**
 * One line for a roster that does not load: whether the last good roster is still shown, the
 * FIRST error (file:line:column — a YAML syntax error is followed by many consequential ones)
 * and how many more there are. E.g. `(showing the last good roster) roster.yaml:7:3: YAML
 * syntax: … (+18 more)`.
 */
export function rosterErrorSummary(errors: readonly string[], stale: boolean): string {
  const more = errors.length > 1 ? ` (+${errors.length - 1} more)` : '';
  return `${stale ? '(showing the last good roster) ' : ''}${errors[0] ?? 'unreadable'}${more}`;
}

/**
 * Keeps the last good roster across reloads (a broken edit never empties the console). `get()` stats the file and re-parses
 * only when mtime, size or inode changed, so calling it every poll tick is cheap; a first load
 * reuses the on-disk parsed copy ({@link loadRosterCached}) when the file is unchanged.
 */
export class RosterCache {
  private lastGood: Roster | null = null;
  private key: string | null = null;
  private state: RosterState = { roster: null, errors: [], stale: false };
  private readonly cacheDir: string | null;

  /** `opts.cacheDir`: parsed-roster cache dir (default {@link defaultRosterCacheDir}); null disables it. */
  constructor(
    readonly file: string,
    opts: { cacheDir?: string | null } = {},
  ) {
    this.cacheDir = opts.cacheDir === undefined ? defaultRosterCacheDir() : opts.cacheDir;
  }

  /** Returns the roster state, reloading when the file changed (or is missing). Never throws. */
  get(): RosterState {
    let key: string;
    try {
      const st = fs.statSync(this.file);
      // The disk cache's key: ctime too, so a rewrite that keeps the old mtime (cp -p, rsync -t
      // in place) still counts as a change.
      key = statKey(st);
    } catch {
      key = 'missing';
    }
    if (key === this.key && key !== 'missing') return this.state;
    this.key = key;
    const result = loadRosterCached(this.file, this.cacheDir);
    if (result.ok) {
      this.lastGood = result.roster;
      this.state = { roster: result.roster, errors: [], stale: false };
    } else {
      this.state = { roster: this.lastGood, errors: result.errors, stale: this.lastGood !== null };
    }
    return this.state;
  }
}
