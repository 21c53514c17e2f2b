/**
 * The fleet table keeps each agent's row between snapshots (src/view/fleet-rows.ts): a snapshot
 * in which every age moved sanitizes and measures one cell per row and computes no timeline
 * again; a key press computes no row at all; and the rows are exactly fleetRowCells'. Counted,
 * never timed.
 */
import { describe, expect, it } from 'vitest';
import type { AgentRow } from '../../src/snapshot/types.js';
import { displayWidth } from '../../src/view/format.js';
import { cachedFleetRow, createFleetRowCache, fleetRowWork } from '../../src/view/fleet-rows.js';
import { fleetRowCells } from '../../src/view/rows.js';
import { makeAgent, makeSnapshot, manyAgents } from '../fixtures/snapshots.js';
import { renderConsole } from '../helpers/render.js';

const N = 200;

/** `N` agents, every pane idle `idle` seconds (10m00s…: one drawn width). */
function fleet(idle: number): ReturnType<typeof makeSnapshot> {
  return makeSnapshot(manyAgents(N).map((a) => ({ ...a, pane: a.pane ? { ...a.pane, idleSeconds: idle } : a.pane })));
}

describe('fleet rows kept between snapshots', () => {
  it("an entry is fleetRowCells' row and its widths; unchanged inputs give the same entry, a moved age one cell", () => {
    const cache = createFleetRowCache();
    const agent = makeAgent('名前\u001b]2;x\u0007', { evidence: ['e…', '漢字'] });
    const first = cachedFleetRow(cache, agent, true, '▁▂');
    expect(first.cells).toEqual(fleetRowCells(agent, true, '▁▂'));
    expect(first.widths).toEqual(first.cells.map(displayWidth));
    const work = { ...fleetRowWork };
    expect(cachedFleetRow(cache, { ...agent }, true, '▁▂')).toBe(first);
    expect(fleetRowWork).toEqual(work);
    const moved: AgentRow = { ...agent, pane: { ...agent.pane!, idleSeconds: 4000 } };
    const second = cachedFleetRow(cache, moved, true, '▁▂');
    expect(second.cells).toEqual(fleetRowCells(moved, true, '▁▂'));
    expect(second.widths).toEqual(second.cells.map(displayWidth));
    expect(fleetRowWork.cellsSanitized - work.cellsSanitized).toBe(1);
    expect(cachedFleetRow(cache, moved, false, '▁▂').cells).toEqual(fleetRowCells(moved, false, '▁▂'));
  });

  it(`${N} agents, every live pane's age moved: one cell sanitized per such row, no timeline computed; a key press: no row computed`, async () => {
    const r = renderConsole({ columns: 200, rows: 50, color: true });
    try {
      r.store.getState().applySnapshot(fleet(600));
      await r.waitFor((f) => f.includes('10m00s'), 'first frame');
      const work = { ...fleetRowWork };
      // Dead agents (every fifth) have no pane: their IDLE stays `-`, their row is kept whole.
      const live = fleet(601).agents.filter((a) => a.pane).length;
      expect(live).toBe(N - N / 5);
      r.store.getState().applySnapshot(fleet(601));
      await r.waitFor((f) => f.includes('10m01s'), 'frame with the moved ages');
      expect({
        rows: fleetRowWork.rowsComputed - work.rowsComputed,
        cells: fleetRowWork.cellsSanitized - work.cellsSanitized,
        timelines: fleetRowWork.timelinesComputed - work.timelinesComputed,
      }).toEqual({ rows: live, cells: live, timelines: 0 });
      const before = { ...fleetRowWork };
      await r.press('j');
      await r.waitFor((f) => /^> agent001/m.test(f.replace(/\u001b\[[0-9;]*m/g, '')), 'selection on the second row');
      expect(fleetRowWork).toEqual(before);
    } finally {
      r.unmount();
    }
  });
});
