/**
 * Console bench (`npm run bench:console`, runs dist/test/bench/console.bench.js after `npx tsc -p .`).
 *
 * 1. The REAL console (`node bin/mosaic-top --interval 2`) in a 200×60 pane of an isolated tmux
 *    server, watching 50 agents (sleep panes on another isolated socket, heartbeats rewritten by
 *    this bench), for MT_BENCH_SECONDS (default 60): CPU use as % of one core from
 *    /proc/<pid>/stat (utime+stime of the console; children — tmux/systemctl probes — reported
 *    apart from cutime+cstime), peak RSS (VmHWM), time from spawn to the first frame showing the
 *    header and to the first frame showing agents.
 * 2. Render time of the fleet table for 200 agents (ink renderToString), median over N runs.
 * 3. Retained heap after 1,500 / 3,000 / 6,000 distinct frames (Ink's text caches bounded).
 *
 * Run twice in one go: transition history off (`MOSAIC_TOP_HISTORY=off`), then on; the
 * difference is the history's cost (target: ≤ 0.2 % of one core).
 *
 * Targets: ≤ 2 % of one core, first frame ≤ 1.5 s. Cleans up every server and dir.
 *
 * `MT_BENCH_PART=frames`: only the render path, in process, CPU per frame and per key press
 * (dist/test/bench/render-frames.js), beside `MT_BENCH_BASE` — see benchRenderFrames.
 *
 * `MT_BENCH_PART=agents`: only the console's CPU per agent count (100 and 1,000 by default),
 * push on and forced off, the spend meter on or off (`MT_BENCH_SPEND=on|off|both`), optionally
 * beside an older build (`MT_BENCH_BASE`) and under the profiler (`MT_BENCH_PROFILE`): see
 * benchCpuPerAgentCount and docs/performance.md.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ReactElement } from 'react';
import { tmuxSocketPath } from '../helpers/tmux.js';
import { writeHomeRoster } from '../helpers/roster.js';
import { consoleSessionArgs, liveConsoleCpu, makeLiveFleet, tmux } from './live-fleet.js';
import { CLK_TCK, procTimes } from './proc-times.js';
import { at } from '../helpers/must.js';

// Same React build as the console itself (src/modes/console.ts): production. Set before React
// loads, hence the dynamic imports below.
process.env.NODE_ENV ??= 'production';
const React = (await import('react')).default;
const { renderToString } = await import('ink');
const { ConsoleProvider } = await import('../../hooks/useConsoleStore.js');
const { FleetTable } = await import('../../components/FleetTable.js');
const { App } = await import('../../components/App.js');
const { createConsoleStore } = await import('../../src/store/index.js');
const { makeSnapshot, manyAgents } = await import('../fixtures/snapshots.js');
const { recordingActions } = await import('../helpers/render.js');
const { mountConsoleApp } = await import('../helpers/ink-terminal.js');
// The console installs its cheaper Ink output pass before mounting (src/modes/console.ts): the
// in-process frame figures below measure the same pass.
const fastOutputPass = await (await import('../../src/ink/output.js')).installFastOutputPass();

const repo = path.resolve(import.meta.dirname, '..', '..', '..');
const bin = path.join(repo, 'bin', 'mosaic-top');
const fixtureBin = path.join(repo, 'test', 'fixtures', 'bin');
const AGENTS = 50;
const SECONDS = Number(process.env.MT_BENCH_SECONDS ?? 60);

function vmHWMkB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

async function until(test: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function writeBeats(runDir: string, round: number): void {
  const ts = Math.floor(Date.now() / 1000);
  for (let i = 0; i < AGENTS; i++) {
    const name = `agent${String(i).padStart(3, '0')}`;
    const tmp = path.join(runDir, `.${name}.hb.tmp`);
    fs.writeFileSync(tmp, `v=1\nts=${ts}\nstate=${(i + round) % 3 ? 'busy' : 'idle'}\ninterval=30\n`);
    fs.renameSync(tmp, path.join(runDir, `${name}.hb`));
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return at(s, Math.floor(s.length / 2), 'sample');
}

/** The real console on `home` in a 200×60 pane of tmux server `uiSocket` (fixture systemctl, no bus). */
function startConsolePane(uiSocket: string, home: string, history: boolean): void {
  tmux(
    uiSocket,
    consoleSessionArgs([bin], home, { PATH: `${fixtureBin}:${process.env.PATH}`, MT_SYSTEMCTL_MODE: 'nobus', MOSAIC_TOP_HISTORY: history ? 'on' : 'off' }),
  );
}

/**
 * The live console for SECONDS. `history`: transitions recorded in and read from the run dir
 * (the default) or `MOSAIC_TOP_HISTORY=off` — the same fleet, whose beats flip busy/idle every
 * 10 s, so about 2/3 of the agents change readiness each round (a heavy transition load).
 */
async function benchLiveConsole(history = true): Promise<Record<string, number | string>> {
  const tag = randomBytes(3).toString('hex');
  const fleetSocket = `mt-bench-fleet-${tag}`;
  const uiSocket = `mt-bench-ui-${tag}`;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-console-bench-'));
  const runDir = path.join(home, 'fleet', 'run');
  fs.mkdirSync(runDir, { recursive: true });
  const names = Array.from({ length: AGENTS }, (_, i) => `agent${String(i).padStart(3, '0')}`);
  writeHomeRoster(
    home,
    fleetSocket,
    names.map((name, i) => ({ name, runtime: 'sleep', class: i === 0 ? 'orchestrator' : i === 1 ? 'enhancer' : 'code' })),
    '_holder',
  );
  let beats: NodeJS.Timeout | null = null;
  try {
    tmux(fleetSocket, ['new-session', '-d', '-s', '_holder', 'sleep', '86400']);
    for (const n of names) tmux(fleetSocket, ['new-session', '-d', '-s', n, 'sleep', '86400']);
    let round = 0;
    writeBeats(runDir, round);
    beats = setInterval(() => writeBeats(runDir, ++round), 10_000);

    const spawnedAt = performance.now();
    startConsolePane(uiSocket, home, history);
    const capture = () => tmux(uiSocket, ['capture-pane', '-p', '-t', '=console:0.0']);
    let headerMs = NaN;
    await until(
      () => {
        const screen = capture();
        if (Number.isNaN(headerMs) && screen.includes('mosaic-top  ')) headerMs = performance.now() - spawnedAt;
        return screen.includes('agent000');
      },
      20_000,
      'first frame with agents',
    );
    const agentsMs = performance.now() - spawnedAt;
    const pid = Number(tmux(uiSocket, ['display-message', '-p', '-t', '=console:0.0', '#{pane_pid}']).trim());
    const comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    const t0 = procTimes(pid);
    const w0 = performance.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const t1 = procTimes(pid);
    const wall = (performance.now() - w0) / 1000;
    const hwm = vmHWMkB(pid);
    const still = capture().includes('agent000');
    const historyFile = path.join(runDir, 'transitions.ndjson');
    const recorded = fs.existsSync(historyFile) ? fs.readFileSync(historyFile, 'utf8').split('\n').filter(Boolean).length : 0;
    return {
      history: history ? 'on' : 'off',
      transitionsRecorded: recorded,
      agents: AGENTS,
      seconds: Math.round(wall),
      process: comm,
      cpuPctOneCore: Number((((t1.own - t0.own) / CLK_TCK / wall) * 100).toFixed(2)),
      childrenCpuPctOneCore: Number((((t1.children - t0.children) / CLK_TCK / wall) * 100).toFixed(2)),
      peakRssMB: Number((hwm / 1024).toFixed(1)),
      firstFrameHeaderMs: Math.round(headerMs),
      firstFrameAgentsMs: Math.round(agentsMs),
      stillRendering: still ? 'yes' : 'NO',
    };
  } finally {
    if (beats) clearInterval(beats);
    for (const socket of [uiSocket, fleetSocket]) {
      try {
        tmux(socket, ['kill-server']);
      } catch {
        /* not running */
      }
      fs.rmSync(tmuxSocketPath(socket), { force: true }); // tmux 3.3 leaves the socket file
    }
    fs.rmSync(home, { recursive: true, force: true });
  }
}

function benchTableRender(n = 200, runs = 30): Record<string, number> {
  const store = createConsoleStore({ color: true });
  store.getState().applySnapshot(makeSnapshot(manyAgents(n)));
  const actions = recordingActions();
  const table = () => React.createElement(ConsoleProvider, { store, actions }, React.createElement(FleetTable, { width: 160, height: n + 1 }));
  const app = () => React.createElement(ConsoleProvider, { store, actions }, React.createElement(App, { size: { columns: 160, rows: 50 } }));
  const time = (make: () => ReactElement, columns: number) => {
    renderToString(make(), { columns }); // warm-up
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      renderToString(make(), { columns });
      samples.push(performance.now() - t);
    }
    return Number(median(samples).toFixed(2));
  };
  return { agents: n, runs, tableAllRowsMedianMs: time(table, 160), app160x50MedianMs: time(app, 160) };
}

/**
 * Cost of one live frame: Ink's own render pass (layout + output grid + write, `onRender`'s
 * renderTime) after a snapshot of 50 agents changes, median over `runs`, per terminal size.
 */
async function benchLiveFrames(runs = 30): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [columns, rows] of [
    [200, 60],
    [120, 40],
    [80, 24],
  ] as const) {
    const store = createConsoleStore({ color: true });
    store.getState().applySnapshot(makeSnapshot(manyAgents(AGENTS)));
    const times: number[] = [];
    const { instance } = mountConsoleApp(store, {
      columns,
      rows,
      maxFps: 1000,
      onRender: (m) => {
        times.push(m.renderTime);
      },
    });
    for (let i = 0; i < runs; i++) {
      const agents = manyAgents(AGENTS).map((a) => ({ ...a, pane: a.pane && { ...a.pane, idleSeconds: i * 2 } }));
      store.getState().applySnapshot(makeSnapshot(agents));
      await new Promise((r) => setTimeout(r, 15));
    }
    instance.unmount();
    out[`frame${columns}x${rows}MedianMs`] = Number(median(times.slice(1)).toFixed(1));
  }
  return out;
}

/**
 * Memory of a long-running console: the App (50 agents, 160×50) renders `frames` distinct
 * frames (every idle time changes, as every tick does); retained heap after forced GCs, at
 * checkpoints. Stock Ink 6.8 keeps every distinct text it measured (ink#986): retained heap grew
 * with the frame count (+19.1 MB per 3,000 frames of a 40-row table). With
 * patches/ink+6.8.0.patch the measure cache holds at most 1,000 texts, so the figure flattens.
 */
async function benchRetainedHeap(checkpoints = [1500, 3000, 6000]): Promise<Record<string, number>> {
  const v8 = await import('node:v8');
  const vm = await import('node:vm');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const heapMB = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed / 1e6;
  };
  const measure = (await import(new URL('./measure-text.js', import.meta.resolve('ink')).href)) as { measureTextCacheSize?: () => number };
  const store = createConsoleStore({ color: true });
  store.getState().applySnapshot(makeSnapshot(manyAgents(AGENTS)));
  let rendered = 0;
  const { instance } = mountConsoleApp(store, {
    columns: 160,
    rows: 50,
    maxFps: 100_000,
    onRender: () => {
      rendered++;
    },
  });
  await new Promise((r) => setTimeout(r, 50));
  const start = heapMB();
  const out: Record<string, number> = {};
  for (let frame = 1; frame <= Math.max(...checkpoints); frame++) {
    const agents = manyAgents(AGENTS).map((a, i) => ({ ...a, pane: a.pane && { ...a.pane, idleSeconds: frame * 7 + i } }));
    const before = rendered;
    store.getState().applySnapshot(makeSnapshot(agents));
    while (rendered === before) await new Promise((r) => setImmediate(r));
    if (checkpoints.includes(frame)) out[`after${frame}FramesMB`] = Number((heapMB() - start).toFixed(1));
  }
  instance.unmount();
  out.measureCacheEntries = measure.measureTextCacheSize?.() ?? -1;
  return out;
}

/**
 * The console's CPU per agent count (`MT_BENCH_AGENTS`, default `100,1000`; 1,000 on 4
 * sockets), push on and push forced off (`MOSAIC_TOP_NO_PUSH=1`), as process CPU time over
 * MT_BENCH_SECONDS, and the same for `MT_BENCH_BASE` (a built checkout of older code) in the
 * same run, interleaved per count so a shared machine's load hits both alike. The load average
 * is printed with the figures. `MT_BENCH_PROFILE=<dir>`: each run also writes a `--cpu-prof`
 * profile there (summarise with dist/test/bench/profile-summary.js).
 */
async function benchCpuPerAgentCount(): Promise<void> {
  const counts = (process.env.MT_BENCH_AGENTS ?? '100,1000').split(',').map(Number);
  const base = process.env.MT_BENCH_BASE ? path.resolve(process.env.MT_BENCH_BASE) : null;
  const profileRoot = process.env.MT_BENCH_PROFILE ? path.resolve(process.env.MT_BENCH_PROFILE) : null;
  const seconds = Number(process.env.MT_BENCH_SECONDS ?? 30);
  const codes = [{ code: 'this', bin }, ...(base ? [{ code: 'base', bin: path.join(base, 'bin', 'mosaic-top') }] : [])];
  // MT_BENCH_ROUNDS: runs of each (code, push) per count, interleaved (default 1).
  const rounds = Math.max(1, Number(process.env.MT_BENCH_ROUNDS ?? 1));
  // MT_BENCH_PUSH=on|off: only that mode (default both).
  const pushModes = process.env.MT_BENCH_PUSH === 'on' ? [true] : process.env.MT_BENCH_PUSH === 'off' ? [false] : [true, false];
  // MT_BENCH_SPEND=on|off|both: the spend meter on (default), off (MOSAIC_TOP_SPEND=off) or each.
  const spendModes = process.env.MT_BENCH_SPEND === 'both' ? [true, false] : [process.env.MT_BENCH_SPEND !== 'off'];
  const rows: Record<string, string | number>[] = [];
  const load = () =>
    os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  for (const n of counts) {
    const fleet = makeLiveFleet(n, n >= 1000 ? 4 : 1);
    try {
      for (let round = 1; round <= rounds; round++)
        for (const push of pushModes)
          for (const spend of spendModes) {
            for (const { code, bin: b } of codes) {
              const profileDir = profileRoot ? path.join(profileRoot, `${code}-${n}-${push ? 'push' : 'poll'}${spend ? '' : '-nospend'}-${round}`) : undefined;
              const loadBefore = load();
              const r = await liveConsoleCpu(fleet, {
                bin: b,
                seconds,
                pathPrefix: fixtureBin,
                env: { MT_SYSTEMCTL_MODE: 'nobus', ...(push ? {} : { MOSAIC_TOP_NO_PUSH: '1' }), ...(spend ? {} : { MOSAIC_TOP_SPEND: 'off' }) },
                profileDir,
              });
              const row = {
                code,
                round,
                agents: n,
                push: push ? 'on' : 'off',
                spend: spend ? 'on' : 'off',
                cpuPctOneCore: Number(r.cpuPct.toFixed(2)),
                cpuMsPerTick: Number((r.cpuMs / (r.seconds / 2)).toFixed(1)),
                childrenPct: Number(r.childrenPct.toFixed(2)),
                seconds: Math.round(r.seconds),
                load: `${loadBefore} → ${load()}`,
              };
              rows.push(row);
              process.stdout.write(`console CPU per agent count: ${JSON.stringify(row)}\n`);
            }
          }
    } finally {
      fleet.close();
    }
  }
  console.table(rows);
}

/**
 * The render path alone (dist/test/bench/render-frames.js): CPU per frame when every age moves
 * and per key press, per agent count (`MT_BENCH_AGENTS`, default `100,1000`), for this code and
 * `MT_BENCH_BASE` interleaved (`MT_BENCH_ROUNDS` pairs, default 3), each in its own process with
 * its own node_modules; the load average printed with the figures.
 */
function benchRenderFrames(): void {
  const counts = (process.env.MT_BENCH_AGENTS ?? '100,1000').split(',').map(Number);
  const base = process.env.MT_BENCH_BASE ? path.resolve(process.env.MT_BENCH_BASE) : null;
  const rounds = Math.max(1, Number(process.env.MT_BENCH_ROUNDS ?? 3));
  const script = path.join(repo, 'dist', 'test', 'bench', 'render-frames.js');
  const codes = [{ code: 'this', root: repo }, ...(base ? [{ code: 'base', root: base }] : [])];
  const load = () =>
    os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  const rows: Record<string, string | number>[] = [];
  for (const n of counts)
    for (let round = 1; round <= rounds; round++)
      for (const { code, root } of codes) {
        const loadBefore = load();
        const out = execFileSync(process.execPath, [script, root, String(n)], { encoding: 'utf8', env: { ...process.env, NODE_ENV: 'production' } });
        const row = { code, round, ...(JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Record<string, number>), load: `${loadBefore} → ${load()}` };
        rows.push(row);
        process.stdout.write(`console render path: ${JSON.stringify(row)}\n`);
      }
  console.table(rows);
}

if (process.env.MT_BENCH_PART === 'frames') {
  benchRenderFrames();
  process.exit(0);
}
if (process.env.MT_BENCH_PART === 'agents') {
  await benchCpuPerAgentCount();
  process.exit(0);
}
// MT_BENCH_LIVE_ONLY=1: only the live console runs (history off/on), e.g. on a loaded machine.
if (process.env.MT_BENCH_LIVE_ONLY !== '1') {
  const render = benchTableRender();
  process.stdout.write(`console table render: ${JSON.stringify(render)}\n`);
  process.stdout.write(
    `console live frame cost (${AGENTS} agents, fast output pass ${fastOutputPass ? 'on' : 'OFF'}): ${JSON.stringify(await benchLiveFrames())}\n`,
  );
  process.stdout.write(`console retained heap over distinct frames (${AGENTS} agents, 160×50): ${JSON.stringify(await benchRetainedHeap())}\n`);
}
// Before/after in one run: history off, then on, twice interleaved (a shared box
// drifts); the same fleet and beats each time. MT_BENCH_ROUNDS sets the number of pairs (default 2).
const rounds = Math.max(1, Number(process.env.MT_BENCH_ROUNDS ?? 2));
const offs: number[] = [];
const ons: number[] = [];
let live: Record<string, number | string> = {};
for (let round = 1; round <= rounds; round++) {
  const liveOff = await benchLiveConsole(false);
  process.stdout.write(`console live (${AGENTS} agents, --interval 2, history off, round ${round}): ${JSON.stringify(liveOff)}\n`);
  live = await benchLiveConsole(true);
  process.stdout.write(`console live (${AGENTS} agents, --interval 2, history on, round ${round}): ${JSON.stringify(live)}\n`);
  offs.push(Number(liveOff.cpuPctOneCore));
  ons.push(Number(live.cpuPctOneCore));
}
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const historyDelta = Number((mean(ons) - mean(offs)).toFixed(2));
process.stdout.write(
  `history cost: ${historyDelta} % of one core (mean on ${mean(ons).toFixed(2)} [${ons.join(', ')}] − mean off ${mean(offs).toFixed(2)} [${offs.join(', ')}]; ${live.transitionsRecorded} transitions recorded in the last run); target ≤ 0.2 % ${historyDelta <= 0.2 ? 'MET' : 'MISSED'}\n`,
);
const cpuOk = Number(live.cpuPctOneCore) <= 2;
const firstOk = Number(live.firstFrameHeaderMs) <= 1500;
process.stdout.write(`targets: cpu ≤ 2% of one core ${cpuOk ? 'MET' : 'MISSED'}; first frame ≤ 1.5 s ${firstOk ? 'MET' : 'MISSED'}\n`);
