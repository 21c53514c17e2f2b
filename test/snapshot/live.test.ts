/**
 * The live collector (src/snapshot/live.ts) is the console's AND `serve`'s snapshot source: the
 * serve hub, over a real tmux server on an isolated socket, carries the spend meter's fields,
 * answers its pane lists through the tmux control client, and shows a killed session by a tick
 * the push started (the interval is a minute: only a push can run it). Ticks are counted, never
 * timed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeHeartbeat } from '../../fleet/heartbeat.js';
import { resolvePaths, type MosaicPaths } from '../../lib/paths.js';
import { startFleetHub, type FleetHub, type HubTick } from '../../src/serve/hub.js';
import { createLiveCollector } from '../../src/snapshot/live.js';
import { startIsolatedTmux, waitFor, type IsolatedTmux } from '../helpers/tmux.js';
import { writeTestRoster } from '../helpers/roster.js';

const FIXTURE_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'bin');
const ORIGINAL_PATH = process.env.PATH;

describe('live collector: the console and serve see the fleet the same way (real tmux)', () => {
  let tmux: IsolatedTmux;
  let home: string;
  let paths: MosaicPaths;
  let hub: FleetHub | null = null;

  beforeEach(async () => {
    tmux = await startIsolatedTmux('live');
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-live-'));
    paths = resolvePaths({ mosaicHome: home }, {});
    process.env.PATH = `${FIXTURE_BIN}:${ORIGINAL_PATH}`;
    process.env.MT_SYSTEMCTL_MODE = 'nobus';
    process.env.XDG_CACHE_HOME = path.join(home, 'cache');
    delete process.env.MOSAIC_TOP_NO_PUSH;
    delete process.env.MOSAIC_TOP_SPEND;
  });
  afterEach(async () => {
    await hub?.stop();
    hub = null;
    await tmux.stop();
    fs.rmSync(home, { recursive: true, force: true });
    process.env.PATH = ORIGINAL_PATH;
    delete process.env.MT_SYSTEMCTL_MODE;
    delete process.env.XDG_CACHE_HOME;
  });

  async function fleetOf(names: string[]): Promise<void> {
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
  }

  it("serve's hub: spend in the snapshot, pane lists through the control client, a killed session shown by a pushed tick", async () => {
    await fleetOf(['a0', 'a1']);
    const started = await startFleetHub({ paths, intervalMs: 60_000, history: false });
    hub = started;
    expect(await started.ready(30_000)).toBe(true);
    const first = started.current()!.snapshot;
    expect(first.agents.map((a) => [a.name, a.readiness])).toEqual([
      ['a0', 'working'],
      ['a1', 'working'],
    ]);
    // The spend meter is the console's: the fleet total (today) and each local agent's, probed.
    expect(first.fleet.spend?.tokens.total).toBe(0);
    expect(first.agents.map((a) => a.spend?.tokens.total)).toEqual([0, 0]);
    expect(first.probes.spend?.ok).toBe(true);
    // The push source: the first pane list polled and started a control client.
    const pool = started.live?.tmuxPool;
    expect(pool).toBeTruthy();
    await waitFor(() => pool!.client(tmux.socket), 'control client attached', { timeoutMs: 30_000 });
    const ticks: HubTick[] = [];
    started.onTick((t) => ticks.push(t));
    const nudged = started.poller.stats.nudged;
    await tmux.killSession('a1');
    const shown = await waitFor(() => ticks.find((t) => t.snapshot.agents.find((a) => a.name === 'a1')?.readiness === 'dead'), 'a1 dead', {
      timeoutMs: 30_000,
    });
    expect(shown.transitions.some((t) => t.agent === 'a1' && t.to === 'dead')).toBe(true);
    expect(started.poller.stats.nudged).toBeGreaterThan(nudged);
    // Ticks after the first one asked the control client, not a subprocess.
    expect(pool!.stats.viaControl).toBeGreaterThanOrEqual(1);
  });

  it('MOSAIC_TOP_NO_PUSH=1 leaves the control clients out; MOSAIC_TOP_SPEND=off the meter; close is idempotent', async () => {
    await fleetOf(['a0']);
    const plain = await createLiveCollector({ paths, env: { MOSAIC_TOP_NO_PUSH: '1', MOSAIC_TOP_SPEND: 'off' } });
    try {
      expect(plain.tmuxPool).toBeNull();
      expect(plain.spend).toBeUndefined();
      const snapshot = await plain.collect(new AbortController().signal);
      expect(snapshot.agents.map((a) => [a.name, a.readiness])).toEqual([['a0', 'working']]);
      expect(snapshot.fleet.spend).toBeUndefined();
      expect(snapshot.probes.spend).toBeUndefined();
    } finally {
      await plain.close();
      await plain.close();
    }
    const full = await createLiveCollector({ paths, env: {} });
    try {
      expect(full.tmuxPool).not.toBeNull();
      expect(full.spend).toBeDefined();
      const changes: number[] = [];
      full.onChange(() => changes.push(changes.length));
      await full.collect(new AbortController().signal);
      await waitFor(() => full.tmuxPool!.client(tmux.socket), 'control client attached', { timeoutMs: 30_000 });
      await tmux.newSession('extra', ['sleep', '600']);
      await waitFor(() => changes.length > 0, 'a push for the new session', { timeoutMs: 30_000 });
    } finally {
      await full.close();
    }
  });
});
