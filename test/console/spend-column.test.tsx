/**
 * Spend in the console (docs/spend.md) through the component harness: the SPEND column
 * (today's cost, or tokens when unpriced, `-` when none) on a wide screen and dropped at 80×24;
 * the header's fleet total and worst pace.
 */
import { afterEach, describe, expect, it } from 'vitest';
import stringWidth from 'string-width';
import { renderConsole, type Rendered } from '../helpers/render.js';
import { spendFleet } from '../fixtures/spend.js';
import { must } from '../helpers/must.js';

let current: Rendered | null = null;
afterEach(() => {
  current?.unmount();
  current = null;
});

function mount(columns: number, rows: number): Rendered {
  current = renderConsole({ columns, rows, snapshot: spendFleet() });
  return current;
}

describe('spend in the console', () => {
  it('120×35: a SPEND column with cost, tokens or -, and the header total with the worst pace', async () => {
    const r = mount(120, 35);
    const frame = await r.waitFor((f) => f.includes('SPEND'), 'the SPEND column');
    const lines = frame.split('\n');
    expect(lines[0]).toContain('spend today $1.73+  pace over');
    const top = lines.findIndex((l) => l.includes('AGENT'));
    const at = must(lines[top], 'the header line').indexOf('SPEND');
    // Right-aligned under the header: each cell ends where the header ends (+4: 'SPEND' is 5 of 9 cells).
    const cell = (name: string) => {
      const row = lines.slice(top + 1).find((l) => new RegExp(`^\\W*${name} `).test(l));
      return row?.slice(at - 4, at + 5).trim();
    };
    expect(cell('orchestrator')).toBe('$1.23');
    expect(cell('enhancer1')).toBe('$0.50');
    expect(cell('coder1')).toBe('12.3k tok');
    expect(cell('coder2')).toBe('-');
    expect(cell('reviewer')).toBe('-');
    expect(cell('coder3')).toBe('$0.00');
    for (const l of lines) expect(stringWidth(l)).toBeLessThanOrEqual(120);
  });

  it('80×24: the SPEND column is dropped, the header still shows the total', async () => {
    const r = mount(80, 24);
    const frame = await r.waitFor((f) => f.includes('BACKLOG'), 'backlog panel');
    const lines = frame.split('\n');
    expect(lines.find((l) => l.includes('AGENT'))).not.toContain('SPEND');
    expect(lines[0]).toContain('spend today $1.73+');
    expect(lines.length).toBeLessThanOrEqual(23);
    for (const l of lines) expect(stringWidth(l)).toBeLessThanOrEqual(80);
  });

  it('$ opens the spend view at 80×24 (agents, windows), $ closes it', async () => {
    const r = mount(80, 24);
    await r.waitFor((f) => f.includes('BACKLOG'), 'backlog panel');
    await r.press('$');
    const frame = await r.waitFor((f) => f.includes('SPEND today'), 'the spend view');
    const lines = frame.split('\n');
    expect(frame).toContain('today since 2026-12-06T00:00:00.000Z: $1.73+ (262.3k tokens)');
    expect(lines.some((l) => l.startsWith('enhancer1  $0.50  50.0k (25.0k / 25.0k / 0 / 0)  OVER-PACE'))).toBe(true);
    expect(lines.some((l) => l.startsWith('coder1  unpriced  12.3k'))).toBe(true);
    expect(frame).not.toContain('BACKLOG');
    for (const l of lines) expect(stringWidth(l)).toBeLessThanOrEqual(80);
    // The subscription window, at the end of the view (G: the end, however tall the screen).
    await r.press('G');
    await r.waitFor((f) => /enhancer1 {2}primary 5h {2}60% used at 40% elapsed, 150% by reset {2}pace over/.test(f), 'the window line');
    await r.press('$');
    await r.waitFor((f) => !f.includes('SPEND today') && f.includes('BACKLOG'), 'closed by $');
  });
});
