/**
 * `mosaic-top events --follow --json --notify CMD` against a real tmux fleet (own -L socket):
 * a killed pane yields exactly one `→ dead` line within 3 ticks and exactly one notify call; a
 * heartbeat going stale yields one; stdout holds only JSON lines; SIGTERM ends it with 0. Then
 * `events` (no --follow) prints the recorded history and `--once --json` carries `since`
 * (these one-shot verbs run in this process, test/helpers/cli.ts; --follow is the real
 * program, signals and all). Needs a build (`npx tsc -p .`); `npm test` builds first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeHeartbeat } from '../../fleet/heartbeat.js';
import type { Snapshot } from '../../src/snapshot/types.js';
import type { Transition } from '../../src/transitions/diff.js';
import { BIN } from '../helpers/bin.js';
import { runCliInProcess } from '../helpers/cli.js';
import { writeHomeRoster } from '../helpers/roster.js';
import { snapshotValidator } from '../helpers/schema.js';
import { startIsolatedTmux, waitFor, type IsolatedTmux } from '../helpers/tmux.js';
import { readJson } from '../helpers/json.js';
import { at, must } from '../helpers/must.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURE_BIN = path.join(ROOT, 'test', 'fixtures', 'bin');

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function start(args: string[], env: NodeJS.ProcessEnv): Running {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString('utf8');
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Ticks reported so far on stderr (`MOSAIC_TOP_EVENTS_TRACE=1`). */
function ticksOf(stderr: string): number {
  const all = [...stderr.matchAll(/^tick (\d+): (\d+) transitions$/gm)];
  return all.length ? Number(at(all, all.length - 1)[1]) : 0;
}

/** The tick that reported the first transitions after tick `after`. */
function firstTickWithTransitions(stderr: string, after: number): number | null {
  for (const m of stderr.matchAll(/^tick (\d+): (\d+) transitions$/gm)) if (Number(m[1]) > after && Number(m[2]) > 0) return Number(m[1]);
  return null;
}

describe('mosaic-top events (real program, real tmux)', () => {
  let tmux: IsolatedTmux;
  let home: string;
  let running: Running | null = null;
  let beats: NodeJS.Timeout[] = [];
  beforeEach(async () => {
    tmux = await startIsolatedTmux('events');
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-events-'));
  });
  afterEach(async () => {
    for (const b of beats) clearInterval(b);
    beats = [];
    if (running && running.child.exitCode === null) {
      running.child.kill('SIGKILL');
      await running.exited;
    }
    running = null;
    await tmux.stop();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('streams one → dead and one → stale, each notified once; only JSON on stdout; SIGTERM exits 0', async () => {
    const runDir = path.join(home, 'fleet', 'run');
    writeHomeRoster(home, tmux.socket, [
      { name: 'coder1', runtime: 'sleep' },
      { name: 'coder2', runtime: 'sleep' },
    ]);
    await tmux.newSession('coder1', ['sleep', '600']);
    await tmux.newSession('coder2', ['sleep', '600']);
    // Both beat busy every 300 ms until told otherwise.
    const beating = new Set(['coder1', 'coder2']);
    const beat = () => {
      for (const a of beating) writeHeartbeat(runDir, a, { state: 'busy' });
    };
    beat();
    beats.push(setInterval(beat, 300));

    const notifyLog = path.join(home, 'notify.log');
    const script = path.join(home, 'notify.sh');
    fs.writeFileSync(script, `#!/bin/sh\nprintf '%s %s ' "$1" "$2" >> '${notifyLog}'\ncat >> '${notifyLog}'\n`, { mode: 0o755 });

    running = start(['--mosaic-home', home, 'events', '--follow', '--json', '--interval', '0.5', '--notify', script], {
      ...process.env,
      PATH: `${FIXTURE_BIN}:${process.env.PATH}`,
      MOSAIC_HOME: '',
      XDG_CACHE_HOME: home,
      MT_SYSTEMCTL_MODE: 'nobus',
      MOSAIC_HEARTBEAT_STALE_THRESHOLD: '3',
      MOSAIC_TOP_EVENTS_TRACE: '1',
    });
    const r = running;
    await waitFor(() => /baseline of 2 agents \(working 2\)/.test(r.stderr()), `the baseline (stderr: ${r.stderr()})`, { timeoutMs: 60_000 });
    await waitFor(() => ticksOf(r.stderr()) >= 2, 'two ticks', { timeoutMs: 60_000 });
    expect(r.stdout()).toBe(''); // the baseline is no burst

    // A killed pane: exactly one → dead within 3 ticks.
    await tmux.killSession('coder1');
    const killTick = ticksOf(r.stderr());
    const lines = () => r.stdout().split('\n').filter(Boolean);
    await waitFor(() => lines().some((l) => l.includes('"to":"dead"')), 'a → dead line', { timeoutMs: 60_000 });
    // stdout and stderr are two pipes: the tick's trace line may come just after the line.
    const deadTick = await waitFor(() => firstTickWithTransitions(r.stderr(), killTick), 'the trace of the dead tick', { timeoutMs: 30_000 });
    expect(deadTick - killTick).toBeLessThanOrEqual(3);
    // Several ticks later still one line and one notify call.
    await waitFor(() => ticksOf(r.stderr()) >= deadTick + 4, 'four more ticks', { timeoutMs: 60_000 });
    const dead = lines()
      .map((l) => readJson<Transition>(l))
      .filter((t) => t.to === 'dead');
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({
      schema: 'mosaic-top/transition@1',
      kind: 'readiness',
      scope: 'agent',
      agent: 'coder1',
      from: 'working',
      to: 'dead',
      attention: true,
    });
    expect(at(dead, 0).evidence.join(' ')).toContain('no pane =coder1:0.0');
    await waitFor(() => fs.existsSync(notifyLog) && fs.readFileSync(notifyLog, 'utf8').includes('coder1 dead'), 'the notify call', { timeoutMs: 30_000 });
    const afterDead = fs.readFileSync(notifyLog, 'utf8');
    expect(afterDead.match(/coder1 dead /g)).toHaveLength(1);
    // The event came as JSON on stdin, after the arguments.
    expect(JSON.parse(must(afterDead.slice(afterDead.indexOf('coder1 dead ') + 'coder1 dead '.length).split('\n')[0], 'the event line'))).toMatchObject({
      agent: 'coder1',
      to: 'dead',
    });

    // A heartbeat going stale (threshold 3 s): exactly one → stale, notified once.
    beating.delete('coder2');
    await waitFor(() => lines().some((l) => l.includes('"to":"stale"')), 'a → stale line', { timeoutMs: 60_000 });
    const staleTick = await waitFor(() => firstTickWithTransitions(r.stderr(), deadTick), 'the trace of the stale tick', { timeoutMs: 30_000 });
    await waitFor(() => ticksOf(r.stderr()) >= staleTick + 4, 'four more ticks', { timeoutMs: 60_000 });
    await waitFor(() => fs.readFileSync(notifyLog, 'utf8').includes('coder2 stale'), 'the stale notify call', { timeoutMs: 30_000 });
    const all = lines().map((l) => readJson<Transition>(l));
    expect(all.filter((t) => t.to === 'stale')).toHaveLength(1);
    expect(all.filter((t) => t.to === 'stale')[0]).toMatchObject({ agent: 'coder2', from: 'working', attention: true });
    const log = fs.readFileSync(notifyLog, 'utf8');
    expect(log.match(/coder1 dead /g)).toHaveLength(1);
    expect(log.match(/coder2 stale /g)).toHaveLength(1);

    // Only JSON lines on stdout, each a transition.
    for (const l of lines()) expect(readJson<Transition>(l).schema).toBe('mosaic-top/transition@1');
    expect(r.stdout().endsWith('\n')).toBe(true);

    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);

    // Recorded in the run dir's history, owner-only; `events` without --follow prints it.
    const file = path.join(runDir, 'transitions.ndjson');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const env = { ...process.env, PATH: `${FIXTURE_BIN}:${process.env.PATH}`, MOSAIC_HOME: '', XDG_CACHE_HOME: home, MT_SYSTEMCTL_MODE: 'nobus' };
    const recent = await runCliInProcess(['--mosaic-home', home, 'events', '--json'], env);
    expect(recent.code).toBe(0);
    expect(
      recent.stdout
        .trim()
        .split('\n')
        .map((l) => readJson<Transition>(l).to),
    ).toEqual(['dead', 'stale']);
    const readable = await runCliInProcess(['--mosaic-home', home, 'events'], env);
    expect(readable.stdout).toMatch(/coder1 {2}working → dead {2}! {2}no pane =coder1:0\.0/);

    // `--once --json` carries since (coder1 is still dead, since the recorded transition).
    const once = await runCliInProcess(['--mosaic-home', home, '--once', '--json'], { ...env, MOSAIC_HEARTBEAT_STALE_THRESHOLD: '3' });
    const snap = readJson<Snapshot>(once.stdout);
    const validate = snapshotValidator();
    expect(validate(snap), JSON.stringify(validate.errors)).toBe(true);
    expect(snap.agents.find((a) => a.name === 'coder1')?.since).toBe(at(dead, 0).at);
    const table = await runCliInProcess(['--mosaic-home', home, '--once'], env);
    expect(table.stdout).toMatch(/AGENT\s+CLASS\s+RUNTIME\s+READINESS\s+SINCE/);
    expect(table.stdout).toMatch(/coder1\s+-\s+sleep\s+dead\s+\d+s/);
  });

  it('usage: --notify needs --follow; SIGINT ends a follow with exit 0', async () => {
    const env = { ...process.env, PATH: `${FIXTURE_BIN}:${process.env.PATH}`, MOSAIC_HOME: '', XDG_CACHE_HOME: home, MT_SYSTEMCTL_MODE: 'nobus' };
    const bad = await runCliInProcess(['--mosaic-home', home, 'events', '--notify', 'true'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--notify needs --follow');
    const none = await runCliInProcess(['--mosaic-home', home, 'events'], env);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain('no transitions recorded');
    writeHomeRoster(home, tmux.socket, [{ name: 'coder1', runtime: 'sleep' }]);
    running = start(['--mosaic-home', home, 'events', '--follow', '--interval', '0.5'], env);
    const r = running;
    await waitFor(() => r.stderr().includes('baseline of 1 agents'), 'the baseline', { timeoutMs: 60_000 });
    r.child.kill('SIGINT');
    expect(await r.exited).toBe(0);
  });
});
