/**
 * A tick that changes nothing drawn does nothing: no store update, no React render, no
 * terminal write. The console's App is mounted by Ink on a fake terminal that counts writes;
 * the poller is fed snapshots that differ only in what is not drawn (when taken, probe
 * durations) or in ages below their drawn precision. Counts, never times.
 */
import React from 'react';
import { describe, expect, it } from 'vitest';
import { App } from '../../components/App.js';
import { createPoller } from '../../src/poller.js';
import type { Snapshot } from '../../src/snapshot/types.js';
import { sameSnapshotView, snapshotViewKey } from '../../src/snapshot/view-key.js';
import { createConsoleStore } from '../../src/store/index.js';
import { makeBacklog, makeSnapshot, manyAgents } from '../fixtures/snapshots.js';
import { mountConsoleApp } from '../helpers/ink-terminal.js';
import { at } from '../helpers/must.js';

/** A claim's expiry (unix seconds), mid-way in a 5 s step of the view key: its TTL left counts down towards it. */
const CLAIM_EXPIRY = Math.floor(Date.now() / 5000) * 5 + 602.5;

/** The fixture fleet with its volatile fields set: ages (seconds), probe durations, time taken, TTL left. */
function snapshotAt(idleSeconds: number, durationMs: number, generatedAt: string): Snapshot {
  const agents = manyAgents(20).map((a) => ({
    ...a,
    pane: a.pane ? { ...a.pane, idleSeconds } : a.pane,
    heartbeat: a.heartbeat ? { ...a.heartbeat, ageSeconds: idleSeconds } : a.heartbeat,
  }));
  const backlog = makeBacklog();
  const secondsLeft = Math.round(CLAIM_EXPIRY - Date.now() / 1000);
  const s = makeSnapshot(agents, { backlog: { ...backlog, claimed: backlog.claimed.map((c) => ({ ...c, secondsLeft })) } });
  return { ...s, generatedAt, probes: Object.fromEntries(Object.entries(s.probes).map(([k, v]) => [k, { ...v, durationMs }])) };
}

describe('idle ticks', () => {
  it('the view key ignores when and how fast, keeps ages at their drawn precision', () => {
    const now = Date.parse('2026-12-06T10:00:00Z');
    const a = snapshotViewKey(snapshotAt(70.2, 3, '2026-12-06T10:00:00Z'), now);
    expect(snapshotViewKey(snapshotAt(70.9, 17, '2026-12-06T10:00:02Z'), now)).toBe(a);
    expect(snapshotViewKey(snapshotAt(71, 3, '2026-12-06T10:00:00Z'), now)).not.toBe(a);
    const readinessMoved = snapshotAt(70.2, 3, '2026-12-06T10:00:00Z');
    readinessMoved.agents[0] = { ...at(readinessMoved.agents, 0), readiness: 'stale' };
    expect(snapshotViewKey(readinessMoved, now)).not.toBe(a);
  });

  it('the walk (sameSnapshotView) says "same" exactly when the view keys are equal', () => {
    const now = Date.parse('2026-12-06T10:00:00Z');
    const base = snapshotAt(70.2, 3, '2026-12-06T10:00:00Z');
    const variants: Array<[string, Snapshot, number]> = [
      ['identical', snapshotAt(70.2, 3, '2026-12-06T10:00:00Z'), now],
      ['taken later, probes slower, ages in the same second', snapshotAt(70.9, 17, '2026-12-06T10:00:02Z'), now],
      ['ages in the next second', snapshotAt(71, 3, '2026-12-06T10:00:00Z'), now],
      ['ages an hour on (minutes drawn)', snapshotAt(3700, 3, '2026-12-06T10:00:00Z'), now],
      ['compared 2 s later (TTL expiry in the same 5 s step or not)', snapshotAt(70.2, 3, '2026-12-06T10:00:00Z'), now + 2000],
      ['compared 10 s later', snapshotAt(70.2, 3, '2026-12-06T10:00:00Z'), now + 10_000],
    ];
    const mutate = (name: string, change: (s: Snapshot) => Snapshot) => variants.push([name, change(snapshotAt(70.2, 3, '2026-12-06T10:00:00Z')), now]);
    mutate('a readiness moved', (s) => ({ ...s, agents: s.agents.map((a, i) => (i === 7 ? { ...a, readiness: 'stale' } : a)) }));
    mutate('the last agent gone', (s) => ({ ...s, agents: s.agents.slice(0, -1) }));
    mutate('an evidence line added', (s) => ({ ...s, agents: s.agents.map((a, i) => (i === 19 ? { ...a, evidence: [...a.evidence, 'x'] } : a)) }));
    mutate('a flag set', (s) => ({ ...s, agents: s.agents.map((a, i) => (i === 3 ? { ...a, flags: ['DRIFT' as const] } : a)) }));
    mutate(
      'a field set to undefined (JSON leaves it out)',
      (s) => ({ ...s, agents: s.agents.map((a, i) => (i === 2 ? { ...a, extra: undefined } : a)) }) as Snapshot,
    );
    mutate('a field added', (s) => ({ ...s, agents: s.agents.map((a, i) => (i === 2 ? { ...a, extra: 1 } : a)) }) as Snapshot);
    mutate('a probe failed', (s) => ({ ...s, probes: { ...s.probes, systemd: { ...s.probes.systemd!, ok: false } } }));
    mutate('a probe took longer only', (s) => ({ ...s, probes: { ...s.probes, systemd: { ...s.probes.systemd!, durationMs: 999 } } }));
    mutate('null against a number', (s) => ({
      ...s,
      agents: s.agents.map((a, i) => (i === 0 && a.pane ? { ...a, pane: { ...a.pane, pid: null as unknown as number } } : a)),
    }));
    let same = 0;
    for (const [name, variant, at] of variants) {
      const keysEqual = snapshotViewKey(base, now) === snapshotViewKey(variant, at);
      expect({ name, same: sameSnapshotView(base, now, variant, at) }).toEqual({ name, same: keysEqual });
      expect({ name, same: sameSnapshotView(variant, at, base, now) }).toEqual({ name, same: keysEqual });
      if (keysEqual) same++;
    }
    // Both answers occur: the comparison above can fail either way.
    expect(same).toBeGreaterThanOrEqual(4);
    expect(variants.length - same).toBeGreaterThanOrEqual(8);
  });

  it('the walk: keys in another order draw the same; a key printed by one side only is a difference', () => {
    const now = Date.parse('2026-12-06T10:00:00Z');
    const base = snapshotAt(70.2, 3, '2026-12-06T10:00:00Z');
    const reordered = (change: (a: Record<string, unknown>) => Record<string, unknown>) => ({
      ...base,
      agents: base.agents.map((a, i) => (i === 4 ? change(Object.fromEntries(Object.entries(a).reverse())) : a)),
    });
    expect(sameSnapshotView(base, now, reordered((a) => a) as Snapshot, now)).toBe(true);
    expect(sameSnapshotView(base, now, reordered((a) => ({ ...a, readiness: 'stale' })) as Snapshot, now)).toBe(false);
    // Same number of keys, same order but one: `a` prints `x`, `b` prints `y` in its place.
    const a = { ...base, agents: base.agents.map((r, i) => (i === 4 ? { ...r, x: undefined, z: 1 } : r)) } as Snapshot;
    const b = { ...base, agents: base.agents.map((r, i) => (i === 4 ? { ...r, y: 1, z: 1 } : r)) } as Snapshot;
    expect(sameSnapshotView(a, now, b, now)).toBe(false);
    expect(sameSnapshotView(b, now, a, now)).toBe(false);
    const c = { ...base, agents: base.agents.map((r, i) => (i === 4 ? { ...r, x: undefined, z: 1 } : r)) } as Snapshot;
    const d = { ...base, agents: base.agents.map((r, i) => (i === 4 ? { ...r, y: undefined, z: 1 } : r)) } as Snapshot;
    expect(sameSnapshotView(c, now, d, now)).toBe(true);
  });

  it('three ticks that draw the same: no store update, no render, no terminal write', async () => {
    process.env.NODE_ENV ??= 'production';
    const store = createConsoleStore({ color: true });
    const feed = [
      () => snapshotAt(70.1, 3, '2026-12-06T10:00:00Z'),
      () => snapshotAt(70.4, 9, '2026-12-06T10:00:02Z'),
      () => snapshotAt(70.6, 1, '2026-12-06T10:00:04Z'),
      () => snapshotAt(70.8, 5, '2026-12-06T10:00:06Z'),
      () => snapshotAt(71.1, 5, '2026-12-06T10:00:08Z'),
    ];
    let next = 0;
    // Each snapshot is taken when collected (its TTL left as of then), like a real one.
    const applied: Snapshot[] = [];
    const poller = createPoller({
      store,
      intervalMs: 3_600_000,
      collect: async () => {
        const snapshot = at(feed, next++, 'feed step')();
        applied.push(snapshot);
        return snapshot;
      },
    });
    let renders = 0;
    const Counted = () => (renders++, React.createElement(App));
    const { instance, terminal } = mountConsoleApp(store, { columns: 160, rows: 50, maxFps: 1000, component: Counted });
    let storeUpdates = 0;
    store.subscribe(() => storeUpdates++);
    const tick = async () => {
      poller.refresh();
      await poller.idle();
      // Ink draws on the next macrotask after a store change: let it.
      await new Promise((r) => setTimeout(r, 20));
    };
    try {
      await tick();
      expect(store.getState().fleet.snapshot).toBe(applied[0]);
      const [w0, u0] = [terminal.writes, storeUpdates];
      const renderedBefore = renders;
      for (let i = 0; i < 3; i++) await tick();
      expect(poller.stats).toMatchObject({ applied: 1, unchanged: 3 });
      expect({ writes: terminal.writes - w0, storeUpdates: storeUpdates - u0 }).toEqual({ writes: 0, storeUpdates: 0 });
      expect(renders).toBe(renderedBefore);
      // The age moved to the next drawn second: applied, drawn, written.
      await tick();
      expect(poller.stats).toMatchObject({ applied: 2, unchanged: 3 });
      expect(store.getState().fleet.snapshot).toBe(applied[4]);
      // (Whether Ink has written that frame yet is not asserted: in a full parallel run its write
      // came later than any bounded wait here; the store update above is the contract.)
    } finally {
      poller.stop();
      instance.unmount();
    }
  });
});
