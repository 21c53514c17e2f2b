/**
 * Bench harness: a fleet of `sleep` agents on isolated tmux sockets, and the REAL console
 * (`node bin/mosaic-top --interval 2`) watching it from a 200×60 pane of another isolated
 * server. The console's CPU is read as process CPU time (utime+stime of `/proc/<pid>/stat`,
 * never wall time) over a fixed window; its children's (probes' subprocesses) apart. A
 * `profileDir` runs it under `node --cpu-prof` (the profile is written when it quits).
 *
 * Beats are rewritten as live writers would: each agent every 30 s (its `interval=30`), spread
 * over the window, so a watcher has real changes to follow (n/15 files every 2 s).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { tmuxSocketPath } from '../helpers/tmux.js';
import { writeHomeRoster, type TestAgentDef } from '../helpers/roster.js';
import { CLK_TCK, procTimes } from './proc-times.js';
import { at } from '../helpers/must.js';

/**
 * The tmux `new-session` argv that starts the real console in a detached 200×60 session named
 * `console`: `env` as `-e K=V` (TERM=xterm-256color unless given), then the program and
 * `--mosaic-home <home> --interval 2`. Every console bench starts it this way.
 */
export function consoleSessionArgs(program: string[], home: string, env: Record<string, string>): string[] {
  const all = { TERM: 'xterm-256color', ...env };
  return [
    'new-session',
    '-d',
    '-s',
    'console',
    '-x',
    '200',
    '-y',
    '60',
    ...Object.entries(all).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    ...program,
    '--mosaic-home',
    home,
    '--interval',
    '2',
  ];
}

/** `tmux -L <socket> <args>`'s stdout (throws when tmux fails): every bench's own isolated server. */
export function tmux(socket: string, args: string[]): string {
  return execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
}

/** A fleet on disk and in tmux; {@link LiveFleet.close} ends its servers and removes its home. */
export interface LiveFleet {
  home: string;
  names: string[];
  sockets: string[];
  /** Rewrites the beats of agents `from` … `to`-1 (atomic rename, like the writers). */
  writeBeats(from?: number, to?: number): void;
  close(): void;
}

/** `n` agents (`agent0000`…) over `socketCount` sockets, each a live `sleep` pane with a fresh beat. */
export function makeLiveFleet(n: number, socketCount: number): LiveFleet {
  const tag = randomBytes(3).toString('hex');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `mt-live-${n}-`));
  const sockets = Array.from({ length: socketCount }, (_, i) => `mt-live-${tag}-${n}-${i}`);
  const agents: TestAgentDef[] = Array.from({ length: n }, (_, i) => ({
    name: `agent${String(i).padStart(4, '0')}`,
    runtime: 'sleep',
    class: i === 0 ? 'orchestrator' : i === 1 ? 'enhancer' : 'coder',
    socket: sockets[i % socketCount],
  }));
  const names = agents.map((a) => a.name);
  const runDir = path.join(home, 'fleet', 'run');
  const writeBeats = (from = 0, to = n) => {
    const ts = Math.floor(Date.now() / 1000);
    for (let i = from; i < Math.min(to, n); i++) {
      const tmp = path.join(runDir, `.${names[i]}.hb.tmp`);
      fs.writeFileSync(tmp, `v=1\nts=${ts}\nstate=${i % 3 ? 'busy' : 'idle'}\ninterval=30\n`);
      fs.renameSync(tmp, path.join(runDir, `${names[i]}.hb`));
    }
  };
  const close = () => {
    for (const socket of sockets) {
      try {
        execFileSync('tmux', ['-L', socket, 'kill-server'], { stdio: 'ignore' });
      } catch {
        /* not running */
      }
      fs.rmSync(tmuxSocketPath(socket), { force: true });
    }
    fs.rmSync(home, { recursive: true, force: true });
  };
  try {
    writeHomeRoster(home, at(sockets, 0), agents, '_holder');
    for (const socket of sockets) tmux(socket, ['new-session', '-d', '-s', '_holder', 'sleep', '86400']);
    // One tmux call creates many sessions (`;`-separated): 1,000 calls would take longer than the bench.
    for (const socket of sockets) {
      const own = agents.filter((a) => a.socket === socket);
      for (let i = 0; i < own.length; i += 100) {
        tmux(
          socket,
          own.slice(i, i + 100).flatMap((a, k) => [...(k ? [';'] : []), 'new-session', '-d', '-s', a.name, 'sleep', '86400']),
        );
      }
    }
    writeBeats();
  } catch (error) {
    close();
    throw error;
  }
  return { home, names, sockets, writeBeats, close };
}

async function until(test: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Options of {@link liveConsoleCpu}. */
export interface LiveConsoleOptions {
  /** The `bin/mosaic-top` to run (another checkout's for a side-by-side figure). */
  bin: string;
  /** Measuring window, seconds. */
  seconds: number;
  /** Extra environment of the console (`MOSAIC_TOP_NO_PUSH=1`, …). */
  env?: Record<string, string>;
  /** Seconds after the first frame with agents before measuring (module loading, first parses). */
  warmSeconds?: number;
  /** Write a `--cpu-prof` profile of the whole run into this dir. */
  profileDir?: string;
  /** PATH prefix (the fixture `systemctl`). */
  pathPrefix?: string;
}

/** What {@link liveConsoleCpu} measured: % of one core, CPU time over the window. */
export interface LiveConsoleCpu {
  cpuPct: number;
  childrenPct: number;
  cpuMs: number;
  seconds: number;
}

/** Runs the console on `fleet` and measures its CPU time over `seconds` (beats rewritten meanwhile), then quits it with `q`. */
export async function liveConsoleCpu(fleet: LiveFleet, opts: LiveConsoleOptions): Promise<LiveConsoleCpu> {
  const ui = `mt-live-ui-${randomBytes(3).toString('hex')}`;
  const env: Record<string, string> = {
    ...(opts.env ?? {}),
    TERM: 'xterm-256color',
    PATH: `${opts.pathPrefix ? `${opts.pathPrefix}:` : ''}${process.env.PATH}`,
  };
  // --cpu-prof is refused in NODE_OPTIONS: node runs the bin itself (with the bin's own flag).
  const program = opts.profileDir ? [process.execPath, '--no-memory-reducer', '--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`, opts.bin] : [opts.bin];
  const first = at(fleet.names, 0, 'agent');
  let beats: NodeJS.Timeout | null = null;
  try {
    tmux(ui, consoleSessionArgs(program, fleet.home, env));
    const capture = () => tmux(ui, ['capture-pane', '-p', '-t', '=console:0.0']);
    await until(() => capture().includes(first), 90_000, 'console shows agents');
    // Writers with a 30 s interval: one fifteenth of the fleet every 2 s.
    const slice = Math.max(1, Math.ceil(fleet.names.length / 15));
    let at = 0;
    beats = setInterval(() => {
      fleet.writeBeats(at, at + slice);
      at = at + slice >= fleet.names.length ? 0 : at + slice;
    }, 2000);
    await new Promise((r) => setTimeout(r, (opts.warmSeconds ?? 8) * 1000));
    const pid = Number(tmux(ui, ['display-message', '-p', '-t', '=console:0.0', '#{pane_pid}']).trim());
    const t0 = procTimes(pid);
    const w0 = performance.now();
    await new Promise((r) => setTimeout(r, opts.seconds * 1000));
    const t1 = procTimes(pid);
    const wall = (performance.now() - w0) / 1000;
    if (opts.profileDir) {
      tmux(ui, ['send-keys', '-t', '=console:0.0', 'q']);
      await until(() => !fs.existsSync(`/proc/${pid}`), 20_000, 'console to quit');
    }
    const cpuMs = ((t1.own - t0.own) / CLK_TCK) * 1000;
    return {
      cpuPct: (cpuMs / 1000 / wall) * 100,
      childrenPct: ((t1.children - t0.children) / CLK_TCK / wall) * 100,
      cpuMs,
      seconds: wall,
    };
  } finally {
    if (beats) clearInterval(beats);
    try {
      execFileSync('tmux', ['-L', ui, 'kill-server'], { stdio: 'ignore' });
    } catch {
      /* gone */
    }
    fs.rmSync(tmuxSocketPath(ui), { force: true });
  }
}
