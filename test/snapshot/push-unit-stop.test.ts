/**
 * A unit stopped on a REAL throwaway `systemd --user` (test/helpers/systemd.ts) is seen by the
 * console's collect with push on (tmux control clients, watched run dir, unit changes from the
 * manager's user bus) and with push off (subprocesses, plain reads): the next snapshot after
 * `systemctl --user stop` — with push on, the one the bus's signal asks for — shows the unit
 * inactive and its agent dead. Beats change alongside, so every push source is exercised.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeHeartbeat } from '../../fleet/heartbeat.js';
import { RosterCache } from '../../fleet/roster.js';
import { RunDirWatch } from '../../fleet/run-dir-watch.js';
import { SystemdPush } from '../../fleet/systemd-push.js';
import { resolvePaths, type MosaicPaths } from '../../lib/paths.js';
import { collectSnapshot } from '../../src/snapshot/collect.js';
import { TmuxControlPool } from '../../src/snapshot/push-sources.js';
import { writeTestRoster } from '../helpers/roster.js';
import { realSystemdUnavailableReason, startTestSystemd, type TestSystemd } from '../helpers/systemd.js';
import { useManagerEnv } from '../helpers/systemd-bus.js';
import { isolatedSocketName, waitFor } from '../helpers/tmux.js';
import { realPartAvailable } from '../helpers/real-parts.js';

const available = realPartAvailable('a real systemd --user', realSystemdUnavailableReason(), 'push-unit-stop.test.ts');

describe.runIf(available)('a unit stop is seen with push on and off (real systemd --user)', () => {
  let sd: TestSystemd;
  let home: string;
  let paths: MosaicPaths;
  const socket = isolatedSocketName('pushunit');
  let restoreEnv = () => {};

  beforeAll(async () => {
    sd = await startTestSystemd('pushunit', socket);
    await sd.installFleetUnits();
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-pushunit-'));
    paths = resolvePaths({ mosaicHome: home }, {});
    writeTestRoster(
      paths.roster,
      paths.runDir,
      socket,
      [
        { name: 'on1', runtime: 'sh' },
        { name: 'off1', runtime: 'sh' },
      ],
      sd.holderSession,
    );
    // collect asks `systemctl --user` with this process's environment: this manager's.
    restoreEnv = useManagerEnv(sd.env());
  });
  afterAll(async () => {
    restoreEnv();
    await sd?.stop();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  for (const push of [true, false]) {
    it(`push ${push ? 'on' : 'off'}: unit stopped ⇒ inactive and dead at the next snapshot; a beat change seen`, async () => {
      const agent = push ? 'on1' : 'off1';
      const unit = `mosaic-agent@${agent}.service`;
      expect((await sd.systemctl(['start', unit])).code).toBe(0);
      const pool = push ? new TmuxControlPool() : null;
      const watch = push ? new RunDirWatch() : null;
      let unitChanges = 0;
      const systemd = push ? new SystemdPush({ env: sd.env(), onChange: () => unitChanges++ }) : null;
      const rosterCache = new RosterCache(paths.roster);
      const collect = () =>
        collectSnapshot({
          paths,
          rosterCache,
          includeBacklog: false,
          readScreens: false,
          ...(pool ? { listPanes: (s, o) => pool.list(s, o) } : {}),
          ...(watch ? { runDirReaders: watch } : {}),
          ...(systemd ? { probeUnits: systemd.probe.bind(systemd) } : {}),
        });
      try {
        writeHeartbeat(paths.runDir, agent, { state: 'busy' });
        const row = async () => (await collect()).agents.find((a) => a.name === agent)!;
        expect(await row()).toMatchObject({ unit: { activeState: 'active' }, heartbeat: { state: 'busy' } });
        // With push on, the control client attaches in the background: wait until a tick uses it.
        if (pool) await waitFor(async () => (await collect()) && pool.stats.viaControl > 0, 'the control client in use');
        // So does the bus monitor: from then on an idle tick reuses the kept unit states.
        if (systemd) {
          await waitFor(async () => (await collect()) && systemd.liveMonitor, 'the bus monitor subscribed', { timeoutMs: 20_000 });
          await collect();
          const viaBus = systemd.stats.viaBus;
          await collect();
          expect(systemd.stats.viaBus).toBe(viaBus + 1);
        }
        const changesBefore = unitChanges;
        expect((await sd.systemctl(['stop', unit])).code).toBe(0);
        if (systemd) await waitFor(() => unitChanges > changesBefore, 'the bus to report the stop');
        writeHeartbeat(paths.runDir, agent, { state: 'idle' });
        if (watch)
          await waitFor(
            () => watch.stats.reads > 0 && watch.heartbeat(paths.runDir, agent, Date.now() / 1000).heartbeat?.state === 'idle',
            'the beat change event',
          );
        const after = await row();
        expect(after.unit).toMatchObject({ activeState: 'inactive' });
        expect(after.readiness).toBe('dead');
        expect(after.heartbeat?.state).toBe('idle');
      } finally {
        pool?.close();
        watch?.close();
        systemd?.close();
      }
    });
  }
});
