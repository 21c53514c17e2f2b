/**
 * The fleet table keeps no snapshot alive but the applied one: after a cell redraw (no React
 * render), the snapshot of the table's last full render can be collected — at 10,000 agents it
 * is ~8.5 MB that would otherwise stay until the next full render. Checked with a WeakRef and
 * a forced full GC, never with memory figures.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { redrawFleetCells } from '../../components/FleetTable.js';
import type { Snapshot } from '../../src/snapshot/types.js';
import { makeSnapshot, manyAgents } from '../fixtures/snapshots.js';
import { renderConsole } from '../helpers/render.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** 40 agents, every pane idle `idle` seconds. */
function fleet(idle: number): Snapshot {
  return makeSnapshot(manyAgents(40).map((a) => ({ ...a, pane: a.pane ? { ...a.pane, idleSeconds: idle } : a.pane })));
}

/** True once `ref`'s target was collected (a few full GCs, each after the current job ended). */
async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 5 && ref.deref(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    gc();
  }
  return ref.deref() === undefined;
}

describe('snapshots kept by the fleet table', () => {
  for (const color of [true, false]) {
    it(`the last full render's snapshot is collectable once a cell redraw applied a newer one (colour ${color ? 'on' : 'off'})`, async () => {
      const r = renderConsole({ columns: 180, rows: 30, color });
      try {
        let first: Snapshot | null = fleet(600);
        const ref = new WeakRef(first);
        r.store.getState().applySnapshot(first);
        first = null;
        await r.waitFor((f) => f.includes('10m00s'), 'first frame');
        expect(redrawFleetCells(r.store, fleet(601), Date.now())).toBe(true);
        await r.waitFor((f) => f.includes('10m01s'), 'redrawn cells');
        expect(await collected(ref)).toBe(true);
      } finally {
        r.unmount();
      }
    });
  }
});
