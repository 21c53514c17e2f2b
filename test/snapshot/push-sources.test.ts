/**
 * Push sources against a real tmux server on an isolated socket: the control-mode client
 * answers the pane lists (no subprocess per idle tick, whatever the fleet size), a killed pane
 * shows within one tick, a killed control client is replaced within two ticks, and
 * `MOSAIC_TOP_NO_PUSH=1` polls. Ticks are counted (poller stats), never timed.
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
import { TmuxControlClient } from '../../fleet/tmux-control.js';
import { resolvePaths, type MosaicPaths } from '../../lib/paths.js';
import { createPoller, type Poller } from '../../src/poller.js';
import { collectSnapshot } from '../../src/snapshot/collect.js';
import { pushEnabled, TmuxControlPool } from '../../src/snapshot/push-sources.js';
import { createConsoleStore, type ConsoleStore } from '../../src/store/index.js';
import { startIsolatedTmux, waitFor, type IsolatedTmux } from '../helpers/tmux.js';
import { writeTestRoster } from '../helpers/roster.js';

const FIXTURE_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'bin');
const ORIGINAL_PATH = process.env.PATH;

describe('push sources (real tmux)', () => {
  let tmux: IsolatedTmux;
  let home: string;
  let paths: MosaicPaths;
  let pool: TmuxControlPool | null = null;
  let poller: Poller | null = null;

  beforeEach(async () => {
    tmux = await startIsolatedTmux('push');
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-push-'));
    paths = resolvePaths({ mosaicHome: home }, {});
    process.env.PATH = `${FIXTURE_BIN}:${ORIGINAL_PATH}`;
    process.env.MT_SYSTEMCTL_MODE = 'nobus';
    process.env.XDG_CACHE_HOME = path.join(home, 'cache');
  });
  afterEach(async () => {
    poller?.stop();
    pool?.close();
    poller = pool = null;
    await tmux.stop();
    fs.rmSync(home, { recursive: true, force: true });
    process.env.PATH = ORIGINAL_PATH;
    delete process.env.MT_SYSTEMCTL_MODE;
    delete process.env.XDG_CACHE_HOME;
  });

  /** `n` live sleep agents with fresh beats; the roster's holder is `_keepalive` (the helper's). */
  async function fleetOf(n: number): Promise<string[]> {
    const names = Array.from({ length: n }, (_, i) => `a${i}`);
    writeTestRoster(
      paths.roster,
      paths.runDir,
      tmux.socket,
      names.map((name) => ({ name, runtime: 'sleep' })),
    );
    for (const name of names) {
      await tmux.newSession(name, ['sleep', '600']);
      writeHeartbeat(paths.runDir, name, { state: 'busy' });
    }
    return names;
  }

  /** A console's poller: the console's collect with a control pool (push on) or without (poll). */
  /** Which collect call (1, 2, …) produced each snapshot, and the number of calls so far. */
  const collectOf = new WeakMap<object, number>();
  let collects = 0;

  function consolePoller(store: ConsoleStore, push: boolean, intervalMs = 60_000): Poller {
    const rosterCache = new RosterCache(paths.roster);
    const systemdBackoff = new SystemdBackoff(3_600_000);
    pool = push ? new TmuxControlPool({ onChange: () => poller?.nudge() }) : null;
    const p = pool;
    poller = createPoller({
      store,
      intervalMs,
      collect: async (signal) => {
        const call = ++collects;
        const snapshot = await collectSnapshot({
          paths,
          rosterCache,
          systemdBackoff,
          signal,
          includeBacklog: false,
          readScreens: false,
          ...(p ? { listPanes: (socket, o) => p.list(socket, o) } : {}),
        });
        collectOf.set(snapshot, call);
        return snapshot;
      },
    });
    return poller;
  }

  /** Runs one tick now and waits for it (a refresh outdates nothing when no tick runs). */
  async function tickNow(p: Poller): Promise<void> {
    await p.idle();
    p.refresh();
    await p.idle();
  }

  /** Subprocesses started by each of `ticks` ticks once the control client is up, then by one `--once` snapshot. */
  async function spawnsPerIdleTick(n: number, ticks = 3): Promise<number[]> {
    await fleetOf(n);
    const store = createConsoleStore();
    const p = consolePoller(store, true);
    await tickNow(p);
    await waitFor(() => pool!.client(tmux.socket), 'control client attached');
    const per: number[] = [];
    for (let i = 0; i < ticks; i++) {
      const before = subprocessCount();
      await tickNow(p);
      per.push(subprocessCount() - before);
    }
    expect(store.getState().fleet.snapshot?.agents.filter((a) => a.readiness === 'working')).toHaveLength(n);
    // `--once`: its snapshot without control clients (list-panes per socket + systemctl).
    const before = subprocessCount();
    await collectSnapshot({ paths, includeBacklog: false, readScreens: false });
    per.push(subprocessCount() - before);
    p.stop();
    pool!.close();
    for (let i = 0; i < n; i++) await tmux.killSession(`a${i}`);
    return per;
  }

  it('an idle tick starts no subprocess at 2 or at 12 agents (pane lists through the control client); --once as many at both', async () => {
    const small = await spawnsPerIdleTick(2);
    const large = await spawnsPerIdleTick(12);
    expect(small).toEqual([0, 0, 0, 2]);
    expect(large).toEqual(small);
  });

  it('a pane killed while push is on shows dead by the first tick after the kill, started by the push', async () => {
    await fleetOf(2);
    const store = createConsoleStore();
    const p = consolePoller(store, true);
    p.start();
    await waitFor(() => pool!.client(tmux.socket) && store.getState().fleet.snapshot, 'control client and a snapshot');
    await p.idle();
    let deadBy = -1;
    store.subscribe((s) => {
      const snapshot = s.fleet.snapshot;
      if (deadBy < 0 && snapshot?.agents.find((a) => a.name === 'a1')?.readiness === 'dead') deadBy = collectOf.get(snapshot) ?? -1;
    });
    const nudgedBefore = p.stats.nudged;
    const callsBeforeKill = collects;
    await tmux.killSession('a1');
    // The interval is a minute: only the push (%sessions-changed) can run the tick that shows it,
    // and the first tick that started after the kill shows it (a tick in flight at the kill may).
    await waitFor(() => deadBy >= 0, 'a1 dead');
    expect([callsBeforeKill, callsBeforeKill + 1]).toContain(deadBy);
    expect(p.stats.nudged).toBeGreaterThan(nudgedBefore);
  });

  it('a killed control client: the next tick polls (still correct), the one after uses a new client', async () => {
    await fleetOf(2);
    pool = new TmuxControlPool();
    const own = pool;
    // Ticks driven by hand (the interval is an hour): count them.
    const store2 = createConsoleStore();
    const pushed = createPoller({
      store: store2,
      intervalMs: 60_000,
      collect: (signal) =>
        collectSnapshot({
          paths,
          signal,
          includeBacklog: false,
          readScreens: false,
          listPanes: (socket, o) => own.list(socket, o),
          systemdBackoff: new SystemdBackoff(),
        }),
    });
    try {
      await tickNow(pushed);
      const first = await waitFor(() => own.client(tmux.socket), 'control client attached');
      await tickNow(pushed);
      expect(own.stats.viaControl).toBe(1);
      process.kill(first.pid!, 'SIGKILL');
      await waitFor(() => own.client(tmux.socket) === null, 'client gone');
      // Tick 1 after the kill: a subprocess answers, the rows stay right, a new client starts.
      await tickNow(pushed);
      expect(own.stats.viaSubprocess).toBe(2);
      expect(store2.getState().fleet.snapshot?.agents.map((a) => a.readiness)).toEqual(['working', 'working']);
      const second = await waitFor(() => own.client(tmux.socket), 'new control client');
      expect(second.pid).not.toBe(first.pid);
      // Tick 2 after the kill: through the new client again.
      await tickNow(pushed);
      expect(own.stats.viaControl).toBe(2);
      expect(store2.getState().fleet.tickError).toBeNull();
    } finally {
      pushed.stop();
    }
  });

  it('the control client attaches without sizing windows and without output; MOSAIC_TOP_NO_PUSH=1 turns push off', async () => {
    await fleetOf(1);
    const client = new TmuxControlClient(tmux.socket, { session: '_keepalive' });
    try {
      expect(await client.start()).toBe(true);
      const clients = await tmux.ok(['list-clients', '-F', '#{client_pid} #{client_flags}']);
      expect(clients).toContain(`${client.pid} `);
      expect(clients).toMatch(/control-mode.*ignore-size.*no-output/);
      const answer = await client.command("display-message -p 'x y'");
      expect(answer).toEqual({ ok: true, lines: ['x y'], error: null });
      expect((await client.command('no-such-command')).ok).toBe(false);
    } finally {
      client.close();
    }
    expect(pushEnabled({ MOSAIC_TOP_NO_PUSH: '1' })).toBe(false);
    expect(pushEnabled({})).toBe(true);
    // A server without sessions: the client cannot attach, start says so (the caller polls).
    await tmux.killSession('a0');
    await tmux.killSession('_keepalive').catch(() => {});
    const lone = new TmuxControlClient(tmux.socket);
    expect(await lone.start()).toBe(false);
  });
});
