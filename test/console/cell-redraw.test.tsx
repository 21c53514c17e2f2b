/**
 * A tick that moves only the fleet table's cells (a live fleet's ages, and the evidence that
 * quotes them) is drawn as the table's text alone: no React commit, the snapshot applied to the
 * store without a notification, and the frame Ink writes is the frame a full render of the same
 * state draws — also after a key press, after a notified change that draws the table as it was
 * before the redraw, and in colour and without. Counted and compared, never timed.
 */
import React from 'react';
import { describe, expect, it } from 'vitest';
import { App } from '../../components/App.js';
import { fleetCellRedraws, redrawFleetCells } from '../../components/FleetTable.js';
import { createPoller } from '../../src/poller.js';
import type { AgentRow, Snapshot } from '../../src/snapshot/types.js';
import { onlyCellsDiffer } from '../../src/snapshot/view-cells.js';
import { makeBacklog, makeSnapshot, manyAgents } from '../fixtures/snapshots.js';
import { renderConsole, type Rendered } from '../helpers/render.js';

const NOW = Date.parse('2026-12-06T10:00:00Z');

/** 40 agents, every pane idle `idle` seconds and every beat as old, the evidence quoting the beat's age; `edit` changes one row. */
function fleetOf(idle: number, edit?: (a: AgentRow, i: number) => AgentRow, claims = true): Snapshot {
  const agents = manyAgents(40).map((a, i) => {
    const row: AgentRow = {
      ...a,
      pane: a.pane ? { ...a.pane, idleSeconds: idle + i } : a.pane,
      heartbeat: a.heartbeat ? { ...a.heartbeat, ageSeconds: idle } : a.heartbeat,
      evidence: [`heartbeat ${idle}s old, state=busy`, ...a.evidence.slice(1)],
    };
    return edit ? edit(row, i) : row;
  });
  const backlog = makeBacklog();
  return makeSnapshot(agents, { backlog: claims ? backlog : { ...backlog, claimed: [] } });
}

/** React commits of the whole tree (a Profiler around the App). */
function mount(color: boolean, snapshot: Snapshot): { r: Rendered; commits: () => number } {
  let commits = 0;
  const tree = (
    <React.Profiler id="console" onRender={() => void commits++}>
      <App />
    </React.Profiler>
  );
  const r = renderConsole({ columns: 180, rows: 30, color, snapshot }, tree);
  return { r, commits: () => commits };
}

/** The frame a fresh console draws for `snapshot` after `keys`. */
async function fullFrame(color: boolean, snapshot: Snapshot, keys: string[], until: string): Promise<string> {
  const { r } = mount(color, snapshot);
  try {
    await r.waitFor((f) => f.includes(until), 'fresh frame');
    for (const k of keys) await r.press(k);
    await r.waitFor((f) => f.includes(until), 'fresh frame after keys');
    return r.frame();
  } finally {
    r.unmount();
  }
}

describe('cells redrawn alone', () => {
  it('onlyCellsDiffer: ages and evidence are cells; a readiness, a flag, a name or a new agent are not', () => {
    const a = fleetOf(70);
    expect(onlyCellsDiffer(a, NOW, fleetOf(72), NOW + 2000)).toBe(true);
    expect(
      onlyCellsDiffer(
        a,
        NOW,
        fleetOf(70, (r, i) => (i === 3 ? { ...r, evidence: ['other words'] } : r)),
        NOW,
      ),
    ).toBe(true);
    expect(
      onlyCellsDiffer(
        a,
        NOW,
        fleetOf(70, (r, i) => (i === 5 && r.heartbeat ? { ...r, heartbeat: { ...r.heartbeat, ts: r.heartbeat.ts + 30 } } : r)),
        NOW,
      ),
    ).toBe(true);
    expect(
      onlyCellsDiffer(
        a,
        NOW,
        fleetOf(70, (r, i) => (i === 5 && r.heartbeat ? { ...r, heartbeat: { ...r.heartbeat, card: 'A9' } } : r)),
        NOW,
      ),
    ).toBe(false);
    expect(
      onlyCellsDiffer(
        a,
        NOW,
        fleetOf(72, (r, i) => (i === 3 ? { ...r, readiness: 'stale' } : r)),
        NOW,
      ),
    ).toBe(false);
    expect(
      onlyCellsDiffer(
        a,
        NOW,
        fleetOf(72, (r, i) => (i === 9 ? { ...r, flags: ['DRIFT'] } : r)),
        NOW,
      ),
    ).toBe(false);
    expect(
      onlyCellsDiffer(
        a,
        NOW,
        fleetOf(72, (r, i) => (i === 5 && r.pane ? { ...r, pane: { ...r.pane, dead: true } } : r)),
        NOW,
      ),
    ).toBe(false);
    expect(
      onlyCellsDiffer(
        a,
        NOW,
        fleetOf(72, (r, i) => (i === 9 ? { ...r, name: 'x' } : r)),
        NOW,
      ),
    ).toBe(false);
    expect(onlyCellsDiffer(a, NOW, { ...fleetOf(72), errors: ['tmux: gone'] }, NOW)).toBe(false);
    expect(onlyCellsDiffer(a, NOW, makeSnapshot(fleetOf(72).agents.slice(1)), NOW)).toBe(false);
  });

  for (const [color, claims] of [
    [true, true],
    [false, false],
  ] as const) {
    it(`ages moved: no React commit, the frame of a full render; then keys and a notified change draw as a fresh console (colour ${color ? 'on' : 'off'}, ${claims ? 'a claim counting down' : 'no claim'})`, async () => {
      const fleet = (idle: number) => fleetOf(idle, undefined, claims);
      const { r, commits } = mount(color, fleet(600));
      try {
        await r.waitFor((f) => f.includes('agent000') && f.includes('10m00s'), 'first frame');
        // The selection in the middle of the scrolled table (inverse row with colour on).
        for (let i = 0; i < 12; i++) await r.press('j');
        await r.waitFor((f) => f.includes('agent012'), 'selection moved');
        const before = { commits: commits(), redrawn: fleetCellRedraws.redrawn };
        const moved = fleet(603);
        expect(redrawFleetCells(r.store, moved, Date.now())).toBe(true);
        await r.waitFor((f) => f.includes('10m03s'), 'frame with the moved ages');
        expect(r.store.getState().fleet.snapshot).toBe(moved);
        expect(commits() - before.commits).toBe(0);
        // Without a claim counting down, the next notification (the clock's, every second) renders
        // nothing either: the table and the header read the fleet in place.
        r.store.getState().tickClock(r.store.getState().ui.clockMs);
        await new Promise((resolve) => setImmediate(resolve));
        if (!claims) expect(commits() - before.commits).toBe(0);
        expect(fleetCellRedraws.redrawn - before.redrawn).toBe(1);
        const keys = Array.from({ length: 12 }, () => 'j');
        expect(r.frame()).toBe(await fullFrame(color, moved, keys, '10m03s'));
        // A key press after the redraw: React draws the table again, from the quietly applied snapshot.
        await r.press('j');
        await r.waitFor((f) => f.includes('> agent013') || !color, 'selection moved again');
        expect(r.frame()).toBe(await fullFrame(color, moved, [...keys, 'j'], '10m03s'));
        // Back to the ages React drew last, with a change outside the table: the table must not keep the redrawn text.
        expect(redrawFleetCells(r.store, fleet(606), Date.now())).toBe(true);
        await r.waitFor((f) => f.includes('10m06s'), 'second redraw');
        const back = { ...fleet(603), errors: ['tmux: socket mosaic-x gone'] };
        r.store.getState().applySnapshot(back);
        await r.waitFor((f) => f.includes('socket mosaic-x gone'), 'notified change');
        expect(r.frame()).toBe(await fullFrame(color, back, [...keys, 'j'], 'socket mosaic-x gone'));
      } finally {
        r.unmount();
      }
    });
  }

  it('refused while a view is open or when the table would change height; the poller then applies as usual', async () => {
    const { r } = mount(true, fleetOf(600));
    try {
      await r.waitFor((f) => f.includes('10m00s'), 'first frame');
      r.store.getState().openModal('help');
      expect(redrawFleetCells(r.store, fleetOf(601), Date.now())).toBe(false);
      r.store.getState().closeModal();
      // An unmanaged session adds a line under the table: not a cells-only change, refused.
      expect(
        redrawFleetCells(
          r.store,
          { ...fleetOf(601), unmanaged: [{ session: 'x', socket: null, host: null, panes: 1, currentCommand: 'sh', idleSeconds: 1 }] },
          Date.now(),
        ),
      ).toBe(false);
      let n = 600;
      const poller = createPoller({
        store: r.store,
        collect: async () => fleetOf((n += 2), (a, i) => (n >= 606 && i === 2 ? { ...a, readiness: 'dead' } : a)),
        intervalMs: 60_000,
        redrawCells: (snapshot, nowMs) => redrawFleetCells(r.store, snapshot, nowMs),
      });
      try {
        for (let tick = 0; tick < 3; tick++) {
          poller.refresh();
          await poller.idle();
        }
        // 602 applied (the store held no poller snapshot yet), 604 redrawn, 606 (a readiness moved) applied.
        expect(poller.stats).toMatchObject({ applied: 2, cellsRedrawn: 1 });
        await r.waitFor((f) => f.includes('10m06s'), 'last tick drawn');
      } finally {
        poller.stop();
      }
    } finally {
      r.unmount();
    }
  });
});
