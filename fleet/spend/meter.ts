/**
 * The spend meter (read-only): one per process, kept across ticks. Each refresh
 * 1. learns where each local agent's runtime writes (its live process: environ + cwd ⇒ a
 *    `scope` source in `<run>/spend/<agent>.sources`; hooks add `transcript` sources there);
 * 2. lists the record files of every source (directory walks at most every
 *    {@link RELIST_MS}), and reads what each gained since the last read (fleet/spend/ledger.ts;
 *    files last written before `since` are not read at all);
 * 3. decides whose each file is (fleet/spend/sources.ts) and hands the result to the report.
 * A tick where nothing changed costs one `stat` per known file and one per agent's sources file.
 * Remote agents are not metered here (their records live on their host).
 */
import { messageOf } from '../../lib/errors.js';
import fs from 'node:fs';
import path from 'node:path';
import { descendantsOf, readCmdline, type ProcessTree } from '../proc.js';
import { SpendLedger } from './ledger.js';
import { OpencodeStore, type SqliteRunner } from './opencode.js';
import { loadPriceBook, type PriceBook } from './prices.js';
import type { ReportFile } from './report.js';
import { attributeFile, listRecordFiles, readProcessEnv, readSources, recordSource, scopeOf, sourcesPath, type SpendSource } from './sources.js';
import { quotaPath, readQuota } from './statusline.js';
import type { RateReport, SpendRuntime } from './types.js';

/** How often source directories are listed again for new files, ms. */
export const RELIST_MS = 10_000;

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

/** The meter. `runDir`: `<home>/fleet/run`; `pricesFile`: `<home>/fleet/prices.yaml`. */
export class SpendMeter {
  readonly ledger: SpendLedger;
  private pricesMtime = -1;
  private priceBook: PriceBook | null = null;
  private listings = new Map<string, { at: number; files: string[] }>();
  private sourceCache = new Map<string, { mtimeMs: number; list: SpendSource[] }>();
  private quotaCache = new Map<string, { mtimeMs: number; report: RateReport | null }>();
  private opencode: OpencodeStore;
  /** Errors of the last refresh (unreadable files, cache writes), one line each. */
  errors: string[] = [];

  /** `sqlite`: how opencode's databases are queried (default the `sqlite3` shell; tests). */
  constructor(
    readonly runDir: string,
    readonly pricesFile: string,
    opts: { cache?: boolean; sqlite?: SqliteRunner } = {},
  ) {
    this.ledger = new SpendLedger(opts.cache === false ? null : path.join(runDir, 'spend', 'cache'));
    this.opencode = new OpencodeStore(opts.sqlite);
  }

  /** The price book, re-read when prices.yaml changed. */
  prices(): PriceBook {
    let mtime: number;
    try {
      mtime = fs.statSync(this.pricesFile).mtimeMs;
    } catch {
      mtime = 0;
    }
    if (!this.priceBook || mtime !== this.pricesMtime) {
      this.priceBook = loadPriceBook(this.pricesFile);
      this.pricesMtime = mtime;
    }
    return this.priceBook;
  }

  private sourcesOf(agent: string): SpendSource[] {
    const file = sourcesPath(this.runDir, agent);
    let mtimeMs: number;
    try {
      mtimeMs = fs.statSync(file).mtimeMs;
    } catch {
      mtimeMs = -1;
    }
    const cached = this.sourceCache.get(agent);
    if (cached && cached.mtimeMs === mtimeMs) return cached.list;
    const list = mtimeMs < 0 ? [] : readSources(this.runDir, agent);
    this.sourceCache.set(agent, { mtimeMs, list });
    return list;
  }

  private learnScope(a: MeterAgent, tree: ProcessTree, now: number): void {
    if (!isSpendRuntime(a.runtime) || a.panePid === null) return;
    const pid = runtimePid(tree, a.panePid, a.runtime);
    if (pid === null) return;
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
    } catch (error) {
      this.errors.push(`${sourcesPath(this.runDir, a.name)}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  }

  private filesOf(s: SpendSource, now: number): string[] {
    if (s.runtime === 'opencode') return [];
    const dir = s.kind === 'scope' ? s.path : s.path.replace(/\.jsonl$/, '');
    const key = `${s.runtime}\0${dir}`;
    const cached = this.listings.get(key);
    let files = cached && now - cached.at < RELIST_MS ? cached.files : null;
    if (!files) {
      files = listRecordFiles(s.runtime, dir);
      this.listings.set(key, { at: now, files });
    }
    return s.kind === 'transcript' ? [s.path, ...files] : files;
  }

  /**
   * The subscription windows Claude's statusline gave each Claude agent (`statusline-hook`,
   * fleet/spend/statusline.ts), as report files without usage: one `stat` per agent per tick,
   * the file read again only when it changed.
   */
  private statuslineQuota(agents: readonly MeterAgent[]): ReportFile[] {
    const out: ReportFile[] = [];
    for (const a of agents) {
      if (a.runtime !== 'claude') continue;
      const file = quotaPath(this.runDir, a.name);
      let mtimeMs: number;
      try {
        mtimeMs = fs.statSync(file).mtimeMs;
      } catch {
        continue;
      }
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
        sessions = this.opencode.read(db, since);
      } catch (error) {
        this.errors.push(`opencode spend n/a: ${messageOf(error)}`);
        continue;
      }
      for (const s of sessions) {
        const file = path.join(db, s.id);
        const who = attributeFile(file, 'opencode', s.cwd, sources);
        if (who) out.push({ file, runtime: 'opencode', agent: who.agent, reason: who.reason, session: s.id, events: s.events, rate: null });
      }
    }
    return out;
  }

  /**
   * Refreshes the ledger for `agents` and returns every record file of theirs read so far,
   * attributed (unattributed ones carry the reason). Never throws; problems land in `errors`.
   */
  refresh(agents: readonly MeterAgent[], opts: RefreshOptions): ReportFile[] {
    this.errors = [];
    if (opts.tree) for (const a of agents) this.learnScope(a, opts.tree, opts.now);
    const sources = new Map<string, SpendSource[]>();
    for (const a of agents) sources.set(a.name, this.sourcesOf(a.name));
    const files = new Map<string, SpendRuntime>();
    for (const list of sources.values()) for (const s of list) for (const f of this.filesOf(s, opts.now)) files.set(f, s.runtime);
    const out: ReportFile[] = [];
    for (const [file, runtime] of files) {
      const known = this.ledger.files.get(file);
      if (!known) {
        let st: fs.Stats;
        try {
          st = fs.statSync(file);
        } catch {
          continue;
        }
        if (st.mtimeMs < opts.since) continue;
      }
      const u = this.ledger.update(file, runtime);
      if (u.error && !u.error.endsWith('ENOENT')) this.errors.push(u.error);
      const entry = this.ledger.files.get(file);
      if (!entry) continue;
      const who = attributeFile(file, runtime, entry.parser.cwd ?? null, sources);
      if (!who) continue;
      out.push({ file, runtime, agent: who.agent, reason: who.reason, session: entry.parser.session ?? null, events: entry.events, rate: entry.rate });
    }
    out.push(...this.opencodeSessions(sources, opts.since));
    out.push(...this.statuslineQuota(agents));
    const saveError = this.ledger.save();
    if (saveError) this.errors.push(saveError);
    return out;
  }
}
