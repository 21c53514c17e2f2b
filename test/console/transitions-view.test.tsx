/**
 * The console's transitions (docs/transitions.md) through the component harness: `t` opens the
 * TRANSITIONS view (newest first, fits 80×24, closes with t/esc), `m` mutes the selected agent
 * (no notice for its attention transitions), the details view lists an agent's transitions with
 * ages, the timeline column draws glyphs with colour and words without.
 */
import { afterEach, describe, expect, it } from 'vitest';
import chalk from 'chalk';
import stringWidth from 'string-width';
import { startConsoleFeed, type ConsoleFeed } from '../../src/modes/console-feed.js';
import type { AgentRow } from '../../src/snapshot/types.js';
import { renderConsole, type Rendered } from '../helpers/render.js';
import { makeAgent, makeSnapshot } from '../fixtures/snapshots.js';

let current: Rendered | null = null;
let feed: ConsoleFeed | null = null;
afterEach(() => {
  feed?.stop();
  feed = null;
  current?.unmount();
  current = null;
});

const fleet = (c1: AgentRow['readiness'], c2: AgentRow['readiness'], atMs: number) =>
  makeSnapshot(
    [
      makeAgent('orchestrator', { class: 'orchestrator' }),
      makeAgent('enhancer1', { class: 'enhancer', readiness: 'available' }),
      makeAgent('coder1', { readiness: c1 }),
      makeAgent('coder2', { readiness: c2 }),
    ],
    { generatedAt: new Date(atMs).toISOString() },
  );

function mount(columns: number, rows: number, color = false): Rendered {
  current = renderConsole({ columns, rows, color });
  feed = startConsoleFeed({ store: current.store, historyFile: null, alert: null });
  return current;
}

describe('transitions in the console', () => {
  it('t lists transitions newest first at 80×24; m mutes the selected agent; details show ages', async () => {
    const r = mount(80, 24);
    const t0 = Date.now() - 120_000;
    r.store.getState().applySnapshot(fleet('working', 'working', t0));
    r.store.getState().applySnapshot(fleet('dead', 'working', t0 + 60_000));
    await r.waitFor((f) => f.includes('! coder1 working → dead'), 'the attention notice');
    r.store.getState().applySnapshot(fleet('dead', 'stale', t0 + 90_000));
    await r.press('t');
    let frame = await r.waitFor((f) => f.includes('TRANSITIONS'), 'the view');
    const lines = frame.split('\n');
    const i2 = lines.findIndex((l) => /coder2 {2}working → stale {2}!/.test(l));
    const i1 = lines.findIndex((l) => /coder1 {2}working → dead {2}!/.test(l));
    expect(i2).toBeGreaterThan(0);
    expect(i1).toBeGreaterThan(i2); // newest first
    expect(lines[i1]).toMatch(/\d+s ago/);
    expect(lines.every((l) => stringWidth(l) <= 80)).toBe(true);
    await r.press('t');
    await r.waitFor((f) => !f.includes('TRANSITIONS') && f.includes('LAST 1H'), 'closed by t');

    // m on coder2 (third move: orchestrator, enhancer1, coder1, coder2).
    for (let k = 0; k < 3; k++) await r.press('j');
    await r.waitFor((f) => f.includes('> coder2'), 'coder2 selected');
    await r.press('m');
    await r.waitFor((f) => f.includes('coder2 muted'), 'muted notice');
    expect(r.store.getState().transitions.muted).toEqual(['coder2']);
    r.store.getState().applySnapshot(fleet('dead', 'working', t0 + 100_000));
    r.store.getState().applySnapshot(fleet('dead', 'dead', t0 + 110_000));
    expect(r.store.getState().ui.notices.at(-1)?.text).toBe('coder2 muted: its transitions give no notice or bell (m unmutes)');
    expect(r.store.getState().transitions.list.at(-1)).toMatchObject({ agent: 'coder2', to: 'dead' });

    // Details of coder2: since, transitions with ages, muted.
    await r.press('enter');
    frame = await r.waitFor((f) => f.includes('recent transitions:'), 'details');
    expect(frame).toMatch(/dead since \d+s/);
    expect(frame).toMatch(/ago {2}working → dead {2}!/);
    expect(frame).toContain('muted: no notice or bell');
  });

  it('the LAST 1H timeline: glyphs and legend with colour, words without (NO_COLOR)', async () => {
    const t0 = Date.now() - 30 * 60_000;
    const plain = mount(100, 30, false);
    plain.store.getState().applySnapshot(fleet('working', 'working', t0));
    plain.store.getState().applySnapshot(fleet('dead', 'working', Date.now()));
    let frame = await plain.waitFor((f) => /coder1\s+dead/.test(f), 'coder1 dead');
    const row = (f: string, a: string) => f.split('\n').find((l) => new RegExp(`^[> ] ${a}\\s`).test(l)) ?? '';
    expect(row(frame, 'coder1'), frame).toMatch(/working \d+m dead \d+m/);
    expect(frame).toContain('LAST 1H: each agent');
    feed?.stop();
    plain.unmount();

    const savedLevel = chalk.level;
    chalk.level = 1;
    const coloured = mount(200, 50, true);
    coloured.store.getState().applySnapshot(fleet('working', 'working', t0));
    coloured.store.getState().applySnapshot(fleet('dead', 'working', Date.now()));
    const strip = (f: string) => f.replace(/\u001b\[[0-9;]*m/g, '');
    frame = strip(await coloured.waitFor((f) => /coder1\s+\S*dead/.test(strip(f)), 'coder1 dead'));
    expect(row(frame, 'coder1')).toMatch(/ \.+#+X /);
    expect(frame).toMatch(/LAST 1H \(2m a cell, oldest left\): # working {2}= available/);
    // The glyphs are coloured like the readiness words (red for dead).
    expect(coloured.frame()).toMatch(/\u001b\[31mX/);
    chalk.level = savedLevel;
  });
});
