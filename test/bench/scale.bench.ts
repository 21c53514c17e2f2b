/**
 * Scale bench (`npm run bench:scale`, part of `npm run bench`; runs dist/test/bench/scale.bench.js
 * after `npx tsc -p .`). One run prints every scale figure as a ratio or a share of a core, each
 * next to its target:
 *
 * - `--once --json` at 100 agents (one socket) ÷ a bare `node -e 0`: target ≤ 1.6×.
 * - `--once --json` at 1,000 agents over 4 sockets ÷ `node -e 0`: target ≤ 3×.
 * - the floor of both (test/bench/once-floor.cjs): a CommonJS program that starts the same
 *   subprocesses with the same arguments and reads the same files as `--once`, with no logic
 *   beyond splitting lines, ÷ `node -e 0`: what node, the kernel and tmux/systemctl cost on this
 *   machine before any code of ours runs. A target below its floor cannot be met by our code.
 * - the real console (`--interval 2`, in a 200×60 pane of an isolated tmux server) at 100 and
 *   1,000 agents: % of one core over MT_BENCH_SECONDS (default 30) from /proc/<pid>/stat
 *   (utime+stime; the probes' subprocesses reported apart), steady: from MT_BENCH_WARMUP
 *   (default 180) seconds after its first frame, once V8 has compiled the tick's hot code (the
 *   window from 5 s after the first frame is printed beside it): targets ≤ 1 % and ≤ 3 %.
 * - key-to-frame latency at 1,000 agents: the console's App rendered by Ink on a fake terminal,
 *   a key written to its stdin, the time until Ink has written the frame that shows the moved
 *   selection; p95 over 60 presses: target ≤ 50 ms.
 *
 * - CPU time (user + system, the program's subprocesses included, from the waiting shell's
 *   /proc/<pid>/stat cutime+cstime) of `--version`, `--once --json` at 100 and at 1,000 agents,
 *   each ÷ that of `node -e 0`: the load-independent form of the start-up ratios (a shared,
 *   loaded machine inflates wall times, much less CPU times). Medians of several runs.
 * - subprocesses per idle console tick (the console's collect with its tmux control clients,
 *   in this process) and per `--once` snapshot, at 100 and at 1,000 agents: must not grow with
 *   the fleet.
 *
 * - the 10,000-agent roster (one socket holding only the holder session: every agent's pane is
 *   missing, every beat fresh): `--once` table ÷ `--once --json` CPU time (target ≤ 2×), and the
 *   console on it: % of a core (steady, as above) and peak RSS (VmHWM, the whole run) (targets
 *   ≤ 10 %, ≤ 200 MB).
 *
 * `MT_BENCH_BASE=<dir>`: a checkout (built) of an older version of the code, measured in the same
 * run, side by side (its figures in a second table; with MT_BENCH_PART=once, interleaved per
 * figure). `MT_BENCH_PART=once`: only the one-shot figures (`node -e 0`, `--version`, `--once`
 * at 100, 1,000 and 10,000 agents; `MT_BENCH_RUNS` runs each, default 7); `MT_BENCH_PART=10k`:
 * only the 10,000-agent figures.
 *
 * Fleets are `sleep` panes on isolated tmux sockets (never the default server); every server,
 * process and directory is removed at the end. Wall times are medians of several runs.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { consoleSessionArgs, tmux } from './live-fleet.js';
import { promisify } from 'node:util';
import { floorArgs, makeFleet, makeRosterFleet, removeBenchFleets, trackSocket } from './scale-fleets.js';
import { at } from '../helpers/must.js';

process.env.NODE_ENV ??= 'production';
const { mountConsoleApp } = await import('../helpers/ink-terminal.js');
const { createConsoleStore } = await import('../../src/store/index.js');
const { makeSnapshot, manyAgents } = await import('../fixtures/snapshots.js');
await (await import('../../src/ink/output.js')).installFastOutputPass();
const { CONSOLE_MAX_FPS } = await import('../../src/modes/console.js');

const { collectSnapshot } = await import('../../src/snapshot/collect.js');
const { TmuxControlPool } = await import('../../src/snapshot/push-sources.js');
const { RosterCache } = await import('../../fleet/roster.js');
const { SystemdBackoff } = await import('../../fleet/systemd.js');
const { subprocessCount } = await import('../../fleet/exec.js');
const { resolvePaths } = await import('../../lib/paths.js');

const execFileAsync = promisify(execFile);
const repo = path.resolve(import.meta.dirname, '..', '..', '..');
const baseRepo = process.env.MT_BENCH_BASE ? path.resolve(process.env.MT_BENCH_BASE) : null;
const fixtureBin = path.join(repo, 'test', 'fixtures', 'bin');
const SECONDS = Number(process.env.MT_BENCH_SECONDS ?? 30);
/** Seconds from a console's first frame to its steady window (MT_BENCH_WARMUP, default 180). */
const WARMUP = Number(process.env.MT_BENCH_WARMUP ?? 180);
const CLK_TCK = 100;

function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return at(s, Math.min(s.length - 1, Math.floor(q * s.length)), 'sample');
}
const median = (values: number[]) => quantile(values, 0.5);

/** Median wall time (ms) of `node <args>` over `runs` runs, after one warm-up. */
async function wallMs(args: string[], runs: number, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const once = async () => {
    const t = performance.now();
    await execFileAsync(process.execPath, args, { env, maxBuffer: 64 * 1024 * 1024 });
    return performance.now() - t;
  };
  await once();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await once());
  return median(samples);
}

/**
 * CPU time (ms, user + system, subprocesses included) of one `node <args>` run: the run's shell
 * reads its own cutime+cstime once node has been waited for.
 */
async function cpuOnce(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { stdout } = await execFileAsync('/bin/sh', ['-c', '"$@" >/dev/null 2>&1; cat /proc/$$/stat', 'sh', process.execPath, ...args], {
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
  const fields = stdout.slice(stdout.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[13]) + Number(fields[14])) / CLK_TCK) * 1000;
}

/** Median CPU time (ms) of `node <args>` over `runs` runs after one warm-up ({@link cpuOnce}). */
async function cpuMs(args: string[], runs: number, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  await cpuOnce(args, env);
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await cpuOnce(args, env));
  return median(samples);
}

/**
 * CPU time (ms) of each named `node <args>` command, mean and median of `runs` rounds after one
 * warm-up round. Every round runs every command once, in turn: all meet the same load.
 */
async function cpuInterleaved(
  commands: Record<string, string[]>,
  runs: number,
  env: NodeJS.ProcessEnv,
): Promise<Record<string, { mean: number; median: number }>> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  for (let round = 0; round <= runs; round++) {
    for (const [name, args] of Object.entries(commands)) {
      const ms = await cpuOnce(args, env);
      if (round > 0) samples[name]!.push(ms);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, { mean: v.reduce((x, y) => x + y, 0) / v.length, median: median(v) }]));
}

/**
 * Subprocesses started per tick by the console's collect (control clients on) over `ticks` idle
 * ticks after a warm-up, and by one `--once` snapshot (no control clients).
 */
async function subprocessesPerTick(home: string, ticks = 5): Promise<{ idleTick: number; once: number }> {
  const paths = resolvePaths({ mosaicHome: home }, {});
  const pool = new TmuxControlPool();
  const rosterCache = new RosterCache(paths.roster);
  const systemdBackoff = new SystemdBackoff();
  const tick = () => collectSnapshot({ paths, rosterCache, systemdBackoff, includeBacklog: false, listPanes: (socket, o) => pool.list(socket, o) });
  try {
    // Warm: ticks until one needs no list-panes subprocess (every socket's client attached).
    for (let i = 0; i < 40; i++) {
      const polled = pool.stats.viaSubprocess;
      await tick();
      if (i > 0 && pool.stats.viaSubprocess === polled) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const before = subprocessCount();
    for (let i = 0; i < ticks; i++) await tick();
    const idleTick = (subprocessCount() - before) / ticks;
    const b2 = subprocessCount();
    await collectSnapshot({ paths, includeBacklog: false });
    return { idleTick, once: subprocessCount() - b2 };
  } finally {
    pool.close();
  }
}

function procTimes(pid: number): { own: number; children: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { own: Number(fields[11]) + Number(fields[12]), children: Number(fields[13]) + Number(fields[14]) };
}

async function until(test: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** CPU % of one core of `pid` (its own; its reaped children's apart) over the next SECONDS. */
async function cpuWindow(pid: number): Promise<{ cpu: number; children: number }> {
  const t0 = procTimes(pid);
  const w0 = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const t1 = procTimes(pid);
  const wall = (performance.now() - w0) / 1000;
  return { cpu: ((t1.own - t0.own) / CLK_TCK / wall) * 100, children: ((t1.children - t0.children) / CLK_TCK / wall) * 100 };
}

/**
 * The real console on `home`: % of one core in two windows of SECONDS — `first`, from 5 s after
 * its first frame (V8 still compiling the tick's hot code on its worker threads), and `steady`,
 * from WARMUP seconds after the first frame (what a console left open costs; the target) — its
 * probes' subprocesses in the steady window, and its peak RSS over the whole run.
 */
async function consoleCpu(home: string, n: number, bin: string): Promise<{ first: number; cpu: number; children: number; peakMB: number }> {
  const ui = trackSocket(`ui-${n}`);
  tmux(ui, consoleSessionArgs([bin], home, { PATH: `${fixtureBin}:${process.env.PATH}`, MT_SYSTEMCTL_MODE: 'nobus' }));
  const capture = () => tmux(ui, ['capture-pane', '-p', '-t', '=console:0.0']);
  await until(() => /agent0{4}/.test(capture()), 120_000, 'console shows agents');
  const shown = performance.now();
  // Let the first ticks (module loading, first roster parse) pass before measuring.
  await new Promise((r) => setTimeout(r, 5000));
  const pid = Number(tmux(ui, ['display-message', '-p', '-t', '=console:0.0', '#{pane_pid}']).trim());
  const first = await cpuWindow(pid);
  await new Promise((r) => setTimeout(r, Math.max(0, shown + WARMUP * 1000 - performance.now())));
  const steady = await cpuWindow(pid);
  const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  tmux(ui, ['kill-server']);
  return { first: first.cpu, cpu: steady.cpu, children: steady.children, peakMB: hwm ? Number(hwm[1]) / 1024 : NaN };
}

/** The detail line of a console figure: the first window beside the steady one. */
const consoleDetail = (c: { first: number; children: number }) =>
  `first ${SECONDS} s: ${fmt(c.first)} %; steady: ${SECONDS} s from ${WARMUP} s on; probes' subprocesses ${fmt(c.children)} %`;

/**
 * Key-to-frame latency: the App on a fake 200×60 terminal with `n` agents; each press of `j`
 * or `k` is timed from the stdin write to Ink's write of the frame showing the new selection.
 */
async function keyToFrame(n: number, presses = 60): Promise<{ p50: number; p95: number }> {
  const store = createConsoleStore({ color: true });
  store.getState().applySnapshot(makeSnapshot(manyAgents(n)));
  const { instance, terminal } = mountConsoleApp(store, { columns: 200, rows: 60, maxFps: CONSOLE_MAX_FPS });
  await new Promise((r) => setTimeout(r, 200));
  const samples: number[] = [];
  for (let i = 0; i < presses; i++) {
    const key = i % 20 < 10 ? 'j' : 'k';
    const before = store.getState().ui.selectedAgent;
    const sent = performance.now();
    terminal.type(key);
    await until(() => store.getState().ui.selectedAgent !== before && terminal.lastWriteAt > sent, 5000, 'frame after key');
    // Ink throttles frames (maxFps): wait for the write that follows the state change.
    samples.push(terminal.lastWriteAt - sent);
    await new Promise((r) => setTimeout(r, 60));
  }
  instance.unmount();
  return { p50: median(samples), p95: quantile(samples, 0.95) };
}

const fmt = (x: number, d = 2) => Number(x.toFixed(d));

/** Every figure for the code checked out at `root` (its bin, its dist). */
async function figures(root: string, fleets: Fleets, nodeMs: number, nodeCpu: number) {
  const bin = path.join(root, 'bin', 'mosaic-top');
  const env = { ...process.env, PATH: `${fixtureBin}:${process.env.PATH}`, MT_SYSTEMCTL_MODE: 'nobus' };
  const versionCpu = await cpuMs([bin, '--version'], 9, env);
  const once100 = await wallMs([bin, '--mosaic-home', fleets.home100, '--once', '--json'], 7, env);
  const once100Cpu = await cpuMs([bin, '--mosaic-home', fleets.home100, '--once', '--json'], 7, env);
  const once1000 = await wallMs([bin, '--mosaic-home', fleets.home1000, '--once', '--json'], 5, env);
  const once1000Cpu = await cpuMs([bin, '--mosaic-home', fleets.home1000, '--once', '--json'], 5, env);
  const cpu100 = await consoleCpu(fleets.home100, 100, bin);
  const cpu1000 = await consoleCpu(fleets.home1000, 1000, bin);
  const tenK = await tenThousandFigures(root, fleets.home10k, env, 3);
  return [
    {
      figure: '--version ÷ node -e 0, CPU time',
      value: `${fmt(versionCpu / nodeCpu)}×`,
      target: '≤ 1.2×',
      detail: `${fmt(versionCpu, 0)} ms vs ${fmt(nodeCpu, 0)} ms`,
    },
    {
      figure: '--once --json, 100 agents ÷ node -e 0, CPU time',
      value: `${fmt(once100Cpu / nodeCpu)}×`,
      target: '≤ 1.6×',
      detail: `${fmt(once100Cpu, 0)} ms CPU; wall ${fmt(once100, 0)} ms vs ${fmt(nodeMs, 0)} ms (${fmt(once100 / nodeMs)}×)`,
    },
    {
      figure: '--once --json, 1,000 agents on 4 sockets ÷ node -e 0, CPU time',
      value: `${fmt(once1000Cpu / nodeCpu)}×`,
      target: '≤ 3×',
      detail: `${fmt(once1000Cpu, 0)} ms CPU; wall ${fmt(once1000, 0)} ms (${fmt(once1000 / nodeMs)}×)`,
    },
    {
      figure: 'console, 100 agents, --interval 2: % of a core',
      value: `${fmt(cpu100.cpu)} %`,
      target: '≤ 1 %',
      detail: consoleDetail(cpu100),
    },
    {
      figure: 'console, 1,000 agents, --interval 2: % of a core',
      value: `${fmt(cpu1000.cpu)} %`,
      target: '≤ 3 %',
      detail: consoleDetail(cpu1000),
    },
    ...tenK,
  ];
}

/** The fleets every part uses: 100 agents on one socket, 1,000 on four, the 10,000-agent roster. */
interface Fleets {
  home100: string;
  home1000: string;
  home10k: string;
}

const onceArgs = (bin: string, home: string, json = true) => [bin, '--mosaic-home', home, '--once', ...(json ? ['--json'] : [])];

/** The 10,000-agent roster's figures: `--once` table ÷ JSON (CPU, `runs` interleaved rounds) and the console on it. */
async function tenThousandFigures(root: string, home10k: string, env: NodeJS.ProcessEnv, runs: number) {
  const bin = path.join(root, 'bin', 'mosaic-top');
  const once = await cpuInterleaved({ json: onceArgs(bin, home10k), table: onceArgs(bin, home10k, false) }, runs, env);
  const console10k = await consoleCpu(home10k, 10_000, bin);
  return [
    {
      figure: '10,000-agent roster: --once table ÷ --once --json, CPU time',
      value: `${fmt(once.table!.mean / once.json!.mean)}×`,
      target: '≤ 2×',
      detail: `table ${fmt(once.table!.mean, 0)} ms, JSON ${fmt(once.json!.mean, 0)} ms (means of ${runs})`,
    },
    {
      figure: '10,000-agent roster: console, % of a core / peak RSS',
      value: `${fmt(console10k.cpu)} % / ${fmt(console10k.peakMB, 0)} MB`,
      target: '≤ 10 % / ≤ 200 MB',
      detail: consoleDetail(console10k),
    },
  ];
}

/**
 * MT_BENCH_PART=once: the one-shot figures only, CPU time of every command (this code's, and
 * MT_BENCH_BASE's when set) interleaved round by round with `node -e 0` ({@link cpuInterleaved}),
 * `MT_BENCH_RUNS` rounds (default 7); means, each ÷ the mean of `node -e 0`.
 */
async function oneShotPart(fleets: Fleets): Promise<void> {
  const runs = Math.max(1, Number(process.env.MT_BENCH_RUNS ?? 7));
  const env = { ...process.env, PATH: `${fixtureBin}:${process.env.PATH}`, MT_SYSTEMCTL_MODE: 'nobus' };
  const roots: [string, string][] = [['this', repo], ...(baseRepo ? [['base', baseRepo] as [string, string]] : [])];
  const commands: Record<string, string[]> = {
    node: ['-e', '0'],
    'floor once100': floorArgs(fleets.home100, repo),
    'floor once1000': floorArgs(fleets.home1000, repo),
  };
  for (const [label, root] of roots) {
    const bin = path.join(root, 'bin', 'mosaic-top');
    Object.assign(commands, {
      [`${label} version`]: [bin, '--version'],
      [`${label} once100`]: onceArgs(bin, fleets.home100),
      [`${label} once1000`]: onceArgs(bin, fleets.home1000),
      [`${label} json10k`]: onceArgs(bin, fleets.home10k),
      [`${label} table10k`]: onceArgs(bin, fleets.home10k, false),
    });
  }
  const cpu = await cpuInterleaved(commands, runs, env);
  const node = cpu.node!.mean;
  const ratio = (key: string, over: number) => `${fmt(cpu[key]!.mean / over)}× (${fmt(cpu[key]!.mean, 0)} ms)`;
  const figure = (key: string, label: string, target: string, over = node) =>
    Object.fromEntries([
      ['figure', label],
      ['target', target],
      ...roots.map(([l]) => [l, ratio(`${l} ${key}`, over)]),
      ...(cpu[`floor ${key}`] ? [['floor', ratio(`floor ${key}`, over)]] : []),
    ]) as Record<string, string>;
  const rows = [
    figure('version', '--version ÷ node -e 0', '≤ 1.2×'),
    figure('once100', '--once --json, 100 agents ÷ node -e 0', '≤ 1.6×'),
    figure('once1000', '--once --json, 1,000 agents on 4 sockets ÷ node -e 0', '≤ 3×'),
    figure('json10k', '--once --json, 10,000-agent roster ÷ node -e 0', '-'),
    ...roots.map(([l]) => ({
      figure: `10,000-agent roster: table ÷ JSON (${l})`,
      target: '≤ 2×',
      [l]: `${fmt(cpu[`${l} table10k`]!.mean / cpu[`${l} json10k`]!.mean)}× (${fmt(cpu[`${l} table10k`]!.mean, 0)} ms)`,
    })),
  ];
  console.log(`one-shot CPU time, means of ${runs} interleaved rounds; node -e 0 ${fmt(node, 1)} ms (median ${fmt(cpu.node!.median, 1)} ms)`);
  console.log('floor: test/bench/once-floor.cjs, the same subprocesses and reads as --once with minimal JavaScript');
  console.table(rows);
}

/** Every figure (the default part): one-shot starts, the consoles, subprocess counts, key-to-frame. */
async function allParts(loadBefore: number[]): Promise<void> {
  const nodeMs = await wallMs(['-e', '0'], 9);
  const nodeCpu = await cpuMs(['-e', '0'], 9);
  const fleets = { home100: makeFleet(100, 1), home1000: makeFleet(1000, 4), home10k: makeRosterFleet(10_000) };
  const rows = await figures(repo, fleets, nodeMs, nodeCpu);
  const floorEnv = { ...process.env, PATH: `${fixtureBin}:${process.env.PATH}`, MT_SYSTEMCTL_MODE: 'nobus' };
  for (const [n, home, target] of [
    ['100 agents', fleets.home100, '≤ 1.6×'],
    ['1,000 agents on 4 sockets', fleets.home1000, '≤ 3×'],
  ] as const) {
    const floor = await cpuMs(floorArgs(home, repo), 7, floorEnv);
    rows.push({
      figure: `floor of --once --json, ${n} ÷ node -e 0, CPU time`,
      value: `${fmt(floor / nodeCpu)}×`,
      target: `(the --once target: ${target})`,
      detail: `${fmt(floor, 0)} ms: once-floor.cjs, the same subprocesses and reads, minimal JS`,
    });
  }
  const spawns100 = await subprocessesPerTick(fleets.home100);
  const spawns1000 = await subprocessesPerTick(fleets.home1000);
  rows.push(
    {
      figure: 'subprocesses per idle console tick, 100 / 1,000 agents',
      value: `${fmt(spawns100.idleTick)} / ${fmt(spawns1000.idleTick)}`,
      target: 'same for both (0 with push)',
      detail: 'control clients on; systemd held off (no bus)',
    },
    {
      figure: 'subprocesses per --once, 100 agents (1 socket) / 1,000 (4 sockets)',
      value: `${spawns100.once} / ${spawns1000.once}`,
      target: 'per socket, not per agent',
      detail: 'list-panes per socket + systemctl',
    },
  );
  const keys = await keyToFrame(1000);
  rows.push({ figure: 'key-to-frame latency, 1,000 agents, p95', value: `${fmt(keys.p95, 1)} ms`, target: '≤ 16 ms', detail: `p50 ${fmt(keys.p50, 1)} ms` });
  const base = baseRepo ? await figures(baseRepo, fleets, nodeMs, nodeCpu) : null;
  console.log(`scale bench (${os.cpus().length} cores, node ${process.version}, load before ${load(loadBefore)}, after ${load(os.loadavg())})`);
  console.table(rows);
  if (base) {
    console.log(`the same figures for ${baseRepo} (MT_BENCH_BASE), same run:`);
    console.table(base);
  }
}

const part = process.env.MT_BENCH_PART ?? 'all';
const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
try {
  const loadBefore = os.loadavg();
  if (part === 'once') {
    await oneShotPart({ home100: makeFleet(100, 1), home1000: makeFleet(1000, 4), home10k: makeRosterFleet(10_000) });
    console.log(
      `scale bench, one-shot part (${os.cpus().length} cores, node ${process.version}, load before ${load(loadBefore)}, after ${load(os.loadavg())})`,
    );
  } else if (part === '10k') {
    const env = { ...process.env, PATH: `${fixtureBin}:${process.env.PATH}`, MT_SYSTEMCTL_MODE: 'nobus' };
    const home10k = makeRosterFleet(10_000);
    const rows = await tenThousandFigures(repo, home10k, env, Math.max(1, Number(process.env.MT_BENCH_RUNS ?? 3)));
    const base = baseRepo ? await tenThousandFigures(baseRepo, home10k, env, Math.max(1, Number(process.env.MT_BENCH_RUNS ?? 3))) : null;
    console.log(
      `scale bench, 10,000-agent part (${os.cpus().length} cores, node ${process.version}, load before ${load(loadBefore)}, after ${load(os.loadavg())})`,
    );
    console.table(rows);
    if (base) console.table(base);
  } else await allParts(loadBefore);
} finally {
  removeBenchFleets();
}
