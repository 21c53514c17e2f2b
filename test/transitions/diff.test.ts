import { describe, expect, it } from 'vitest';
import { DEFAULT_ATTENTION, diffSnapshots, transitionChange, transitionTarget, type Transition } from '../../src/transitions/diff.js';
import { NotifyDamper } from '../../src/transitions/damper.js';
import type { AgentRow, Snapshot } from '../../src/snapshot/types.js';
import { makeAgent, makeSnapshot } from '../fixtures/snapshots.js';
import { at } from '../helpers/must.js';

/** A snapshot at `atMs` of `agents` (orchestrator + enhancer keep the floor up unless told). */
function snap(atMs: number, agents: AgentRow[], over: Partial<Snapshot> = {}): Snapshot {
  return makeSnapshot(agents, { generatedAt: new Date(atMs).toISOString(), ...over });
}

const base = () => [makeAgent('orchestrator', { class: 'orchestrator' }), makeAgent('enhancer1', { class: 'enhancer', readiness: 'available' })];

describe('diffSnapshots', () => {
  it('treats the first snapshot as a baseline: no burst of transitions', () => {
    const first = snap(
      1000,
      [...base(), makeAgent('coder1', { readiness: 'dead' }), makeAgent('coder2', { readiness: 'stale', flags: ['EXPIRED-CLAIM'] })],
      {},
    );
    expect(diffSnapshots(null, first)).toEqual([]);
    // The same state again: nothing either.
    expect(
      diffSnapshots(
        first,
        snap(3000, [...base(), makeAgent('coder1', { readiness: 'dead' }), makeAgent('coder2', { readiness: 'stale', flags: ['EXPIRED-CLAIM'] })]),
      ),
    ).toEqual([]);
  });

  it('reports a readiness change with agent, host, from, to, at, evidence and attention', () => {
    const a = snap(1000, [...base(), makeAgent('coder1', { readiness: 'working', host: 'gpu2' })]);
    const b = snap(3000, [...base(), makeAgent('coder1', { readiness: 'dead', host: 'gpu2' })]);
    const out = diffSnapshots(a, b);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({
      kind: 'readiness',
      scope: 'agent',
      agent: 'coder1',
      host: 'gpu2',
      from: 'working',
      to: 'dead',
      at: new Date(3000).toISOString(),
      evidence: ['no pane =coder1:0.0 on socket mosaic-fleet'],
      attention: true,
    });
    expect(transitionChange(at(out, 0))).toBe('working → dead');
    expect(transitionTarget(at(out, 0))).toBe('dead');
    // Back to working: a transition, not an attention one.
    const back = diffSnapshots(b, snap(5000, [...base(), makeAgent('coder1', { readiness: 'working', host: 'gpu2' })]));
    expect(back).toHaveLength(1);
    expect(back[0]).toMatchObject({ from: 'dead', to: 'working', attention: false });
  });

  it('reports a flag raised and cleared, with the flag evidence', () => {
    const a = snap(1000, [...base(), makeAgent('coder1')]);
    const raisedRow = makeAgent('coder1', {
      flags: ['EXPIRED-CLAIM', 'DRIFT'],
      evidence: ['heartbeat 3s old, state=busy', 'DRIFT: expected claude, pane runs bash', 'EXPIRED-CLAIM: backlog claim past its TTL'],
    });
    const b = snap(3000, [...base(), raisedRow]);
    const raised = diffSnapshots(a, b);
    expect(raised.map((t) => [t.kind, t.flag, t.change, t.from, t.to, t.attention])).toEqual([
      ['flag', 'EXPIRED-CLAIM', 'raised', null, 'EXPIRED-CLAIM', true],
      ['flag', 'DRIFT', 'raised', null, 'DRIFT', false],
    ]);
    expect(at(raised, 0).evidence).toEqual(['EXPIRED-CLAIM: backlog claim past its TTL']);
    expect(transitionChange(at(raised, 0))).toBe('+EXPIRED-CLAIM');
    const cleared = diffSnapshots(b, snap(5000, [...base(), makeAgent('coder1', { flags: ['DRIFT'] })]));
    expect(cleared).toHaveLength(1);
    expect(cleared[0]).toMatchObject({ kind: 'flag', flag: 'EXPIRED-CLAIM', change: 'cleared', from: 'EXPIRED-CLAIM', to: null, attention: false });
    expect(transitionChange(at(cleared, 0))).toBe('-EXPIRED-CLAIM');
  });

  it('is generic over readiness words and flag names (states and flags of other builds need no change)', () => {
    const a = snap(1000, [...base(), makeAgent('coder1')]);
    const b = snap(3000, [...base(), makeAgent('coder1', { readiness: 'stuck' as AgentRow['readiness'], flags: ['LIMITED' as AgentRow['flags'][number]] })]);
    const out = diffSnapshots(a, b);
    expect(out.map((t) => [t.to, t.attention])).toEqual([
      ['stuck', true],
      ['LIMITED', true],
    ]);
    for (const s of ['dead', 'stale', 'waiting', 'stuck', 'FLOOR', 'EXPIRED-CLAIM', 'NEEDS-RESTART', 'LIMITED', 'AUTH', 'RULES-STALE'])
      expect(DEFAULT_ATTENTION.has(s)).toBe(true);
    // The attention set is data: a caller may pass its own.
    const mine = diffSnapshots(a, b, { attention: new Set(['LIMITED']) });
    expect(mine.map((t) => t.attention)).toEqual([false, true]);
  });

  it('reports fleet flags: PAUSED and FLOOR raised/cleared, and named fleet flags where the snapshot has them', () => {
    const a = snap(1000, base());
    const paused = snap(3000, base(), { fleet: { ...a.fleet, paused: { at: '2026-12-01T00:00:00Z', by: 'ops', reason: 'deploy' } } });
    const out = diffSnapshots(a, paused);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ scope: 'fleet', agent: null, host: 'testhost', kind: 'flag', flag: 'PAUSED', change: 'raised', attention: false });
    expect(at(out, 0).evidence[0]).toContain('by ops');
    // The orchestrator dies: its readiness and the floor both change.
    const broken = snap(5000, [makeAgent('orchestrator', { class: 'orchestrator', readiness: 'dead' }), at(base(), 1)], {
      fleet: {
        ...paused.fleet,
        floor: {
          ok: false,
          profile: 'default',
          lead: 'orchestrator',
          required: [],
          orchestrators: 0,
          enhancers: 1,
          reason: 'floor broken: no orchestrator working or available',
        },
      },
    });
    const out2 = diffSnapshots(paused, broken);
    expect(out2.map((t) => `${t.agent ?? 'fleet'} ${transitionChange(t)} ${t.attention}`)).toEqual(['orchestrator working → dead true', 'fleet +FLOOR true']);
    expect(at(out2, 1).evidence).toEqual(['floor broken: no orchestrator working or available']);
    const withFlags: Snapshot = {
      ...broken,
      fleet: { ...broken.fleet, idleWithWork: { agents: ['coder1', 'coder2'], readyCards: 3, nextCard: 'A4' }, flags: ['LINGER'] },
    };
    const out3 = diffSnapshots(broken, withFlags);
    expect(out3.map((t) => [t.flag, t.change])).toEqual([
      ['IDLE-WITH-WORK', 'raised'],
      ['LINGER', 'raised'],
    ]);
    expect(out3[0]).toMatchObject({ scope: 'fleet', evidence: ['coder1, coder2 available while 3 claimable card(s) wait (next A4)'] });
  });

  it('agents joining or leaving the roster are baselines, not transitions', () => {
    const a = snap(1000, [...base(), makeAgent('coder1')]);
    const b = snap(3000, [...base(), makeAgent('coder2', { readiness: 'dead' })]);
    expect(diffSnapshots(a, b)).toEqual([]);
  });

  it('matches agents by name when the roster is reordered; flags in another order are no change', () => {
    const a = snap(1000, [...base(), makeAgent('coder1', { flags: ['DRIFT', 'EXPIRED-CLAIM'] }), makeAgent('coder2')]);
    const b = snap(3000, [makeAgent('coder2', { readiness: 'dead' }), makeAgent('coder1', { flags: ['EXPIRED-CLAIM', 'DRIFT', 'DRIFT'] }), ...base()]);
    expect(diffSnapshots(a, b).map((t) => `${t.agent} ${transitionChange(t)}`)).toEqual(['coder2 working → dead']);
    // Same name on two hosts, both in place: each is compared with its own row.
    const two = (r1: AgentRow['readiness'], r2: AgentRow['readiness']) =>
      snap(1000, [...base(), makeAgent('coder1', { readiness: r1 }), makeAgent('coder1', { readiness: r2, host: 'gpu2' })]);
    expect(diffSnapshots(two('working', 'dead'), two('working', 'dead'))).toEqual([]);
    expect(diffSnapshots(two('working', 'dead'), two('working', 'working')).map((t) => `${t.agent}@${t.host} ${transitionChange(t)}`)).toEqual([
      'coder1@gpu2 dead → working',
    ]);
  });

  it('reads no evidence of an agent whose readiness and flags did not change (a 10,000-agent console diffs every snapshot)', () => {
    let reads = 0;
    const counted = (row: AgentRow): AgentRow => {
      const evidence = row.evidence;
      return Object.defineProperty({ ...row }, 'evidence', {
        enumerable: true,
        get: () => {
          reads++;
          return evidence;
        },
      });
    };
    const rows = (n: number, flagged: number) =>
      Array.from({ length: n }, (_, i) =>
        counted(
          makeAgent(`coder${i}`, {
            flags: ['DRIFT', 'EXPIRED-CLAIM'],
            evidence: ['DRIFT: pane runs bash', 'EXPIRED-CLAIM: claim past its TTL'],
            ...(i < flagged ? { readiness: 'stale' } : {}),
          }),
        ),
      );
    // Fresh row objects every snapshot (as the collector makes them), same content: 0 reads.
    expect(diffSnapshots(snap(1000, rows(1000, 0)), snap(3000, rows(1000, 0)))).toEqual([]);
    expect(reads).toBe(0);
    // Two readiness changes: the evidence of those two only.
    expect(diffSnapshots(snap(3000, rows(1000, 0)), snap(5000, rows(1000, 2)))).toHaveLength(2);
    expect(reads).toBe(2);
  });

  it('flapping: every change is a transition, the damper lets one notification per agent and state through per cool-down', () => {
    const states: AgentRow['readiness'][] = ['working', 'dead', 'working', 'dead', 'working', 'dead'];
    const snaps = states.map((r, i) => snap(1000 + i * 2000, [...base(), makeAgent('coder1', { readiness: r })]));
    const all: Transition[] = [];
    for (let i = 1; i < snaps.length; i++) all.push(...diffSnapshots(at(snaps, i - 1), at(snaps, i)));
    expect(all.map(transitionChange)).toEqual(['working → dead', 'dead → working', 'working → dead', 'dead → working', 'working → dead']);
    const damper = new NotifyDamper(60_000);
    const admitted = all.filter((t) => damper.admit(t, Date.parse(t.at)));
    expect(admitted).toHaveLength(1);
    expect(at(admitted, 0).to).toBe('dead');
    // After the cool-down the same state notifies again; another agent or state is not held back.
    const later = { ...at(all, 0), at: new Date(1000 + 61_000 + 8000).toISOString() };
    expect(damper.admit(later, Date.parse(later.at))).toBe(true);
    expect(damper.admit({ ...at(all, 0), agent: 'coder2' }, Date.parse(at(all, 0).at))).toBe(true);
    expect(damper.admit({ ...at(all, 0), to: 'stale' }, Date.parse(at(all, 0).at))).toBe(true);
    // Non-attention transitions never notify.
    expect(damper.admit(at(all, 1), Date.parse(at(all, 1).at) + 10 * 60_000)).toBe(false);
  });
});

import { timelineRuns, timelineStates } from '../../src/transitions/timeline.js';
import { TRANSITION_SCHEMA } from '../../src/transitions/diff.js';

describe('timelineStates (one agent, last hour)', () => {
  const now = Date.parse('2026-12-01T12:00:00Z');
  const tr = (from: string, to: string, minutesAgo: number): Transition => ({
    schema: TRANSITION_SCHEMA,
    kind: 'readiness',
    scope: 'agent',
    agent: 'coder1',
    host: null,
    from,
    to,
    at: new Date(now - minutesAgo * 60_000).toISOString(),
    evidence: [],
    attention: to === 'dead',
  });
  it('cuts the hour into cells, unobserved cells null, a short death wins its cell', () => {
    // 12 cells of 5 minutes. Observed since 30 min ago; died 20 min ago for 1 minute, back working.
    const h = [tr('working', 'dead', 20), tr('dead', 'working', 19)];
    const cells = timelineStates(h, 'working', { nowMs: now, cells: 12, observedSinceMs: now - 30 * 60_000 });
    expect(cells).toEqual([null, null, null, null, null, 'working', 'working', 'dead', 'working', 'working', 'working', 'working']);
    expect(timelineRuns(cells)).toEqual([
      { state: null, cells: 5 },
      { state: 'working', cells: 2 },
      { state: 'dead', cells: 1 },
      { state: 'working', cells: 4 },
    ]);
  });
  it('without an observer, the history alone says what is known; the newest cell is the current readiness', () => {
    const h = [tr('working', 'stale', 50)];
    const cells = timelineStates(h, 'stale', { nowMs: now, cells: 6, observedSinceMs: null });
    // Cells of 10 min aligned to the clock: 11:10–11:20 … 12:00–12:10; the change came at 11:10.
    expect(cells).toEqual(['stale', 'stale', 'stale', 'stale', 'stale', 'stale']);
    expect(timelineStates(h, 'stale', { nowMs: now, cells: 12, observedSinceMs: null })).toEqual([
      null,
      'stale',
      'stale',
      'stale',
      'stale',
      'stale',
      'stale',
      'stale',
      'stale',
      'stale',
      'stale',
      'stale',
    ]);
    expect(timelineStates([], 'working', { nowMs: now, cells: 4, observedSinceMs: null })).toEqual([null, null, null, null]);
    expect(timelineStates([], 'working', { nowMs: now, cells: 4, observedSinceMs: now - 3600_000 })).toEqual(['working', 'working', 'working', 'working']);
    expect(timelineStates([], 'working', { nowMs: now, cells: 4, observedSinceMs: now - 20 * 60_000 })).toEqual([null, 'working', 'working', 'working']);
  });
});
