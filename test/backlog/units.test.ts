/** Pure parts of the backlog core: priority mapping, line framing, lock liveness, snapshot mapping. */
import { describe, expect, it } from 'vitest';
import { northStarPriority, parseNorthStar } from '../../backlog/north-star.js';
import { BACKLOG_METHODS, LineSplitter, MAX_LINE_BYTES, isBacklogMethod } from '../../backlog/protocol.js';
import { BACKLOG_VERBS, verbsFrom } from '../../backlog/verbs.js';
import { isHolderAlive, processStartTime, readProcessStat } from '../../backlog/lock.js';
import { SNAPSHOT_READY_LIMIT, sectionFromOverview, type BacklogSection } from '../../backlog/snapshot.js';
import { BacklogError, EXIT_CODES, type BacklogStats, type Card } from '../../backlog/types.js';

function card(over: Partial<Card>): Card {
  return {
    id: 'X',
    title: 't',
    body: null,
    phase: null,
    priority: 0,
    status: 'ready',
    dependsOn: [],
    claimOwner: null,
    claimTtlSeconds: null,
    claimedAt: null,
    claimToken: null,
    expiresAt: null,
    secondsLeft: null,
    attempts: 0,
    idempotencyKey: null,
    acceptance: null,
    projectedTokens: null,
    actualTokens: null,
    createdAt: '2026-11-21T17:00:00.000Z',
    updatedAt: '2026-11-21T17:00:00.000Z',
    ...over,
  };
}

describe('NORTH_STAR priorities', () => {
  it('maps must-have above should-have, earlier phases slightly higher, integers pass through', () => {
    expect(northStarPriority('must-have', '1', 'A1')).toBe(99);
    expect(northStarPriority('must-have', '2', 'B1')).toBe(98);
    expect(northStarPriority('should-have', '1', 'A4')).toBe(49);
    expect(northStarPriority('Must-Have', null, 'X')).toBe(100);
    expect(northStarPriority(7, '1', 'X')).toBe(7);
    expect(() => northStarPriority('asap', '1', 'X')).toThrow(BacklogError);
  });

  it('names the file and line of a YAML syntax error', async () => {
    await expect(parseNorthStar('goals:\n  - id: A1\n   title: [unclosed\n', 'NS.yaml')).rejects.toThrow(/^NS\.yaml:\d+:\d+/);
  });

  it('keeps depends_on and accepts dependsOn', async () => {
    const goals = await parseNorthStar(
      'goals:\n  - {id: A, title: a, phase: 1, priority: must-have, depends_on: []}\n  - {id: B, title: b, priority: should-have, dependsOn: [A]}\n',
    );
    expect(goals.map((g) => [g.id, g.dependsOn, g.phase])).toEqual([
      ['A', [], '1'],
      ['B', ['A'], null],
    ]);
  });
});

describe('protocol framing', () => {
  it('splits chunks into complete lines and keeps the remainder', () => {
    const s = new LineSplitter();
    expect(s.push('{"id":1}\n{"id"')).toEqual(['{"id":1}']);
    expect(s.push(':2}\n\n')).toEqual(['{"id":2}']);
  });

  it('refuses a runaway line', () => {
    const s = new LineSplitter();
    expect(() => s.push('x'.repeat(MAX_LINE_BYTES + 1))).toThrow(/longer than/);
  });

  it('knows its commands and nothing else', () => {
    expect(isBacklogMethod('claim')).toBe(true);
    expect(isBacklogMethod('constructor')).toBe(false);
    expect(isBacklogMethod('__proto__')).toBe(false);
  });

  it('the protocol accepts every verb of the one verb list, plus ping and prove (the lock token, backlog stop)', () => {
    expect([...BACKLOG_METHODS].sort()).toEqual([...BACKLOG_VERBS, 'ping', 'prove'].sort());
    for (const verb of BACKLOG_VERBS) expect(isBacklogMethod(verb)).toBe(true);
  });

  it("verbsFrom builds every verb, each running its own name with the caller's single argument", async () => {
    const calls: [string, unknown][] = [];
    const verbs = verbsFrom((verb, input) => {
      calls.push([verb, input]);
      return Promise.resolve(`${verb}-result`);
    });
    expect(Object.keys(verbs).sort()).toEqual([...BACKLOG_VERBS].sort());
    expect(await verbs.get('A1')).toBe('get-result');
    await verbs.claim({ owner: 'coder1', ttlSeconds: 60 });
    await verbs.stats();
    expect(calls).toEqual([
      ['get', 'A1'],
      ['claim', { owner: 'coder1', ttlSeconds: 60 }],
      ['stats', undefined],
    ]);
  });
});

describe('lock liveness', () => {
  it('reads this process start time and treats a different start time as a reused pid', () => {
    const start = processStartTime(process.pid);
    expect(start).toMatch(/^\d+$/);
    expect(readProcessStat(process.pid)?.state).toMatch(/[RS]/);
    expect(isHolderAlive({ pid: process.pid, startTime: start, socket: null, acquiredAt: '' })).toBe(true);
    expect(isHolderAlive({ pid: process.pid, startTime: '1', socket: null, acquiredAt: '' })).toBe(false);
    expect(isHolderAlive({ pid: -5, startTime: null, socket: null, acquiredAt: '' })).toBe(false);
  });
});

describe('snapshot section', () => {
  it('maps an overview to claimed cards with owner and seconds left, and ready cards', () => {
    const base: BacklogSection = {
      tier: 'embedded',
      location: '/x',
      ok: false,
      exists: false,
      error: null,
      warning: null,
      stats: null,
      claimed: [],
      ready: [],
      blockedCount: 0,
    };
    const section = sectionFromOverview(base, {
      stats: { counts: { ready: 1, claimed: 2, blocked: 3, done: 4 }, total: 10, oldestReadyAgeSeconds: 12, expiredClaimCount: 1, waitingOnDeps: 0 },
      claimed: [
        card({ id: 'E', status: 'claimed', claimOwner: 'a', claimTtlSeconds: 60, claimedAt: '2026-11-21T16:00:00.000Z', secondsLeft: -3540.4 }),
        card({ id: 'L', status: 'claimed', claimOwner: 'b', claimTtlSeconds: 900, claimedAt: '2026-11-21T17:00:00.000Z', secondsLeft: 899.6 }),
      ],
      ready: [card({ id: 'R', priority: 5, phase: 'M1' })],
    });
    expect(section).toMatchObject({ ok: true, exists: true, blockedCount: 3, stats: { expiredClaims: 1, oldestReadyAgeSeconds: 12 } });
    expect(section.stats).not.toHaveProperty('total');
    expect(section.claimed).toEqual([
      { id: 'E', title: 't', owner: 'a', claimedAt: '2026-11-21T16:00:00.000Z', ttlSeconds: 60, secondsLeft: -3540, expired: true },
      { id: 'L', title: 't', owner: 'b', claimedAt: '2026-11-21T17:00:00.000Z', ttlSeconds: 900, secondsLeft: 900, expired: false },
    ]);
    expect(section.ready).toEqual([{ id: 'R', title: 't', priority: 5, phase: 'M1' }]);
  });

  it('a backlog server from before the upgrade (no waitingOnDeps): derived from a short ready list, else 0', () => {
    const base: BacklogSection = {
      tier: 'embedded',
      location: '/x',
      ok: false,
      exists: false,
      error: null,
      warning: null,
      stats: null,
      claimed: [],
      ready: [],
      blockedCount: 0,
    };
    const oldStats = { counts: { ready: 8, claimed: 0, blocked: 0, done: 0 }, total: 8, oldestReadyAgeSeconds: 1, expiredClaims: 0 } as unknown as BacklogStats;
    const short = sectionFromOverview(base, { stats: oldStats, claimed: [], ready: [card({ id: 'R1' }), card({ id: 'R2' })] });
    expect(short.stats?.waitingOnDeps).toBe(6);
    const full = sectionFromOverview(base, {
      stats: oldStats,
      claimed: [],
      ready: Array.from({ length: SNAPSHOT_READY_LIMIT }, (_, i) => card({ id: `R${i}` })),
    });
    expect(full.stats?.waitingOnDeps).toBe(0);
  });

  it('gives every error code a distinct non-zero exit code, usage errors 2', () => {
    const refusals = ['not_found', 'conflict', 'fenced', 'cycle', 'paused', 'absent'] as const;
    const codes = refusals.map((c) => EXIT_CODES[c]);
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes).not.toContain(0);
    expect(codes).not.toContain(2);
    expect(EXIT_CODES.invalid).toBe(2);
  });
});
