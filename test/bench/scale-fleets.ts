/**
 * The fleets of the scale bench (test/bench/scale.bench.ts): `sleep` agents on isolated tmux
 * sockets (never the default server) with fresh beats, the plan the one-shot floor
 * (test/bench/once-floor.cjs) reads, and the clean-up of every server and home made here.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LIST_PANES_FIELDS, LIST_PANES_FORMAT, PANE_FIELD_SEPARATOR } from '../../fleet/tmux.js';
import { agentUnitName, HOLDER_UNIT, ORCHESTRATOR_UNIT, systemctlShowArgs } from '../../fleet/systemd.js';
import { writeHomeRoster, type TestAgentDef } from '../helpers/roster.js';
import { tmuxSocketPath } from '../helpers/tmux.js';
import { at } from '../helpers/must.js';
import { tmux } from './live-fleet.js';

const tag = randomBytes(3).toString('hex');
/** Every tmux socket and home made here or named by {@link trackSocket}: removed by {@link removeBenchFleets}. */
const sockets: string[] = [];
const homes: string[] = [];
/** Each fleet's sockets and agent names, by home: what the one-shot floor program is told to read. */
const fleetPlans = new Map<string, { sockets: string[]; names: string[] }>();

/** A name for a tmux socket of the bench's own (e.g. a console's pane), removed with the fleets. */
export function trackSocket(label: string): string {
  const socket = `mt-scale-${label}-${tag}-${sockets.length}`;
  sockets.push(socket);
  return socket;
}

/** Kills every tmux server of the bench and removes its sockets and homes. Never throws for one already gone. */
export function removeBenchFleets(): void {
  for (const socket of sockets) {
    try {
      execFileSync('tmux', ['-L', socket, 'kill-server'], { stdio: 'ignore' });
    } catch {
      /* not running */
    }
    fs.rmSync(tmuxSocketPath(socket), { force: true });
  }
  for (const home of homes) fs.rmSync(home, { recursive: true, force: true });
}

/** A Mosaic home with `n` agents spread over `socketCount` isolated sockets, each agent a live `sleep` pane with a fresh beat. */
export function makeFleet(n: number, socketCount: number): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `mt-scale-${n}-`));
  homes.push(home);
  const fleetSockets = Array.from({ length: socketCount }, (_, i) => `mt-scale-${tag}-${n}-${i}`);
  sockets.push(...fleetSockets);
  const agents: TestAgentDef[] = Array.from({ length: n }, (_, i) => ({
    name: `agent${String(i).padStart(4, '0')}`,
    runtime: 'sleep',
    class: i === 0 ? 'orchestrator' : i === 1 ? 'enhancer' : 'coder',
    socket: fleetSockets[i % socketCount],
  }));
  writeHomeRoster(home, at(fleetSockets, 0), agents, '_holder');
  fleetPlans.set(home, { sockets: fleetSockets, names: agents.map((a) => a.name) });
  tmux(at(fleetSockets, 0), ['new-session', '-d', '-s', '_holder', 'sleep', '86400']);
  for (const socket of fleetSockets.slice(1)) tmux(socket, ['new-session', '-d', '-s', '_holder', 'sleep', '86400']);
  // One tmux call creates many sessions (`;`-separated): 1,000 calls would take longer than the bench.
  for (const socket of fleetSockets) {
    const own = agents.filter((a) => a.socket === socket);
    for (let i = 0; i < own.length; i += 100) {
      const args = own.slice(i, i + 100).flatMap((a, k) => [...(k ? [';'] : []), 'new-session', '-d', '-s', a.name, 'sleep', '86400']);
      tmux(socket, args);
    }
  }
  writeBeats(
    home,
    agents.map((a) => a.name),
  );
  return home;
}

/**
 * A Mosaic home whose roster lists `n` agents on one isolated socket that holds only the holder
 * session (no agent pane runs: what a roster entry costs, without `n` processes), every beat fresh.
 */
export function makeRosterFleet(n: number): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `mt-scale-${n}-`));
  homes.push(home);
  const socket = `mt-scale-${tag}-${n}-roster`;
  sockets.push(socket);
  const names = Array.from({ length: n }, (_, i) => `agent${String(i).padStart(5, '0')}`);
  writeHomeRoster(
    home,
    socket,
    names.map((name, i) => ({ name, runtime: 'sleep', class: i === 0 ? 'orchestrator' : i === 1 ? 'enhancer' : 'coder' })),
    '_holder',
  );
  tmux(socket, ['new-session', '-d', '-s', '_holder', 'sleep', '86400']);
  fleetPlans.set(home, { sockets: [socket], names });
  writeBeats(home, names);
  return home;
}

/** Fresh beats (`ts` now, interval 30 s) for `names` in `home`'s run dir, written as a writer does: temp file, rename. */
function writeBeats(home: string, names: string[]): void {
  const runDir = path.join(home, 'fleet', 'run');
  const ts = Math.floor(Date.now() / 1000);
  for (const [i, name] of names.entries()) {
    const tmp = path.join(runDir, `.${name}.hb.tmp`);
    fs.writeFileSync(tmp, `v=1\nts=${ts}\nstate=${i % 3 ? 'busy' : 'idle'}\ninterval=30\n`);
    fs.renameSync(tmp, path.join(runDir, `${name}.hb`));
  }
}

/**
 * `node` arguments of the one-shot floor (test/bench/once-floor.cjs) for the fleet at `home`:
 * the same `list-panes` per socket and `systemctl show` of the same units as `--once`, the same
 * files read, minimal JavaScript (`repo`: the checkout whose test/bench/once-floor.cjs runs).
 * Its plan is written into the home. Throws for a home not made here.
 */
export function floorArgs(home: string, repo: string): string[] {
  const fleet = fleetPlans.get(home);
  if (!fleet) throw new Error(`no fleet plan for ${home}`);
  const planFile = path.join(home, 'floor-plan.json');
  const units = [...fleet.names.map(agentUnitName), HOLDER_UNIT, ORCHESTRATOR_UNIT];
  const plan = {
    roster: path.join(home, 'fleet', 'roster.yaml'),
    runDir: path.join(home, 'fleet', 'run'),
    agentsDir: path.join(home, 'fleet', 'agents'),
    sockets: fleet.sockets,
    listPanesArgs: ['list-panes', '-a', '-F', LIST_PANES_FORMAT],
    separator: PANE_FIELD_SEPARATOR,
    pidField: LIST_PANES_FIELDS.indexOf('pane_pid'),
    systemctlArgs: systemctlShowArgs(units),
  };
  fs.writeFileSync(planFile, JSON.stringify(plan));
  return [path.join(repo, 'test', 'bench', 'once-floor.cjs'), planFile];
}
