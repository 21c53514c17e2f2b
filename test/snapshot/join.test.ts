/**
 * joinSnapshot alone: fixtures of what the probes answered (no tmux, no files, no clock) ⇒ the
 * snapshot. This host and a remote host answer in the same HostProbe shape.
 */
import { describe, expect, it } from 'vitest';
import type { BacklogSection } from '../../backlog/snapshot.js';
import type { HeartbeatRead } from '../../fleet/heartbeat.js';
import type { ProcessTree } from '../../fleet/proc.js';
import type { Roster, RosterAgent } from '../../fleet/roster.js';
import { HOLDER_UNIT, ORCHESTRATOR_UNIT, type SystemdProbe } from '../../fleet/systemd.js';
import type { TmuxPane, TmuxSocketProbe } from '../../fleet/tmux.js';
import type { UnitInfo } from '../../fleet/types.js';
import { resolvePaths } from '../../lib/paths.js';
import { joinSnapshot } from '../../src/snapshot/join.js';
import type { HostProbe, ProbeResults } from '../../src/snapshot/probe-results.js';
import { at, must } from '../helpers/must.js';

const NOW_S = 1_800_000_000;
const SOCKET = 'mosaic-fleet';

function agent(name: string, over: Partial<RosterAgent> = {}): RosterAgent {
  return { name, runtime: 'claude', class: 'coder', modelHint: null, host: null, ssh: null, socket: SOCKET, workingDirectory: null, ...over };
}

function pane(session: string, over: Partial<TmuxPane> = {}): TmuxPane {
  return {
    session,
    windowIndex: 0,
    paneIndex: 0,
    paneId: `%${session.length}`,
    pid: 100,
    currentCommand: 'claude',
    dead: false,
    deadStatus: null,
    activity: NOW_S - 5,
    idleSeconds: 5,
    width: 80,
    height: 24,
    title: '',
    ...over,
  };
}

function socketProbe(socket: string | null, panes: TmuxPane[], over: Partial<TmuxSocketProbe> = {}): TmuxSocketProbe {
  return { socket, ok: true, serverRunning: true, panes, durationMs: 1, error: null, ...over };
}

function beat(name: string, state: 'busy' | 'idle', ageSeconds = 3): HeartbeatRead {
  return {
    heartbeat: { path: `/run/${name}.hb`, version: 1, ts: NOW_S - ageSeconds, ageSeconds, state, intervalSeconds: 15, pid: 100, card: null, note: null },
    error: null,
  } as HeartbeatRead;
}

function unit(name: string, over: Partial<UnitInfo> = {}): UnitInfo {
  return { name, loadState: 'loaded', activeState: 'active', subState: 'running', unitFileState: 'enabled', mainPid: 100, ...over };
}

function systemdProbe(units: UnitInfo[]): SystemdProbe {
  return { available: true, ok: true, units: new Map(units.map((u) => [u.name, u])), durationMs: 2, error: null };
}

/** A process tree where pid 100 runs `claude` and pid 200 runs `bash`. */
function tree(): ProcessTree {
  return {
    procRoot: '/nonexistent',
    entries: new Map([
      [100, { pid: 100, ppid: 1, comm: 'claude' }],
      [200, { pid: 200, ppid: 1, comm: 'bash' }],
    ]) as ProcessTree['entries'],
    children: new Map(),
    argv: new Map([
      [100, ['claude']],
      [200, ['bash']],
    ]),
  };
}

function host(over: Partial<HostProbe> = {}): HostProbe {
  return {
    target: null,
    host: null,
    ok: true,
    error: null,
    durationMs: 0,
    tmux: new Map(),
    heartbeats: new Map(),
    agentEnvs: new Map(),
    processes: null,
    systemd: null,
    ...over,
  };
}

function results(agents: RosterAgent[], over: Partial<ProbeResults> = {}, holder: string | null = '_keepalive'): ProbeResults {
  const roster: Roster = { file: '/home/roster.yaml', version: 1, transport: 'tmux', socket: SOCKET, holderSession: holder, agents };
  return {
    nowMs: NOW_S * 1000,
    hostname: 'fixture-host',
    tenant: 'fixture-user',
    paths: resolvePaths({ mosaicHome: '/nonexistent/mosaic' }, {}),
    thresholds: { staleSeconds: 120, idleSeconds: 60 },
    roster: { roster, errors: [], stale: false },
    rosterMs: 0.5,
    sockets: [SOCKET],
    paused: { value: null, durationMs: 0.1, error: null },
    heartbeatsMs: 0.2,
    proc: null,
    local: host(),
    remotes: [],
    backlog: null,
    ...over,
  };
}

describe('joinSnapshot', () => {
  it('joins local rows from panes, beats, units and the process tree, in roster order', () => {
    const agents = [agent('alpha'), agent('beta'), agent('gamma')];
    const local = host({
      tmux: new Map([
        [SOCKET, socketProbe(SOCKET, [pane('_keepalive', { currentCommand: 'sleep' }), pane('beta'), pane('alpha', { pid: 200, currentCommand: 'bash' })])],
      ]),
      heartbeats: new Map([
        ['alpha', beat('alpha', 'busy')],
        ['beta', beat('beta', 'idle')],
      ]),
      processes: tree(),
      systemd: systemdProbe([unit('mosaic-agent@alpha.service'), unit('mosaic-agent@beta.service')]),
    });
    const snap = joinSnapshot(results(agents, { local, proc: { value: local.processes, durationMs: 1, error: null } }));
    expect(snap.agents.map((r) => [r.name, r.readiness])).toEqual([
      ['alpha', 'working'],
      ['beta', 'available'],
      ['gamma', 'dead'],
    ]);
    // alpha's pane runs bash, not the roster's claude: DRIFT.
    expect(at(snap.agents, 0).flags).toContain('DRIFT');
    expect(at(snap.agents, 1).flags).not.toContain('DRIFT');
    expect(at(snap.agents, 1).unit?.name).toBe('mosaic-agent@beta.service');
    expect(at(snap.agents, 0).ssh).toBeUndefined();
    expect(snap.fleet.counts).toEqual({ dead: 1, waiting: 0, stuck: 0, unknown: 0, stale: 0, working: 1, available: 1 });
    expect(snap.unmanaged).toEqual([]);
    expect(snap.errors).toEqual([]);
    expect(snap.host).toBe('fixture-host');
    expect(snap.tenant).toBe('fixture-user');
    expect(snap.generatedAt).toBe(new Date(NOW_S * 1000).toISOString());
    expect(Object.keys(snap.probes)).toEqual(['roster', 'paused', 'heartbeats', `tmux:${SOCKET}`, 'proc', 'systemd']);
  });

  it('a pane whose programs, expected program and command are the same keeps its process object (compared by identity); any change makes a new one', () => {
    const processes = tree();
    const local = (command: string, env: Record<string, string> = {}) =>
      host({
        tmux: new Map([[SOCKET, socketProbe(SOCKET, [pane('alpha', { pid: 200, currentCommand: command })])]]),
        heartbeats: new Map([['alpha', beat('alpha', 'busy')]]),
        agentEnvs: new Map([['alpha', env]]),
        processes,
      });
    const first = must(at(joinSnapshot(results([agent('alpha')], { local: local('bash') })).agents, 0).process, 'process');
    expect(first.matches).toBe(false);
    expect(at(joinSnapshot(results([agent('alpha')], { local: local('bash') })).agents, 0).process).toBe(first);
    const claude = must(at(joinSnapshot(results([agent('alpha')], { local: local('claude') })).agents, 0).process, 'process');
    expect(claude.matches).toBe(true);
    const bash = must(at(joinSnapshot(results([agent('alpha')], { local: local('bash', { MOSAIC_AGENT_COMMAND: 'bash -l' }) })).agents, 0).process, 'process');
    expect(bash).toMatchObject({ expected: 'bash', matches: true });
    expect(at(joinSnapshot(results([agent('alpha')], { local: local('bash') })).agents, 0).process).toBe(first);
  });

  it('the expected program comes from the agent env file when the host read one', () => {
    const local = host({
      tmux: new Map([[SOCKET, socketProbe(SOCKET, [pane('alpha', { pid: 200, currentCommand: 'bash' })])]]),
      heartbeats: new Map([['alpha', beat('alpha', 'busy')]]),
      agentEnvs: new Map([['alpha', { MOSAIC_AGENT_COMMAND: 'bash -l' }]]),
      processes: tree(),
    });
    const snap = joinSnapshot(results([agent('alpha')], { local }));
    expect(at(snap.agents, 0).process?.expected).toBe('bash');
    expect(at(snap.agents, 0).flags).not.toContain('DRIFT');
  });

  it('a screen is read only on a pane that runs its runtime: a shell showing a prompt is not waiting (DRIFT, evidence why)', () => {
    const waiting = {
      state: 'waiting' as const,
      rules: 'claude@>=2.0.0',
      ageSeconds: 0,
      sinceSeconds: 0,
      prompt: { kind: 'permission' as const, tool: 'Bash', detail: 'echo hi > proto.txt', block: 'Bash command', id: '0123456789abcdef' },
    };
    const local = host({
      tmux: new Map([[SOCKET, socketProbe(SOCKET, [pane('alpha', { pid: 200, currentCommand: 'bash' }), pane('beta')])]]),
      heartbeats: new Map([
        ['alpha', beat('alpha', 'idle')],
        ['beta', beat('beta', 'idle')],
      ]),
      processes: tree(),
      screens: new Map([
        ['alpha', waiting],
        ['beta', waiting],
      ]),
    });
    const snap = joinSnapshot(results([agent('alpha'), agent('beta')], { local }));
    const alpha = at(snap.agents, 0);
    const beta = at(snap.agents, 1);
    expect(alpha.readiness).toBe('available');
    expect(alpha.flags).toContain('DRIFT');
    expect(alpha.screen).toBeUndefined();
    expect(alpha.evidence).toContain('screen: not read (the pane runs bash, not claude: screen rules read their runtime only)');
    expect(beta.readiness).toBe('waiting');
    expect(beta.screen?.prompt?.id).toBe('0123456789abcdef');
  });

  it('a failed local socket probe makes its agents unknown with the probe error, never dead', () => {
    const local = host({ tmux: new Map([[SOCKET, socketProbe(SOCKET, [], { ok: false, serverRunning: false, error: 'tmux: timed out after 2000 ms' })]]) });
    const snap = joinSnapshot(results([agent('alpha')], { local }));
    expect(at(snap.agents, 0).readiness).toBe('unknown');
    expect(at(snap.agents, 0).evidence.join('\n')).toContain('tmux: timed out after 2000 ms');
    expect(snap.errors).toEqual(['tmux: timed out after 2000 ms']);
    expect(snap.probes[`tmux:${SOCKET}`]).toEqual({ ok: false, durationMs: 1, error: 'tmux: timed out after 2000 ms' });
  });

  it('a remote host answers in the same shape: rows, unmanaged sessions with its host name, its systemd', () => {
    const agents = [agent('local1'), agent('far1', { host: 'gpu2', ssh: 'me@gpu2' }), agent('far2', { host: 'gpu2', ssh: 'me@gpu2' })];
    const remote = host({
      target: 'me@gpu2',
      host: 'gpu2',
      durationMs: 40,
      tmux: new Map([[SOCKET, socketProbe(SOCKET, [pane('far1'), pane('stray', { currentCommand: 'vim' })])]]),
      heartbeats: new Map([['far1', beat('far1', 'idle')]]),
      systemd: systemdProbe([unit('mosaic-agent@far1.service')]),
    });
    const local = host({
      tmux: new Map([[SOCKET, socketProbe(SOCKET, [pane('_keepalive'), pane('local1')])]]),
      heartbeats: new Map([['local1', beat('local1', 'busy')]]),
    });
    const snap = joinSnapshot(results(agents, { local, remotes: [remote] }));
    expect(snap.agents.map((r) => [r.name, r.readiness, r.ssh ?? null])).toEqual([
      ['local1', 'working', null],
      ['far1', 'available', 'me@gpu2'],
      ['far2', 'dead', 'me@gpu2'],
    ]);
    expect(at(snap.agents, 1).evidence).toContain(`pane =far1:0.0 on socket ${SOCKET} at host gpu2`);
    expect(at(snap.agents, 1).unit?.name).toBe('mosaic-agent@far1.service');
    expect(snap.unmanaged).toEqual([{ session: 'stray', panes: 1, currentCommand: 'vim', idleSeconds: 5, socket: SOCKET, host: 'gpu2' }]);
    expect(snap.probes['ssh:me@gpu2']).toEqual({ ok: true, durationMs: 40, error: null });
    expect(snap.probes['systemd:me@gpu2']).toEqual({ ok: true, durationMs: 0, error: null });
  });

  it("a failed ssh makes that host's agents unknown (never dead) and is one error", () => {
    const agents = [agent('far1', { host: 'gpu2', ssh: 'gpu2' })];
    const remote = host({ target: 'gpu2', host: 'gpu2', ok: false, error: 'Permission denied (publickey).' });
    const snap = joinSnapshot(results(agents, { remotes: [remote] }));
    expect(at(snap.agents, 0).readiness).toBe('unknown');
    expect(at(snap.agents, 0).heartbeat).toBeNull();
    expect(at(snap.agents, 0).evidence.join('\n')).toContain('ssh gpu2: Permission denied (publickey).');
    expect(snap.errors).toEqual(['ssh gpu2: Permission denied (publickey).']);
  });

  it('a remote socket the host did not report is "not probed", and the agent unknown', () => {
    const agents = [agent('far1', { host: 'gpu2', ssh: 'gpu2', socket: 'other' })];
    const remote = host({ target: 'gpu2', host: 'gpu2', tmux: new Map([[SOCKET, socketProbe(SOCKET, [])]]) });
    const snap = joinSnapshot(results(agents, { remotes: [remote] }));
    expect(at(snap.agents, 0).readiness).toBe('unknown');
    expect(at(snap.agents, 0).evidence.join('\n')).toContain('ssh gpu2: socket other not probed');
  });

  it('reports unmanaged local sessions, and a missing holder on the roster socket', () => {
    const local = host({
      tmux: new Map([[SOCKET, socketProbe(SOCKET, [pane('alpha'), pane('scratch', { idleSeconds: 9 }), pane('scratch', { paneIndex: 1, idleSeconds: 4 })])]]),
    });
    const snap = joinSnapshot(results([agent('alpha')], { local }));
    expect(snap.unmanaged).toEqual([{ session: 'scratch', panes: 2, currentCommand: 'claude', idleSeconds: 4, socket: SOCKET, host: null }]);
    expect(snap.errors).toEqual([`holder session _keepalive missing on socket ${SOCKET}`]);
    // The rostered names are kept per roster: the same roster again, then a new one (scratch rostered, alpha not).
    const roster = [agent('alpha')];
    expect(joinSnapshot(results(roster, { local })).unmanaged.map((u) => u.session)).toEqual(['scratch']);
    expect(joinSnapshot(results(roster, { local })).unmanaged.map((u) => u.session)).toEqual(['scratch']);
    expect(joinSnapshot(results([agent('scratch')], { local })).unmanaged).toEqual([
      { session: 'alpha', panes: 1, currentCommand: 'claude', idleSeconds: 5, socket: SOCKET, host: null },
    ]);
    // The holder's session is there: no error, and it is not unmanaged.
    const held = host({ tmux: new Map([[SOCKET, socketProbe(SOCKET, [pane('_keepalive'), pane('alpha')])]]) });
    expect(joinSnapshot(results(roster, { local: held }))).toMatchObject({ unmanaged: [], errors: [] });
  });

  it('shows the most urgent claim per agent and flags an expired one', () => {
    const claimed = (id: string, secondsLeft: number) => ({
      id,
      title: `card ${id}`,
      owner: 'alpha',
      claimedAt: '',
      ttlSeconds: 600,
      secondsLeft,
      expired: secondsLeft < 0,
    });
    const backlog = {
      ok: true,
      exists: true,
      error: null,
      warning: null,
      claimed: [claimed('c1', 300), claimed('c2', -5)],
      ready: [],
      blockedCount: 0,
      stats: null,
    } as unknown as BacklogSection;
    const local = host({
      tmux: new Map([[SOCKET, socketProbe(SOCKET, [pane('_keepalive'), pane('alpha')])]]),
      heartbeats: new Map([['alpha', beat('alpha', 'busy')]]),
    });
    const snap = joinSnapshot(results([agent('alpha')], { local, backlog: { value: backlog, durationMs: 3, error: null } }));
    expect(at(snap.agents, 0).claim).toEqual({ cardId: 'c2', title: 'card c2', secondsLeft: -5 });
    expect(at(snap.agents, 0).flags).toContain('EXPIRED-CLAIM');
    expect(snap.probes.backlog).toEqual({ ok: true, durationMs: 3, error: null });
    expect(snap.backlog).toBe(backlog);
  });

  it('a fleet unit active but not enabled is a BOOT-ENABLE error', () => {
    const local = host({
      systemd: systemdProbe([unit(HOLDER_UNIT, { unitFileState: 'disabled' }), unit(ORCHESTRATOR_UNIT), unit('other.service', { unitFileState: 'disabled' })]),
    });
    const snap = joinSnapshot(results([], { local }, null));
    expect(snap.fleet.units?.map((u) => u.name)).toEqual([HOLDER_UNIT, ORCHESTRATOR_UNIT]);
    expect(snap.errors).toEqual([`BOOT-ENABLE: ${HOLDER_UNIT} active but disabled (will not come back after a reboot)`]);
  });

  it('without a roster: no rows, a floor that is not ok, and the roster error', () => {
    const snap = joinSnapshot(results([], { roster: { roster: null, errors: ['roster.yaml: not found'], stale: false } }));
    expect(snap.agents).toEqual([]);
    expect(snap.fleet.floor).toMatchObject({ ok: false, profile: 'default', orchestrators: 0, enhancers: 0, reason: 'no roster loaded' });
    expect(snap.errors).toEqual(['roster: roster.yaml: not found']);
    expect(must(snap.probes.roster, 'roster probe').ok).toBe(false);
  });

  it('runtime from the roster, else the .env (MOSAIC_AGENT_RUNTIME), else pi; the expected program through `mosaic yolo <runtime>`', () => {
    const agents = [
      agent('declared', { runtime: 'claude', runtimeDeclared: true }),
      agent('fromenv', { runtime: 'pi', runtimeDeclared: false }),
      agent('plain', { runtime: 'pi', runtimeDeclared: false }),
    ];
    const local = host({
      tmux: new Map([
        [SOCKET, socketProbe(SOCKET, [pane('declared'), pane('fromenv', { currentCommand: 'codex' }), pane('plain', { pid: 200, currentCommand: 'bash' })])],
      ]),
      heartbeats: new Map([['declared', beat('declared', 'busy')]]),
      agentEnvs: new Map<string, Record<string, string>>([
        // upstream's launcher wraps the runtime: the pane runs claude, not `mosaic`.
        ['declared', { MOSAIC_AGENT_COMMAND: 'mosaic yolo claude --channels plugin:discord@x' }],
        ['fromenv', { MOSAIC_AGENT_RUNTIME: 'codex', MOSAIC_AGENT_WORKDIR: '/srv/work' }],
      ]),
      processes: tree(),
    });
    const snap = joinSnapshot(results(agents, { local, proc: { value: local.processes, durationMs: 1, error: null } }));
    const by = (n: string) => snap.agents.find((r) => r.name === n)!;
    expect(by('declared')).toMatchObject({ runtime: 'claude' });
    expect(by('declared').runtimeFrom).toBeUndefined();
    expect(by('declared').flags).not.toContain('DRIFT');
    expect(by('fromenv')).toMatchObject({ runtime: 'codex', runtimeFrom: 'env', workingDirectory: '/srv/work' });
    expect(by('plain')).toMatchObject({ runtime: 'pi', runtimeFrom: 'default' });
    // `bash` is not pi: DRIFT against the default runtime.
    expect(by('plain').flags).toContain('DRIFT');
  });
});
