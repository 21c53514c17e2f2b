/**
 * Faults: failures that used to pass without a word. `--notify` given more attention
 * transitions at once than commands may run: every one is delivered once (they wait their
 * turn), and an overflow of the queue comes as ONE summary naming each; a roster that turns
 * invalid, then disappears, while `events --follow --json` runs: said once each on stderr and
 * as an `error` record in the stream. Needs a build.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TRANSITION_SCHEMA, type Transition } from '../../src/transitions/diff.js';
import { createNotifyRunner } from '../../src/transitions/notify.js';
import { BIN } from '../helpers/bin.js';
import { writeHomeRoster } from '../helpers/roster.js';
import { waitFor } from '../helpers/tmux.js';
import { freshHome } from './harness.js';
import { must } from '../helpers/must.js';

/** An attention transition of `agent` into `to`. */
function transition(agent: string, to = 'dead'): Transition {
  return {
    schema: TRANSITION_SCHEMA,
    kind: 'readiness',
    scope: 'agent',
    agent,
    host: null,
    from: 'working',
    to,
    at: new Date().toISOString(),
    evidence: [],
    attention: true,
  };
}

describe('faults: silent failures', () => {
  const homes: string[] = [];
  let child: ChildProcess | null = null;
  afterEach(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    child = null;
    for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
  });
  const home = () => {
    const h = freshHome('mt-fault-silent-');
    homes.push(h.home);
    return h;
  };
  /** A notify command that takes a moment, then appends `<agent> <to>` to `log`. */
  const slowLogger = (dir: string, log: string) => {
    const file = path.join(dir, 'notify.sh');
    fs.writeFileSync(file, `#!/bin/sh\nsleep 0.2\nprintf '%s %s\\n' "$1" "$2" >> '${log}'\n`, { mode: 0o755 });
    return file;
  };

  it('--notify: 9 attention transitions in one tick, 4 commands at once: each delivered exactly once', async () => {
    const { home: h } = home();
    const log = path.join(h, 'notify.log');
    const problems: string[] = [];
    const runner = createNotifyRunner({ command: slowLogger(h, log), output: 'ignore', onProblem: (l) => problems.push(l) });
    const agents = Array.from({ length: 9 }, (_, i) => `a${i}`);
    for (const a of agents) runner.notify(transition(a));
    await runner.idle();
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n').sort();
    expect(lines).toEqual(agents.map((a) => `${a} dead`).sort());
    expect(problems).toEqual([]);
  });

  it('--notify: an overflow of the queue is sent as ONE summary naming every transition in it', async () => {
    const { home: h } = home();
    const log = path.join(h, 'notify.log');
    const runner = createNotifyRunner({ command: slowLogger(h, log), output: 'ignore', maxInFlight: 2, maxQueued: 2 });
    for (let i = 0; i < 7; i++) runner.notify(transition(`b${i}`, 'stale'));
    await runner.idle();
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
    // 2 running + 2 queued delivered one by one, then one summary for the 3 others.
    expect(lines.filter((l) => /^b\d stale$/.test(l))).toHaveLength(4);
    const summary = lines.filter((l) => l.startsWith('fleet '));
    expect(summary).toHaveLength(1);
    for (const i of [4, 5, 6]) expect(summary[0]).toContain(`b${i} → stale`);
    expect(lines).toHaveLength(5);
  });

  it('events --follow --json: a roster that turns invalid, then disappears, is said once each (stderr and an error record)', async () => {
    const { home: h, env } = home();
    writeHomeRoster(h, null, [{ name: 'c1', runtime: 'sleep' }]);
    const roster = path.join(h, 'fleet', 'roster.yaml');
    const proc = spawn(process.execPath, [BIN, '--mosaic-home', h, 'events', '--follow', '--json', '--interval', '0.3'], {
      env: { ...env, MOSAIC_TOP_EVENTS_TRACE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let out = '';
    let err = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
    const ticks = () => [...err.matchAll(/^tick (\d+):/gm)].length;
    await waitFor(() => err.includes('baseline of 1 agents'), 'the baseline', { timeoutMs: 20_000 });
    fs.writeFileSync(roster, 'version: 1\nagents: [\n');
    let at = ticks();
    await waitFor(() => ticks() >= at + 4, '4 ticks with the invalid roster', { timeoutMs: 20_000 });
    const said = () => err.split('\n').filter((l) => l.startsWith('mosaic-top events: roster: '));
    const records = () =>
      out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { error?: string | null })
        .filter((r) => 'error' in r);
    expect(said(), err).toHaveLength(1);
    expect(said()[0]).toContain(roster);
    expect(records()).toHaveLength(1);
    expect(must(records()[0], 'the record').error).toMatch(/^roster: /);
    fs.rmSync(roster);
    at = ticks();
    await waitFor(() => ticks() >= at + 4, '4 ticks without a roster', { timeoutMs: 20_000 });
    expect(said(), err).toHaveLength(2);
    expect(records()).toHaveLength(2);
    proc.kill('SIGTERM');
    await new Promise((resolve) => proc.once('exit', resolve));
  });
});
