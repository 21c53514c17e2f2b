/**
 * End-to-end on a REAL `systemd --user` (test/helpers/systemd.ts): `mosaic-top start|stop|restart
 * <agent>`, `restart --all` (order, halting after a unit fails twice), the refusals (working
 * agent, active unit with a dead pane, systemd unavailable) and the events they leave in a real
 * embedded backlog. The real program (`node bin/mosaic-top`, built with `npx tsc -p .`).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopEmbeddedServer } from '../../backlog/client.js';
import { writeHeartbeat } from '../../fleet/heartbeat.js';
import { resolvePaths } from '../../lib/paths.js';
import type { LifecycleResult, RestartAllResult } from '../../src/actions/lifecycle.js';
import type { Snapshot } from '../../src/snapshot/types.js';
import { copyTemplateDataDir } from '../backlog/tiers.js';
import { runBin, type BinResult } from '../helpers/bin.js';
import { runCliInProcess } from '../helpers/cli.js';
import { writeHomeRoster } from '../helpers/roster.js';
import { FIXTURE_BIN, realSystemdUnavailableReason, startTestSystemd, type TestSystemd } from '../helpers/systemd.js';
import { isolatedSocketName } from '../helpers/tmux.js';
import { arrayContaining } from '../helpers/matchers.js';
import { realPartAvailable } from '../helpers/real-parts.js';
import { at, must } from '../helpers/must.js';

const available = realPartAvailable('a real systemd --user', realSystemdUnavailableReason(), 'lifecycle.test.ts');

describe.runIf(available)('fleet lifecycle on a real systemd --user', () => {
  let sd: TestSystemd;
  let home: string;
  let env: NodeJS.ProcessEnv;
  const socket = isolatedSocketName('life');
  const AGENTS = ['boss', 'en1', 'en2'];

  const cli = (args: string[], extra: NodeJS.ProcessEnv = {}): Promise<BinResult> => runBin([...args, '--mosaic-home', home], { ...env, ...extra }, 120_000);
  /**
   * Refusals (their verdict and line, not the process, are the point) run in this process
   * (test/helpers/cli.ts); the actions that change units are the real program's (`cli`).
   */
  const cliIn = (args: string[], extra: NodeJS.ProcessEnv = {}): Promise<BinResult> => runCliInProcess([...args, '--mosaic-home', home], { ...env, ...extra });
  const json = <T>(r: BinResult): T => {
    try {
      return JSON.parse(r.stdout) as T;
    } catch {
      throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
    }
  };
  /** Read-backs (not under test here) run in this process (test/helpers/cli.ts). */
  const readBack = (args: string[]): Promise<BinResult> => runCliInProcess([...args, '--mosaic-home', home], env);
  const snapshot = async (): Promise<Snapshot> => json<Snapshot>(await readBack(['--once', '--json']));
  const panePid = (agent: string): number =>
    Number(execFileSync('tmux', ['-L', socket, 'display-message', '-p', '-t', `=${agent}:0.0`, '#{pane_pid}'], { encoding: 'utf8' }).trim());
  const events = async (): Promise<{ verb: string; actor: string; detail: Record<string, unknown> }[]> => {
    const r = await readBack(['backlog', 'events', '--limit', '200', '--json']);
    expect(r.code, r.stderr).toBe(0);
    return json(r);
  };

  beforeAll(async () => {
    sd = await startTestSystemd('life', socket);
    console.info(`lifecycle.test.ts uses ${sd.description}`);
    await sd.installFleetUnits();
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-life-'));
    env = sd.env({
      ...process.env,
      XDG_CACHE_HOME: path.join(home, 'cache'),
      MOSAIC_BACKLOG_IDLE_EXIT: '30',
      MOSAIC_LINGER_DIR: path.join(home, 'no-linger-dir'),
    });
    delete env.DATABASE_URL;
    delete env.PGLITE_DATA_DIR;
    writeHomeRoster(home, socket, [
      { name: 'boss', runtime: 'sh', class: 'orchestrator' },
      { name: 'en1', runtime: 'sh', class: 'enhancer' },
      { name: 'en2', runtime: 'sh' },
    ]);
    copyTemplateDataDir(path.join(home, 'fleet', 'backlog'));
    for (const a of AGENTS) expect((await sd.systemctl(['start', `mosaic-agent@${a}.service`])).code).toBe(0);
  });

  afterAll(async () => {
    if (home) await stopEmbeddedServer(resolvePaths({ mosaicHome: home }, env), 20_000);
    await sd?.stop();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it('restart <agent>: the unit restarts, a new pane pid comes up, NEEDS-RESTART clears, and the action is an event', async () => {
    execFileSync('tmux', ['-L', socket, 'kill-session', '-t', '=en1']);
    const broken = await snapshot();
    expect(broken.agents.find((a) => a.name === 'en1')).toMatchObject({ readiness: 'dead', flags: arrayContaining(['NEEDS-RESTART']) });

    // start does nothing for an active oneshot unit: refused with the reason, nothing changed.
    const start = await cliIn(['start', 'en1', '--json']);
    expect(start.code).toBe(3);
    expect(json<LifecycleResult>(start).reason).toMatch(/active \(exited\) but the pane is missing: .*use restart/);

    const r = await cli(['restart', 'en1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = json<LifecycleResult>(r);
    expect(result).toMatchObject({ ok: true, outcome: 'done', verb: 'restart', unit: 'mosaic-agent@en1.service' });
    expect(result.before).toMatchObject({ paneDead: null, flags: arrayContaining(['NEEDS-RESTART']) });
    expect(result.after).toMatchObject({ activeState: 'active', paneDead: false });
    expect(result.evidence).toContain('NEEDS-RESTART cleared');
    expect(result.recorded).toMatch(/^backlog event #\d+$/);
    expect(result.after!.panePid).toBe(panePid('en1'));

    // A second restart: a NEW pane pid (the old one ended).
    const old = panePid('en1');
    const again = json<LifecycleResult>(await cli(['restart', 'en1', '--json']));
    expect(again.outcome).toBe('done');
    expect(again.before!.panePid).toBe(old);
    expect(again.after!.panePid).not.toBe(old);
    expect(again.evidence.join('\n')).toContain(`new pane pid ${again.after!.panePid} (was ${old})`);

    const after = await snapshot();
    expect(after.agents.find((a) => a.name === 'en1')!.flags).not.toContain('NEEDS-RESTART');
    const ev = (await events()).filter((e) => e.verb === 'unit-restart' && e.detail.agent === 'en1');
    expect(ev.length).toBeGreaterThanOrEqual(2);
    expect(at(ev, 0).detail).toMatchObject({ outcome: 'done', unit: 'mosaic-agent@en1.service' });
    expect(at(ev, 0).actor).toContain('@');
  });

  it('stop then start: the unit goes inactive and the pane away, then comes back', async () => {
    const stop = await cli(['stop', 'en2']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toMatch(/stop en2: done/);
    expect((await sd.show('mosaic-agent@en2.service')).ActiveState).toBe('inactive');
    const s = await snapshot();
    expect(s.agents.find((a) => a.name === 'en2')).toMatchObject({ readiness: 'dead', unit: { activeState: 'inactive' } });
    expect(s.agents.find((a) => a.name === 'en2')!.flags).not.toContain('NEEDS-RESTART');
    const start = json<LifecycleResult>(await cli(['start', 'en2', '--json']));
    expect(start).toMatchObject({ outcome: 'done', after: { activeState: 'active', paneDead: false } });
    expect(start.after!.panePid).toBe(panePid('en2'));
  });

  it('a working agent is refused unless --force, saying what it would interrupt', async () => {
    const runDir = path.join(home, 'fleet', 'run');
    writeHeartbeat(runDir, 'en1', { state: 'busy', card: 'K9' });
    const pid = panePid('en1');
    const refused = await cliIn(['restart', 'en1']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/restart en1: refused: en1 is working \(card K9; heartbeat state=busy/);
    expect(refused.stderr).toContain('--force');
    expect(panePid('en1')).toBe(pid);
    const forced = json<LifecycleResult>(await cli(['restart', 'en1', '--force', '--json']));
    expect(forced).toMatchObject({ outcome: 'done', forced: true });
    expect(forced.evidence.join('\n')).toMatch(/forced: en1 is working \(card K9/);
    writeHeartbeat(runDir, 'en1', { state: 'idle' });
  });

  it('restart --all: one at a time in roster order, orchestrator last, each with a new pane pid', async () => {
    const pids = Object.fromEntries(AGENTS.map((a) => [a, panePid(a)]));
    const r = await cli(['restart', '--all', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const all = json<RestartAllResult>(r);
    expect(all).toMatchObject({ ok: true, outcome: 'done', order: ['en1', 'en2', 'boss'], halted: null, skipped: [] });
    expect(all.results.map((x) => x.agent)).toEqual(['en1', 'en2', 'boss']);
    for (const x of all.results) {
      expect(x.outcome).toBe('done');
      expect(x.before!.panePid).toBe(pids[x.agent]);
      expect(x.after!.panePid).not.toBe(pids[x.agent]);
    }
    // One at a time: each restart finished before the next began (evidence order = elapsed sums).
    expect(all.recorded).toMatch(/^backlog event #\d+$/);
  });

  it('restart --all halts when a unit fails twice, saying which; the orchestrator is not touched', async () => {
    sd.setAgentFailing('en2', true);
    const bossPid = panePid('boss');
    const r = await cli(['restart', '--all', '--timeout', '30']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/restart --all halted at en2: mosaic-agent@en2\.service failed twice/);
    expect(r.stderr).toMatch(/not attempted boss/);
    expect(r.stdout).toMatch(/restart en1: done/);
    expect(r.stderr).toMatch(/\(attempt 2\) restart en2: failed/);
    expect(panePid('boss')).toBe(bossPid);
    expect((await sd.show('mosaic-agent@en2.service')).ActiveState).toBe('failed');
    const ev = await events();
    const run = ev.find((e) => e.verb === 'unit-restart-all')!;
    expect(run.detail).toMatchObject({ outcome: 'halted', halted: { agent: 'en2' }, notAttempted: ['boss'] });
    sd.setAgentFailing('en2', false);
    const back = json<LifecycleResult>(await cli(['restart', 'en2', '--json']));
    expect(back.outcome).toBe('done');
  });

  it('systemd unavailable: the actions refuse with the reason and change nothing', async () => {
    const pid = panePid('en1');
    const noBus = { PATH: `${FIXTURE_BIN}:${process.env.PATH}`, MT_SYSTEMCTL_MODE: 'nobus' };
    const r = await cliIn(['restart', 'en1', '--json'], noBus);
    expect(r.code).toBe(3);
    expect(json<LifecycleResult>(r).reason).toMatch(/^systemd unavailable: Failed to connect to bus: No medium found; nothing done/);
    const all = await cliIn(['restart', '--all'], noBus);
    expect(all.code).toBe(3);
    expect(all.stderr).toMatch(/restart --all refused: systemd unavailable/);
    const s = json<Snapshot>(await cliIn(['--once', '--json'], noBus));
    expect(must(s.probes.systemd, 'systemd probe').error).toBe('systemd unavailable: Failed to connect to bus: No medium found');
    expect(s.agents.every((a) => a.unit === null)).toBe(true);
    expect(panePid('en1')).toBe(pid);
  });

  it('an unknown agent is refused with the known names', async () => {
    const r = await cliIn(['restart', 'nobody']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/unknown agent "nobody" .*known agents: boss, en1, en2/);
  });
});
