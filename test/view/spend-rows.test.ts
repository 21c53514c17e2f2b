import { describe, expect, it } from 'vitest';
import { computeColumnWidths } from '../../src/view/columns.js';
import { FLEET_COLUMNS, fleetColumnWidths, fleetRowCells, SPEND_COLUMN } from '../../src/view/rows.js';
import { formatTokenCount, formatUsd, headerSpendText, spendAlarm, spendText } from '../../src/view/spend-rows.js';
import { makeSnapshot, mixedFleet } from '../fixtures/snapshots.js';
import { makeSpend, spendFleet } from '../fixtures/spend.js';

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
    expect(FLEET_COLUMNS[SPEND_COLUMN].header).toBe('SPEND');
    expect(cells).toEqual(['$1.23', '$0.50', '12.3k tok', '-', '-', '$0.00']);
    expect(fleetRowCells(s.agents[0])).toHaveLength(FLEET_COLUMNS.length);
  });
  it('is dropped before any core column is cut, shown when the core columns fit', () => {
    const rows = spendFleet().agents.map((a) => fleetRowCells(a, true, '▁'.repeat(12)));
    const narrow = computeColumnWidths(FLEET_COLUMNS, rows, 78);
    expect(narrow[SPEND_COLUMN]).toBe(0);
    for (const [i, c] of FLEET_COLUMNS.entries()) if (c.priority > 20 && c.priority < 99) expect(narrow[i] === 0 || narrow[i] >= c.min).toBe(true);
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
