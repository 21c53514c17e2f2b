/**
 * Work per frame follows what changed: counted, never timed. The real console App rendered by
 * Ink (ink-testing-library) with the cheaper output pass installed (src/ink/output.ts) and
 * patches/ink+6.8.0.patch applied:
 * - the output pass rebuilds only the rows whose writes changed (the others reuse their string);
 * - width measurement: every line of the console's frames (ASCII, SGR colours, the timeline's
 *   block glyphs, `…`) is measured by the patch's char-code scan, none by string-width, and a
 *   frame where one age moved measures the table's lines once (stock Ink: twice, with
 *   Intl.Segmenter on every line holding a glyph);
 * - and the frames are those Ink's own passes draw (test/ink/output.test.tsx compares them).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { installFastOutputPass, outputPassStats } from '../../src/ink/output.js';
import type { AgentRow } from '../../src/snapshot/types.js';
import { makeSnapshot, manyAgents } from '../fixtures/snapshots.js';
import { renderConsole } from '../helpers/render.js';

type WidthStats = () => { scanned: number; measured: number };
let lineWidthStats: WidthStats;

beforeAll(async () => {
  expect(await installFastOutputPass()).toBe(true);
  const mod = (await import(new URL('./measure-text.js', import.meta.resolve('ink')).href)) as { lineWidthStats?: WidthStats };
  if (typeof mod.lineWidthStats !== 'function') {
    throw new Error(
      'ink/build/measure-text.js has no lineWidthStats: patches/ink+6.8.0.patch is not applied (run npm install; postinstall runs patch-package)',
    );
  }
  lineWidthStats = mod.lineWidthStats;
});

/** 30 agents, every pane idle `idle` seconds but agent005's (`idle5`); evidence ends in `…` on every other row. */
function fleet(idle: number, idle5 = idle): ReturnType<typeof makeSnapshot> {
  const agents: AgentRow[] = manyAgents(30).map((a, i) => ({
    ...a,
    pane: a.pane ? { ...a.pane, idleSeconds: i === 5 ? idle5 : idle } : a.pane,
    evidence: i % 2 ? ['pane idle, last line: make test…'] : a.evidence,
  }));
  return makeSnapshot(agents);
}

describe('work per frame', () => {
  for (const color of [true, false]) {
    it(`one age moved: one row of the frame rebuilt, the table's lines measured once, none by string-width (colour ${color ? 'on' : 'off'})`, async () => {
      const r = renderConsole({ columns: 200, rows: 50, color });
      try {
        r.store.getState().applySnapshot(fleet(600));
        await r.waitFor((f) => f.includes('agent029') && f.includes('10m00s'), 'first frame');
        const tableLines = r.lines().filter((l) => /agent\d{3}/.test(l)).length + 1; // rows + header
        expect(tableLines).toBe(31);
        const widths0 = lineWidthStats();
        const rows0 = { ...outputPassStats };
        r.store.getState().applySnapshot(fleet(600, 601));
        await r.waitFor((f) => f.includes('10m01s'), 'frame with the moved age');
        const widths1 = lineWidthStats();
        expect(outputPassStats.frames).toBeGreaterThan(rows0.frames);
        // The frame's other 48 rows are those of the frame before.
        expect(outputPassStats.rowsBuilt - rows0.rowsBuilt).toBe(1);
        expect(outputPassStats.rowsReused - rows0.rowsReused).toBe(49 * (outputPassStats.frames - rows0.frames) - 1);
        expect(widths1.measured - widths0.measured).toBe(0);
        expect(widths1.scanned - widths0.scanned).toBe(tableLines);
      } finally {
        r.unmount();
      }
    });
  }

  it('a frame drawn again unchanged (a new snapshot that draws the same) rebuilds no row and measures nothing', async () => {
    const r = renderConsole({ columns: 200, rows: 50, color: true });
    try {
      r.store.getState().applySnapshot(fleet(600));
      await r.waitFor((f) => f.includes('agent029'), 'first frame');
      const widths0 = lineWidthStats();
      const rows0 = { ...outputPassStats };
      r.store.getState().applySnapshot(fleet(600));
      await r.waitFor(() => outputPassStats.frames > rows0.frames, 'the frame of the new snapshot');
      expect(outputPassStats.rowsBuilt - rows0.rowsBuilt).toBe(0);
      expect(lineWidthStats()).toEqual(widths0);
    } finally {
      r.unmount();
    }
  });
});
