/**
 * The spend meter (read-only): one per process, kept across ticks. Each refresh
 * 1. learns where each local agent's runtime writes (its live process: environ + cwd ⇒ a
 *    `scope` source in `<run>/spend/<agent>.sources`; hooks add `transcript` sources there);
 * 2. lists the record files of every source, and reads what each gained since the last read
 *    (fleet/spend/ledger.ts; files last written before `since` are not read at all);
 * 3. decides whose each file is (fleet/spend/sources.ts) and hands the result to the report.
 * Its disk reads go through fleet/spend/meter-reads.ts: plain (a tick where nothing changed
 * costs one `stat` per known file, per agent's sources file and per Claude agent's quota file;
 * directories listed every {@link RELIST_MS}), or watched (the console with push on: a tick
 * where no record file or record directory changed touches no file; a runtime process's
 * environ and cwd are read once per process, again every 30 s).
 * Remote agents are not metered here (their records live on their host).
 */
import { messageOf } from '../../lib/errors.js';
import fs from 'node:fs';
import path from 'node:path';
import type { Kept } from '../dir-watch.js';
import { descendantsOf, readCmdline, type ProcEntry, type ProcessTree } from '../proc.js';
import { SpendLedger } from './ledger.js';
import { plainMeterReads, WatchedMeterReads, type MeterReads, type WatchedMeterReadsOptions } from './meter-reads.js';
import { OpencodeStore, type FileStat, type SqliteRunner } from './opencode.js';
import { loadPriceBook, type PriceBook } from './prices.js';
import type { ReportFile } from './report.js';
import { attributeFile, readProcessEnv, readSources, recordSource, scopeOf, sourcesPath, type Attribution, type SpendSource } from './sources.js';
import { quotaPath, readQuota } from './statusline.js';
import type { RateReport, SpendRuntime } from './types.js';

export { RELIST_MS } from './meter-reads.js';

/** How long a runtime process's learned scope is trusted before its environ and cwd are read again (watched reads), ms. */
const SCOPE_RECHECK_MS = 30_000;

/** Modification time of `file` (ms), or -1 when it is missing or unreadable; kept until it changes (not kept when unreadable). */
function mtimeOf(file: string): Kept<number> {
  try {
    return { value: fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? -1, keep: true };
  } catch {
    return { value: -1, keep: false };
  }
}

/** Identity, size and mtime of `file`, or null when missing; kept until it changes (not kept when unreadable). */
function statOf(file: string): Kept<FileStat | null> {
  try {
    const st = fs.statSync(file, { throwIfNoEntry: false });
    return { value: st ? { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs } : null, keep: true };
  } catch {
    return { value: null, keep: false };
  }
}

/** What the last read of a record file decided (watched reads keep it until the file changes). */
interface FileVerdict {
  /** `since` of that read: a smaller one (the clock went back) reads again. */
  since: number;
  /** True when the ledger holds the file. */
  held: boolean;
}

/** Runtimes whose records the meter reads. */
export function isSpendRuntime(runtime: string): runtime is SpendRuntime {
  return runtime === 'claude' || runtime === 'codex' || runtime === 'pi' || runtime === 'opencode';
}

/** An agent as the meter needs it. */
export interface MeterAgent {
  name: string;
  runtime: string;
  /** pid of the agent's live pane (its runtime runs below it), or null. */
  panePid: number | null;
}

/** Options of {@link SpendMeter.refresh}. */
export interface RefreshOptions {
  now: number;
  /** Files last modified before this (unix ms) are not read. */
  since: number;
  /** The process tree of this tick (for the agents' runtime processes); null = none live. */
  tree: ProcessTree | null;
}

/** The runtime process under a pane: the first descendant whose comm, argv[0] or script is the runtime's name. */
function runtimePid(tree: ProcessTree, panePid: number, runtime: SpendRuntime): number | null {
  for (const pid of descendantsOf(tree, panePid)) {
    const comm = tree.entries.get(pid)?.comm ?? '';
    if (comm === runtime) return pid;
    const argv = readCmdline(tree, pid);
    if (argv.slice(0, 2).some((a) => path.basename(a) === runtime)) return pid;
  }
  return null;
}

/** An agent's files in `<run>/spend`: sources (`file`, `name`) and statusline quota. */
interface AgentFiles {
  file: string;
  name: string;
  quotaFile: string;
  quotaName: string;
}

/** True when `agents` are `kept`, in order, by name and runtime (a runtime decides whether its quota is read). */
function sameAgents(agents: readonly MeterAgent[], kept: readonly Pick<MeterAgent, 'name' | 'runtime'>[]): boolean {
  if (agents.length !== kept.length) return false;
  for (let i = 0; i < agents.length; i++) if (agents[i]?.name !== kept[i]?.name || agents[i]?.runtime !== kept[i]?.runtime) return false;
  return true;
}

/** The sources of an agent without a sources file (never changed: every reader only reads lists). */
const NO_SOURCES: SpendSource[] = [];

/** The meter. `runDir`: `<home>/fleet/run`; `pricesFile`: `<home>/fleet/prices.yaml`. */
export class SpendMeter {
  readonly ledger: SpendLedger;
  private pricesMtime = -1;
  private priceBook: PriceBook | null = null;
  private sourceCache = new Map<string, { mtimeMs: number; list: SpendSource[] }>();
  /** Each agent's sources and quota files: their paths and names in {@link spendDir}, built once. */
  private sourcesFiles = new Map<string, AgentFiles>();
  /** `<run>/spend`: the sources and quota files' directory. */
  private readonly spendDir: string;
  /** What `path.join(spendDir, name)` puts before a name without `/`. */
  private readonly spendPrefix: string;
  /** What {@link allSources} last answered from: the agents (name, runtime) and the epoch of {@link spendDir}. */
  private lastAgents: readonly Pick<MeterAgent, 'name' | 'runtime'>[] = [];
  private lastSpendEpoch: number | null = null;
  private lastQuota: ReportFile[] = [];
  private quotaCache = new Map<string, { mtimeMs: number; report: RateReport | null }>();
  /** Runtime processes whose scope was learned, and when (watched reads only). */
  private scopeSeen = new WeakMap<ProcEntry, number>();
  /** Each file's attribution for the sources it was decided from ({@link sourcesEpoch}). */
  private attributions = new Map<string, { epoch: number; runtime: SpendRuntime; cwd: string | null; who: Attribution | null }>();
  private lastSources = new Map<string, SpendSource[]>();
  private sourcesEpoch = 0;
  private opencode: OpencodeStore;
  /** The meter's disk reads: plain, or kept through directory watches (fleet/spend/meter-reads.ts). */
  readonly reads: MeterReads;
  /** Errors of the last refresh (unreadable files, cache writes), one line each. */
  errors: string[] = [];

  /**
   * `sqlite`: how opencode's databases are queried (default the `sqlite3` shell; tests).
   * `watch`: read through directory watches (the console with push on); {@link close} then.
   */
  constructor(
    readonly runDir: string,
    readonly pricesFile: string,
    opts: { cache?: boolean; sqlite?: SqliteRunner; watch?: boolean | WatchedMeterReadsOptions } = {},
  ) {
    this.spendDir = path.join(runDir, 'spend');
    this.spendPrefix = path.join(this.spendDir, 'x').slice(0, -1);
    this.ledger = new SpendLedger(opts.cache === false ? null : path.join(this.spendDir, 'cache'));
    this.opencode = new OpencodeStore(opts.sqlite);
    this.reads = opts.watch ? new WatchedMeterReads(opts.watch === true ? {} : opts.watch) : plainMeterReads();
  }

  /** Stops the watches (watched reads). Idempotent; the meter still works, reading the disk. */
  close(): void {
    this.reads.close();
  }

  /** The price book, re-read when prices.yaml changed. */
  prices(): PriceBook {
    const mtime = Math.max(0, this.reads.file(this.pricesFile, mtimeOf));
    if (!this.priceBook || mtime !== this.pricesMtime) {
      this.priceBook = loadPriceBook(this.pricesFile);
      this.pricesMtime = mtime;
    }
    return this.priceBook;
  }

  /**
   * `<run>/spend/<agent>.sources` and `<agent>.quota.json`, built once per agent (a roster's agent
   * names hold no `/` or `.`: the names are `<agent>.sources`, the paths the spend dir's and the name).
   */
  private sourcesEntry(agent: string): AgentFiles {
    let entry = this.sourcesFiles.get(agent);
    if (entry === undefined) {
      if (agent.includes('/')) {
        const file = sourcesPath(this.runDir, agent);
        const quotaFile = quotaPath(this.runDir, agent);
        entry = { file, name: path.basename(file), quotaFile, quotaName: path.basename(quotaFile) };
      } else {
        const name = `${agent}.sources`;
        const quotaName = `${agent}.quota.json`;
        entry = { file: this.spendPrefix + name, name, quotaFile: this.spendPrefix + quotaName, quotaName };
      }
      this.sourcesFiles.set(agent, entry);
    }
    return entry;
  }

  private sourcesFile(agent: string): string {
    return this.sourcesEntry(agent).file;
  }

  private sourcesOf(agent: string): SpendSource[] {
    const { file, name } = this.sourcesEntry(agent);
    const mtimeMs = this.reads.missing(this.spendDir, name) ? -1 : this.reads.file(file, mtimeOf);
    const cached = this.sourceCache.get(agent);
    if (cached && cached.mtimeMs === mtimeMs) return cached.list;
    // No file: the one empty list (the same list each tick, as a kept one), nothing kept per agent.
    if (mtimeMs < 0) {
      if (cached) this.sourceCache.delete(agent);
      return NO_SOURCES;
    }
    const list = readSources(this.runDir, agent);
    this.sourceCache.set(agent, { mtimeMs, list });
    return list;
  }

  private learnScope(a: MeterAgent, tree: ProcessTree, now: number): void {
    if (!isSpendRuntime(a.runtime) || a.panePid === null) return;
    const pid = runtimePid(tree, a.panePid, a.runtime);
    if (pid === null) return;
    // Watched reads: a process kept from the last tree read is the same process (same environ);
    // its cwd is read again every SCOPE_RECHECK_MS.
    const entry = this.reads.watching && tree.cmdlines ? tree.entries.get(pid) : undefined;
    const seen = entry ? this.scopeSeen.get(entry) : undefined;
    if (seen !== undefined && now - seen < SCOPE_RECHECK_MS && now >= seen) return;
    if (entry) this.scopeSeen.set(entry, now);
    const env = readProcessEnv(pid, tree.procRoot);
    let cwd: string;
    try {
      cwd = fs.readlinkSync(path.join(tree.procRoot, String(pid), 'cwd'));
    } catch {
      return;
    }
    const scope = env ? scopeOf(a.runtime, env, cwd, pid, now) : null;
    if (!scope) return;
    const known = this.sourcesOf(a.name);
    if (known.some((s) => s.kind === 'scope' && s.path === scope.path && s.cwd === scope.cwd)) return;
    try {
      recordSource(this.runDir, a.name, scope);
      this.reads.forget(this.sourcesFile(a.name));
    } catch (error) {
      if (entry) this.scopeSeen.delete(entry);
      this.errors.push(`${sourcesPath(this.runDir, a.name)}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  }

  /** The record files of a source (a hook's `session:<id>` names no file: only absolute paths are files). */
  private filesOf(s: SpendSource): string[] {
    if (s.runtime === 'opencode' || !path.isAbsolute(s.path)) return [];
    const dir = s.kind === 'scope' ? s.path : s.path.replace(/\.jsonl$/, '');
    const files = this.reads.list(s.runtime, dir);
    return s.kind === 'transcript' ? [s.path, ...files] : files;
  }

  /**
   * The subscription windows Claude's statusline gave each Claude agent (`statusline-hook`,
   * fleet/spend/statusline.ts), as report files without usage: one `stat` per agent per tick,
   * the file read again only when it changed.
   */
  private statuslineQuota(agents: readonly MeterAgent[], unchanged: boolean): ReportFile[] {
    if (unchanged) return this.lastQuota;
    const out: ReportFile[] = [];
    this.lastQuota = out;
    for (const a of agents) {
      if (a.runtime !== 'claude') continue;
      const { quotaFile: file, quotaName } = this.sourcesEntry(a.name);
      const mtimeMs = this.reads.missing(this.spendDir, quotaName) ? -1 : this.reads.file(file, mtimeOf);
      if (mtimeMs < 0) continue;
      let cached = this.quotaCache.get(a.name);
      if (!cached || cached.mtimeMs !== mtimeMs) {
        cached = { mtimeMs, report: readQuota(this.runDir, a.name)?.report ?? null };
        this.quotaCache.set(a.name, cached);
      }
      if (cached.report) out.push({ file, runtime: 'claude', agent: a.name, reason: 'statusline', session: null, events: [], rate: cached.report });
    }
    return out;
  }

  /** The sessions of every opencode database in the agents' scopes, attributed like files (`<db>/<session id>`). */
  private opencodeSessions(sources: ReadonlyMap<string, readonly SpendSource[]>, since: number): ReportFile[] {
    const dbs = new Set<string>();
    for (const list of sources.values()) for (const s of list) if (s.runtime === 'opencode' && s.kind === 'scope') dbs.add(s.path);
    const out: ReportFile[] = [];
    for (const db of dbs) {
      let sessions;
      try {
        sessions = this.opencode.read(db, since, (file) => this.reads.file(file, statOf));
      } catch (error) {
        this.errors.push(`opencode spend n/a: ${messageOf(error)}`);
        continue;
      }
      for (const s of sessions) {
        const file = path.join(db, s.id);
        const who = this.attribute(file, 'opencode', s.cwd, sources);
        if (who) out.push({ file, runtime: 'opencode', agent: who.agent, reason: who.reason, session: s.id, events: s.events, rate: null });
      }
    }
    return out;
  }

  /**
   * Reads what a record file gained: a file the ledger does not hold yet only when written
   * since `since`. Kept (watched reads) until the file changes, unless it could not be read.
   */
  private readRecordFile(file: string, runtime: SpendRuntime, since: number): Kept<FileVerdict> {
    if (!this.ledger.files.has(file)) {
      let st: fs.Stats | undefined;
      try {
        st = fs.statSync(file, { throwIfNoEntry: false });
      } catch {
        return { value: { since, held: false }, keep: false };
      }
      if (!st || st.mtimeMs < since) return { value: { since, held: false }, keep: true };
    }
    const u = this.ledger.update(file, runtime);
    const failed = u.error !== null && !u.error.endsWith('ENOENT');
    if (u.error && failed) this.errors.push(u.error);
    return { value: { since, held: this.ledger.files.has(file) }, keep: !failed };
  }

  /** The record file's verdict for this tick (read again when `since` moved back: the clock did). */
  private recordFile(file: string, runtime: SpendRuntime, since: number): FileVerdict {
    const read = (f: string) => this.readRecordFile(f, runtime, since);
    const verdict = this.reads.file(file, read);
    if (verdict.since <= since) return verdict;
    this.reads.forget(file);
    return this.reads.file(file, read);
  }

  /** Whose `file` is, decided again only when some agent's sources or the file's cwd changed. */
  private attribute(file: string, runtime: SpendRuntime, cwd: string | null, sources: ReadonlyMap<string, readonly SpendSource[]>): Attribution | null {
    const kept = this.attributions.get(file);
    if (kept && kept.epoch === this.sourcesEpoch && kept.cwd === cwd && kept.runtime === runtime) return kept.who;
    const who = attributeFile(file, runtime, cwd, sources);
    this.attributions.set(file, { epoch: this.sourcesEpoch, runtime, cwd, who });
    return who;
  }

  /**
   * True when, with watched reads, the agents are those of the last refresh and nothing in
   * `<run>/spend` changed since (fleet/dir-watch.ts `epochOf`): their sources and statusline
   * quota are the last ones, with no lookup per agent. Always false with plain reads.
   */
  private spendDirUnchanged(agents: readonly MeterAgent[]): boolean {
    const epoch = this.reads.epochOf(this.spendDir);
    // No epoch (plain reads, a directory not watched): not unchanged, and no agents to keep.
    if (epoch === null) {
      this.lastSpendEpoch = null;
      return false;
    }
    const unchanged = epoch === this.lastSpendEpoch && sameAgents(agents, this.lastAgents);
    if (!unchanged) {
      this.lastSpendEpoch = epoch;
      this.lastAgents = agents.map(({ name, runtime }) => ({ name, runtime }));
    }
    return unchanged;
  }

  /**
   * Every agent's sources this tick; a new epoch of attributions when any list changed. The
   * last answer when `unchanged` ({@link spendDirUnchanged}).
   */
  private allSources(agents: readonly MeterAgent[], unchanged: boolean): Map<string, SpendSource[]> {
    if (unchanged) return this.lastSources;
    const sources = new Map<string, SpendSource[]>();
    const last = this.lastSources;
    let changed = false;
    for (const a of agents) {
      const list = this.sourcesOf(a.name);
      sources.set(a.name, list);
      if (last.get(a.name) !== list) changed = true;
    }
    if (changed || sources.size !== last.size) this.sourcesEpoch++;
    this.lastSources = sources;
    return sources;
  }

  /**
   * Refreshes the ledger for `agents` and returns every record file of theirs read so far,
   * attributed (unattributed ones carry the reason). Never throws; problems land in `errors`.
   */
  refresh(agents: readonly MeterAgent[], opts: RefreshOptions): ReportFile[] {
    this.errors = [];
    this.reads.tick(opts.now);
    if (opts.tree) for (const a of agents) this.learnScope(a, opts.tree, opts.now);
    const unchanged = this.spendDirUnchanged(agents);
    const sources = this.allSources(agents, unchanged);
    const files = new Map<string, SpendRuntime>();
    for (const list of sources.values()) for (const s of list) for (const f of this.filesOf(s)) files.set(f, s.runtime);
    const out: ReportFile[] = [];
    for (const [file, runtime] of files) {
      if (!this.recordFile(file, runtime, opts.since).held) continue;
      const entry = this.ledger.files.get(file);
      if (!entry) continue;
      const who = this.attribute(file, runtime, entry.parser.cwd ?? null, sources);
      if (!who) continue;
      out.push({ file, runtime, agent: who.agent, reason: who.reason, session: entry.parser.session ?? null, events: entry.events, rate: entry.rate });
    }
    out.push(...this.opencodeSessions(sources, opts.since));
    out.push(...this.statuslineQuota(agents, unchanged));
    const saveError = this.ledger.save();
    if (saveError) this.errors.push(saveError);
    return out;
  }
}
