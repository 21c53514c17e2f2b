/**
 * systemd-by-the-bus bench (`node dist/test/bench/systemd-bus.bench.js` after `npx tsc -p .`, as
 * root: it needs the throwaway manager of test/helpers/systemd.ts). A real `systemd --user` with
 * its own user bus runs MT_BENCH_AGENTS (default 50) agent units, each a `sleep` pane on an
 * isolated tmux socket; the console's collect then runs MT_BENCH_TICKS (default 30) idle ticks
 * back to back in each of three modes, interleaved over MT_BENCH_ROUNDS (default 4) rounds:
 *
 * - `push off`: `MOSAIC_TOP_NO_PUSH=1` — `tmux list-panes` and `systemctl --user show` per tick;
 * - `before`: tmux control clients, `systemctl --user show` per tick (the code before the bus);
 * - `after`: tmux control clients and the bus monitor (fleet/systemd-push.ts).
 *
 * Printed per mode: subprocesses per idle tick (fleet/exec.ts `subprocessCount`), CPU ms per
 * idle tick (this process's user+system time from `process.cpuUsage`, plus its reaped children's
 * from /proc/self/stat cutime+cstime), and that CPU as a share of one core at `--interval 2`;
 * the user manager's and the bus daemon's CPU per tick (what answering costs them); with the
 * load average. The manager, its bus, the tmux server and the temp dirs are removed
 * at the end.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { subprocessCount } from '../../fleet/exec.js';
import { RosterCache } from '../../fleet/roster.js';
import { SystemdBackoff } from '../../fleet/systemd.js';
import { SystemdPush } from '../../fleet/systemd-push.js';
import { resolvePaths } from '../../lib/paths.js';
import { collectSnapshot } from '../../src/snapshot/collect.js';
import { TmuxControlPool } from '../../src/snapshot/push-sources.js';
import { writeTestRoster } from '../helpers/roster.js';
import { startTestSystemd } from '../helpers/systemd.js';
import { useManagerEnv } from '../helpers/systemd-bus.js';
import { procTimes, ticksToMs } from './proc-times.js';
import { waitFor } from '../helpers/tmux.js';

const AGENTS = Number(process.env.MT_BENCH_AGENTS ?? 50);
const TICKS = Number(process.env.MT_BENCH_TICKS ?? 30);
const ROUNDS = Number(process.env.MT_BENCH_ROUNDS ?? 4);
type Mode = 'push off' | 'before' | 'after';
const MODES: Mode[] = ['push off', 'before', 'after'];

/** CPU time (user + system, ms) of process `pid`; 0 when it is gone. */
function processCpuMs(pid: number | null): number {
  if (pid === null) return 0;
  try {
    return ticksToMs(procTimes(pid).own);
  } catch {
    return 0;
  }
}

const childrenCpuMs = (): number => ticksToMs(procTimes().children);

const socket = `mt-sdbus-${randomBytes(3).toString('hex')}`;
const sd = await startTestSystemd('sdbusbench', socket);
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-sdbus-bench-'));
try {
  if (sd.kind !== 'real') throw new Error(`the bench needs the real manager: ${sd.description}`);
  await sd.installFleetUnits();
  const env = sd.env();
  useManagerEnv(env);
  const paths = resolvePaths({ mosaicHome: home }, {});
  const names = Array.from({ length: AGENTS }, (_, i) => `agent${String(i).padStart(3, '0')}`);
  writeTestRoster(
    paths.roster,
    paths.runDir,
    socket,
    names.map((name) => ({ name, runtime: 'sleep' })),
  );
  for (const name of names) {
    sd.setAgentCommand(name, 'exec sleep 86400');
    const r = await sd.systemctl(['start', `mosaic-agent@${name}.service`]);
    if (r.code !== 0) throw new Error(`start ${name}: ${r.stderr.trim()}`);
  }
  const pool = new TmuxControlPool();
  const push = new SystemdPush({ env });
  const rosterCache = new RosterCache(paths.roster);
  const systemdBackoff = new SystemdBackoff();
  const tick = (mode: Mode) =>
    collectSnapshot({
      paths,
      rosterCache,
      systemdBackoff,
      includeBacklog: false,
      readScreens: false,
      ...(mode !== 'push off' ? { listPanes: (s, o) => pool.list(s, o) } : {}),
      ...(mode === 'after' ? { probeUnits: push.probe.bind(push) } : {}),
    });
  await waitFor(async () => (await tick('after')) && push.liveMonitor && pool.client(socket), 'the bus monitor and the control client', {
    timeoutMs: 30_000,
    intervalMs: 100,
  });
  await tick('after');
  const totals = new Map<Mode, { spawned: number; cpuMs: number; managerMs: number; busMs: number; ticks: number }>(
    MODES.map((m) => [m, { spawned: 0, cpuMs: 0, managerMs: 0, busMs: 0, ticks: 0 }]),
  );
  const managerPid = Number(/\(pid (\d+)/.exec(sd.description)?.[1] ?? 0) || null;
  const busPid = await sd.busDaemonPid();
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of MODES) {
      await tick(mode); // warm (the mode's first tick may differ)
      const spawned0 = subprocessCount();
      const cpu0 = process.cpuUsage();
      const children0 = childrenCpuMs();
      const manager0 = processCpuMs(managerPid);
      const bus0 = processCpuMs(busPid);
      for (let i = 0; i < TICKS; i++) {
        const s = await tick(mode);
        if (s.agents.filter((a) => a.unit?.activeState === 'active').length !== AGENTS) throw new Error(`${mode}: a unit not active`);
      }
      const cpu = process.cpuUsage(cpu0);
      const t = totals.get(mode)!;
      t.spawned += subprocessCount() - spawned0;
      t.cpuMs += (cpu.user + cpu.system) / 1000 + (childrenCpuMs() - children0);
      t.managerMs += processCpuMs(managerPid) - manager0;
      t.busMs += processCpuMs(busPid) - bus0;
      t.ticks += TICKS;
    }
  }
  console.log(
    `systemd by the bus: ${AGENTS} agent units on ${sd.description}; ${ROUNDS}×${TICKS} idle ticks per mode, interleaved; load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    '| mode | subprocesses per idle tick | CPU ms per idle tick (collect + children) | % of one core at --interval 2 | systemd --user CPU ms per tick | dbus-daemon CPU ms per tick |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const [mode, t] of totals) {
    const perTick = t.cpuMs / t.ticks;
    const cells = [
      (t.spawned / t.ticks).toFixed(2),
      perTick.toFixed(2),
      ((perTick / 2000) * 100).toFixed(3),
      (t.managerMs / t.ticks).toFixed(2),
      (t.busMs / t.ticks).toFixed(2),
    ];
    console.log(`| ${mode} | ${cells.join(' | ')} |`);
  }
  console.log(
    `bus monitor: ${push.stats.starts} start(s), ${push.stats.signals} signal(s), ${push.stats.viaBus} answers kept, ${push.stats.viaSubprocess} asked`,
  );
  pool.close();
  push.close();
} finally {
  await sd.stop();
  fs.rmSync(home, { recursive: true, force: true });
}
