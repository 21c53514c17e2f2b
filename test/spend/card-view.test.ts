/**
 * Per-card spend in the console: the snapshot's `fleet.spend.cards` (src/snapshot/spend.ts
 * `claimedCardSpend`: the owner's requests from the claim to now, local agents only) and its
 * lines in the `$` view (src/view/spend-card-rows.ts, through `spendViewLines`).
 */
import { describe, expect, it } from 'vitest';
import { loadPriceBook } from '../../fleet/spend/prices.js';
import type { ReportFile } from '../../fleet/spend/report.js';
import { makeTokens } from '../../fleet/spend/types.js';
import { claimedCardSpend } from '../../src/snapshot/spend.js';
import { spendViewLines } from '../../src/view/spend-rows.js';
import { makeAgent, makeBacklog, makeSnapshot } from '../fixtures/snapshots.js';
import { spendFleet } from '../fixtures/spend.js';
import { at } from '../helpers/must.js';

const CLAIM = Date.parse('2026-12-06T10:00:00.000Z');
const NOW = CLAIM + 65 * 60_000;

function file(agent: string, events: [number, number][]): ReportFile {
  return {
    file: `/r/${agent}.jsonl`,
    runtime: 'claude',
    agent,
    reason: null,
    session: `s-${agent}`,
    rate: null,
    events: events.map(([at, n], i) => ({ at, model: 'claude-opus-4-8', tokens: makeTokens(n, n, 0, 0), key: `${agent}-${i}`, cacheWrite1h: 0 })),
  };
}

describe('per-card spend in the snapshot and the $ view', () => {
  it("a claimed card costs its owner's requests since the claim; remote owners and bad times are left out", () => {
    const snapshot = makeSnapshot([makeAgent('coder1'), makeAgent('coder2'), makeAgent('gpu', { ssh: 'gpu2' })], {
      backlog: makeBacklog({
        claimed: [
          { id: 'C7', title: 't', owner: 'coder1', claimedAt: new Date(CLAIM).toISOString(), ttlSeconds: 900, secondsLeft: 600, expired: false },
          { id: 'C8', title: 't', owner: 'gpu', claimedAt: new Date(CLAIM).toISOString(), ttlSeconds: 900, secondsLeft: 600, expired: false },
          { id: 'C9', title: 't', owner: 'coder2', claimedAt: 'not a time', ttlSeconds: 900, secondsLeft: 600, expired: false },
        ],
      }),
    });
    const files = [
      file('coder1', [
        [CLAIM - 60_000, 1000],
        [CLAIM + 60_000, 100],
        [CLAIM + 120_000, 20],
      ]),
      file('coder2', [[CLAIM + 60_000, 7]]),
    ];
    const cards = claimedCardSpend(snapshot, files, loadPriceBook('/nonexistent/prices.yaml'), NOW);
    expect(cards).toHaveLength(1);
    expect(cards[0]).toMatchObject({ card: 'C7', agent: 'coder1', since: '2026-12-06T10:00:00.000Z', requests: 2 });
    expect(at(cards, 0).tokens).toEqual(makeTokens(120, 120, 0, 0));
    expect(at(cards, 0).costUsd).toBeGreaterThan(0);
  });

  it('the $ view lists each claimed card before the windows; none without card spend; text sanitized', () => {
    const s = spendFleet();
    expect(spendViewLines(s, NOW).some((l) => l.startsWith('CARD '))).toBe(false);
    s.fleet.spend!.cards = [
      { card: 'C7', agent: 'orchestrator', since: new Date(CLAIM).toISOString(), tokens: makeTokens(6000, 6345, 0, 0), costUsd: 0.42, requests: 3 },
      {
        card: 'X\u001b[31m1',
        agent: 'coder1',
        since: new Date(NOW - 3 * 86_400_000).toISOString(),
        tokens: makeTokens(1, 0, 0, 0),
        costUsd: null,
        requests: 1,
      },
    ];
    const lines = spendViewLines(s, NOW);
    const header = lines.findIndex((l) => l.startsWith('CARD  AGENT  THIS CLAIM'));
    expect(header).toBeGreaterThan(0);
    expect(lines[header + 1]).toBe('C7  orchestrator  claimed 1h05m ago  $0.42  12.3k (6.0k / 6.3k / 0 / 0)  3 requests');
    expect(lines[header + 2]).toBe('X^[[31m1  coder1  claimed 3d ago  unpriced  1 (1 / 0 / 0 / 0)  1 request');
    expect(lines.indexOf('SUBSCRIPTION WINDOWS')).toBeGreaterThan(header + 2);
  });
});
