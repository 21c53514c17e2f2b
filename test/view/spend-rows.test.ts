import { describe, expect, it } from 'vitest';
import { computeColumnWidths } from '../../src/view/columns.js';
import { FLEET_COLUMNS, fleetColumnWidths, fleetRowCells, SPEND_COLUMN } from '../../src/view/rows.js';
import { formatTokenCount, formatUsd, headerSpendText, spendAlarm, spendText, spendViewLines } from '../../src/view/spend-rows.js';
import { makeSnapshot, mixedFleet } from '../fixtures/snapshots.js';
import { makeQuota, makeSpend, spendFleet } from '../fixtures/spend.js';
import { makeAgent } from '../fixtures/snapshots.js';
import { at } from '../helpers/must.js';

describe('spend cell', () => {
  it('formats token counts in few cells', () => {
    expect([0, 950, 1000, 12_345, 999_949, 1_234_567, 4_560_000_000, -1, Number.NaN].map(formatTokenCount)).toEqual([
      '0',
      '950',
      '1.0k',
      '12.3k',
      '999.9k',
      '1.23M',
      '4.56G',
      '-',
      '-',
    ]);
  });
  it('formats dollars with cents and thousands', () => {
    expect([0, 1.234, 1.235, 1234.567].map(formatUsd)).toEqual(['$0.00', '$1.23', '$1.24', '$1,234.57']);
  });
  it('cost when priced, tokens when unpriced, - when none', () => {
    expect(spendText(makeSpend(200_000, 1.23))).toBe('$1.23');
    expect(spendText(makeSpend(12_345, null))).toBe('12.3k tok');
    expect(spendText(makeSpend(0, null))).toBe('-');
    expect(spendText(undefined)).toBe('-');
    expect(spendText(makeSpend(0, 0))).toBe('$0.00');
    // Some models without a price: the cost covers the priced requests only.
    expect(spendText(makeSpend(5_000, 0.4, { unpricedModels: ['my-local-model'] }))).toBe('$0.40+');
  });
  it('is a cell of the fleet row, in the SPEND column', () => {
    const s = spendFleet();
    const cells = s.agents.map((a) => fleetRowCells(a)[SPEND_COLUMN]);
    expect(at(FLEET_COLUMNS, SPEND_COLUMN).header).toBe('SPEND');
    expect(cells).toEqual(['$1.23', '$0.50', '12.3k tok', '-', '-', '$0.00']);
    expect(fleetRowCells(at(s.agents, 0))).toHaveLength(FLEET_COLUMNS.length);
  });
  it('is dropped before any core column is cut, shown when the core columns fit', () => {
    const rows = spendFleet().agents.map((a) => fleetRowCells(a, true, '▁'.repeat(12)));
    const narrow = computeColumnWidths(FLEET_COLUMNS, rows, 78);
    expect(narrow[SPEND_COLUMN]).toBe(0);
    for (const [i, c] of FLEET_COLUMNS.entries()) if (c.priority > 20 && c.priority < 99) expect(at(narrow, i) === 0 || at(narrow, i) >= c.min).toBe(true);
    const wide = computeColumnWidths(FLEET_COLUMNS, rows, 118);
    expect(wide[SPEND_COLUMN]).toBe('12.3k tok'.length);
    // Where it shows, no core column is below its natural width.
    expect(wide[FLEET_COLUMNS.findIndex((c) => c.key === 'agent')]).toBe('orchestrator'.length);
  });
  it('is left out when no row has spend (meter off, nothing spent), so evidence keeps its room', () => {
    const none = mixedFleet().map((a) => fleetRowCells(a, true, '▁'.repeat(12)));
    const w = fleetColumnWidths(FLEET_COLUMNS, none, 110);
    expect(w).toHaveLength(FLEET_COLUMNS.length);
    expect(w[SPEND_COLUMN]).toBe(0);
    expect(w[FLEET_COLUMNS.findIndex((c) => c.key === 'evidence')]).toBeGreaterThanOrEqual(20);
    const some = spendFleet().agents.map((a) => fleetRowCells(a, true, '▁'.repeat(12)));
    expect(fleetColumnWidths(FLEET_COLUMNS, some, 110)[SPEND_COLUMN]).toBe(9);
  });
  it('alarms on OVER-PACE and OVER-BUDGET only', () => {
    expect(spendAlarm(['OVER-PACE'])).toBe(true);
    expect(spendAlarm(['DRIFT', 'OVER-BUDGET'])).toBe(true);
    expect(spendAlarm(['DRIFT'])).toBe(false);
  });
});

describe('header spend', () => {
  it('fleet total and worst pace', () => {
    expect(headerSpendText(spendFleet())).toBe('spend today $1.73+  pace over');
  });
  it('tokens when nothing is priced, no pace without a window, OVER-BUDGET when over', () => {
    const s = makeSnapshot(mixedFleet());
    s.fleet.spend = {
      ...makeSpend(2_000_000, null),
      unattributed: { tokens: makeSpend(0, null).tokens, costUsd: null, reasons: [] },
      worstPace: null,
      overBudget: null,
    };
    expect(headerSpendText(s)).toBe('spend today 2.00M tok');
    s.fleet.spend = { ...s.fleet.spend, ...makeSpend(0, null), worstPace: 'under', overBudget: 'today $250.00 > daily budget $200.00' };
    expect(headerSpendText(s)).toBe('spend today $0.00  pace under  OVER-BUDGET');
  });
  it('nothing when the meter did not run', () => {
    expect(headerSpendText(makeSnapshot(mixedFleet()))).toBe('');
    expect(headerSpendText(null)).toBe('');
  });
});

describe('spend view lines', () => {
  const now = Date.parse('2026-12-06T11:55:00.000Z');
  it('fleet total, one line per agent, one per subscription window with pace and reset', () => {
    const lines = spendViewLines(spendFleet(), now);
    expect(lines[0]).toBe('today since 2026-12-06T00:00:00.000Z: $1.73+ (262.3k tokens)');
    expect(lines).toContain('no price for: my-local-model (tokens counted; prices in <home>/fleet/prices.yaml)');
    expect(lines).toContain('orchestrator  $1.23  200.0k (100.0k / 100.0k / 0 / 0)');
    expect(lines).toContain('enhancer1  $0.50  50.0k (25.0k / 25.0k / 0 / 0)  OVER-PACE');
    expect(lines).toContain('coder1  unpriced  12.3k (6.2k / 6.2k / 0 / 0)  no price: my-local-model');
    expect(lines).toContain('coder2  -  0 (0 / 0 / 0 / 0)');
    expect(lines).toContain('reviewer  -  not metered');
    expect(lines).toContain('SUBSCRIPTION WINDOWS');
    expect(lines[lines.length - 1]).toBe('enhancer1  primary 5h  60% used at 40% elapsed, 150% by reset  pace over (OVER-PACE)  resets in 2h05m');
  });
  it('remote agents, unattributed records, over budget, windows without times', () => {
    const s = spendFleet();
    s.agents.push(makeAgent('gpu-coder', { ssh: 'gpu2' }));
    const q = makeQuota('enhancer1', {
      window: 'secondary',
      windowMinutes: 10080,
      resetsAt: null,
      elapsedPercent: null,
      projectedPercentAtReset: null,
      pace: 'under',
      usedPercent: 5,
    });
    s.fleet.spend = {
      ...s.fleet.spend!,
      quota: [q],
      overBudget: 'today $250.00 > daily budget $200.00',
      unattributed: { tokens: makeSpend(3000, null).tokens, costUsd: 0.02, reasons: ['a.jsonl: in the scope of coder1 and coder2'] },
    };
    const lines = spendViewLines(s, now);
    expect(lines).toContain('OVER-BUDGET: today $250.00 > daily budget $200.00');
    expect(lines).toContain('unattributed: 3.0k tokens $0.02');
    expect(lines).toContain('  a.jsonl: in the scope of coder1 and coder2');
    expect(lines).toContain('gpu-coder  -  not metered here (records on gpu2)');
    expect(lines[lines.length - 1]).toBe('enhancer1  secondary 7d  5% used  pace under  resets ?');
  });
  it('says why there is nothing', () => {
    expect(spendViewLines(null, now)).toEqual(['waiting for the first snapshot…']);
    expect(spendViewLines(makeSnapshot(mixedFleet()), now)[0]).toMatch(/^no spend: the meter did not run/);
    const s = spendFleet();
    s.fleet.spend = { ...s.fleet.spend!, quota: [] };
    expect(spendViewLines(s, now)).toContain('no subscription window reported (Codex reports them)');
  });
});
