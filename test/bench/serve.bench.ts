/**
 * Serve bench (`npm run bench:serve`, runs dist/test/bench/serve.bench.js after `npx tsc -p .`).
 *
 * 1. `/metrics` at 1,000 agents: the Hono app of `mosaic-top serve` (src/serve/app.ts) asked
 *    in process with the token, over a hub whose snapshot changes before every scrape (so each
 *    scrape renders afresh — the cache never helps): p50 / p95 over 200 scrapes, wall and CPU
 *    time (the wall time is what the target means; on a shared machine the CPU time is the
 *    steadier figure). Target ≤ 20 ms p95.
 * 2. CPU at 100 agents (sleep panes on an isolated tmux socket, heartbeats flipping busy/idle
 *    every 10 s): the REAL `mosaic-top serve --interval 2` with ONE SSE client reading the page's
 *    live stream, then the REAL console (`--interval 2`, 200×60 pane) on the same fleet, each for
 *    MT_BENCH_SECONDS (default 30): % of one core from /proc/<pid>/stat (utime+stime). Target:
 *    serve ≤ console + 0.5 %.
 * Cleans up every server and dir.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { consoleSessionArgs, tmux } from './live-fleet.js';
import { randomBytes } from 'node:crypto';
import { parseListen } from '../../src/serve/access.js';
import { createServeApp } from '../../src/serve/app.js';
import type { FleetHub, HubTick } from '../../src/serve/hub.js';
import { makeSnapshot, manyAgents } from '../fixtures/snapshots.js';
import { writeHomeRoster } from '../helpers/roster.js';
import { tmuxSocketPath } from '../helpers/tmux.js';
import { at } from '../helpers/must.js';

const repo = path.resolve(import.meta.dirname, '..', '..', '..');
const bin = path.join(repo, 'bin', 'mosaic-top');
const fixtureBin = path.join(repo, 'test', 'fixtures', 'bin');
const SECONDS = Number(process.env.MT_BENCH_SECONDS ?? 30);
const AGENTS = 100;
const CLK_TCK = 100;

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return at(s, Math.min(s.length - 1, Math.floor((p / 100) * s.length)), 'sample');
}

async function benchMetrics(n = 1000, scrapes = 200): Promise<Record<string, number>> {
  const snapshot = makeSnapshot(manyAgents(n));
  let seq = 0;
  const counts = new Map([
    ['dead', 3],
    ['waiting', 7],
  ]);
  const hub = {
    current: (): HubTick => ({ snapshot, transitions: [], durationSeconds: 0.1, seq: ++seq }),
    recentTransitions: () => [],
    transitionCounts: counts,
    onTick: () => () => {},
    refresh: () => {},
  } as unknown as FleetHub;
  const token = 'b'.repeat(64);
  const { app } = createServeApp({
    hub,
    paths: makeSnapshot([]).paths,
    token,
    tokenFile: '/dev/null',
    // A routable listen: no Host check (in-process requests carry no Host header).
    listen: parseListen('0.0.0.0:8470'),
    readOnly: true,
    metricsOpen: false,
  });
  const scrape = async () => {
    const r = await app.request('/metrics', { headers: { Authorization: `Bearer ${token}` } });
    if (r.status !== 200) throw new Error(`/metrics answered ${r.status}: ${await r.text()}`);
    return (await r.text()).length;
  };
  for (let i = 0; i < 10; i++) await scrape(); // warm-up
  const samples: number[] = [];
  const cpu: number[] = [];
  let bytes = 0;
  for (let i = 0; i < scrapes; i++) {
    const t = performance.now();
    const c = process.cpuUsage();
    bytes = await scrape();
    const used = process.cpuUsage(c);
    cpu.push((used.user + used.system) / 1000);
    samples.push(performance.now() - t);
  }
  // Wall time suffers from a loaded machine (the load average is printed); CPU time much less.
  return {
    agents: n,
    scrapes,
    p50Ms: Number(pct(samples, 50).toFixed(2)),
    p95Ms: Number(pct(samples, 95).toFixed(2)),
    cpuP50Ms: Number(pct(cpu, 50).toFixed(2)),
    cpuP95Ms: Number(pct(cpu, 95).toFixed(2)),
    bytes,
    loadAverage1m: Number(at(os.loadavg(), 0).toFixed(1)),
  };
}

function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

function writeBeats(runDir: string, names: string[], round: number): void {
  const ts = Math.floor(Date.now() / 1000);
  names.forEach((name, i) => {
    const tmp = path.join(runDir, `.${name}.hb.tmp`);
    fs.writeFileSync(tmp, `v=1\nts=${ts}\nstate=${(i + round) % 3 ? 'busy' : 'idle'}\ninterval=30\n`);
    fs.renameSync(tmp, path.join(runDir, `${name}.hb`));
  });
}

async function measure(pid: number): Promise<number> {
  const t0 = cpuTicks(pid);
  const w0 = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  return Number((((cpuTicks(pid) - t0) / CLK_TCK / ((performance.now() - w0) / 1000)) * 100).toFixed(2));
}

/** The real console on `home` in a 200×60 pane of tmux server `uiSocket`; resolves with its pid once it shows agents. */
async function startConsolePane(uiSocket: string, home: string, envPath: string): Promise<number> {
  tmux(uiSocket, consoleSessionArgs([bin], home, { PATH: envPath, MT_SYSTEMCTL_MODE: 'nobus', MOSAIC_TOP_HISTORY: 'off' }));
  const cdeadline = Date.now() + 30_000;
  while (!tmux(uiSocket, ['capture-pane', '-p', '-t', '=console:0.0']).includes('agent000')) {
    if (Date.now() > cdeadline) throw new Error('console did not show agents');
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 2000));
  return Number(tmux(uiSocket, ['display-message', '-p', '-t', '=console:0.0', '#{pane_pid}']).trim());
}

async function benchCpu(): Promise<Record<string, number | string>> {
  const tag = randomBytes(3).toString('hex');
  const fleetSocket = `mt-bench-sfleet-${tag}`;
  const uiSocket = `mt-bench-sui-${tag}`;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-serve-bench-'));
  const runDir = path.join(home, 'fleet', 'run');
  const names = Array.from({ length: AGENTS }, (_, i) => `agent${String(i).padStart(3, '0')}`);
  writeHomeRoster(
    home,
    fleetSocket,
    names.map((name) => ({ name, runtime: 'sleep', class: 'code' })),
    '_holder',
  );
  const env = { ...process.env, PATH: `${fixtureBin}:${process.env.PATH}`, MT_SYSTEMCTL_MODE: 'nobus', MOSAIC_TOP_HISTORY: 'off' };
  let beats: NodeJS.Timeout | null = null;
  const serve = spawn(process.execPath, [bin, '--mosaic-home', home, '--interval', '2', 'serve', '--listen', '127.0.0.1:0'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const sse = new AbortController();
  try {
    tmux(fleetSocket, ['new-session', '-d', '-s', '_holder', 'sleep', '86400']);
    for (const n of names) tmux(fleetSocket, ['new-session', '-d', '-s', n, 'sleep', '86400']);
    let round = 0;
    writeBeats(runDir, names, round);
    beats = setInterval(() => writeBeats(runDir, names, ++round), 10_000);
    let err = '';
    serve.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const deadline = Date.now() + 30_000;
    while (!/listening on (http:\/\/127\.0\.0\.1:\d+)\//.test(err)) {
      if (Date.now() > deadline) throw new Error(`serve did not start: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(err)![1];
    const token = fs.readFileSync(path.join(home, 'fleet', 'serve-token'), 'utf8').trim();
    const res = await fetch(`${url}/api/events?page=1`, { headers: { Authorization: `Bearer ${token}` }, signal: sse.signal });
    let events = 0;
    void (async () => {
      const reader: ReadableStreamDefaultReader<Uint8Array> = res.body!.getReader();
      for (;;) {
        const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
        if (done) break;
        events += (new TextDecoder().decode(value).match(/^event: page$/gm) ?? []).length;
      }
    })();
    await new Promise((r) => setTimeout(r, 4000)); // past the first ticks
    const servePct = await measure(serve.pid!);
    sse.abort();
    serve.kill('SIGTERM');

    const pid = await startConsolePane(uiSocket, home, env.PATH);
    const consolePct = await measure(pid);
    return {
      agents: AGENTS,
      seconds: SECONDS,
      sseClients: 1,
      pageEvents: events,
      serveCpuPctOneCore: servePct,
      consoleCpuPctOneCore: consolePct,
      deltaPct: Number((servePct - consolePct).toFixed(2)),
    };
  } finally {
    sse.abort();
    if (serve.exitCode === null) serve.kill('SIGTERM');
    if (beats) clearInterval(beats);
    for (const socket of [uiSocket, fleetSocket]) {
      try {
        tmux(socket, ['kill-server']);
      } catch {
        /* not running */
      }
      fs.rmSync(tmuxSocketPath(socket), { force: true });
    }
    fs.rmSync(home, { recursive: true, force: true });
  }
}

const metrics = await benchMetrics();
console.log(`serve /metrics (target p95 ≤ 20 ms at 1,000 agents): ${JSON.stringify(metrics)}`);
if (process.env.MT_BENCH_SKIP_CPU !== '1') {
  const cpu = await benchCpu();
  console.log(`serve vs console CPU (target: serve ≤ console + 0.5 % of a core): ${JSON.stringify(cpu)}`);
}
