import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPoller } from '../../src/poller.js';
import { createConsoleStore } from '../../src/store/index.js';
import type { Snapshot } from '../../src/snapshot/types.js';
import { makeAgent, makeSnapshot } from '../fixtures/snapshots.js';
import { at } from '../helpers/must.js';

/** A collect function whose calls resolve only when the test says so. */
function controlledCollect() {
  const pending: { resolve: (s: Snapshot) => void; reject: (e: Error) => void; signal: AbortSignal }[] = [];
  const collect = (signal: AbortSignal) =>
    new Promise<Snapshot>((resolve, reject) => {
      pending.push({ resolve, reject, signal });
    });
  return { collect, pending };
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('poller', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('never overlaps ticks: skips while one runs', async () => {
    const store = createConsoleStore();
    const { collect, pending } = controlledCollect();
    const poller = createPoller({ store, collect, intervalMs: 2000 });
    poller.start();
    expect(pending).toHaveLength(1);
    vi.advanceTimersByTime(6000); // three interval ticks while the first still runs
    expect(pending).toHaveLength(1);
    expect(poller.stats.skipped).toBe(3);
    at(pending, 0).resolve(makeSnapshot([makeAgent('a')]));
    await poller.idle();
    expect(store.getState().fleet.applied).toBe(1);
    vi.advanceTimersByTime(2000);
    expect(pending).toHaveLength(2);
    poller.stop();
  });

  it('drops a result made outdated by a refresh and runs a fresh tick after it', async () => {
    const store = createConsoleStore();
    const { collect, pending } = controlledCollect();
    const poller = createPoller({ store, collect, intervalMs: 60_000 });
    poller.start();
    poller.refresh(); // e.g. after a pause: the running tick started before it
    expect(pending).toHaveLength(1);
    at(pending, 0).resolve(makeSnapshot([makeAgent('old')]));
    await flush();
    await vi.waitFor(() => expect(pending).toHaveLength(2));
    expect(poller.stats.dropped).toBe(1);
    expect(store.getState().fleet.snapshot).toBeNull();
    at(pending, 1).resolve(makeSnapshot([makeAgent('new')]));
    await poller.idle();
    expect(store.getState().fleet.snapshot?.agents[0]?.name).toBe('new');
    poller.stop();
  });

  it('aborts the running tick on stop and records tick failures', async () => {
    const store = createConsoleStore();
    const { collect, pending } = controlledCollect();
    const poller = createPoller({ store, collect, intervalMs: 1000 });
    poller.start();
    at(pending, 0).reject(new Error('roster vanished'));
    await poller.idle();
    expect(store.getState().fleet.tickError).toBe('roster vanished');
    vi.advanceTimersByTime(1000);
    expect(at(pending, 1).signal.aborted).toBe(false);
    poller.stop();
    expect(at(pending, 1).signal.aborted).toBe(true);
    vi.advanceTimersByTime(10_000);
    expect(pending).toHaveLength(2); // no tick after stop
  });

  it('aborts a hung tick after its timeout, reports it, and keeps polling', async () => {
    const store = createConsoleStore();
    const { collect, pending } = controlledCollect();
    const poller = createPoller({ store, collect, intervalMs: 1000, tickTimeoutMs: 5000 });
    poller.start();
    vi.advanceTimersByTime(4000);
    expect(poller.stats.skipped).toBe(4);
    expect(at(pending, 0).signal.aborted).toBe(false);
    vi.advanceTimersByTime(1000);
    await flush();
    expect(at(pending, 0).signal.aborted).toBe(true);
    expect(store.getState().fleet.tickError).toMatch(/timed out after 5000 ms/);
    vi.advanceTimersByTime(1000);
    expect(pending).toHaveLength(2); // polling goes on
    poller.stop();
  });

  it('advances the store clock every second (live countdowns)', () => {
    const store = createConsoleStore();
    const { collect } = controlledCollect();
    const poller = createPoller({ store, collect, intervalMs: 2000 });
    const before = store.getState().ui.clockMs;
    poller.start();
    vi.advanceTimersByTime(3000);
    expect(store.getState().ui.clockMs).toBeGreaterThanOrEqual(before + 3000);
    poller.stop();
  });

  it('captures the selected pane for the preview, sanitized', async () => {
    const store = createConsoleStore();
    const captures: string[] = [];
    const poller = createPoller({
      store,
      collect: async () => makeSnapshot([makeAgent('a1'), makeAgent('a2', { socket: null })]),
      capture: async (agent, target) => {
        captures.push(`${agent.socket ?? 'default'} ${target}`);
        return 'line one\n\u001b]2;pwned\u0007 \u001b[31mred\n\n';
      },
      intervalMs: 1000,
    });
    store.getState().togglePreview();
    store.getState().moveSelection(1); // no snapshot yet: stays null
    let updates = 0;
    const unsubscribe = store.subscribe(() => {
      updates++;
    });
    poller.start();
    await poller.idle();
    await flush();
    unsubscribe();
    expect(updates).toBe(1); // snapshot and preview applied together: one render per tick
    expect(captures).toEqual(['mosaic-fleet =a1:0.0']);
    const preview = store.getState().ui.preview;
    expect(preview?.agent).toBe('a1');
    expect(preview?.lines).toEqual(['line one', '^[]2;pwned^G ^[[31mred']);
    expect(preview?.lines.join('')).not.toContain('\u001b');
    store.getState().moveSelection(1);
    await poller.capturePreview();
    expect(captures.at(-1)).toBe('default =a2:0.0');
    poller.stop();
  });
});
