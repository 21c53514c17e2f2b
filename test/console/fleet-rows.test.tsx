/**
 * The fleet table keeps each agent's row between snapshots (src/view/fleet-rows.ts): a snapshot
 * in which every age moved sanitizes and measures one cell per row in view and computes no
 * timeline again; a key press computes no row at all; rows out of view are never made, yet their
 * cells size the columns exactly as fleetColumnWidths over every row does. Counted, never timed.
 */
import { describe, expect, it } from 'vitest';
import type { AgentRow } from '../../src/snapshot/types.js';
import { displayWidth } from '../../src/view/format.js';
import { cachedFleetRow, createFleetRowCache, fleetNaturalWidths, fleetRowWork } from '../../src/view/fleet-rows.js';
import { naturalColumnWidths } from '../../src/view/columns.js';
import { fleetColumns, fleetRowCells, SPEND_COLUMN } from '../../src/view/rows.js';
import { makeAgent, makeSnapshot, manyAgents, mixedFleet } from '../fixtures/snapshots.js';
import { makeSpend } from '../fixtures/spend.js';
import { renderConsole } from '../helpers/render.js';

const N = 200;

/** `N` agents, every pane idle `idle` seconds (10m00s…: one drawn width). */
function fleet(idle: number): ReturnType<typeof makeSnapshot> {
  return makeSnapshot(manyAgents(N).map((a) => ({ ...a, pane: a.pane ? { ...a.pane, idleSeconds: idle } : a.pane })));
}

/** Agents whose cells are odd: controls, bidi, CJK, combining marks, a C1 control, long evidence and flags, spend. */
function oddAgents(): AgentRow[] {
  return [
    ...mixedFleet(),
    makeAgent('名前\u001b]2;x\u0007', { evidence: ['e…', '漢字'], class: 'クラス名前長い', flags: ['DRIFT', 'NEEDS-RESTART'] }),
    makeAgent('a\u202ebidi', { runtime: 'co\u0301dex', evidence: ['x'.repeat(300)] }),
    makeAgent('c1\u009bname', { class: '\u009b\u009b\u009b\u009b', flags: ['OVER-PACE'] }),
    makeAgent('spender', { spend: makeSpend(12_345, null), claim: { cardId: 'CARD-漢字-12345', title: 't', secondsLeft: 60 } }),
    makeAgent('longest-agent-name-here-and-more', { unit: null, readiness: 'dead', pane: null, heartbeat: null }),
  ];
}

describe('fleet column widths without rows', () => {
  it("are naturalColumnWidths of every row's fleetRowCells (colour and words, each systemd answer, with and without spend)", () => {
    const agents = oddAgents();
    for (const words of [false, true]) {
      for (const cells of [6, 12, 60]) {
        for (const list of [agents, agents.filter((a) => !a.spend), agents.slice(0, 3)]) {
          const columns = fleetColumns(cells, words);
          const timeline = (i: number) => (i % 2 ? '漢'.repeat(i) : 'working 40m '.repeat(i));
          const systemdOk = (a: AgentRow) => a.name.length % 2 === 0;
          const rows = list.map((a, i) => fleetRowCells(a, systemdOk(a), timeline(i)));
          expect(fleetNaturalWidths(columns, list, systemdOk, timeline)).toEqual({
            natural: naturalColumnWidths(columns, rows),
            spendShown: rows.some((r) => r[SPEND_COLUMN] !== '-'),
          });
        }
      }
    }
  });

  it('an agent out of view widens its column as one in view does', async () => {
    const agents = manyAgents(N);
    const r = renderConsole({ columns: 200, rows: 30, color: false });
    try {
      const header = (f: string) => f.split('\n').find((l) => l.includes('RUNTIME')) ?? '';
      r.store.getState().applySnapshot(makeSnapshot(agents));
      const before = header(await r.waitFor((f) => f.includes('agent000'), 'first frame'));
      // The last agent is far out of view; its class is the widest (14 cells, the column's max).
      r.store.getState().applySnapshot(makeSnapshot(agents.map((a, i) => (i === N - 1 ? { ...a, class: 'x'.repeat(20) } : a))));
      const after = header(await r.waitFor((f) => header(f).indexOf('RUNTIME') !== before.indexOf('RUNTIME'), 'wider CLASS column'));
      expect(after.indexOf('RUNTIME') - before.indexOf('RUNTIME')).toBe(14 - 'orchestrator'.length);
      expect(r.frame()).not.toContain(`agent${N - 1}`);
    } finally {
      r.unmount();
    }
  });
});

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

  it(`${N} agents, every live pane's age moved: one cell sanitized per such row in view, no timeline computed; a key press: no row computed`, async () => {
    const r = renderConsole({ columns: 200, rows: 50, color: true });
    try {
      r.store.getState().applySnapshot(fleet(600));
      await r.waitFor((f) => f.includes('10m00s'), 'first frame');
      const work = { ...fleetRowWork };
      // Dead agents (every fifth) have no pane: their IDLE stays `-`, their row is kept whole.
      const live = fleet(601).agents.filter((a) => a.pane).length;
      expect(live).toBe(N - N / 5);
      r.store.getState().applySnapshot(fleet(601));
      const frame = await r.waitFor((f) => f.includes('10m01s'), 'frame with the moved ages');
      // Only the rows in view are made: of the live agents, those the frame shows.
      const shown = new Set(frame.match(/agent\d{3}/g));
      const liveShown = fleet(601).agents.filter((a) => a.pane && shown.has(a.name)).length;
      expect(liveShown).toBeGreaterThan(20);
      expect(liveShown).toBeLessThan(live);
      expect({
        rows: fleetRowWork.rowsComputed - work.rowsComputed,
        cells: fleetRowWork.cellsSanitized - work.cellsSanitized,
        timelines: fleetRowWork.timelinesComputed - work.timelinesComputed,
      }).toEqual({ rows: liveShown, cells: liveShown, timelines: 0 });
      const before = { ...fleetRowWork };
      await r.press('j');
      await r.waitFor((f) => /^> agent001/m.test(f.replace(/\u001b\[[0-9;]*m/g, '')), 'selection on the second row');
      expect(fleetRowWork).toEqual(before);
    } finally {
      r.unmount();
    }
  });
});
