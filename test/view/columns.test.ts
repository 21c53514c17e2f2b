import { describe, expect, it } from 'vitest';
import stringWidth from 'string-width';
import { computeColumnWidths, type ColumnSpec } from '../../src/view/columns.js';
import { FLEET_COLUMNS, fleetRowCells } from '../../src/view/rows.js';
import { makeAgent, mixedFleet } from '../fixtures/snapshots.js';
import { at } from '../helpers/must.js';

const cols: ColumnSpec[] = [
  { key: 'a', header: 'A', min: 4, max: 10, priority: 100 },
  { key: 'b', header: 'B', min: 3, priority: 50 },
  { key: 'c', header: 'C', min: 5, priority: 10 },
];
const used = (widths: number[]) => widths.reduce((s, w) => s + w, 0) + Math.max(0, widths.filter((w) => w > 0).length - 1);

describe('computeColumnWidths', () => {
  it('gives natural widths when everything fits', () => {
    expect(computeColumnWidths(cols, [['abcdef', 'xy', 'z']], 80)).toEqual([6, 3, 5]);
  });
  it('clamps to max and measures CJK/emoji in cells', () => {
    expect(computeColumnWidths(cols, [['漢字漢字漢字漢字', '🙂🙂', '']], 80)).toEqual([10, 4, 5]);
  });
  it('drops the lowest priority columns first when minimums do not fit', () => {
    const w = computeColumnWidths(cols, [['abcdef', 'xy', 'z']], 9);
    expect(w[2]).toBe(0);
    expect(w[0]).toBeGreaterThanOrEqual(4);
    expect(used(w)).toBeLessThanOrEqual(9);
  });
  it('gives spare cells to higher priority columns first', () => {
    const w = computeColumnWidths(cols, [['abcdefghij', 'bbbbbbbbbb', 'cccccccccc']], 22);
    expect(w).toEqual([10, 5, 5]);
  });
  it('drops an optional column before cutting a core one', () => {
    const withOptional: ColumnSpec[] = [...cols, { key: 'e', header: 'E', min: 6, priority: 1, optional: true }];
    const row = [['abcdefghij', 'bbbbb', 'ccccc', 'eeeeeeeeeeee']];
    expect(computeColumnWidths(withOptional, row, 60)).toEqual([10, 5, 5, 12]);
    expect(computeColumnWidths(withOptional, row, 25)).toEqual([10, 5, 5, 0]); // 10+5+5+6+3 gaps would cut none, but 29 > 25
    expect(computeColumnWidths(withOptional, row, 29)).toEqual([10, 5, 5, 6]);
  });
  it('never exceeds the total for any width, on the real fleet columns', () => {
    const rows = [...mixedFleet(), makeAgent('漢字エージェント🙂', { evidence: ['x'.repeat(200)] })].map((a) => fleetRowCells(a));
    for (let total = 0; total <= 200; total += 7) {
      const w = computeColumnWidths(FLEET_COLUMNS, rows, total);
      expect(used(w)).toBeLessThanOrEqual(Math.max(0, total));
    }
    const narrow = computeColumnWidths(FLEET_COLUMNS, rows, 78);
    expect(narrow[FLEET_COLUMNS.findIndex((c) => c.key === 'agent')]).toBeGreaterThan(0);
    expect(narrow[FLEET_COLUMNS.findIndex((c) => c.key === 'readiness')]).toBe(9);
    const wide = computeColumnWidths(FLEET_COLUMNS, rows, 158);
    expect(wide[FLEET_COLUMNS.findIndex((c) => c.key === 'evidence')]).toBeGreaterThan(
      at(
        narrow,
        FLEET_COLUMNS.findIndex((c) => c.key === 'evidence'),
      ),
    );
  });
});

describe('table cells, editor view, status hints', () => {
  it('pads visible cells and skips hidden columns', async () => {
    const { tableCells } = await import('../../components/Table.js');
    expect(tableCells(cols, [4, 0, 5], ['abcdef', 'zz', 'x'])).toEqual([
      { text: 'abc…', column: 0 },
      { text: 'x    ', column: 2 },
    ]);
    const right: ColumnSpec[] = [{ key: 'n', header: 'N', min: 3, priority: 1, align: 'right' }];
    expect(at(tableCells(right, [4], ['42s']), 0).text).toBe(' 42s');
  });
  it('keeps the end of an edited line visible, by display width', async () => {
    const { editorView } = await import('../../src/view/dialog-lines.js');
    expect(editorView('hello', 20)).toBe('hello▏');
    const long = editorView('x'.repeat(50) + 'END', 20);
    expect(long.startsWith('…')).toBe(true);
    expect(long.endsWith('END▏')).toBe(true);
    expect(stringWidth(long)).toBeLessThanOrEqual(20);
    expect(stringWidth(editorView('漢字'.repeat(20), 11))).toBeLessThanOrEqual(11);
    expect(editorView('a\u001b[31mb', 20)).toBe('a^[[31mb▏');
  });
  it('status hints come from the keymap and drop mutating keys in read-only', async () => {
    const { statusHints } = await import('../../src/view/hints.js');
    const normal = statusHints('fleet', false);
    for (const h of ['tab focus', '/ filter', '? help', 'v preview', 'w watch', 's send', 'c claim', 'p pause', 'R reclaim', 'q quit'])
      expect(normal).toContain(h);
    const ro = statusHints('fleet', true);
    expect(ro).toMatch(/^\[read-only\]/);
    for (const h of ['w watch', 's send', 'c claim', 'p pause', 'R reclaim']) expect(ro).not.toContain(h);
    expect(ro).toContain('v preview');
    expect(statusHints('backlog', false)).not.toContain('v preview'); // fleet-only binding
    expect(statusHints('backlog', false)).toContain('x release'); // backlog-only binding
    expect(statusHints('fleet', false, true)).toContain('p resume'); // while paused
  });
});
