/**
 * A snapshot the poller applied quietly (only the fleet table's cells moved) costs the
 * transition feed no diff: the feed takes it as its baseline, so the next notification (the
 * clock's, every second) diffs nothing, and a later real change is diffed against it. Counted
 * (diffs run, transitions), never timed.
 */
import { describe, expect, it } from 'vitest';
import { feedWork, startConsoleFeed } from '../../src/modes/console-feed.js';
import type { AgentRow } from '../../src/snapshot/types.js';
import { onlyCellsDiffer } from '../../src/snapshot/view-cells.js';
import { createConsoleStore } from '../../src/store/index.js';
import { makeAgent, makeSnapshot } from '../fixtures/snapshots.js';

const T0 = Date.parse('2026-12-06T10:00:00Z');

/** Three agents; coder1's readiness and every pane's idle age as given. */
function fleet(coder1: AgentRow['readiness'], idle: number) {
  const agents = [
    makeAgent('orchestrator', { class: 'orchestrator' }),
    makeAgent('enhancer1', { class: 'enhancer' }),
    makeAgent('coder1', { readiness: coder1 }),
  ];
  return makeSnapshot(
    agents.map((a) => (a.pane ? { ...a, pane: { ...a.pane, idleSeconds: idle }, evidence: [`idle ${idle}s`] } : a)),
    { generatedAt: new Date(T0 + idle * 1000).toISOString() },
  );
}

describe('the feed and quietly applied snapshots', () => {
  it('a cells-only snapshot taken quietly: no diff at the next notification; a later change is diffed against it', () => {
    const store = createConsoleStore();
    const feed = startConsoleFeed({ store, historyFile: null, alert: null, now: () => T0 });
    try {
      store.getState().applySnapshot(fleet('working', 60));
      const s1 = fleet('working', 62);
      expect(onlyCellsDiffer(store.getState().fleet.snapshot!, T0, s1, T0 + 2000)).toBe(true);
      const was = store.getState().fleet.snapshot;
      const diffs = feedWork.diffs;
      store.getState().applySnapshotQuietly(s1);
      feed.quietlyReplaced(was, s1);
      store.getState().tickClock(T0 + 3000);
      expect(feedWork.diffs - diffs).toBe(0);
      // A readiness moves: one diff, one transition, from the quietly applied baseline.
      store.getState().applySnapshot(fleet('dead', 64));
      expect(feedWork.diffs - diffs).toBe(1);
      expect(store.getState().transitions.list.map((t) => `${t.agent} ${t.from} → ${t.to}`)).toEqual(['coder1 working → dead']);
    } finally {
      feed.stop();
    }
  });

  it('a quiet replacement of another snapshot than the baseline: the next notification diffs as before', () => {
    const store = createConsoleStore();
    const feed = startConsoleFeed({ store, historyFile: null, alert: null, now: () => T0 });
    try {
      store.getState().applySnapshot(fleet('working', 60));
      const s1 = fleet('working', 62);
      const diffs = feedWork.diffs;
      store.getState().applySnapshotQuietly(s1);
      feed.quietlyReplaced(fleet('working', 60), s1);
      store.getState().tickClock(T0 + 3000);
      expect(feedWork.diffs - diffs).toBe(1);
      expect(store.getState().transitions.list).toEqual([]);
    } finally {
      feed.stop();
    }
  });
});
