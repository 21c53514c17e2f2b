/**
 * Roster and fleet rules as upstream has them: runtime optional (pi, or the agent
 * .env's MOSAIC_AGENT_RUNTIME), holder `_holder` by default, launcher wrappers in
 * MOSAIC_AGENT_COMMAND, the floor per profile (roster `profile:` / `floor:`), more than one
 * orchestrator flagged, and the NS-3 movement signal IDLE-WITH-WORK raised and cleared.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { agentLaunch, expectedProgram, launchedProgram, parseAgentEnv, shellWords } from '../../fleet/agent-env.js';
import { DEFAULT_PROFILE, resolveFleetProfile } from '../../fleet/profile.js';
import { parseRosterText } from '../../fleet/roster.js';
import { evaluateFloor, idleWithWork, leadProblem } from '../../fleet/rules.js';
import type { Readiness } from '../../fleet/types.js';
import { stringContaining } from '../helpers/matchers.js';
import { at } from '../helpers/must.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function roster(text: string) {
  const r = parseRosterText(text, 'roster.yaml');
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.roster;
}

describe('roster defaults as upstream', () => {
  it('an agent without runtime is pi (not an error that blanks the roster); holder defaults to _holder', () => {
    const r = roster('tmux:\n  socket_name: mosaic-fleet\nagents:\n  - name: a\n    class: coder\n  - name: b\n    runtime: claude\n');
    expect(r.agents.map((a) => [a.name, a.runtime, a.runtimeDeclared])).toEqual([
      ['a', 'pi', false],
      ['b', 'claude', true],
    ]);
    expect(r.holderSession).toBe('_holder');
    expect(roster('agents: []\n').holderSession).toBe('_holder');
    expect(roster('tmux:\n  holder_session: keepalive\nagents: []\n').holderSession).toBe('keepalive');
  });

  it('MOSAIC_AGENT_RUNTIME / MOSAIC_AGENT_WORKDIR from the .env fill what the roster leaves out', () => {
    const r = roster(
      'defaults:\n  working_directory: ~/src\nagents:\n  - name: a\n  - name: b\n    runtime: claude\n    working_directory: /srv/b\n  - name: c\n',
    );
    const env = parseAgentEnv('MOSAIC_AGENT_RUNTIME=codex\nMOSAIC_AGENT_WORKDIR=/srv/mosaic\n');
    expect(agentLaunch(at(r.agents, 0), env)).toEqual({ runtime: 'codex', runtimeFrom: 'env', workingDirectory: '/srv/mosaic' });
    // The roster's own values win over the .env.
    expect(agentLaunch(at(r.agents, 1), env)).toEqual({ runtime: 'claude', runtimeFrom: 'roster', workingDirectory: '/srv/b' });
    expect(agentLaunch(at(r.agents, 2), {})).toEqual({ runtime: 'pi', runtimeFrom: 'default', workingDirectory: '~/src' });
  });

  it('the expected program sees through launcher wrappers', () => {
    const cases: Array<[string, string]> = [
      ['mosaic yolo claude --channels plugin:discord@x', 'claude'],
      ['mosaic yolo codex --model gpt-5', 'codex'],
      ['mosaic pi', 'pi'],
      ['env A=B C="d e" mosaic yolo opencode', 'opencode'],
      ['exec env -u HOME -i PATH=/bin /usr/local/bin/codex', 'codex'],
      ['FOO=1 exec python3 dogfood-agent.py', 'python3'],
      ["bash -lc 'exec mosaic yolo claude'", 'claude'],
      ['nohup /home/u/.config/mosaic/fleet/canary.sh', 'canary.sh'],
    ];
    for (const [command, program] of cases) expect(launchedProgram(command), command).toBe(program);
    expect(expectedProgram({ MOSAIC_AGENT_COMMAND: 'mosaic yolo claude --x' }, 'pi')).toBe('claude');
    expect(expectedProgram({ MOSAIC_AGENT_COMMAND: 'mosaic update' }, 'pi')).toBe('pi');
    expect(expectedProgram({}, 'codex')).toBe('codex');
    expect(shellWords(`a 'b c' "d\\"e" f\\ g`)).toEqual(['a', 'b c', 'd"e', 'f g']);
  });
});

type Row = { name: string; class: string | null; readiness: Readiness; claim: unknown };
const row = (name: string, cls: string | null, readiness: Readiness = 'available', claim: unknown = null): Row => ({ name, class: cls, readiness, claim });

describe('FLOOR per profile', () => {
  it('default: orchestrator ≥ 1 and enhancer ≥ 1', () => {
    expect(evaluateFloor([row('o', 'orchestrator', 'working'), row('e', 'enhancer')], DEFAULT_PROFILE).ok).toBe(true);
    const broken = evaluateFloor([row('o', 'orchestrator', 'working'), row('e', 'enhancer', 'stale')], DEFAULT_PROFILE);
    expect(broken).toMatchObject({ ok: false, profile: 'default', orchestrators: 1, enhancers: 0, reason: 'floor broken: no enhancer working or available' });
    expect(evaluateFloor([], DEFAULT_PROFILE).reason).toBe('floor broken: no orchestrator working or available, no enhancer working or available');
  });

  it('a research fleet (profile: research) needs its lead-researcher, not an orchestrator and enhancer', () => {
    const r = roster('profile: research\nagents:\n  - name: lead\n    class: lead-researcher\n  - name: r1\n    class: researcher\n');
    const { profile, error } = resolveFleetProfile(r, null);
    expect(error).toBeNull();
    expect(profile).toMatchObject({ id: 'research', lead: 'lead-researcher', floor: [{ class: 'lead-researcher', min: 1 }], source: 'built-in' });
    const ok = evaluateFloor([row('lead', 'lead-researcher', 'working'), row('r1', 'researcher')], profile);
    expect(ok).toMatchObject({ ok: true, profile: 'research', required: [{ class: 'lead-researcher', min: 1, up: 1 }] });
    expect(evaluateFloor([row('lead', 'lead-researcher', 'dead'), row('r1', 'researcher')], profile).reason).toBe(
      'floor broken: no lead-researcher working or available',
    );
  });

  it('a profile file in <home>/fleet/profiles wins over the built-in one; a roster floor: with counts wins over both', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-profiles-'));
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, 'research.yaml'), 'id: research\nlead: lead-researcher\nfloor:\n  - lead-researcher\n  - researcher\n  - researcher\n');
    const fromFile = resolveFleetProfile({ profile: 'research' }, dir).profile;
    expect(fromFile.floor).toEqual([
      { class: 'lead-researcher', min: 1 },
      { class: 'researcher', min: 2 },
    ]);
    expect(fromFile.source).toBe(path.join(dir, 'research.yaml'));
    const custom = roster('profile: research\nfloor:\n  - { class: lead-researcher, min: 1 }\n  - { class: data-analyst, min: 3 }\nagents: []\n');
    expect(resolveFleetProfile(custom, dir).profile).toMatchObject({
      id: 'research',
      lead: 'lead-researcher',
      floor: [
        { class: 'lead-researcher', min: 1 },
        { class: 'data-analyst', min: 3 },
      ],
      source: 'roster floor:',
    });
    expect(resolveFleetProfile({ profile: 'bakery' }, dir)).toMatchObject({
      profile: DEFAULT_PROFILE,
      error: stringContaining('unknown fleet profile "bakery"'),
    });
    const bad = parseRosterText('floor:\n  - { class: coder, min: lots }\nagents: []\n', 'r.yaml');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.errors[0]).toMatch(/^r\.yaml:2:3: floor count of coder must be a whole number/);
  });

  it('more than one orchestrator is flagged (upstream runs exactly one)', () => {
    const agents = [row('o1', 'orchestrator'), row('o2', 'orchestrator'), row('e', 'enhancer')];
    expect(leadProblem(agents, 'orchestrator')).toEqual({
      agents: ['o1', 'o2'],
      message: '2 agents of class orchestrator (o1, o2): upstream runs exactly one orchestrator',
    });
    expect(leadProblem(agents.slice(1), 'orchestrator').message).toBeNull();
  });
});

describe('IDLE-WITH-WORK (NS-3)', () => {
  it('raised for an available agent without a claim while a claimable card waits; cleared by a claim, by no ready card, by a pause', () => {
    const ready = [{ id: 'A4' }, { id: 'B1' }];
    const agents = [row('orch', 'orchestrator'), row('coder1', 'coder'), row('coder2', 'coder', 'working', { cardId: 'A3b' })];
    expect(idleWithWork(agents, ready, { lead: 'orchestrator', paused: false })).toEqual({ agents: ['coder1'], readyCards: 2, nextCard: 'A4' });
    // coder1 claims a card: cleared.
    expect(
      idleWithWork([at(agents, 0), row('coder1', 'coder', 'available', { cardId: 'A4' }), at(agents, 2)], ready, { lead: 'orchestrator', paused: false }),
    ).toBeNull();
    expect(idleWithWork(agents, [], { lead: 'orchestrator', paused: false })).toBeNull();
    expect(idleWithWork(agents, null, { lead: 'orchestrator', paused: false })).toBeNull();
    expect(idleWithWork(agents, ready, { lead: 'orchestrator', paused: true })).toBeNull();
  });
});
