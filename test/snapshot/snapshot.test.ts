/**
 * collectSnapshot against a real tmux server on an isolated socket, real heartbeat files,
 * real /proc, and the fixture systemctl first on PATH.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { subprocessCount } from '../../fleet/exec.js';
import { writeHeartbeat } from '../../fleet/heartbeat.js';
import { RosterCache } from '../../fleet/roster.js';
import { SystemdBackoff } from '../../fleet/systemd.js';
import type { BacklogSection } from '../../backlog/snapshot.js';
import { resolvePaths, type MosaicPaths } from '../../lib/paths.js';
import { collectSnapshot } from '../../src/snapshot/collect.js';
import { agentRow } from '../fixtures/snapshots.js';
import { snapshotValidator } from '../helpers/schema.js';
import { startIsolatedTmux, waitFor, type IsolatedTmux } from '../helpers/tmux.js';
import { writeTestRoster, type TestAgentDef } from '../helpers/roster.js';
import { stringMatching } from '../helpers/matchers.js';
import { must } from '../helpers/must.js';

const FIXTURE_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'bin');
const ORIGINAL_PATH = process.env.PATH;

function writeRoster(paths: MosaicPaths, socket: string | null, agents: TestAgentDef[], holder = '_keepalive'): void {
  writeTestRoster(paths.roster, paths.runDir, socket, agents, holder);
}

const row = agentRow;

describe('collectSnapshot (real tmux)', () => {
  let tmux: IsolatedTmux;
  let home: string;
  let paths: MosaicPaths;
  let fixture: string;
  const nowS = () => Math.floor(Date.now() / 1000);

  beforeEach(async () => {
    tmux = await startIsolatedTmux('fleet');
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-fleet-'));
    paths = resolvePaths({ mosaicHome: home }, {});
    fixture = path.join(home, 'systemctl.txt');
    fs.writeFileSync(fixture, '');
    process.env.PATH = `${FIXTURE_BIN}:${ORIGINAL_PATH}`;
    process.env.MT_SYSTEMCTL_FIXTURE = fixture;
    process.env.XDG_CACHE_HOME = path.join(home, 'cache');
    delete process.env.MT_SYSTEMCTL_MODE;
  });
  afterEach(async () => {
    await tmux.stop();
    fs.rmSync(home, { recursive: true, force: true });
    process.env.PATH = ORIGINAL_PATH;
    delete process.env.MT_SYSTEMCTL_FIXTURE;
    delete process.env.MT_SYSTEMCTL_MODE;
    delete process.env.XDG_CACHE_HOME;
  });

  it('one agent per readiness state, with evidence; holder and watch viewers excluded; unmanaged listed', async () => {
    writeRoster(paths, tmux.socket, [
      { name: 'gone', runtime: 'sleep', class: 'coder' },
      { name: 'deadpane', runtime: 'sh', class: 'coder' },
      { name: 'nobeat', runtime: 'sleep', class: 'coder' },
      { name: 'old', runtime: 'sleep', class: 'coder' },
      { name: 'busy', runtime: 'sleep', class: 'orchestrator' },
      { name: 'idle', runtime: 'sleep', class: 'enhancer' },
    ]);
    for (const n of ['nobeat', 'old', 'busy', 'idle']) await tmux.newSession(n, ['sleep', '600']);
    await tmux.newSession('deadpane', ['sh', '-c', 'exit 3'], { remainOnExit: true });
    await tmux.newSession('stray', ['sleep', '600']);
    await tmux.newSession('busy-watch-12345', ['sleep', '600']);
    await tmux.newSession('my-watch-list', ['sleep', '600']); // not a viewer name ⇒ unmanaged
    writeHeartbeat(paths.runDir, 'old', { state: 'busy', ts: nowS() - 500 });
    writeHeartbeat(paths.runDir, 'busy', { state: 'busy', card: 'C1', note: 'on it' });
    writeHeartbeat(paths.runDir, 'idle', { state: 'idle' });
    writeHeartbeat(paths.runDir, 'gone', { state: 'busy' });
    await waitFor(async () => (await tmux.ok(['display-message', '-p', '-t', '=deadpane:0.0', '#{pane_dead}'])).trim() === '1', 'deadpane dead');

    const s = await collectSnapshot({ paths, includeBacklog: false });
    expect(Object.fromEntries(s.agents.map((a) => [a.name, a.readiness]))).toEqual({
      gone: 'dead',
      deadpane: 'dead',
      nobeat: 'unknown',
      old: 'stale',
      busy: 'working',
      idle: 'available',
    });
    expect(row(s, 'gone').evidence[0]).toBe(`no pane =gone:0.0 on socket ${tmux.socket}`);
    expect(row(s, 'deadpane').evidence[0]).toMatch(/^pane =deadpane:0\.0 is dead/);
    expect(row(s, 'deadpane').pane?.dead).toBe(true);
    expect(row(s, 'nobeat').evidence[0]).toBe('no heartbeat file');
    expect(row(s, 'old').evidence[0]).toMatch(/^heartbeat 8m[2-5]\ds old > stale threshold 120s$/);
    expect(row(s, 'busy').evidence[0]).toMatch(/^heartbeat \d+s old, state=busy$/);
    expect(row(s, 'busy').heartbeat).toMatchObject({ card: 'C1', note: 'on it', state: 'busy' });
    expect(row(s, 'busy').pane).toMatchObject({ target: '=busy:0.0', currentCommand: 'sleep' });
    expect(row(s, 'busy').pane?.pid).toBeGreaterThan(1);
    expect(s.fleet.counts).toEqual({ dead: 2, waiting: 0, stuck: 0, unknown: 1, stale: 1, working: 1, available: 1 });
    expect(s.unmanaged.map((u) => u.session).sort()).toEqual(['my-watch-list', 'stray']);
    expect(s.unmanaged.find((u) => u.session === 'stray')).toMatchObject({ socket: tmux.socket, panes: 1, currentCommand: 'sleep' });
    expect(s.fleet.floor).toMatchObject({ ok: true, orchestrators: 1, enhancers: 1, reason: null });
    expect(s.fleet.sockets).toEqual([tmux.socket]);
    expect(s.probes[`tmux:${tmux.socket}`]).toMatchObject({ ok: true, error: null });
    expect(s.errors).toEqual([]);
  });

  it('killing a pane between two snapshots flips the agent to dead', async () => {
    writeRoster(paths, tmux.socket, [{ name: 'a1', runtime: 'sleep' }]);
    await tmux.newSession('a1', ['sleep', '600']);
    writeHeartbeat(paths.runDir, 'a1', { state: 'busy' });
    const cache = new RosterCache(paths.roster);
    expect(row(await collectSnapshot({ paths, rosterCache: cache, includeBacklog: false }), 'a1').readiness).toBe('working');
    await tmux.killSession('a1');
    const after = row(await collectSnapshot({ paths, rosterCache: cache, includeBacklog: false }), 'a1');
    expect(after.readiness).toBe('dead');
    expect(after.pane).toBeNull();
  });

  it('DRIFT: expected runtime vs what runs, through a shebang interpreter; .env MOSAIC_AGENT_COMMAND wins', async () => {
    const bin = path.join(home, 'bin');
    fs.mkdirSync(bin);
    const pi = path.join(bin, 'pi');
    fs.writeFileSync(pi, '#!/usr/bin/env node\nsetInterval(() => {}, 1000);\n', { mode: 0o755 });
    writeRoster(paths, tmux.socket, [
      { name: 'realpi', runtime: 'pi' },
      { name: 'canary', runtime: 'pi' },
      { name: 'envcmd', runtime: 'claude' },
    ]);
    fs.mkdirSync(paths.agentsDir, { recursive: true });
    fs.writeFileSync(path.join(paths.agentsDir, 'envcmd.env'), 'MOSAIC_AGENT_COMMAND=sleep 600\n');
    await tmux.newSession('realpi', ['sh', '-c', `${pi}; sleep 600`]);
    await tmux.newSession('canary', ['sh', '-c', 'sleep 600; true']);
    await tmux.newSession('envcmd', ['sleep', '600']);
    // The shell starts node a moment later: wait until the process is visible.
    const s = await waitFor(async () => {
      const snap = await collectSnapshot({ paths, includeBacklog: false });
      return row(snap, 'realpi').process?.seen.includes('pi') ? snap : null;
    }, 'pi visible under the pane');
    expect(row(s, 'realpi').flags).not.toContain('DRIFT');
    expect(row(s, 'realpi').process).toMatchObject({ expected: 'pi', matches: true });
    expect(row(s, 'realpi').process?.seen).toEqual(expect.arrayContaining(['sh', 'node', 'pi']));
    expect(row(s, 'canary').flags).toContain('DRIFT');
    expect(row(s, 'canary').evidence.some((e) => e.startsWith('DRIFT: expected pi, pane runs'))).toBe(true);
    expect(row(s, 'envcmd').process).toMatchObject({ expected: 'sleep', matches: true });
    expect(row(s, 'envcmd').flags).toEqual([]);
  });

  it('systemd states from the fixture: enabled, BOOT-ENABLE, failed, not-found', async () => {
    writeRoster(
      paths,
      tmux.socket,
      ['ok1', 'noboot', 'failed1', 'missing'].map((name) => ({ name, runtime: 'sleep' })),
    );
    for (const n of ['ok1', 'noboot', 'failed1', 'missing']) await tmux.newSession(n, ['sleep', '600']);
    fs.writeFileSync(
      fixture,
      [
        'mosaic-agent@ok1.service loaded active running enabled 101',
        'mosaic-agent@noboot.service loaded active running disabled 102',
        'mosaic-agent@failed1.service loaded failed failed enabled 0',
        'mosaic-tmux-holder.service loaded active exited disabled 0',
      ].join('\n') + '\n',
    );
    const s = await collectSnapshot({ paths, includeBacklog: false });
    expect(row(s, 'ok1').unit).toEqual({
      name: 'mosaic-agent@ok1.service',
      loadState: 'loaded',
      activeState: 'active',
      subState: 'running',
      unitFileState: 'enabled',
      mainPid: 101,
    });
    expect(row(s, 'ok1').flags).toEqual([]);
    expect(row(s, 'noboot').flags).toEqual(['BOOT-ENABLE']);
    expect(row(s, 'failed1').unit?.activeState).toBe('failed');
    expect(row(s, 'failed1').flags).toEqual([]);
    expect(row(s, 'missing').unit).toMatchObject({ loadState: 'not-found', unitFileState: '', mainPid: null });
    expect(s.probes.systemd).toMatchObject({ ok: true, error: null });
    expect(s.fleet.units).toEqual([
      { name: 'mosaic-tmux-holder.service', loadState: 'loaded', activeState: 'active', subState: 'exited', unitFileState: 'disabled', mainPid: null },
    ]);
    expect(s.errors).toContain('BOOT-ENABLE: mosaic-tmux-holder.service active but disabled (will not come back after a reboot)');
  });

  it('systemd unavailable: "Failed to connect to bus", and no systemctl on PATH at all', async () => {
    writeRoster(paths, tmux.socket, [{ name: 'a1', runtime: 'sleep' }]);
    await tmux.newSession('a1', ['sleep', '600']);
    writeHeartbeat(paths.runDir, 'a1', { state: 'idle' });
    process.env.MT_SYSTEMCTL_MODE = 'nobus';
    const s1 = await collectSnapshot({ paths, includeBacklog: false });
    expect(s1.probes.systemd).toMatchObject({ ok: false, error: 'systemd unavailable: Failed to connect to bus: No medium found' });
    expect(row(s1, 'a1')).toMatchObject({ readiness: 'available', unit: null });

    const onlyTmux = path.join(home, 'only-tmux');
    fs.mkdirSync(onlyTmux);
    const tmuxBin = (ORIGINAL_PATH ?? '')
      .split(':')
      .map((d) => path.join(d, 'tmux'))
      .find((f) => fs.existsSync(f))!;
    fs.symlinkSync(tmuxBin, path.join(onlyTmux, 'tmux'));
    process.env.PATH = onlyTmux;
    const s2 = await collectSnapshot({ paths, includeBacklog: false });
    expect(s2.probes.systemd).toMatchObject({ ok: false, error: 'systemd unavailable: no systemctl on PATH' });
    expect(row(s2, 'a1').readiness).toBe('available');
  });

  it("the console's systemd back-off: no bus ⇒ systemctl asked again only after the retry time, still reported unavailable", async () => {
    writeRoster(paths, tmux.socket, [{ name: 'a1', runtime: 'sleep' }]);
    await tmux.newSession('a1', ['sleep', '600']);
    writeHeartbeat(paths.runDir, 'a1', { state: 'idle' });
    const log = path.join(home, 'systemctl.log');
    process.env.MT_SYSTEMCTL_LOG = log;
    const asked = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0);
    try {
      process.env.MT_SYSTEMCTL_MODE = 'nobus';
      const systemdBackoff = new SystemdBackoff(30_000);
      const t0 = Date.now();
      const take = async (now: number) => {
        const before = subprocessCount();
        const s = await collectSnapshot({ paths, includeBacklog: false, systemdBackoff, now });
        return { s, spawned: subprocessCount() - before };
      };
      const first = await take(t0);
      expect(first.spawned).toBe(2); // list-panes + systemctl
      expect(first.s.probes.systemd).toMatchObject({ ok: false, error: 'systemd unavailable: Failed to connect to bus: No medium found' });
      const held = await take(t0 + 2_000);
      expect(held.spawned).toBe(1); // list-panes only
      expect(held.s.probes.systemd).toMatchObject({ ok: false, error: 'systemd unavailable: Failed to connect to bus: No medium found' });
      expect(held.s.errors).toEqual(first.s.errors);
      expect(row(held.s, 'a1')).toMatchObject({ readiness: 'available', unit: null });
      expect(asked()).toBe(1);

      // The bus comes back: seen at the first snapshot after the retry time, and then every tick again.
      delete process.env.MT_SYSTEMCTL_MODE;
      expect(must((await take(t0 + 29_000)).s.probes.systemd, 'systemd probe').ok).toBe(false);
      const back = await take(t0 + 30_000);
      expect(back.spawned).toBe(2);
      expect(back.s.probes.systemd).toMatchObject({ ok: true, error: null });
      expect(row(back.s, 'a1').unit).toMatchObject({ loadState: 'not-found' });
      expect((await take(t0 + 32_000)).spawned).toBe(2);
      expect(asked()).toBe(3);

      // A timeout is not a lasting state: asked again at the next snapshot.
      process.env.MT_SYSTEMCTL_MODE = 'hang';
      const hung = await collectSnapshot({ paths, includeBacklog: false, systemdBackoff, now: t0 + 34_000, probeTimeoutMs: 300 });
      expect(must(hung.probes.systemd, 'systemd probe').error).toBe('systemd unavailable: systemctl: timed out after 300 ms');
      delete process.env.MT_SYSTEMCTL_MODE;
      expect(must((await take(t0 + 36_000)).s.probes.systemd, 'systemd probe').ok).toBe(true);
    } finally {
      delete process.env.MT_SYSTEMCTL_LOG;
    }
  });

  it('a probe that hangs times out and degrades only its columns; an abort ends the probes', async () => {
    writeRoster(paths, tmux.socket, [{ name: 'a1', runtime: 'sleep' }]);
    await tmux.newSession('a1', ['sleep', '600']);
    writeHeartbeat(paths.runDir, 'a1', { state: 'busy' });
    process.env.MT_SYSTEMCTL_MODE = 'hang';
    // 2 s: the same bound limits tmux list-panes, which must still answer on a loaded machine.
    const s = await collectSnapshot({ paths, includeBacklog: false, probeTimeoutMs: 2000 });
    expect(s.probes.systemd).toMatchObject({ ok: false, error: 'systemd unavailable: systemctl: timed out after 2000 ms' });
    expect(row(s, 'a1')).toMatchObject({ readiness: 'working', unit: null });
    expect(row(s, 'a1').pane).not.toBeNull();

    const controller = new AbortController();
    const pending = collectSnapshot({ paths, includeBacklog: false, signal: controller.signal, probeTimeoutMs: 30_000 });
    controller.abort();
    const aborted = await pending;
    expect(must(aborted.probes.systemd, 'systemd probe').error).toBe('systemd unavailable: systemctl: aborted');
  });

  it('no tmux server on the socket: every agent dead, probe says why, no crash', async () => {
    const socket = `${tmux.socket}-none`;
    writeRoster(paths, socket, [
      { name: 'a1', runtime: 'sleep', class: 'orchestrator' },
      { name: 'a2', runtime: 'sleep', class: 'enhancer' },
    ]);
    const s = await collectSnapshot({ paths, includeBacklog: false });
    expect(s.agents.map((a) => a.readiness)).toEqual(['dead', 'dead']);
    expect(s.probes[`tmux:${socket}`]).toMatchObject({ ok: true, error: `tmux: no server on socket ${socket}` });
    expect(s.fleet.floor).toMatchObject({ ok: false, orchestrators: 0, enhancers: 0 });
  });

  it('a tmux probe that fails (here: times out) leaves its agents unknown with the reason, not dead', async () => {
    writeRoster(paths, tmux.socket, [{ name: 'a1', runtime: 'sleep' }]);
    await tmux.newSession('a1', ['sleep', '600']);
    writeHeartbeat(paths.runDir, 'a1', { state: 'busy' });
    // A tmux that never answers, first on PATH for the snapshot only.
    const stuck = path.join(home, 'stuck-bin');
    fs.mkdirSync(stuck);
    fs.writeFileSync(path.join(stuck, 'tmux'), '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
    process.env.PATH = `${stuck}:${FIXTURE_BIN}:${ORIGINAL_PATH}`;
    const s = await collectSnapshot({ paths, includeBacklog: false, probeTimeoutMs: 500 });
    process.env.PATH = `${FIXTURE_BIN}:${ORIGINAL_PATH}`;
    expect(s.probes[`tmux:${tmux.socket}`]).toMatchObject({ ok: false, error: stringMatching(/timed out after 500 ms/) });
    expect(row(s, 'a1')).toMatchObject({ readiness: 'unknown', pane: null, heartbeat: null });
    expect(row(s, 'a1').evidence[0]).toMatch(/timed out after 500 ms/);
    expect(s.fleet.counts.dead).toBe(0);
  });

  it('PAUSED flag and FLOOR broken by a stale enhancer', async () => {
    writeRoster(paths, tmux.socket, [
      { name: 'orc', runtime: 'sleep', class: 'orchestrator' },
      { name: 'enh', runtime: 'sleep', class: 'enhancer' },
    ]);
    await tmux.newSession('orc', ['sleep', '600']);
    await tmux.newSession('enh', ['sleep', '600']);
    writeHeartbeat(paths.runDir, 'orc', { state: 'busy' });
    writeHeartbeat(paths.runDir, 'enh', { state: 'idle', ts: nowS() - 1000 });
    fs.writeFileSync(path.join(paths.runDir, 'PAUSED'), 'at=2026-11-21T10:00:00Z\nby=operator\nreason=deploy freeze\n');
    const s = await collectSnapshot({ paths, includeBacklog: false });
    expect(s.fleet.paused).toEqual({ at: '2026-11-21T10:00:00Z', by: 'operator', reason: 'deploy freeze', source: 'run-dir' });
    expect(s.fleet.floor).toMatchObject({
      ok: false,
      profile: 'default',
      orchestrators: 1,
      enhancers: 0,
      reason: 'floor broken: no enhancer working or available',
    });
  });

  it('legacy, garbage and future heartbeats never crash and are explained', async () => {
    writeRoster(
      paths,
      tmux.socket,
      ['legacy', 'junk', 'future'].map((name) => ({ name, runtime: 'sleep' })),
    );
    for (const n of ['legacy', 'junk', 'future']) await tmux.newSession(n, ['sleep', '600']);
    fs.writeFileSync(path.join(paths.runDir, 'legacy.hb'), `ts=${nowS() - 3}\n`);
    fs.writeFileSync(path.join(paths.runDir, 'junk.hb'), '\u0000\u00ff\u001b]0;pwned\u0007\nts=never\n');
    const futureWrittenAtMs = Date.now();
    fs.writeFileSync(path.join(paths.runDir, 'future.hb'), `v=1\nts=${nowS() + 3600}\nstate=idle\n`);
    const s = await collectSnapshot({ paths, includeBacklog: false });
    const secondsSinceFutureWrite = Math.ceil((Date.now() - futureWrittenAtMs) / 1000);
    // Legacy: no state and a freshly active pane ⇒ working (idle below 300 s).
    expect(row(s, 'legacy')).toMatchObject({ readiness: 'working', heartbeat: { partial: true, state: null } });
    expect(row(s, 'junk').heartbeat?.problems).toContain('ts "never" unreadable: used file mtime');
    expect(row(s, 'junk').readiness).toBe('working');
    // Its age counts from the file's mtime (just written), not from the future ts: at most the
    // seconds since the write (a loaded machine may cross a second boundary), never negative.
    expect(row(s, 'future').readiness).toBe('available');
    expect(row(s, 'future').heartbeat?.ageSeconds).toBeGreaterThanOrEqual(0);
    expect(row(s, 'future').heartbeat?.ageSeconds).toBeLessThanOrEqual(secondsSinceFutureWrite);
    expect(row(s, 'future').heartbeat?.skewSeconds).toBeGreaterThan(3500);
    expect(row(s, 'future').evidence.some((e) => e.startsWith('clock skew:'))).toBe(true);
  });

  it('a heartbeat with no v1 field (random bytes, a 50 MB file of zeros, empty) is unknown with why; one field still counts', async () => {
    const names = ['reviewer', 'zeros', 'empty', 'halfbeat'];
    writeRoster(
      paths,
      tmux.socket,
      names.map((name) => ({ name, runtime: 'sleep' })),
    );
    for (const n of names) await tmux.newSession(n, ['sleep', '600']);
    const hb = (n: string) => path.join(paths.runDir, `${n}.hb`);
    // Like `head -c 300 /dev/urandom`, but fixed: xorshift32 bytes with newlines and '=' among them.
    let x = 0x2545f491;
    fs.writeFileSync(
      hb('reviewer'),
      Buffer.from(
        Array.from({ length: 300 }, (_, i) => {
          x ^= x << 13;
          x >>>= 0;
          x ^= x >>> 17;
          x ^= x << 5;
          x >>>= 0;
          return i % 31 === 30 ? 0x0a : i % 13 === 7 ? 0x3d : x & 0xff;
        }),
      ),
    );
    fs.writeFileSync(hb('zeros'), '');
    fs.truncateSync(hb('zeros'), 50 * 1024 * 1024);
    fs.writeFileSync(hb('empty'), '');
    fs.writeFileSync(hb('halfbeat'), 'state=busy\n');
    const s = await collectSnapshot({ paths, includeBacklog: false });
    expect(Object.fromEntries(s.agents.map((a) => [a.name, a.readiness]))).toEqual({
      reviewer: 'unknown',
      zeros: 'unknown',
      empty: 'unknown',
      halfbeat: 'working',
    });
    expect(row(s, 'reviewer').evidence[0]).toBe(`heartbeat ${hb('reviewer')} unreadable: no v1 field (300 bytes, binary)`);
    expect(row(s, 'zeros').evidence[0]).toBe(`heartbeat ${hb('zeros')} unreadable: no v1 field in the first 4096 bytes (file is 52428800 bytes, binary)`);
    expect(row(s, 'empty').evidence[0]).toBe(`heartbeat ${hb('empty')} unreadable: empty file`);
    expect(row(s, 'reviewer').heartbeat).toBeNull();
  });

  it('malformed roster: error with line and column in the snapshot; the last good roster stays in use', async () => {
    writeRoster(paths, tmux.socket, [{ name: 'a1', runtime: 'sleep' }]);
    await tmux.newSession('a1', ['sleep', '600']);
    const cache = new RosterCache(paths.roster);
    expect((await collectSnapshot({ paths, rosterCache: cache, includeBacklog: false })).agents).toHaveLength(1);
    fs.writeFileSync(paths.roster, `tmux:\n  socket_name: ${tmux.socket}\nagents:\n  - name: a1\n    runtime: 42\n`);
    const s = await collectSnapshot({ paths, rosterCache: cache, includeBacklog: false });
    expect(s.agents.map((a) => a.name)).toEqual(['a1']);
    expect(must(s.probes.roster, 'roster probe').ok).toBe(false);
    expect(s.errors[0]).toBe(`roster: (showing the last good roster) ${paths.roster}:5:14: agent a1: runtime must be a string, got number 42`);
    // Without a last good roster: an error, no agents, no crash.
    const fresh = await collectSnapshot({ paths, includeBacklog: false });
    expect(fresh.agents).toEqual([]);
    expect(fresh.errors[0]).toMatch(/:5:14: /);
    // A YAML syntax error cascades into follow-on errors: one line, the first error and a count.
    fs.writeFileSync(paths.roster, `tmux:\n  socket_name: ${tmux.socket}\nagents:\n  - name: a1\n    runtime: [sleep\n  - name: a2\n    class: {x\n`);
    const cascade = await collectSnapshot({ paths, rosterCache: cache, includeBacklog: false });
    const rosterErrors = cascade.errors.filter((e) => e.startsWith('roster: '));
    expect(rosterErrors).toHaveLength(1);
    expect(rosterErrors[0]).toMatch(/^roster: \(showing the last good roster\) .*roster\.yaml:\d+:\d+: YAML syntax: .* \(\+\d+ more\)$/);
  });

  it('EXPIRED-CLAIM: backlog claims joined by owner', async () => {
    writeRoster(paths, tmux.socket, [
      { name: 'a1', runtime: 'sleep' },
      { name: 'a2', runtime: 'sleep' },
    ]);
    const backlog: BacklogSection = {
      tier: 'embedded',
      location: paths.backlogDataDir,
      ok: true,
      exists: true,
      error: null,
      warning: null,
      stats: { counts: { ready: 0, claimed: 2, blocked: 0, done: 0 }, oldestReadyAgeSeconds: null, expiredClaims: 1, waitingOnDeps: 0 },
      claimed: [
        { id: 'C1', title: 'late', owner: 'a1', claimedAt: '2026-01-01T00:00:00Z', ttlSeconds: 900, secondsLeft: -30, expired: true },
        { id: 'C2', title: 'fine', owner: 'a2', claimedAt: '2026-01-01T00:00:00Z', ttlSeconds: 900, secondsLeft: 600, expired: false },
      ],
      ready: [],
      blockedCount: 0,
    };
    const s = await collectSnapshot({ paths, readBacklog: async () => backlog });
    expect(row(s, 'a1')).toMatchObject({ flags: ['EXPIRED-CLAIM'], claim: { cardId: 'C1', title: 'late', secondsLeft: -30 } });
    expect(row(s, 'a2')).toMatchObject({ flags: [], claim: { cardId: 'C2', secondsLeft: 600 } });
    expect(s.backlog).toBe(backlog);
  });

  it('IDLE-WITH-WORK raised for an available coder while a claimable card waits, cleared by its claim and by a fleet-wide pause from the store; two orchestrators flagged', async () => {
    writeRoster(paths, tmux.socket, [
      { name: 'orc', runtime: 'sleep', class: 'orchestrator' },
      { name: 'orc2', runtime: 'sleep', class: 'orchestrator' },
      { name: 'enh', runtime: 'sleep', class: 'enhancer' },
      { name: 'c1', runtime: 'sleep', class: 'coder' },
    ]);
    for (const n of ['orc', 'orc2', 'enh', 'c1']) {
      await tmux.newSession(n, ['sleep', '600']);
      writeHeartbeat(paths.runDir, n, { state: 'idle' });
    }
    const base: BacklogSection = {
      tier: 'server',
      location: 'postgres://u:***@h/db',
      ok: true,
      exists: true,
      error: null,
      warning: null,
      stats: { counts: { ready: 2, claimed: 0, blocked: 0, done: 0 }, oldestReadyAgeSeconds: 5, expiredClaims: 0, waitingOnDeps: 0 },
      claimed: [],
      ready: [
        { id: 'R1', title: 'one', priority: 9, phase: null },
        { id: 'R2', title: 'two', priority: 1, phase: null },
      ],
      blockedCount: 0,
      pause: null,
    };
    const validate = snapshotValidator();
    const raised = await collectSnapshot({ paths, readBacklog: async () => base });
    expect(raised.agents.map((a) => a.readiness)).toEqual(['available', 'available', 'available', 'available']);
    // The lead (orchestrator) dispatches: not flagged. Everyone else available without a claim is.
    expect(raised.fleet.idleWithWork).toEqual({ agents: ['enh', 'c1'], readyCards: 2, nextCard: 'R1' });
    expect(row(raised, 'c1').flags).toContain('IDLE-WITH-WORK');
    expect(row(raised, 'c1').evidence.join(' ')).toMatch(/IDLE-WITH-WORK: available with no claim while 2 claimable card\(s\) wait \(next R1\)/);
    expect(row(raised, 'orc').flags).not.toContain('IDLE-WITH-WORK');
    expect(raised.fleet.lead).toEqual({
      class: 'orchestrator',
      agents: ['orc', 'orc2'],
      problem: '2 agents of class orchestrator (orc, orc2): upstream runs exactly one orchestrator',
    });
    expect(validate(JSON.parse(JSON.stringify(raised))), JSON.stringify(validate.errors)).toBe(true);
    // Both take a card: cleared.
    const claimedBoth: BacklogSection = {
      ...base,
      claimed: ['enh', 'c1'].map((owner, i) => ({
        id: `R${i + 1}`,
        title: 't',
        owner,
        claimedAt: '2026-01-01T00:00:00Z',
        ttlSeconds: 900,
        secondsLeft: 600,
        expired: false,
      })),
      ready: [{ id: 'R3', title: 'three', priority: 0, phase: null }],
    };
    const cleared = await collectSnapshot({ paths, readBacklog: async () => claimedBoth });
    expect(cleared.fleet.idleWithWork).toBeNull();
    expect(cleared.agents.flatMap((a) => a.flags)).not.toContain('IDLE-WITH-WORK');
    // A pause recorded in the shared store (another host paused): shown with its source; idle is then expected.
    const pausedInStore = await collectSnapshot({
      paths,
      readBacklog: async () => ({ ...base, pause: { at: '2026-11-21T10:00:00.000Z', by: 'ops@host-a', reason: 'deploy' } }),
    });
    expect(pausedInStore.fleet.paused).toEqual({ at: '2026-11-21T10:00:00.000Z', by: 'ops@host-a', reason: 'deploy', source: 'store' });
    expect(pausedInStore.fleet.idleWithWork).toBeNull();
    expect(validate(JSON.parse(JSON.stringify(pausedInStore))), JSON.stringify(validate.errors)).toBe(true);
    fs.writeFileSync(path.join(paths.runDir, 'PAUSED'), 'at=2026-11-21T10:00:00Z\nby=ops\n');
    expect((await collectSnapshot({ paths, readBacklog: async () => ({ ...base, pause: { at: 'x', by: 'y', reason: null } }) })).fleet.paused?.source).toBe(
      'both',
    );
  });

  it('FLOOR of a research fleet (roster profile: research): its lead-researcher, no orchestrator or enhancer needed', async () => {
    writeRoster(paths, tmux.socket, [
      { name: 'lead', runtime: 'sleep', class: 'lead-researcher' },
      { name: 'r1', runtime: 'sleep', class: 'researcher' },
    ]);
    fs.appendFileSync(paths.roster, 'profile: research\n');
    await tmux.newSession('lead', ['sleep', '600']);
    writeHeartbeat(paths.runDir, 'lead', { state: 'busy' });
    const s = await collectSnapshot({ paths, includeBacklog: false });
    expect(s.fleet.floor).toMatchObject({
      ok: true,
      profile: 'research',
      lead: 'lead-researcher',
      required: [{ class: 'lead-researcher', min: 1, up: 1 }],
      reason: null,
    });
    expect(s.errors.filter((e) => e.startsWith('profile:'))).toEqual([]);
  });

  it('subprocesses per snapshot do not depend on agent count (5 vs 50 agents)', async () => {
    const count = async (n: number) => {
      const agents = Array.from({ length: n }, (_, i) => ({ name: `w${n}x${i}`, runtime: 'sleep' }));
      writeRoster(paths, tmux.socket, agents);
      for (const a of agents) await tmux.newSession(a.name, ['sleep', '600']);
      const before = subprocessCount();
      const s = await collectSnapshot({ paths, includeBacklog: false });
      expect(s.agents.filter((a) => a.pane !== null)).toHaveLength(n);
      return subprocessCount() - before;
    };
    const five = await count(5);
    const fifty = await count(50);
    expect(five).toBe(2); // one list-panes -a + one systemctl show
    expect(fifty).toBe(five);
  });

  it('absent socket_name ⇒ the default socket, probed without -L (isolated through TMUX_TMPDIR)', async () => {
    const tmpdir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-fleet-default-'));
    const saved = { TMUX_TMPDIR: process.env.TMUX_TMPDIR, TMUX: process.env.TMUX };
    process.env.TMUX_TMPDIR = tmpdir;
    delete process.env.TMUX;
    const { execFileSync } = await import('node:child_process');
    const socketPath = path.join(tmpdir, `tmux-${process.getuid!()}`, 'default');
    try {
      execFileSync('tmux', ['new-session', '-d', '-s', 'plain', 'sleep 600'], { env: process.env });
      writeRoster(paths, null, [{ name: 'plain', runtime: 'sleep' }]);
      // As if the console ran inside a pane of another server: $TMUX names that server.
      await tmux.newSession('elsewhere', ['sleep', '600']);
      const other = (await tmux.ok(['display-message', '-p', '-t', '=elsewhere', '#{socket_path},#{pid},0'])).trim();
      process.env.TMUX = other;
      const s = await collectSnapshot({ paths, includeBacklog: false });
      expect(s.unmanaged.map((u) => u.session)).not.toContain('elsewhere');
      expect(fs.existsSync(socketPath)).toBe(true);
      expect(s.fleet.sockets).toEqual([null]);
      expect(s.probes['tmux:default']).toMatchObject({ ok: true, error: null });
      expect(row(s, 'plain')).toMatchObject({ socket: null, pane: { target: '=plain:0.0', currentCommand: 'sleep' } });
    } finally {
      try {
        execFileSync('tmux', ['-S', socketPath, 'kill-server'], { stdio: 'ignore' });
      } catch {
        /* not running */
      }
      // 'elsewhere' was started while TMUX_TMPDIR pointed here: its server lives in tmpdir, out of tmux.stop()'s reach.
      try {
        execFileSync('tmux', ['-L', tmux.socket, 'kill-server'], { stdio: 'ignore', env: { ...process.env, TMUX_TMPDIR: tmpdir } });
      } catch {
        /* not running */
      }
      process.env.TMUX_TMPDIR = saved.TMUX_TMPDIR;
      if (saved.TMUX_TMPDIR === undefined) delete process.env.TMUX_TMPDIR;
      if (saved.TMUX !== undefined) process.env.TMUX = saved.TMUX;
      fs.rmSync(tmpdir, { recursive: true, force: true });
    }
  });

  it('a per-agent socket and a remote host: each local socket probed once, the remote host by one ssh (here: not installed)', async () => {
    const other = await startIsolatedTmux('fleet2');
    try {
      writeRoster(paths, tmux.socket, [
        { name: 'here', runtime: 'sleep' },
        { name: 'there', runtime: 'sleep', socket: other.socket },
        { name: 'far', runtime: 'sleep', host: 'remote.example' },
      ]);
      await tmux.newSession('here', ['sleep', '600']);
      await other.newSession('there', ['sleep', '600']);
      await other.newSession('stray2', ['sleep', '600']);
      const before = subprocessCount();
      const s = await collectSnapshot({ paths, includeBacklog: false, sshEnv: { ...process.env, MOSAIC_SSH: '/nonexistent/mt-ssh' } });
      expect(subprocessCount() - before).toBe(4); // 2 list-panes + systemctl + 1 ssh
      expect(s.probes['ssh:remote.example']).toMatchObject({ ok: false, error: 'ssh remote.example: not found' });
      expect(row(s, 'far').evidence).toEqual(['ssh remote.example: not found']);
      expect(row(s, 'here').pane).not.toBeNull();
      expect(row(s, 'there').pane).not.toBeNull();
      expect(row(s, 'there').socket).toBe(other.socket);
      expect(row(s, 'far')).toMatchObject({ readiness: 'unknown', pane: null });
      expect(s.fleet.sockets.sort()).toEqual([tmux.socket, other.socket].sort());
      // The holder name is excluded on every fleet socket; other sessions there are unmanaged.
      expect(s.unmanaged).toEqual([expect.objectContaining({ socket: other.socket, session: 'stray2' })]);
    } finally {
      await other.stop();
    }
  });
});
