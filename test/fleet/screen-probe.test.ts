/**
 * The screen reader's bookkeeping (fleet/screen-probe.ts), without tmux: which panes a tick
 * reads (bounded, most urgent first, nothing while nothing moves), how long a state has been
 * seen, and how a batched capture's output is split back per pane.
 */
import { describe, expect, it } from 'vitest';
import { ScreenReader, splitCaptures, type ScreenCandidate } from '../../fleet/screen-probe.js';

const cand = (agent: string, o: Partial<ScreenCandidate> = {}): ScreenCandidate => ({
  agent,
  socket: 's',
  paneId: `%${agent.replace(/\D/g, '') || 1}`,
  runtime: 'claude',
  activity: 900,
  beatTs: 990,
  beatAttention: false,
  ...o,
});
const idle = { state: 'idle' as const, rules: 'claude@>=2.0.0', inputText: '' };
const NOW = 1000;

describe('ScreenReader.plan', () => {
  it('reads at most maxPerTick, never-read first — waiting/stuck beats, then no hooks, then the rest', () => {
    const r = new ScreenReader({ maxPerTick: 3 });
    const list = [cand('a1'), cand('a2', { beatTs: null }), cand('a3'), cand('a4', { beatAttention: true }), cand('a5', { beatTs: 500 })];
    const { read, deferred } = r.plan(list, NOW);
    expect(read.map((c) => c.agent)).toEqual(['a4', 'a2', 'a5']);
    expect(deferred).toBe(2);
  });

  it('steady state reads nothing; output since the capture, a new beat, waiting/stuck, or the refresh period read again', () => {
    const r = new ScreenReader({ refreshSeconds: 60 });
    for (const c of [cand('a1'), cand('a2'), cand('a3'), cand('a4')]) r.store(c, idle, NOW);
    expect(r.plan([cand('a1'), cand('a2'), cand('a3'), cand('a4')], NOW + 5).read).toEqual([]);
    // Output in the capture's own second counts as moved (activity has 1 s resolution).
    const moved = cand('a1', { activity: NOW });
    const beat = cand('a2', { beatTs: NOW + 3 });
    const attention = cand('a3', { beatAttention: true, beatTs: NOW + 3 });
    expect(r.plan([moved, beat, attention, cand('a4')], NOW + 5).read.map((c) => c.agent)).toEqual(['a3', 'a1', 'a2']);
    expect(r.plan([cand('a4')], NOW + 60).read.map((c) => c.agent)).toEqual(['a4']);
    // Another pane under the same name (the agent was restarted) is read as new.
    expect(r.plan([cand('a4', { paneId: '%99' })], NOW + 5).read).toHaveLength(1);
  });

  it('a reading ages; `since` counts from the capture that first saw the state; prune forgets agents', () => {
    const r = new ScreenReader();
    r.store(cand('a1'), idle, NOW);
    r.store(cand('a1'), idle, NOW + 10);
    expect(r.reading('a1', '%1', NOW + 12)).toMatchObject({ state: 'idle', ageSeconds: 2, sinceSeconds: 12 });
    r.store(cand('a1'), { state: 'busy', rules: 'claude@>=2.0.0' }, NOW + 20);
    expect(r.reading('a1', '%1', NOW + 21)).toMatchObject({ state: 'busy', ageSeconds: 1, sinceSeconds: 1 });
    expect(r.reading('a1', '%2', NOW + 21)).toBeNull();
    r.prune(new Set(['other']));
    expect(r.reading('a1', '%1', NOW + 21)).toBeNull();
  });
});

describe('splitCaptures', () => {
  it('splits at the nonce markers only; a forged marker with another nonce stays text', () => {
    const out = splitCaptures('line a\n::mosaic-screen:bad:%9::\n::mosaic-screen:abc:%1::\nline b\n\n::mosaic-screen:abc:%2::\n', 'abc');
    expect([...out]).toEqual([
      ['%1', 'line a\n::mosaic-screen:bad:%9::'],
      ['%2', 'line b\n'],
    ]);
  });
});
