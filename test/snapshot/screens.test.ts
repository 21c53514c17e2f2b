/**
 * Screens in the snapshot: real tmux panes showing the real runtimes' captured
 * screens (test/fixtures/screens), read by collectSnapshot with the shipped screen rules and
 * combined with real heartbeat files; and what the reads cost in subprocesses per tick.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { subprocessCount } from '../../fleet/exec.js';
import { writeHeartbeat } from '../../fleet/heartbeat.js';
import { RosterCache } from '../../fleet/roster.js';
import { ScreenReader } from '../../fleet/screen-probe.js';
import { classifyScreen } from '../../fleet/screen.js';
import { ScreenRulesCache, screenRulesOverridePath } from '../../fleet/screen-rules-file.js';
import { resolvePaths, type MosaicPaths } from '../../lib/paths.js';
import { collectSnapshot } from '../../src/snapshot/collect.js';
import type { Snapshot } from '../../src/snapshot/types.js';
import { agentRow as row } from '../fixtures/snapshots.js';
import { writeTestRoster, type TestAgentDef } from '../helpers/roster.js';
import { snapshotValidator } from '../helpers/schema.js';
import { startIsolatedTmux, waitFor, type IsolatedTmux } from '../helpers/tmux.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE_BIN = path.resolve(HERE, '..', 'fixtures', 'bin');
const SCREENS = path.resolve(HERE, '..', 'fixtures', 'screens');
const ORIGINAL_PATH = process.env.PATH;

describe('screens in the snapshot (real tmux, shipped screen rules)', () => {
  let tmux: IsolatedTmux;
  let home: string;
  let paths: MosaicPaths;

  /** A pane that shows a captured runtime screen and then stays (the screen does not move); its env file says it runs sleep (no DRIFT). */
  const showScreen = (name: string, fixture: string) => {
    fs.mkdirSync(paths.agentsDir, { recursive: true });
    fs.writeFileSync(path.join(paths.agentsDir, `${name}.env`), 'MOSAIC_AGENT_COMMAND=sleep 600\n');
    return tmux.newSession(name, ['sh', '-c', `cat '${path.join(SCREENS, `${fixture}.txt`)}'; exec sleep 600`], { width: 120, height: 40 });
  };
  const writeRoster = (agents: TestAgentDef[]) => writeTestRoster(paths.roster, paths.runDir, tmux.socket, agents);

  beforeEach(async () => {
    tmux = await startIsolatedTmux('screens');
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-screens-'));
    paths = resolvePaths({ mosaicHome: home }, {});
    const fixture = path.join(home, 'systemctl.txt');
    fs.writeFileSync(fixture, '');
    process.env.PATH = `${FIXTURE_BIN}:${ORIGINAL_PATH}`;
    process.env.MT_SYSTEMCTL_FIXTURE = fixture;
    process.env.XDG_CACHE_HOME = path.join(home, 'cache');
  });
  afterEach(async () => {
    await tmux.stop();
    fs.rmSync(home, { recursive: true, force: true });
    process.env.PATH = ORIGINAL_PATH;
    delete process.env.MT_SYSTEMCTL_FIXTURE;
    delete process.env.XDG_CACHE_HOME;
  });

  it('idle, busy, a permission prompt, a 429: available, working, waiting, stuck + LIMITED, with the screen in evidence and the row', async () => {
    writeRoster([
      { name: 'cidle', runtime: 'claude', class: 'orchestrator' },
      { name: 'cbusy', runtime: 'claude', class: 'enhancer' },
      { name: 'cperm', runtime: 'claude' },
      { name: 'climit', runtime: 'claude' },
      { name: 'xperm', runtime: 'codex' },
      { name: 'plain', runtime: 'sleep' },
    ]);
    await showScreen('cidle', 'claude-idle');
    await showScreen('cbusy', 'claude-busy');
    await showScreen('cperm', 'claude-permission');
    await showScreen('climit', 'claude-error-429');
    await showScreen('xperm', 'codex-permission');
    await tmux.newSession('plain', ['sleep', '600']);
    // The hooks' beats: cbusy's turn started, climit's turn failed (StopFailure), cperm's PermissionRequest.
    writeHeartbeat(paths.runDir, 'cbusy', { state: 'busy' });
    writeHeartbeat(paths.runDir, 'climit', { state: 'stuck', reason: 'rate limited (429)' });
    writeHeartbeat(paths.runDir, 'cperm', { state: 'waiting', reason: 'permission: Bash echo hi > proto.txt' });

    const screenReader = new ScreenReader();
    let s: Snapshot | null = null;
    await waitFor(
      async () => {
        s = await collectSnapshot({ paths, includeBacklog: false, screenReader });
        return ['cidle', 'cbusy', 'cperm', 'climit', 'xperm'].every((n) => row(s!, n).screen && row(s!, n).screen!.state !== 'unknown');
      },
      'every pane read',
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    const snap = s!;
    // The screen decided (no hooks: no beat).
    expect(row(snap, 'cidle')).toMatchObject({
      readiness: 'available',
      evidence: ['screen: idle at the input line [claude@>=2.1.198]', 'no heartbeat file'],
      screen: { state: 'idle', inputText: '' },
    });
    expect(row(snap, 'cbusy').readiness).toBe('working');
    const perm = row(snap, 'cperm');
    expect(perm.readiness).toBe('waiting');
    expect(perm.evidence[0]).toBe('screen: permission prompt Bash echo hi > proto.txt [claude@>=2.1.198]');
    expect(perm.evidence[1]).toMatch(/^heartbeat \d+s old, state=waiting \(permission: Bash echo hi > proto\.txt\)/);
    const fixtureId = classifyScreen('claude', null, fs.readFileSync(path.join(SCREENS, 'claude-permission.txt'), 'utf8')).prompt!.id;
    expect(perm.screen).toMatchObject({ state: 'waiting', prompt: { kind: 'permission', tool: 'Bash', detail: 'echo hi > proto.txt', id: fixtureId } });
    const limit = row(snap, 'climit');
    expect(limit).toMatchObject({ readiness: 'stuck', flags: ['LIMITED'], screen: { state: 'error', error: { kind: 'rate_limit' } } });
    expect(limit.evidence[0]).toMatch(/^screen: rate limited: API Error: Request rejected \(429\)/);
    expect(row(snap, 'xperm')).toMatchObject({ readiness: 'waiting', screen: { prompt: { tool: 'shell', detail: 'echo hi > proto.txt' } } });
    // A runtime without rules is not read.
    expect(row(snap, 'plain').screen).toBeUndefined();
    expect(snap.fleet.counts).toMatchObject({ waiting: 2, stuck: 1, working: 1, available: 1, unknown: 1 });
    // Both floor agents are up; the waiting/stuck ones would not count.
    expect(snap.fleet.floor.ok).toBe(true);
    expect(snap.probes.screens).toMatchObject({ ok: true, error: null });
    const validate = snapshotValidator();
    expect(validate(JSON.parse(JSON.stringify(snap))), JSON.stringify(validate.errors)).toBe(true);
  });

  it('a bad <home>/fleet/screen-rules.yaml: one error with file:line in the snapshot, the shipped rules still read the screens', async () => {
    writeRoster([{ name: 'cperm', runtime: 'claude' }]);
    await showScreen('cperm', 'claude-permission');
    const file = screenRulesOverridePath(home);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, "version: 1\nruntimes:\n  - runtime: claude\n    idle: ['[']\n    busy: []\n");
    const s = await collectSnapshot({ paths, includeBacklog: false, screenRules: new ScreenRulesCache(file) });
    const why = `${file}:4: runtimes[0].idle[0]: Invalid regular expression: /[/: Unterminated character class — the shipped screen rules stay in use`;
    expect(s.probes.screens).toMatchObject({ ok: false, error: why });
    expect(s.errors).toContain(why);
    expect(row(s, 'cperm')).toMatchObject({ readiness: 'waiting', screen: { rules: 'claude@>=2.1.198' } });
  });

  it('subprocesses per snapshot with screen rules on: ≤ one capture call per socket per tick, none in steady state (5 vs 50 agents)', async () => {
    const ticks = async (n: number) => {
      const agents = Array.from({ length: n }, (_, i) => ({ name: `c${n}x${i}`, runtime: 'claude' }));
      writeRoster(agents);
      for (const a of agents) await showScreen(a.name, 'claude-idle');
      const rosterCache = new RosterCache(paths.roster);
      const screenReader = new ScreenReader(); // one per poller, as the console keeps it
      const perTick: number[] = [];
      const tick = async () => {
        const before = subprocessCount();
        const s = await collectSnapshot({ paths, rosterCache, screenReader, includeBacklog: false });
        perTick.push(subprocessCount() - before);
        return s;
      };
      // The first tick reads at most maxPerTick (8) panes, in one capture call.
      const first = await tick();
      expect(first.agents.filter((a) => a.screen).length).toBe(Math.min(n, screenReader.maxPerTick));
      // Later ticks rotate through the rest; once nothing moves, a tick captures nothing.
      await waitFor(
        async () => {
          const s = await tick();
          return s.agents.every((a) => a.readiness === 'available' && a.screen?.state === 'idle') && perTick[perTick.length - 1] === 2;
        },
        `steady state with ${n} agents`,
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      // A full read of every pane (a reader with no per-tick bound) still costs a handful of
      // calls: tmux refuses one command line over its message size, so batches are cut at ~40 panes.
      const before = subprocessCount();
      const all = await collectSnapshot({ paths, rosterCache, screenReader: new ScreenReader({ maxPerTick: n }), includeBacklog: false });
      expect(all.agents.every((a) => a.screen?.state === 'idle')).toBe(true);
      expect(subprocessCount() - before).toBeLessThanOrEqual(2 + Math.ceil(n / 40));
      return perTick;
    };
    const five = await ticks(5);
    const fifty = await ticks(50);
    // list-panes + systemctl, plus at most one batched capture-pane (one socket) on any tick.
    for (const n of [...five, ...fifty]) expect(n === 2 || n === 3).toBe(true);
    expect(five[0]).toBe(3);
    expect(fifty[0]).toBe(3);
    expect(five[five.length - 1]).toBe(2);
    expect(fifty[fifty.length - 1]).toBe(2);
    // 50 agents need ⌈50/8⌉ reading ticks at least; the cost per tick stays the same.
    expect(fifty.filter((n) => n === 3).length).toBeGreaterThanOrEqual(Math.ceil(50 / 8));
  });
});
