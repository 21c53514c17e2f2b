/**
 * Snapshot benchmark (`npm run bench:snapshot`, after `npx tsc -p .`): real tmux fleets of
 * 10, 50, 100 and 200 sessions on an isolated socket. Per size it prints the median collection
 * time of `collectSnapshot` versus a baseline that probes each agent separately the way
 * upstream's `fleet ps` did (per-agent `list-panes -t`, per-agent `systemctl show`, per-agent
 * heartbeat read), their ratio, subprocesses per snapshot, and the median whole-process wall
 * time of `node bin/mosaic-top --once --json` (warm: parsed roster cached; cold: first run after
 * a roster edit). Targets at 100 agents: ≥ 10× faster than the
 * baseline, `--once --json` < 300 ms.
 *
 * Screen rules: every pane shows Claude Code's idle screen; the same fleet under a
 * roster that says `runtime: claude` is collected with screen reads on — `screens cold` (a fresh
 * reader per snapshot, like `--once`: up to 8 panes captured in one call), `screens all` (every
 * pane captured in the one call: the cost of a full read) and `screens steady` (the console's
 * reader once nothing moves: no capture) — beside `collector ms` (runtime `sleep`: no rules).
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runProbe, subprocessCount, tmuxSocketArgs } from '../../fleet/exec.js';
import { readHeartbeat, writeHeartbeat } from '../../fleet/heartbeat.js';
import { RosterCache } from '../../fleet/roster.js';
import { agentUnitName } from '../../fleet/systemd.js';
import { LIST_PANES_FORMAT, parseListPanes } from '../../fleet/tmux.js';
import { resolvePaths, type MosaicPaths } from '../../lib/paths.js';
import { collectSnapshot } from '../../src/snapshot/collect.js';
import { ScreenReader } from '../../fleet/screen-probe.js';
import { at } from '../helpers/must.js';

const execFileAsync = promisify(execFile);
// dist/test/bench/snapshot.bench.js ⇒ package root is three levels up.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = path.join(ROOT, 'bin', 'mosaic-top');

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? at(s, m, 'sample') : (at(s, m - 1, 'sample') + at(s, m, 'sample')) / 2;
}

/**
 * Upstream-style baseline: every agent probed on its own, one after another. It spawns through
 * the same runProbe as the collector, so the ratio measures the call pattern, not the spawner.
 */
async function baselineSnapshot(paths: MosaicPaths, socket: string, names: string[]): Promise<number> {
  const now = Date.now() / 1000;
  let found = 0;
  for (const name of names) {
    const panes = await runProbe('tmux', [...tmuxSocketArgs(socket), 'list-panes', '-t', `=${name}:0`, '-F', LIST_PANES_FORMAT], { timeoutMs: 5000 });
    if (panes.ok) found += parseListPanes(panes.stdout, now).panes.length;
    await runProbe('systemctl', ['--user', 'show', agentUnitName(name), '--property=Id,LoadState,ActiveState,SubState,UnitFileState,MainPID'], {
      timeoutMs: 5000,
    });
    readHeartbeat(paths.runDir, name, now);
  }
  return found;
}

/** The bench's roster (`n` sleep agents on `socket`) and their panes (an idle Claude screen each) and beats. */
function writeSizeFleet(paths: ReturnType<typeof resolvePaths>, socket: string, names: string[]): void {
  fs.mkdirSync(path.dirname(paths.roster), { recursive: true });
  fs.writeFileSync(
    paths.roster,
    [
      'version: 1',
      'tmux:',
      `  socket_name: ${socket}`,
      '  holder_session: _holder',
      'agents:',
      ...names.flatMap((name, i) => [`  - name: ${name}`, '    runtime: sleep', `    class: ${i === 0 ? 'orchestrator' : i === 1 ? 'enhancer' : 'coder'}`]),
    ].join('\n') + '\n',
  );
  const idleScreen = path.join(ROOT, 'test', 'fixtures', 'screens', 'claude-idle.txt');
  for (const name of names) {
    execFileSync('tmux', ['-L', socket, 'new-session', '-d', '-s', name, '-x', '120', '-y', '40', `cat '${idleScreen}'; exec sleep 3600`]);
    writeHeartbeat(paths.runDir, name, { state: 'busy' });
  }
}

/** Median wall ms of `--once --json` on `home`, warm (parsed roster cached) and cold (cache removed first), over `runs`. */
async function onceTimes(home: string, runs: number): Promise<{ warm: number; cold: number }> {
  // `--once` runs with its own cache dir: "warm" = parsed roster cached (the roster did not
  // change since the last run); "cold" = the cache removed before each run (first run after an edit).
  const cacheHome = path.join(home, 'cache');
  const runOnce = async () => {
    const t = performance.now();
    await execFileAsync(process.execPath, [BIN, '--mosaic-home', home, '--once', '--json'], {
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, XDG_CACHE_HOME: cacheHome },
    });
    return performance.now() - t;
  };
  const once: number[] = [];
  const onceCold: number[] = [];
  for (let i = 0; i < runs; i++) {
    fs.rmSync(cacheHome, { recursive: true, force: true });
    onceCold.push(await runOnce());
    once.push(await runOnce());
  }
  return { warm: median(once), cold: median(onceCold) };
}

async function benchSize(n: number, socket: string): Promise<Record<string, string | number>> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `mt-bench-${n}-`));
  const paths = resolvePaths({ mosaicHome: home }, {});
  const names = Array.from({ length: n }, (_, i) => `agent${String(i).padStart(3, '0')}`);
  try {
    writeSizeFleet(paths, socket, names);
    const rosterCache = new RosterCache(paths.roster);
    // Warm up both paths once (module loading, page cache).
    await collectSnapshot({ paths, rosterCache, includeBacklog: false });
    await baselineSnapshot(paths, socket, names);

    const ours: number[] = [];
    let subprocesses = 0;
    for (let i = 0; i < 9; i++) {
      const before = subprocessCount();
      const t = performance.now();
      const s = await collectSnapshot({ paths, rosterCache, includeBacklog: false });
      ours.push(performance.now() - t);
      subprocesses = subprocessCount() - before;
      if (s.agents.filter((a) => a.pane).length !== n) throw new Error(`collector saw ${s.agents.filter((a) => a.pane).length}/${n} panes`);
    }
    const base: number[] = [];
    let baseSubprocesses = 0;
    for (let i = 0; i < 3; i++) {
      const before = subprocessCount();
      const t = performance.now();
      const found = await baselineSnapshot(paths, socket, names);
      base.push(performance.now() - t);
      baseSubprocesses = subprocessCount() - before;
      if (found !== n) throw new Error(`baseline saw ${found}/${n} panes`);
    }
    const onceMs = await onceTimes(home, 9);
    // The same fleet with screen rules on (runtime claude).
    const screensRoster = path.join(home, 'fleet', 'roster-claude.yaml');
    fs.writeFileSync(screensRoster, fs.readFileSync(paths.roster, 'utf8').replace(/runtime: sleep/g, 'runtime: claude'));
    const sPaths = resolvePaths({ mosaicHome: home, roster: screensRoster }, {});
    const sCache = new RosterCache(screensRoster);
    const measure = async (reader: () => ScreenReader, runs: number) => {
      const times: number[] = [];
      let subs = 0;
      let read = 0;
      for (let i = 0; i < runs; i++) {
        const before = subprocessCount();
        const t = performance.now();
        const s = await collectSnapshot({ paths: sPaths, rosterCache: sCache, includeBacklog: false, screenReader: reader() });
        times.push(performance.now() - t);
        subs = subprocessCount() - before;
        read = s.agents.filter((a) => a.screen && a.screen.ageSeconds === 0).length;
      }
      return { ms: median(times), subs, read };
    };
    await measure(() => new ScreenReader(), 1);
    const cold = await measure(() => new ScreenReader(), 9);
    const all = await measure(() => new ScreenReader({ maxPerTick: n }), 5);
    const steadyReader = new ScreenReader({ maxPerTick: n });
    await measure(() => steadyReader, 1);
    // Activity has 1 s resolution: a pane counts as moved in the second of its capture.
    await new Promise((r) => setTimeout(r, 1100));
    await measure(() => steadyReader, 1);
    const steady = await measure(() => steadyReader, 9);

    const o = median(ours);
    const b = median(base);
    return {
      agents: n,
      'collector ms': o.toFixed(1),
      'baseline ms': b.toFixed(1),
      ratio: `${(b / o).toFixed(1)}×`,
      'subprocs/snapshot': subprocesses,
      'baseline subprocs': baseSubprocesses,
      '--once --json ms': onceMs.warm.toFixed(0),
      '--once cold ms': onceMs.cold.toFixed(0),
      'screens cold ms': `${cold.ms.toFixed(1)} (${cold.read} read, ${cold.subs} subprocs)`,
      'screens all ms': `${all.ms.toFixed(1)} (${all.read} read, ${all.subs} subprocs)`,
      'screens steady ms': `${steady.ms.toFixed(1)} (${steady.read} read, ${steady.subs} subprocs)`,
    };
  } finally {
    for (const name of names) execFileSync('tmux', ['-L', socket, 'kill-session', '-t', `=${name}`], { stdio: 'ignore' });
    fs.rmSync(home, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const socket = `mt-bench-${process.pid}`;
  const sizes = process.argv
    .slice(2)
    .map(Number)
    .filter((x) => x > 0);
  execFileSync('tmux', ['-L', socket, 'new-session', '-d', '-s', '_holder', 'sleep 3600']);
  const rows: Record<string, string | number>[] = [];
  try {
    for (const n of sizes.length ? sizes : [10, 50, 100, 200]) {
      rows.push(await benchSize(n, socket));
      process.stderr.write(`bench: ${n} agents done\n`);
    }
  } finally {
    try {
      execFileSync('tmux', ['-L', socket, 'kill-server'], { stdio: 'ignore' });
    } catch {
      // already gone
    }
    fs.rmSync(path.join(process.env.TMUX_TMPDIR || '/tmp', `tmux-${process.getuid?.() ?? 0}`, socket), { force: true });
  }
  console.table(rows);
  process.stdout.write(
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; node ${process.version}, ${os.cpus().length} cpus, tmux ${execFileSync('tmux', ['-V'], { encoding: 'utf8' }).trim()}\n`,
  );
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
