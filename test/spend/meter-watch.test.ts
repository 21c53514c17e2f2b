/**
 * The spend meter through directory watches (the console with push on): counted file-system
 * calls per tick, never times. A tick where no record file or record directory changed touches
 * no file; a record file that appears or grows is read within one tick after its directory's
 * event, within the safety interval when the watches deliver nothing, within the relist interval
 * when nothing can be watched; every figure stays exact to the token.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SpendMeter, type MeterAgent } from '../../fleet/spend/meter.js';
import { RELIST_MS, WatchedMeterReads } from '../../fleet/spend/meter-reads.js';
import type { ReportFile } from '../../fleet/spend/report.js';
import { claudeProjectSlug, readSources, recordSource, sourcesPath } from '../../fleet/spend/sources.js';
import type { ProcEntry, ProcessTree } from '../../fleet/proc.js';
import { resolvePaths } from '../../lib/paths.js';
import { attachSpend, SnapshotSpend } from '../../src/snapshot/spend.js';
import type { Snapshot } from '../../src/snapshot/types.js';
import { waitFor } from '../helpers/tmux.js';
import { claudeRecord } from '../helpers/spend-records.js';

/** The `fs` calls that touch the disk (each counted). */
const FS_CALLS = [
  'statSync',
  'lstatSync',
  'fstatSync',
  'openSync',
  'readSync',
  'readFileSync',
  'readdirSync',
  'readlinkSync',
  'existsSync',
  'writeFileSync',
  'renameSync',
  'mkdirSync',
  'chmodSync',
] as const;

/** Counts every call of {@link FS_CALLS} (calling through) until restored. */
function countFs(): {
  total: () => number;
  of: (name: (typeof FS_CALLS)[number], file?: string) => number;
  reset: () => void;
} {
  const target = fs as unknown as Record<(typeof FS_CALLS)[number], (...args: unknown[]) => unknown>;
  const spies = FS_CALLS.map((name) => [name, vi.spyOn(target, name)] as const);
  return {
    total: () => spies.reduce((n, [, s]) => n + s.mock.calls.length, 0),
    of: (name, file) => (spies.find(([n]) => n === name)?.[1].mock.calls ?? []).filter((c) => file === undefined || c[0] === file).length,
    reset: () => {
      for (const [, s] of spies) s.mockClear();
    },
  };
}

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-meter-watch-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(root, { recursive: true, force: true });
});

/** Tokens of `agent` in a refresh's files. */
function tokensOf(files: readonly ReportFile[], agent: string): number {
  let total = 0;
  for (const f of files) if (f.agent === agent) for (const e of f.events) total += e.tokens.total;
  return total;
}

/** A meter over `<root>/run` with `n` Claude agents whose scope is `<root>/home/.claude/projects/<slug of /w/agent-i>`. */
function fleet(n: number, opts: { watch: boolean | { fullEveryMs?: number; maxWatches?: number }; scopes?: boolean }) {
  const runDir = path.join(root, 'run');
  fs.mkdirSync(runDir, { recursive: true });
  const agents: MeterAgent[] = Array.from({ length: n }, (_, i) => ({ name: `agent-${i}`, runtime: 'claude', panePid: null }));
  const projects = path.join(root, 'home', '.claude', 'projects');
  const scopeDir = (i: number) => path.join(projects, claudeProjectSlug(`/w/agent-${i}`));
  if (opts.scopes)
    agents.forEach((a, i) => {
      fs.mkdirSync(scopeDir(i), { recursive: true });
      recordSource(runDir, a.name, { kind: 'scope', runtime: 'claude', path: scopeDir(i), cwd: null, evidence: 'test', at: 0 });
    });
  const meter = new SpendMeter(runDir, path.join(root, 'fleet', 'prices.yaml'), { watch: opts.watch });
  return { meter, agents, scopeDir, runDir };
}

const T0 = Date.parse('2026-12-06T10:00:00Z');
const SINCE = 0;

describe('spend meter through watches: file-system calls per tick', () => {
  it('100 agents without records: no file touched on an unchanged tick (plain reads: one listing of the spend dir)', () => {
    const { meter, agents, runDir } = fleet(100, { watch: true });
    const plain = fleet(100, { watch: false }).meter;
    const fsCalls = countFs();
    meter.refresh(agents, { now: T0, since: SINCE, tree: null });
    expect(fsCalls.total()).toBeGreaterThanOrEqual(100);
    for (let tick = 1; tick <= 5; tick++) {
      fsCalls.reset();
      meter.refresh(agents, { now: T0 + tick * 2000, since: SINCE, tree: null });
      expect(fsCalls.total(), `tick ${tick}`).toBe(0);
    }
    fsCalls.reset();
    plain.refresh(agents, { now: T0, since: SINCE, tree: null });
    fsCalls.reset();
    plain.refresh(agents, { now: T0 + 2000, since: SINCE, tree: null });
    // No sources or quota file exists: the listing of <run>/spend says so, no stat per agent.
    expect(fsCalls.of('statSync')).toBe(0);
    expect(fsCalls.of('readdirSync', path.join(runDir, 'spend'))).toBe(1);
    // A sources file that exists is stat'ed (and read), the others still are not; its records count.
    const scope = path.join(root, 'scope-3');
    fs.mkdirSync(scope);
    fs.writeFileSync(path.join(scope, 'sess-1.jsonl'), claudeRecord('m1', [3, 40, 500, 60], new Date(T0)) + '\n');
    recordSource(runDir, 'agent-3', { kind: 'scope', runtime: 'claude', path: scope, cwd: null, evidence: 'test', at: 0 });
    fsCalls.reset();
    const files = plain.refresh(agents, { now: T0 + 4000, since: SINCE, tree: null });
    expect(fsCalls.of('statSync', sourcesPath(runDir, 'agent-3'))).toBe(1);
    expect(fsCalls.of('statSync', sourcesPath(runDir, 'agent-4'))).toBe(0);
    expect(tokensOf(files, 'agent-3')).toBe(603);
    meter.close();
  });

  it('the snapshot meter (prices, roster budgets, 100 agents): no file touched on an unchanged tick', () => {
    const paths = resolvePaths({ mosaicHome: path.join(root, 'mosaic') }, {});
    fs.mkdirSync(paths.runDir, { recursive: true });
    fs.mkdirSync(path.dirname(paths.roster), { recursive: true });
    fs.writeFileSync(paths.roster, 'budget: { daily_usd: 10 }\n');
    const state = new SnapshotSpend(paths, { watch: true });
    const snapshot = (): Snapshot =>
      ({
        agents: Array.from({ length: 100 }, (_, i) => ({ name: `a-${i}`, runtime: 'sleep', ssh: null, pane: null, flags: [], evidence: [], class: 'code' })),
        fleet: {},
        probes: {},
        errors: [],
        backlog: null,
      }) as unknown as Snapshot;
    const fsCalls = countFs();
    attachSpend(snapshot(), state, null, T0);
    expect(fsCalls.total()).toBeGreaterThan(100);
    fsCalls.reset();
    const s = snapshot();
    attachSpend(s, state, null, T0 + 2000);
    expect(s.errors).toEqual([]);
    expect(s.fleet.spend?.tokens.total).toBe(0);
    expect(fsCalls.total()).toBe(0);
    // Agents without records share one spend object, the same from tick to tick, a new one on a new day.
    const none = s.agents[0]!.spend;
    expect(none).toEqual({
      tokens: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0, total: 0 },
      costUsd: null,
      since: none!.since,
      unpricedModels: [],
      quota: [],
    });
    expect(s.agents[99]!.spend).toBe(none);
    const next = snapshot();
    attachSpend(next, state, null, T0 + 4000);
    expect(next.agents[5]!.spend).toBe(none);
    const tomorrow = snapshot();
    attachSpend(tomorrow, state, null, T0 + 86_400_000);
    expect(tomorrow.agents[5]!.spend).not.toBe(none);
    expect(tomorrow.agents[5]!.spend?.since).not.toBe(none!.since);
    state.close();
  });

  it('a record file appearing mid-run is counted within one tick after its dir event; an append is read once', async () => {
    const { meter, agents, scopeDir } = fleet(100, { watch: true, scopes: true });
    const reads = meter.reads as WatchedMeterReads;
    const fsCalls = countFs();
    expect(tokensOf(meter.refresh(agents, { now: T0, since: SINCE, tree: null }), 'agent-7')).toBe(0);
    fsCalls.reset();
    meter.refresh(agents, { now: T0 + 2000, since: SINCE, tree: null });
    expect(fsCalls.total()).toBe(0);

    const file = path.join(scopeDir(7), 'sess-1.jsonl');
    const changesIn = () => reads.changesIn.get(scopeDir(7)) ?? 0;
    let changes = changesIn();
    // Written beside, then renamed in: one event (as an append is).
    fs.writeFileSync(path.join(root, 'sess-1.tmp'), claudeRecord('m1', [3, 40, 500, 60], new Date(T0)) + '\n');
    fs.renameSync(path.join(root, 'sess-1.tmp'), file);
    await waitFor(() => changesIn() > changes, 'the scope dir event');
    let files = meter.refresh(agents, { now: T0 + 4000, since: SINCE, tree: null });
    expect(tokensOf(files, 'agent-7')).toBe(603);
    expect(files.filter((f) => f.agent !== 'agent-7')).toEqual([]);

    changes = changesIn();
    fs.appendFileSync(file, claudeRecord('m2', [1, 2, 3, 4], new Date(T0 + 3000)) + '\n');
    await waitFor(() => changesIn() > changes, 'the append event');
    fsCalls.reset();
    files = meter.refresh(agents, { now: T0 + 6000, since: SINCE, tree: null });
    expect(tokensOf(files, 'agent-7')).toBe(613);
    expect(fsCalls.of('openSync', file)).toBe(1);
    expect(fsCalls.of('statSync', file) + fsCalls.of('lstatSync', file)).toBe(1); // whether it is a symlink (never kept then)
    expect(fsCalls.of('readdirSync')).toBe(0); // a known record file's write lists nothing again
    fsCalls.reset();
    expect(tokensOf(meter.refresh(agents, { now: T0 + 8000, since: SINCE, tree: null }), 'agent-7')).toBe(613);
    expect(fsCalls.total()).toBe(0);
    meter.close();
  });

  it('the sources are looked up again when their dir changed or the agents did, not on an unchanged tick', async () => {
    const { meter, agents, runDir } = fleet(20, { watch: true });
    const reads = meter.reads as WatchedMeterReads;
    const scope = (name: string) => {
      const dir = path.join(root, `scope-${name}`);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'sess-1.jsonl'), claudeRecord(`m-${name}`, [3, 40, 500, 60], new Date(T0)) + '\n');
      return { kind: 'scope' as const, runtime: 'claude' as const, path: dir, cwd: null, evidence: 'test', at: 0 };
    };
    // Not in the agents list yet: its sources file is there before the first tick.
    recordSource(runDir, 'late', scope('late'));
    meter.refresh(agents, { now: T0, since: SINCE, tree: null });
    const fsCalls = countFs();
    const skipped = reads.stats.skipped;
    meter.refresh(agents, { now: T0 + 2000, since: SINCE, tree: null });
    // Nothing changed: not even a kept read is asked for (no lookup per agent).
    expect(fsCalls.total()).toBe(0);
    expect(reads.stats.skipped).toBe(skipped);

    // A hook records agent-5's source (another process writes the file): seen after its event.
    const spendDir = path.join(runDir, 'spend');
    const changes = reads.changesIn.get(spendDir) ?? 0;
    recordSource(runDir, 'agent-5', scope('agent-5'));
    await waitFor(() => (reads.changesIn.get(spendDir) ?? 0) > changes, 'the sources dir event');
    expect(tokensOf(meter.refresh(agents, { now: T0 + 4000, since: SINCE, tree: null }), 'agent-5')).toBe(603);

    // The agents changed (one more), the dir did not: its sources are looked up at once.
    const more = [...agents, { name: 'late', runtime: 'claude', panePid: null }];
    expect(tokensOf(meter.refresh(more, { now: T0 + 6000, since: SINCE, tree: null }), 'late')).toBe(603);
    meter.close();
  });

  it('watches that deliver nothing: a new record is found by the safety re-read (30 s), exact', () => {
    // Every watch starts but never reports (an overflowed queue, a network filesystem).
    vi.spyOn(fs, 'watch').mockImplementation(() => Object.assign(new EventEmitter(), { close: () => undefined }) as unknown as fs.FSWatcher);
    const { meter, agents, scopeDir } = fleet(10, { watch: true, scopes: true });
    meter.refresh(agents, { now: T0, since: SINCE, tree: null });
    fs.writeFileSync(path.join(scopeDir(3), 'sess-1.jsonl'), claudeRecord('m1', [3, 40, 500, 60], new Date(T0)) + '\n');
    let seenAt: number | null = null;
    for (let t = T0 + 2000; t <= T0 + 40_000 && seenAt === null; t += 2000)
      if (tokensOf(meter.refresh(agents, { now: t, since: SINCE, tree: null }), 'agent-3') === 603) seenAt = t;
    expect(seenAt).not.toBeNull();
    expect(seenAt! - T0).toBeLessThanOrEqual(32_000);
    meter.close();
  });

  it('nothing can be watched (cap 0): polled, a new record found within the relist interval, exact', () => {
    const { meter, agents, scopeDir } = fleet(10, { watch: { maxWatches: 0 }, scopes: true });
    const reads = meter.reads as WatchedMeterReads;
    meter.refresh(agents, { now: T0, since: SINCE, tree: null });
    expect(reads.stats.watches).toBe(0);
    fs.writeFileSync(path.join(scopeDir(3), 'sess-1.jsonl'), claudeRecord('m1', [3, 40, 500, 60], new Date(T0)) + '\n');
    let seenAt: number | null = null;
    for (let t = T0 + 2000; t <= T0 + 20_000 && seenAt === null; t += 2000)
      if (tokensOf(meter.refresh(agents, { now: t, since: SINCE, tree: null }), 'agent-3') === 603) seenAt = t;
    expect(seenAt! - T0).toBeLessThanOrEqual(RELIST_MS);
    meter.close();
  });

  it('the watch count stays under the cap (dirs, never files); beyond it dirs are polled and every record counts', async () => {
    const runDir = path.join(root, 'run');
    const sessions = path.join(root, 'codex', 'sessions');
    const days = Array.from({ length: 12 }, (_, i) => path.join(sessions, '2026', '12', String(i + 1).padStart(2, '0')));
    const rollout = (n: number) =>
      [
        { type: 'session_meta', payload: { id: `cx-${n}`, cwd: '/w/c' } },
        { type: 'turn_context', payload: { model: 'gpt-5.1-codex' } },
        {
          type: 'event_msg',
          payload: {
            type: 'token_count',
            info: { total_token_usage: { input_tokens: 100 * n, cached_input_tokens: 0, output_tokens: n, reasoning_output_tokens: 0, total_tokens: 101 * n } },
          },
        },
      ]
        .map((r) => JSON.stringify({ timestamp: new Date(T0).toISOString(), ...r }))
        .join('\n') + '\n';
    days.forEach((d, i) => {
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, `rollout-2026-12-${i + 1}-cx-${i + 1}.jsonl`), rollout(i + 1));
    });
    fs.mkdirSync(runDir, { recursive: true });
    recordSource(runDir, 'cx', { kind: 'scope', runtime: 'codex', path: sessions, cwd: '/w/c', evidence: 'test', at: 0 });
    const meter = new SpendMeter(runDir, path.join(root, 'prices.yaml'), { watch: { maxWatches: 6 } });
    const reads = meter.reads as WatchedMeterReads;
    const agents: MeterAgent[] = [{ name: 'cx', runtime: 'codex', panePid: null }];
    const expected = days.reduce((n, _, i) => n + 101 * (i + 1), 0);
    expect(tokensOf(meter.refresh(agents, { now: T0, since: SINCE, tree: null }), 'cx')).toBe(expected);
    expect(reads.stats.watches).toBeLessThanOrEqual(6);
    // A rollout in the last day dir (beyond the cap: polled) is found within the relist interval.
    fs.writeFileSync(path.join(days[11]!, 'rollout-2026-12-12-cx-99.jsonl'), rollout(99));
    let seenAt: number | null = null;
    for (let t = T0 + 2000; t <= T0 + 20_000 && seenAt === null; t += 2000)
      if (tokensOf(meter.refresh(agents, { now: t, since: SINCE, tree: null }), 'cx') === expected + 101 * 99) seenAt = t;
    expect(seenAt! - T0).toBeLessThanOrEqual(RELIST_MS);
    expect(reads.stats.watches).toBeLessThanOrEqual(6);
    meter.close();
  });
});

describe('spend meter through watches: the runtime process scope', () => {
  /** A stand-in /proc: `<proc>/<pid>/environ` and `<proc>/<pid>/cwd`, one runtime process under one pane. */
  function procTree(pid: number, home: string, cwd: string): { tree: ProcessTree; entry: () => ProcEntry } {
    const procRoot = path.join(root, 'proc');
    fs.mkdirSync(path.join(procRoot, String(pid)), { recursive: true });
    fs.writeFileSync(path.join(procRoot, String(pid), 'environ'), `HOME=${home}\u0000PATH=/bin\u0000`);
    fs.symlinkSync(cwd, path.join(procRoot, String(pid), 'cwd'));
    const tree: ProcessTree = {
      procRoot,
      entries: new Map([
        [100, { pid: 100, ppid: 1, comm: 'bash' }],
        [pid, { pid, ppid: 100, comm: 'claude' }],
      ]),
      children: new Map([[100, [pid]]]),
      cmdlines: new WeakMap(),
    };
    return { tree, entry: () => tree.entries.get(pid)! };
  }

  it('environ and cwd are read once per process, again for a new process and after 30 s', () => {
    const home = path.join(root, 'home');
    const cwd = path.join(root, 'w');
    fs.mkdirSync(cwd, { recursive: true });
    const { meter } = fleet(0, { watch: true });
    const { tree, entry } = procTree(4242, home, cwd);
    const agents: MeterAgent[] = [{ name: 'c1', runtime: 'claude', panePid: 100 }];
    const fsCalls = countFs();
    meter.refresh(agents, { now: T0, since: SINCE, tree });
    expect(fsCalls.of('readlinkSync')).toBe(1);
    const sources = readSources(meter.runDir, 'c1');
    expect(sources.map((s) => s.path)).toEqual([path.join(home, '.claude', 'projects', claudeProjectSlug(cwd))]);
    fsCalls.reset();
    meter.refresh(agents, { now: T0 + 2000, since: SINCE, tree });
    expect(fsCalls.total()).toBe(0);
    // A new process (a new entry for the pid: the tree reader read it again).
    tree.entries.set(4242, { ...entry() });
    fsCalls.reset();
    meter.refresh(agents, { now: T0 + 4000, since: SINCE, tree });
    expect(fsCalls.of('readlinkSync')).toBe(1);
    fsCalls.reset();
    meter.refresh(agents, { now: T0 + 34_000, since: SINCE, tree });
    expect(fsCalls.of('readlinkSync')).toBe(1);
    meter.close();
  });
});
