/**
 * systemd by the bus, on a REAL throwaway `systemd --user` with its own user bus
 * (test/helpers/systemd.ts): with push on, an idle tick asks no `systemctl` (counted with
 * fleet/exec.ts `subprocessCount`, at 2 and at 6 agents, and `--once` as many at both); a unit
 * stopped is pushed by the bus and seen at the next snapshot; with push off every tick asks; the
 * monitor ended (its bus daemon killed) ⇒ the next tick polls and a new monitor subscribes; no
 * bus ⇒ every tick polls. Counts, never times.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subprocessCount } from '../../fleet/exec.js';
import { RosterCache } from '../../fleet/roster.js';
import { SystemdBackoff } from '../../fleet/systemd.js';
import { SystemdPush } from '../../fleet/systemd-push.js';
import { resolvePaths, type MosaicPaths } from '../../lib/paths.js';
import { collectSnapshot } from '../../src/snapshot/collect.js';
import { pushEnabled, TmuxControlPool } from '../../src/snapshot/push-sources.js';
import type { Snapshot } from '../../src/snapshot/types.js';
import { writeTestRoster } from '../helpers/roster.js';
import { realSystemdUnavailableReason, startTestSystemd, type TestSystemd } from '../helpers/systemd.js';
import { useManagerEnv } from '../helpers/systemd-bus.js';
import { isolatedSocketName, waitFor } from '../helpers/tmux.js';
import { realPartAvailable } from '../helpers/real-parts.js';

const available = realPartAvailable('a real systemd --user', realSystemdUnavailableReason(), 'push-systemd-bus.test.ts');

/** One manager (with or without its bus), a Mosaic home, and collect with push on or off. */
function fleetOn(area: string, bus: boolean) {
  const socket = isolatedSocketName(area);
  let restoreEnv = () => {};
  const ctx = { sd: null as TestSystemd | null, home: '', paths: null as MosaicPaths | null, socket };
  beforeAll(async () => {
    ctx.sd = await startTestSystemd(area, socket, '_keepalive', { bus });
    await ctx.sd.installFleetUnits();
    ctx.home = fs.mkdtempSync(path.join(os.tmpdir(), `mt-${area}-`));
    ctx.paths = resolvePaths({ mosaicHome: ctx.home }, {});
    // collect asks `systemctl --user` with this process's environment: this manager's only.
    restoreEnv = useManagerEnv(ctx.sd.env());
  });
  afterAll(async () => {
    restoreEnv();
    await ctx.sd?.stop();
    if (ctx.home) fs.rmSync(ctx.home, { recursive: true, force: true });
  });
  return ctx;
}

/** The console's sources for one roster: push on (control clients + the bus) or off (subprocesses). */
function sources(paths: MosaicPaths, push: boolean, env: NodeJS.ProcessEnv) {
  const pool = push ? new TmuxControlPool() : null;
  let changes = 0;
  const systemd = push ? new SystemdPush({ env, onChange: () => changes++ }) : null;
  const rosterCache = new RosterCache(paths.roster);
  const systemdBackoff = new SystemdBackoff(3_600_000);
  const tick = (now?: number): Promise<Snapshot> =>
    collectSnapshot({
      paths,
      rosterCache,
      systemdBackoff,
      includeBacklog: false,
      readScreens: false,
      ...(now !== undefined ? { now } : {}),
      ...(pool ? { listPanes: (s, o) => pool.list(s, o) } : {}),
      ...(systemd ? { probeUnits: systemd.probe.bind(systemd) } : {}),
    });
  /** Subprocesses one tick starts, and its snapshot. */
  const counted = async (now?: number) => {
    const before = subprocessCount();
    const snapshot = await tick(now);
    return { spawned: subprocessCount() - before, snapshot };
  };
  return {
    pool,
    systemd,
    tick,
    counted,
    changes: () => changes,
    close() {
      pool?.close();
      systemd?.close();
    },
  };
}

async function startAgents(sd: TestSystemd, names: string[]): Promise<void> {
  for (const name of names) expect((await sd.systemctl(['start', `mosaic-agent@${name}.service`])).code).toBe(0);
}

const rowOf = (s: Snapshot, name: string) => s.agents.find((a) => a.name === name);

describe.runIf(available)('systemd by the bus (real systemd --user with its own user bus)', () => {
  const ctx = fleetOn('pushbus', true);

  /** Subprocesses of 3 idle ticks once both push sources are up, then of one `--once` snapshot, for `n` agents. */
  async function idleCounts(n: number): Promise<number[]> {
    const names = Array.from({ length: n }, (_, i) => `b${i}`);
    writeTestRoster(
      ctx.paths!.roster,
      ctx.paths!.runDir,
      ctx.socket,
      names.map((name) => ({ name, runtime: 'sh' })),
    );
    await startAgents(ctx.sd!, names);
    const s = sources(ctx.paths!, true, ctx.sd!.env());
    try {
      await waitFor(async () => (await s.tick()) && s.systemd!.liveMonitor && s.pool!.client(ctx.socket), 'the bus monitor and the control client', {
        timeoutMs: 20_000,
      });
      await s.tick(); // the first tick after subscribing asks once (changes before it were not seen)
      const per: number[] = [];
      for (let i = 0; i < 3; i++) {
        const { spawned, snapshot } = await s.counted();
        per.push(spawned);
        expect(snapshot.agents.filter((a) => a.unit?.activeState === 'active' && a.readiness !== 'dead')).toHaveLength(n);
      }
      const before = subprocessCount();
      await collectSnapshot({ paths: ctx.paths!, includeBacklog: false, readScreens: false });
      per.push(subprocessCount() - before);
      return per;
    } finally {
      s.close();
    }
  }

  it('the throwaway manager is on its own bus, not the machine’s', async () => {
    expect(ctx.sd!.kind).toBe('real');
    expect(ctx.sd!.env().DBUS_SESSION_BUS_ADDRESS).toBe(`unix:path=${path.join(ctx.sd!.env().XDG_RUNTIME_DIR!, 'bus')}`);
  });

  it('push on: an idle tick starts no systemctl (nor list-panes) at 2 or at 6 agents; --once as many at both', async () => {
    const small = await idleCounts(2);
    const large = await idleCounts(6);
    // Idle ticks: nothing; `--once`: one list-panes and one systemctl show.
    expect(small).toEqual([0, 0, 0, 2]);
    expect(large).toEqual(small);
  });

  it('push on: a unit stopped is pushed by the bus and seen at the next snapshot (one systemctl); then idle again', async () => {
    writeTestRoster(ctx.paths!.roster, ctx.paths!.runDir, ctx.socket, [
      { name: 'c0', runtime: 'sh' },
      { name: 'c1', runtime: 'sh' },
    ]);
    await startAgents(ctx.sd!, ['c0', 'c1']);
    const s = sources(ctx.paths!, true, ctx.sd!.env());
    try {
      await waitFor(async () => (await s.tick()) && s.systemd!.liveMonitor && s.pool!.client(ctx.socket), 'the bus monitor and the control client', {
        timeoutMs: 20_000,
      });
      await s.tick();
      expect((await s.counted()).spawned).toBe(0);
      const changesBefore = s.changes();
      const asked = s.systemd!.stats.viaSubprocess;
      expect((await ctx.sd!.systemctl(['stop', 'mosaic-agent@c1.service'])).code).toBe(0);
      // The stop is pushed (no interval here: only the bus can say it).
      await waitFor(() => s.changes() > changesBefore, 'the bus to report the stop');
      const after = await s.counted();
      expect(rowOf(after.snapshot, 'c1')).toMatchObject({ unit: { activeState: 'inactive' }, readiness: 'dead' });
      expect(rowOf(after.snapshot, 'c0')).toMatchObject({ unit: { activeState: 'active' } });
      expect(s.systemd!.stats.viaSubprocess).toBe(asked + 1);
      expect(after.spawned).toBe(1);
      expect(s.systemd!.stats.signals).toBeGreaterThan(0);
      // Nothing changed since: idle again (a signal of the stop still on its way may ask once more).
      const settling: number[] = [];
      while (settling.length < 3 && settling.at(-1) !== 0) settling.push((await s.counted()).spawned);
      expect(settling.at(-1)).toBe(0);
      expect((await s.counted()).spawned).toBe(0);
      // The safety net: 30 s after the last answer, systemctl is asked even without a signal.
      const kept = await s.counted(Date.now() + 31_000);
      expect(kept.spawned).toBe(1);
      expect(rowOf(kept.snapshot, 'c1')?.unit?.activeState).toBe('inactive');
    } finally {
      s.close();
    }
  });

  it('push off (MOSAIC_TOP_NO_PUSH=1): every tick asks systemctl and lists panes; a stop is seen at the next snapshot', async () => {
    const push = pushEnabled({ MOSAIC_TOP_NO_PUSH: '1' });
    expect(push).toBe(false);
    writeTestRoster(ctx.paths!.roster, ctx.paths!.runDir, ctx.socket, [{ name: 'd0', runtime: 'sh' }]);
    await startAgents(ctx.sd!, ['d0']);
    const s = sources(ctx.paths!, push, ctx.sd!.env());
    try {
      for (let i = 0; i < 2; i++) {
        const { spawned, snapshot } = await s.counted();
        expect(spawned).toBe(2);
        expect(rowOf(snapshot, 'd0')?.unit?.activeState).toBe('active');
      }
      expect((await ctx.sd!.systemctl(['stop', 'mosaic-agent@d0.service'])).code).toBe(0);
      const after = await s.counted();
      expect(rowOf(after.snapshot, 'd0')).toMatchObject({ unit: { activeState: 'inactive' }, readiness: 'dead' });
    } finally {
      s.close();
    }
  });

  it('the monitor ended (its bus daemon killed): the next tick polls, still right, and a new monitor subscribes', async () => {
    writeTestRoster(ctx.paths!.roster, ctx.paths!.runDir, ctx.socket, [{ name: 'e0', runtime: 'sh' }]);
    await startAgents(ctx.sd!, ['e0']);
    const s = sources(ctx.paths!, true, ctx.sd!.env());
    try {
      const first = await waitFor(async () => (await s.tick()) && s.systemd!.liveMonitor, 'the bus monitor', { timeoutMs: 20_000 });
      await s.tick();
      expect((await s.counted()).spawned).toBe(0);
      const daemon = await waitFor(() => ctx.sd!.busDaemonPid(), 'the bus daemon pid');
      const changesBefore = s.changes();
      process.kill(daemon, 'SIGKILL');
      await waitFor(() => s.systemd!.liveMonitor === null, 'the monitor to end');
      expect(s.systemd!.stats.exits).toBe(1);
      expect(s.changes()).toBeGreaterThan(changesBefore);
      // Tick 1 after the end: systemctl answers (poll), rows right, a new monitor starts.
      const asked = s.systemd!.stats.viaSubprocess;
      const polled = await s.tick();
      expect(s.systemd!.stats.viaSubprocess).toBe(asked + 1);
      expect(rowOf(polled, 'e0')?.unit?.activeState).toBe('active');
      const second = await waitFor(async () => (await s.tick()) && s.systemd!.liveMonitor, 'a new bus monitor', { timeoutMs: 20_000 });
      expect(second).not.toBe(first);
      await s.tick();
      const idle = await s.counted();
      expect(idle.spawned).toBe(0);
      expect(rowOf(idle.snapshot, 'e0')?.unit?.activeState).toBe('active');
    } finally {
      s.close();
    }
  });
});

describe.runIf(available)('systemd by the bus: no user bus (real systemd --user without one)', () => {
  const ctx = fleetOn('pushnobus', false);

  it('every tick polls (one systemctl), the rows stay right, and monitor attempts stop after the quick retries', async () => {
    expect(ctx.sd!.bus).toBe(false);
    expect(ctx.sd!.env().DBUS_SESSION_BUS_ADDRESS).toBeUndefined();
    writeTestRoster(ctx.paths!.roster, ctx.paths!.runDir, ctx.socket, [{ name: 'f0', runtime: 'sh' }]);
    await startAgents(ctx.sd!, ['f0']);
    const s = sources(ctx.paths!, true, ctx.sd!.env());
    try {
      for (let i = 0; i < 6; i++) {
        const before = s.systemd!.stats.viaSubprocess;
        const snapshot = await s.tick();
        expect(s.systemd!.stats.viaSubprocess).toBe(before + 1);
        expect(rowOf(snapshot, 'f0')?.unit?.activeState).toBe('active');
        // Let the background attempt fail before the next tick (a refused connect: at once).
        await waitFor(() => s.systemd!.stats.starts >= Math.min(i + 1, 3) && !s.systemd!.starting, 'the monitor attempt to end');
      }
      expect(s.systemd!.liveMonitor).toBeNull();
      expect(s.systemd!.stats.starts).toBe(3);
      expect(s.systemd!.stats.viaBus).toBe(0);
    } finally {
      s.close();
    }
  });
});
