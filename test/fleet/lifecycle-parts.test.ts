/**
 * The pure and file-level parts of the fleet lifecycle work: the roster's `runtimes:` section,
 * lingering (marker dir, loginctl answer, the 30 s cache), the NEEDS-RESTART flag, the order of
 * `restart --all` and what a working agent's refusal says. The real-systemd behaviour is in
 * test/fleet/systemd-real.test.ts and test/e2e/lifecycle.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { subprocessCount } from '../../fleet/exec.js';
import { LingerCache, lingerDir, parseLoginctlLinger, readLinger, readLingerMarker } from '../../fleet/linger.js';
import { agentFlags } from '../../fleet/readiness.js';
import { parseRosterText } from '../../fleet/roster.js';
import { restartOrder, workingInterruption } from '../../src/actions/lifecycle.js';
import { resetCommandFor } from '../../src/actions/reset.js';
import type { AgentRow, UnitInfo } from '../../src/snapshot/types.js';
import { at } from '../helpers/must.js';

const unit = (activeState: string, subState = 'exited', unitFileState = 'enabled'): UnitInfo => ({
  name: 'mosaic-agent@c1.service',
  loadState: 'loaded',
  activeState,
  subState,
  unitFileState,
  mainPid: null,
});
const livePane = {
  target: '=c1:0.0',
  paneId: '%1',
  pid: 10,
  currentCommand: 'sh',
  dead: false,
  deadStatus: null,
  title: '',
  width: 80,
  height: 24,
  idleSeconds: 1,
};

describe('roster runtimes:', () => {
  it('keeps runtimes.<name>.reset_command (and resetCommand), null when absent', () => {
    const r = parseRosterText(
      'runtimes:\n  codex: { reset_command: /clear }\n  claude:\n    resetCommand: /clear\n  pi: {}\n  bare:\nagents:\n  - name: a\n    runtime: codex\n  - name: b\n    runtime: other\n',
      'roster.yaml',
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.roster.runtimes).toEqual({
      codex: { resetCommand: '/clear' },
      claude: { resetCommand: '/clear' },
      pi: { resetCommand: null },
      bare: { resetCommand: null },
    });
    expect(resetCommandFor(r.roster, at(r.roster.agents, 0))).toBe('/clear');
    expect(resetCommandFor(r.roster, at(r.roster.agents, 1))).toBeNull();
  });

  it('a roster without runtimes: has none; wrong types are errors with file:line:column', () => {
    const none = parseRosterText('agents: []\n', 'r.yaml');
    expect(none.ok && none.roster.runtimes).toEqual({});
    const bad = parseRosterText('runtimes:\n  - codex\nagents: []\n', 'r.yaml');
    expect(bad).toEqual({ ok: false, errors: ['r.yaml:2:3: runtimes must be a mapping of runtime name to its settings'] });
    const badCmd = parseRosterText('runtimes:\n  codex:\n    reset_command: 3\nagents: []\n', 'r.yaml');
    expect(badCmd.ok).toBe(false);
    if (!badCmd.ok) expect(badCmd.errors[0]).toMatch(/^r\.yaml:3:20: runtimes\.codex\.reset_command must be a string/);
  });
});

describe('lingering', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-linger-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the marker dir decides: file ⇒ on, dir without it ⇒ off, no dir ⇒ cannot say', () => {
    expect(readLingerMarker(dir, 'alice')).toEqual({ state: 'off', evidence: `no ${path.join(dir, 'alice')}` });
    fs.writeFileSync(path.join(dir, 'alice'), '');
    expect(readLingerMarker(dir, 'alice')).toEqual({ state: 'on', evidence: `${path.join(dir, 'alice')} present` });
    expect(readLingerMarker(path.join(dir, 'nope'), 'alice')).toBeNull();
  });

  it("loginctl's answer: Linger=yes|no, anything else cannot say", () => {
    expect(parseLoginctlLinger('Linger=yes\n')).toBe('on');
    expect(parseLoginctlLinger('Linger=no\n')).toBe('off');
    expect(parseLoginctlLinger('')).toBeNull();
    expect(parseLoginctlLinger('Linger=maybe\n')).toBeNull();
  });

  it('MOSAIC_LINGER_DIR overrides the marker dir when absolute', () => {
    expect(lingerDir({})).toBe('/var/lib/systemd/linger');
    expect(lingerDir({ MOSAIC_LINGER_DIR: dir })).toBe(dir);
    expect(lingerDir({ MOSAIC_LINGER_DIR: 'relative' })).toBe('/var/lib/systemd/linger');
  });

  it('neither the marker dir nor loginctl can say ⇒ unknown with the reason (loginctl missing from PATH)', async () => {
    const saved = process.env.PATH;
    process.env.PATH = dir;
    try {
      const info = await readLinger('alice', { dir: path.join(dir, 'none') });
      expect(info.state).toBe('unknown');
      expect(info.evidence).toMatch(/^cannot tell: no .*none, loginctl: loginctl: not found/);
    } finally {
      process.env.PATH = saved;
    }
  });

  it('the cache asks at most once per 30 s: no subprocess per tick', async () => {
    const cache = new LingerCache('alice', { dir: path.join(dir, 'none') });
    const before = subprocessCount();
    const t0 = Date.now();
    await cache.get({ nowMs: t0 });
    await cache.get({ nowMs: t0 + 2_000 });
    await cache.get({ nowMs: t0 + 29_000 });
    expect(subprocessCount() - before).toBe(1);
    await cache.get({ nowMs: t0 + 30_000 });
    expect(subprocessCount() - before).toBe(2);
  });
});

describe('NEEDS-RESTART', () => {
  it('unit active or activating and the pane gone ⇒ flagged with the restart command', () => {
    const f = agentFlags({ pane: null, process: null, unit: unit('active'), claimExpired: false, paneGone: true });
    expect(f.flags).toEqual(['NEEDS-RESTART']);
    expect(f.evidence[0]).toBe(
      'NEEDS-RESTART: mosaic-agent@c1.service active (exited) but the pane is missing: systemd will not bring it back (mosaic-top restart c1)',
    );
    expect(
      agentFlags({ pane: { ...livePane, dead: true }, process: null, unit: unit('activating', 'start'), claimExpired: false, paneGone: true }).flags,
    ).toEqual(['NEEDS-RESTART']);
  });

  it('not raised for a live pane, an unprobed pane, an inactive/failed unit, or no unit', () => {
    expect(agentFlags({ pane: livePane, process: null, unit: unit('active'), claimExpired: false, paneGone: false }).flags).toEqual([]);
    expect(agentFlags({ pane: null, process: null, unit: unit('active'), claimExpired: false }).flags).toEqual([]);
    expect(agentFlags({ pane: null, process: null, unit: unit('inactive', 'dead'), claimExpired: false, paneGone: true }).flags).toEqual([]);
    expect(agentFlags({ pane: null, process: null, unit: unit('failed', 'failed'), claimExpired: false, paneGone: true }).flags).toEqual([]);
    expect(agentFlags({ pane: null, process: null, unit: null, claimExpired: false, paneGone: true }).flags).toEqual([]);
  });
});

describe('restart --all order and working refusals', () => {
  it('roster order, orchestrators last', () => {
    expect(
      restartOrder([
        { name: 'boss', class: 'orchestrator' },
        { name: 'e1', class: 'enhancer' },
        { name: 'c1', class: null },
        { name: 'boss2', class: 'orchestrator' },
      ]),
    ).toEqual(['e1', 'c1', 'boss', 'boss2']);
  });

  it('a working agent: names its card and heartbeat state; other readiness: nothing to interrupt', () => {
    const row = {
      name: 'c1',
      readiness: 'working',
      evidence: ['heartbeat 3s old, state=busy'],
      claim: null,
      heartbeat: { state: 'busy', card: 'A3' },
    } as unknown as AgentRow;
    expect(workingInterruption(row)).toBe('c1 is working (card A3; heartbeat state=busy; heartbeat 3s old, state=busy)');
    expect(workingInterruption({ ...row, claim: { cardId: 'B7', title: '', secondsLeft: 60 } })).toMatch(/^c1 is working \(card B7;/);
    expect(workingInterruption({ ...row, readiness: 'available' })).toBeNull();
    expect(workingInterruption({ ...row, readiness: 'waiting', evidence: ['permission: Bash'] })).toBe(
      'c1 is waiting (card A3; heartbeat state=busy; permission: Bash)',
    );
  });
});

describe('events view digest of lifecycle events', () => {
  it('unit-restart: agent, outcome, old → new pane pid, reason; restart --all: outcome and where it halted', async () => {
    const { eventSummary } = await import('../../src/view/event-rows.js');
    expect(eventSummary('unit-restart', { agent: 'c1', outcome: 'done', before: { panePid: 11 }, after: { panePid: 22 }, reason: null, forced: true })).toBe(
      'c1 done pane 11 → 22 (forced)',
    );
    expect(eventSummary('unit-stop', { agent: 'c1', outcome: 'refused', reason: 'systemd unavailable: no bus' })).toBe(
      'c1 refused — systemd unavailable: no bus',
    );
    expect(eventSummary('unit-restart-all', { outcome: 'halted', halted: { agent: 'c2', reason: 'failed twice' }, order: ['c1', 'c2', 'boss'] })).toBe(
      'halted at c2 — failed twice order c1,c2,boss',
    );
  });
});
