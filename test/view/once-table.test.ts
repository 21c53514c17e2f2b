/**
 * The readable `--once` table's backlog block (src/view/once-table.ts): counts, claimed cards
 * with owner and TTL, the top ready cards, the ones waiting on dependencies; none yet; error.
 */
import { describe, expect, it } from 'vitest';
import { renderBacklogBlock, renderSnapshotTable } from '../../src/view/once-table.js';
import { makeAgent, makeBacklog, makeSnapshot } from '../fixtures/snapshots.js';

describe('--once table: backlog block', () => {
  it('lists claimed cards (owner, TTL left or expired) and ready cards; says how many wait on dependencies', () => {
    const backlog = makeBacklog({
      stats: { counts: { ready: 9, claimed: 2, blocked: 1, done: 3 }, oldestReadyAgeSeconds: 60, expiredClaims: 1, waitingOnDeps: 6 },
      claimed: [
        { id: 'A3', title: 'wire the heartbeat writer', owner: 'coder1', claimedAt: '', ttlSeconds: 900, secondsLeft: 600, expired: false },
        { id: 'H1', title: 'persona library', owner: 'reviewer', claimedAt: '', ttlSeconds: 60, secondsLeft: -75, expired: true },
      ],
      ready: [
        { id: 'B2', title: 'high priority card', priority: 9, phase: 'p1' },
        { id: 'B1', title: 'low priority card', priority: 1, phase: 'p1' },
        { id: 'B3', title: 'third', priority: 1, phase: 'p1' },
      ],
    });
    const lines = renderBacklogBlock(backlog);
    expect(lines[0]).toBe('backlog embedded /tmp/backlog: ready 9  claimed 2  blocked 1  done 3  EXPIRED 1');
    expect(lines[1]).toMatch(/^STATUS\s+CARD\s+OWNER\/PRIO\s+TTL\s+TITLE$/);
    expect(lines[2]).toMatch(/^claimed\s+A3\s+coder1\s+10m00s\s+wire the heartbeat writer$/);
    expect(lines[3]).toMatch(/^claimed\s+H1\s+reviewer\s+expired 1m15s\s+persona library$/);
    expect(lines[4]).toMatch(/^ready\s+B2\s+p9\s+-\s+high priority card$/);
    expect(lines.slice(-1)[0]).toBe('6 more ready cards waiting on dependencies');
    // 9 ready − 6 waiting = 3 claimable, all 3 shown: no "more ready" line.
    expect(lines.join('\n')).not.toMatch(/more ready \(/);
  });

  it('more claimable than shown: points at the CLI', () => {
    const ready = Array.from({ length: 10 }, (_, i) => ({ id: `R${i}`, title: `card ${i}`, priority: 10 - i, phase: null }));
    const lines = renderBacklogBlock(
      makeBacklog({
        claimed: [],
        ready,
        stats: { counts: { ready: 14, claimed: 0, blocked: 0, done: 0 }, oldestReadyAgeSeconds: 1, expiredClaims: 0, waitingOnDeps: 0 },
      }),
    );
    expect(lines.filter((l) => l.startsWith('ready '))).toHaveLength(5);
    expect(lines).toContain('… 9 more ready (mosaic-top backlog list --ready-only)');
  });

  it('none yet, an error, and untrusted titles stay inert; the table carries the block', () => {
    expect(renderBacklogBlock(makeBacklog({ ok: false, exists: false, stats: null, claimed: [], ready: [] }))).toEqual([
      'backlog embedded /tmp/backlog: none yet',
    ]);
    expect(renderBacklogBlock(makeBacklog({ ok: false, exists: true, error: 'backlog server did not answer', stats: null }))).toEqual([
      'backlog embedded /tmp/backlog: ERROR backlog server did not answer',
    ]);
    const evil = makeBacklog({ ready: [{ id: 'E1', title: 'x\u001b]0;pwned\u0007y\u001b[2J', priority: 1, phase: null }] });
    const text = renderSnapshotTable(makeSnapshot([makeAgent('coder1')], { backlog: evil }));
    expect(text).toContain('backlog embedded /tmp/backlog: ready 2');
    expect(text).toMatch(/ready\s+E1\s+p1\s+-\s+x/);
    expect(text).not.toContain('\u001b');
    expect(text).not.toContain('\u0007');
  });
});

describe('fleet rules in --once and the header', () => {
  it('IDLE-WITH-WORK, more than one orchestrator, a profile floor and a pause from the store are spelled out', async () => {
    const { fleetSignals, floorText, pausedBanner } = await import('../../src/view/rows.js');
    const snap = makeSnapshot([
      makeAgent('orc', { class: 'orchestrator' }),
      makeAgent('orc2', { class: 'orchestrator' }),
      makeAgent('c1', { class: 'coder', flags: ['IDLE-WITH-WORK'] }),
    ]);
    snap.fleet.idleWithWork = { agents: ['c1'], readyCards: 3, nextCard: 'A4' };
    snap.fleet.lead = {
      class: 'orchestrator',
      agents: ['orc', 'orc2'],
      problem: '2 agents of class orchestrator (orc, orc2): upstream runs exactly one orchestrator',
    };
    const table = renderSnapshotTable(snap);
    expect(table).toContain('IDLE-WITH-WORK: c1 available with no claim while 3 claimable card(s) wait (next A4)');
    expect(table).toContain('LEAD: 2 agents of class orchestrator (orc, orc2)');
    expect(table).toMatch(/c1 .*IDLE-WITH-WORK/);
    expect(fleetSignals(snap)).toEqual(['IDLE-WITH-WORK: c1 idle, A4 ready (+2 more)', '2 ORCHESTRATORS: orc, orc2']);
    snap.fleet.idleWithWork = null;
    snap.fleet.lead = { class: 'orchestrator', agents: ['orc'], problem: null };
    expect(fleetSignals(snap)).toEqual([]);
    expect(renderSnapshotTable(snap)).not.toContain('IDLE-WITH-WORK:');
    snap.fleet.floor = {
      ok: true,
      profile: 'research',
      lead: 'lead-researcher',
      required: [{ class: 'lead-researcher', min: 1, up: 1 }],
      orchestrators: 0,
      enhancers: 0,
      reason: null,
    };
    expect(floorText(snap)).toBe('floor ok (research: 1 lead-researcher)');
    expect(renderSnapshotTable(snap)).toContain('floor ok (profile research: lead-researcher 1/1)');
    snap.fleet.paused = { at: '2026-11-21T10:00:00Z', by: 'ops@host-a', reason: 'deploy', source: 'store' };
    expect(pausedBanner(snap, Date.parse('2026-11-21T10:05:00Z'))).toBe(
      'PAUSED fleet-wide (shared store) since 2026-11-21T10:00:00Z (5m00s ago) by ops@host-a — deploy',
    );
  });
});
