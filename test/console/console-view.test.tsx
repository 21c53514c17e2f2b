import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import chalk from 'chalk';
import stringWidth from 'string-width';
import { KEYMAP, displayKey } from '../../src/view/keymap.js';
import { createConsoleActions, type ConsoleActionDeps } from '../../src/keys/commands.js';
import { createConsoleStore, type ConsoleStore } from '../../src/store/index.js';
import { resolvePaths } from '../../lib/paths.js';
import { makeAgent, makeBacklog, makeSnapshot, manyAgents, mixedFleet } from '../fixtures/snapshots.js';
import { recordingActions, renderConsole, type Rendered } from '../helpers/render.js';

const ESC = '\u001b';
let current: Rendered | null = null;
const temps: string[] = [];
afterEach(() => {
  current?.unmount();
  current = null;
  for (const t of temps.splice(0)) fs.rmSync(t, { recursive: true, force: true });
});
function mount(...args: Parameters<typeof renderConsole>): Rendered {
  current = renderConsole(...args);
  return current;
}
function assertFits(frame: string, columns: number, rows: number): void {
  const lines = frame.split('\n');
  expect(lines.length).toBeLessThanOrEqual(rows - 1);
  for (const line of lines) expect(stringWidth(line), line).toBeLessThanOrEqual(columns);
}

/** Deps of createConsoleActions that a test does not exercise: no home, no poller, no quit/watch. */
function stubDeps(store: ConsoleStore): Pick<ConsoleActionDeps, 'store' | 'paths' | 'poller' | 'quit' | 'watch'> {
  return {
    store,
    paths: resolvePaths({ mosaicHome: '/nonexistent' }, {}),
    poller: { refresh: () => {}, capturePreview: async () => {} },
    quit: () => {},
    watch: () => {},
  };
}

describe('console layout', () => {
  it('fits 80×24: header, readiness words, backlog, hints; no line wider than 80', async () => {
    const snapshot = makeSnapshot([...mixedFleet(), makeAgent('coder4', { evidence: ['x'.repeat(300)], flags: ['DRIFT', 'BOOT-ENABLE', 'EXPIRED-CLAIM'] })]);
    const r = mount({ columns: 80, rows: 24, snapshot });
    const frame = await r.waitFor((f) => f.includes('BACKLOG'), 'backlog panel');
    for (const word of ['working', 'available', 'stale', 'unknown', 'dead', 'orchestrator', 'coder3', 'A3', 'tab focus', 'testhost'])
      expect(frame).toContain(word);
    assertFits(frame, 80, 24);
    expect(frame.split('\n')).toHaveLength(23);
    // The counts line puts trouble first, so 80 columns never cut off the dead count.
    expect(frame.split('\n')[1]).toMatch(/^fleet running  dead 1  stale 1  unknown 1  working 3  available 1  /);
  });

  it('unmanaged sessions: one line under the table, remote ones named with their host', async () => {
    const unmanaged = [
      { socket: 'mosaic-fleet', host: null, session: 'scratch', panes: 1, currentCommand: 'bash', idleSeconds: 5 },
      { socket: 'gpu-fleet', host: 'gpu2', session: 'rstray', panes: 2, currentCommand: 'sleep', idleSeconds: null },
    ];
    const r = mount({ columns: 120, rows: 35, snapshot: makeSnapshot(mixedFleet(), { unmanaged }) });
    const frame = await r.waitFor((f) => f.includes('unmanaged:'), 'unmanaged line');
    expect(frame).toContain('unmanaged: scratch@mosaic-fleet, rstray@gpu-fleet on gpu2');
  });

  it('120×35 with a short fleet: the backlog follows the table directly and lists every ready card', async () => {
    const ready = Array.from({ length: 10 }, (_, i) => ({ id: `R${i}`, title: `ready card ${i}`, priority: 20 - i, phase: null }));
    const r = mount({ columns: 120, rows: 35, snapshot: makeSnapshot(mixedFleet(), { backlog: makeBacklog({ ready }) }) });
    const lines = (await r.waitFor((f) => f.includes('BACKLOG'), 'backlog panel')).split('\n');
    const lastAgent = lines.findIndex((l) => /coder3\s+dead/.test(l));
    // Only the LAST 1H legend sits between the table and the backlog.
    expect(lines[lastAgent + 1]).toMatch(/^LAST 1H/);
    expect(lines.findIndex((l) => l.startsWith('BACKLOG'))).toBe(lastAgent + 2);
    for (let i = 0; i < 10; i++) expect(lines.some((l) => l.includes(`R R${i}  p${20 - i}  ready card ${i}`))).toBe(true);
  });

  it('80×24 with 30 ready cards: the backlog title says which cards are shown and that more are below', async () => {
    const ready = Array.from({ length: 30 }, (_, i) => ({ id: `R${i}`, title: `card ${i}`, priority: 50 - i, phase: null }));
    const r = mount({ columns: 80, rows: 24, snapshot: makeSnapshot(mixedFleet(), { backlog: makeBacklog({ ready }) }) });
    const frame = await r.waitFor((f) => f.includes('BACKLOG'), 'backlog panel');
    expect(frame.split('\n').find((l) => l.startsWith('BACKLOG'))).toMatch(/rows 1–\d+ of 31 ↓$/);
  });

  it('counts: no trouble, no trouble words (dead/stale/unknown appear only when non-zero)', async () => {
    const r = mount({
      columns: 80,
      rows: 24,
      snapshot: makeSnapshot([makeAgent('orchestrator', { class: 'orchestrator' }), makeAgent('enhancer1', { class: 'enhancer', readiness: 'available' })]),
    });
    const frame = await r.waitFor((f) => f.includes('BACKLOG'), 'backlog panel');
    expect(frame.split('\n')[1]).toMatch(/^fleet running  working 1  available 1  floor ok/);
  });
  it('uses 160 columns: backlog beside the table, evidence column shown', async () => {
    const r = mount({ columns: 160, rows: 40, snapshot: makeSnapshot(mixedFleet()) });
    const frame = await r.waitFor((f) => f.includes('EVIDENCE'), 'evidence column');
    assertFits(frame, 160, 40);
    const header = frame.split('\n').find((l) => l.includes('AGENT'))!;
    expect(header).toContain('BACKLOG'); // same line: beside
    // The LAST 1H timeline column shares the row: the evidence is cut, still there.
    expect(frame, frame).toContain('heartbeat 12s old');
  });
  it('follows resizes', async () => {
    const r = mount({ columns: 80, rows: 24, snapshot: makeSnapshot(mixedFleet()) });
    await r.waitFor((f) => f.includes('BACKLOG') && !f.includes('EVIDENCE  '), 'narrow');
    r.resize(160, 40);
    const frame = await r.waitFor((f) => f.split('\n').some((l) => l.includes('AGENT') && l.includes('BACKLOG')), 'wide after resize');
    assertFits(frame, 160, 40);
    r.resize(60, 12);
    assertFits(await r.waitFor((f) => f.split('\n').length <= 11, 'small after resize'), 60, 12);
    for (const [c, rows] of [
      [20, 5],
      [12, 3],
      [200, 60],
    ] as const) {
      r.resize(c, rows);
      assertFits(await r.waitFor((f) => f.split('\n').length <= rows - 1 && f.split('\n').every((l) => stringWidth(l) <= c), `${c}x${rows}`), c, rows);
    }
  });
  it('aligns CJK and emoji cells: every column starts at the same cell on every row', async () => {
    const agents = [
      makeAgent('plain', { class: 'code' }),
      makeAgent('emoji', { class: '🙂🙂', runtime: 'claude' }),
      makeAgent('cjk', { class: '漢字クラス', runtime: 'コーデックス' }),
      makeAgent('zwj', { class: '👩‍💻dev', flags: ['DRIFT'] }),
    ];
    const r = mount({ columns: 80, rows: 24, snapshot: makeSnapshot(agents) });
    const frame = await r.waitFor((f) => f.includes('zwj'), 'rows');
    const rows = frame.split('\n').filter((l) => /^(> | {2})(plain|emoji|cjk|zwj) /.test(l));
    expect(rows).toHaveLength(4);
    const cellOf = (line: string, token: string) => stringWidth(line.slice(0, line.indexOf(token)));
    const stateCols = rows.map((l) => cellOf(l, 'working'));
    expect(new Set(stateCols).size).toBe(1);
    const idleCols = rows.map((l) => cellOf(l, '42s') + 3);
    expect(new Set(idleCols).size).toBe(1);
    assertFits(frame, 80, 24);
  });
  it('scrolls a long fleet to keep the selection visible', async () => {
    const r = mount({ columns: 80, rows: 24, snapshot: makeSnapshot(manyAgents(60)) });
    const top = await r.waitFor((f) => f.includes('agent000'), 'first row');
    // The header says which rows are shown and that more are below.
    expect(top.split('\n').find((l) => l.includes('AGENT'))).toMatch(/rows 1–\d+ of 60 ↓$/);
    await r.press('G');
    const frame = await r.waitFor((f) => f.includes('> agent059'), 'last row selected');
    expect(frame).not.toContain('agent000');
    expect(frame.split('\n').find((l) => l.includes('AGENT'))).toMatch(/rows \d+–60 of 60 ↑$/);
    assertFits(frame, 80, 24);
  });
});

describe('console keys', () => {
  it('filters rows with / and clears with esc', async () => {
    const r = mount({ snapshot: makeSnapshot(mixedFleet()) });
    await r.waitFor((f) => f.includes('orchestrator'), 'table');
    await r.press('/');
    for (const ch of 'coder') await r.press(ch);
    let frame = await r.waitFor((f) => f.includes('/ coder'), 'filter line');
    expect(frame).toContain('coder1');
    expect(frame).not.toContain('enhancer1');
    await r.press('escape');
    await r.waitFor((f) => f.includes('enhancer1'), 'filter cleared');
    expect(r.store.getState().ui.filter).toBe('');
    await r.press('/');
    for (const ch of 'dead') await r.press(ch);
    await r.press('enter');
    frame = await r.waitFor((f) => f.includes('filter: dead'), 'filter kept');
    expect(frame).toContain('coder3');
    expect(frame).not.toContain('coder1');
    // esc clears a filter in use, too (not only while editing it).
    await r.press('escape');
    await r.waitFor((f) => f.includes('coder1') && f.includes('filter cleared'), 'applied filter cleared by esc');
    expect(r.store.getState().ui.filter).toBe('');
  });
  it('r says "refreshing…" until the next snapshot arrives, not for the notice lifetime', async () => {
    const actions = recordingActions();
    const r = mount({ actions, snapshot: makeSnapshot(mixedFleet()) });
    await r.waitFor((f) => f.includes('orchestrator'), 'table');
    await r.press('r');
    await r.waitFor((f) => f.includes('refreshing…'), 'progress notice');
    expect(actions.calls).toContain('refresh');
    r.store.getState().applySnapshot(makeSnapshot(mixedFleet()), Date.now() + 1);
    await r.waitFor((f) => !f.includes('refreshing…'), 'notice gone with the new snapshot');
  });

  it('? lists every keymap binding (scrolling at 80×24, at once when tall)', async () => {
    const r = mount({ columns: 80, rows: 24, snapshot: makeSnapshot(mixedFleet()) });
    await r.press('?');
    const seen = new Set<string>();
    let frame = await r.waitFor((f) => f.includes('HELP'), 'help');
    for (let i = 0; i < 10; i++) {
      for (const line of frame.split('\n')) seen.add(line);
      await r.press('pagedown');
      frame = r.frame();
    }
    const all = [...seen].join('\n');
    for (const b of KEYMAP.filter((k) => k.showInHelp)) {
      expect(all, b.command).toContain(b.description.slice(0, 40));
      expect(all).toContain(b.keys.map(displayKey).join(' / '));
    }
    r.unmount();
    // Tall enough for every binding at once (the lifecycle, answer and transitions keys made the help longer than 40 rows).
    const tall = mount({ columns: 100, rows: 52, snapshot: makeSnapshot(mixedFleet()) });
    await tall.press('?');
    const f2 = await tall.waitFor((f) => f.includes('HELP'), 'help tall');
    for (const b of KEYMAP) expect(f2).toContain(b.description.slice(0, 40));
    await tall.press('escape');
    await tall.waitFor((f) => !f.includes('HELP') && f.includes('AGENT'), 'help closed');
  });
  it('--readonly says which key is disabled and changes nothing', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-console-'));
    temps.push(home);
    const paths = resolvePaths({ mosaicHome: home }, {});
    const store = createConsoleStore({ readonly: true, color: false });
    const actions = createConsoleActions({ store, paths, poller: { refresh: () => {}, capturePreview: async () => {} }, quit: () => {}, watch: () => {} });
    const r = mount({ store, actions, snapshot: makeSnapshot(mixedFleet()) });
    await r.waitFor((f) => f.includes('READ-ONLY'), 'read-only marker');
    await r.press('p');
    await r.waitFor((f) => f.includes('read-only console: p disabled'), 'p refused');
    await r.press('s');
    await r.waitFor((f) => f.includes('read-only console: s disabled'), 's refused');
    await r.press('c');
    await r.waitFor((f) => f.includes('read-only console: c disabled'), 'c refused');
    await r.press('R');
    await r.waitFor((f) => f.includes('read-only console: R disabled'), 'R refused');
    await r.press('tab');
    await r.press('x');
    await r.waitFor((f) => f.includes('read-only console: x disabled'), 'x refused');
    expect(fs.existsSync(path.join(paths.runDir, 'PAUSED'))).toBe(false);
    expect(r.frame()).not.toContain('p pause');
  });
  it('p asks; y writes PAUSED in the run dir, n does not', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-console-'));
    temps.push(home);
    const paths = resolvePaths({ mosaicHome: home }, {});
    const store = createConsoleStore({ color: false });
    let refreshes = 0;
    const actions = createConsoleActions({
      store,
      paths,
      poller: {
        refresh: () => {
          refreshes++;
        },
        capturePreview: async () => {},
      },
      quit: () => {},
      watch: () => {},
      operator: () => 'tester@host',
    });
    const r = mount({ store, actions, snapshot: makeSnapshot(mixedFleet()) });
    const flag = path.join(paths.runDir, 'PAUSED');
    await r.press('p');
    await r.waitFor((f) => f.includes('PAUSE the whole fleet?'), 'confirm');
    await r.press('n');
    await r.waitFor((f) => f.includes('pause/resume cancelled'), 'declined');
    expect(fs.existsSync(flag)).toBe(false);
    await r.press('p');
    await r.press('y');
    await r.waitFor((f) => f.includes('fleet PAUSED by tester@host'), 'paused notice');
    expect(fs.readFileSync(flag, 'utf8')).toMatch(/^at=.+\nby=tester@host\nreason=paused from the mosaic-top console\n$/);
    expect(refreshes).toBe(1);
    // The next snapshot carries the flag: the banner shows since/by/reason.
    r.store.getState().applySnapshot(
      makeSnapshot(mixedFleet(), {
        fleet: { ...makeSnapshot(mixedFleet()).fleet, paused: { at: '2026-11-21T17:00:00Z', by: 'tester@host', reason: 'maintenance' } },
      }),
    );
    await r.waitFor((f) => /PAUSED since 2026-11-21T17:00:00Z .*by tester@host — maintenance/.test(f), 'banner');
    await r.press('p');
    await r.waitFor((f) => f.includes('Resume the fleet? (fleet PAUSED since 2026-11-21T17:00:00Z by tester@host'), 'resume confirm says who and why');
    await r.press('y');
    await r.waitFor((f) => f.includes('fleet resumed'), 'resumed');
    expect(fs.existsSync(flag)).toBe(false);
  });
  it('keys arriving in one chunk ("jj", "/dead") each count', async () => {
    const r = mount({ snapshot: makeSnapshot(mixedFleet()) });
    await r.press('jj');
    await r.waitFor((f) => f.includes('> coder1'), 'moved twice');
    await r.press('/dead');
    await r.waitFor((f) => f.includes('/ dead'), 'filter typed from one chunk');
    expect(r.store.getState().ui.filter).toBe('dead');
    await r.press('\u001bk'); // ESC glued to k: closes (clears) the filter, then moves up
    await r.waitFor((f) => f.includes('> enhancer1') && !f.includes('/ dead'), 'escape then k');
    expect(r.store.getState().ui.filter).toBe('');
    await r.press('?');
    await r.waitFor((f) => f.includes('HELP'), 'help');
    await r.press('\u001b\u0003'); // ESC glued to ctrl-c
    expect((r.actions as ReturnType<typeof recordingActions>).calls).toContain('quit');
  });
  it('enter shows agent details; esc closes', async () => {
    const r = mount({ columns: 100, rows: 30, snapshot: makeSnapshot(mixedFleet()) });
    await r.press('j');
    await r.press('enter');
    const frame = await r.waitFor((f) => f.includes('DETAILS'), 'details');
    expect(frame).toContain('agent enhancer1');
    expect(frame).toContain('evidence:');
    expect(frame).toContain('heartbeat /run/enhancer1.hb');
    await r.press('escape');
    await r.waitFor((f) => !f.includes('DETAILS'), 'closed');
  });
  it('enter on a card loads body, acceptance, deps and events from the backlog client', async () => {
    const store = createConsoleStore({ color: false });
    let closed = 0;
    const client = {
      get: async (id: string) => ({
        id,
        title: 'wire the heartbeat writer',
        body: 'line one\n\u001b[31mline two',
        acceptance: 'tests pass',
        dependsOn: ['A1', 'A2'],
        status: 'claimed',
        priority: 5,
        phase: 'p1',
        attempts: 2,
        claimOwner: 'coder1',
        claimToken: 7,
        expiresAt: '2026-11-21T17:15:00Z',
      }),
      events: async () => [{ id: 1, at: '2026-11-21T17:00:00Z', actor: 'coder1', verb: 'claim', cardId: 'A3', detail: { token: 7 } }],
      close: async () => {
        closed++;
      },
    };
    const actions = createConsoleActions({
      ...stubDeps(store),
      openBacklog: async () => client as never,
    });
    const r = mount({ store, actions, columns: 100, rows: 40, snapshot: makeSnapshot(mixedFleet()) });
    await r.press('tab');
    await r.press('enter');
    const frame = await r.waitFor((f) => f.includes('events (newest first):'), 'card details loaded');
    expect(frame).toContain('card A3: wire the heartbeat writer');
    // The loaded status/claim lines replace the snapshot's summary: said once, not twice.
    expect(frame).toContain('status claimed, priority 5, phase p1, attempts 2');
    expect(frame).not.toContain('claimed by coder1 at');
    expect(frame).toContain('depends on: A1, A2');
    expect(frame).toContain('  ^[[31mline two');
    expect(frame).toContain('  tests pass');
    expect(frame).toMatch(/2026-11-21T17:00:00Z {2}coder1 {2}claim/);
    expect(frame).not.toContain(ESC);
    expect(closed).toBe(1);
  });
  it('s edits a message and shows the receipt in place', async () => {
    const store = createConsoleStore({ color: false });
    const sent: string[] = [];
    const actions = createConsoleActions({
      ...stubDeps(store),
      sendToAgent: async (o) => {
        sent.push(`${o.agent}:${o.message}`);
        return {
          status: 'submitted',
          agent: o.agent,
          evidence: ['pane changed below baseline: ack'],
          elapsedMs: 812,
          source: 'operator:mosaic-top',
          reason: null,
        };
      },
    });
    const r = mount({ store, actions, snapshot: makeSnapshot(mixedFleet()) });
    await r.press('s');
    await r.waitFor((f) => f.includes('send to orchestrator'), 'editor');
    for (const ch of 'stop now') await r.press(ch);
    await r.waitFor((f) => f.includes('> stop now'), 'typed');
    await r.press('enter');
    const frame = await r.waitFor((f) => f.includes('RECEIPT SUBMITTED'), 'receipt');
    expect(frame).toContain('812 ms');
    expect(frame).toContain('evidence: pane changed below baseline: ack');
    expect(sent).toEqual(['orchestrator:stop now']);
    await r.press('x');
    await r.waitFor((f) => !f.includes('RECEIPT'), 'receipt closed');
  });
});

describe('console preview and claim', () => {
  it('v shows the read-only preview of the selected pane, within the screen', async () => {
    const store = createConsoleStore({ color: false });
    let captures = 0;
    const poller = {
      refresh: () => {},
      capturePreview: async () => {
        captures++;
        store.getState().setPreview({ agent: 'orchestrator', lines: Array.from({ length: 40 }, (_, i) => `pane line ${i}`), error: null });
      },
    };
    const actions = createConsoleActions({ store, paths: resolvePaths({ mosaicHome: '/nonexistent' }, {}), poller, quit: () => {}, watch: () => {} });
    const r = mount({ store, actions, snapshot: makeSnapshot(mixedFleet()) });
    await r.press('v');
    const frame = await r.waitFor((f) => f.includes('PREVIEW orchestrator'), 'preview');
    expect(captures).toBe(1);
    expect(frame).toContain('pane line 39'); // the newest lines are kept
    expect(frame).not.toContain('pane line 0\n');
    assertFits(frame, 80, 24);
    await r.press('v');
    await r.waitFor((f) => !f.includes('PREVIEW'), 'preview closed');
  });
  it('c asks, then claims and dispatches through dispatchCard and shows the result', async () => {
    const store = createConsoleStore({ color: false });
    const calls: string[] = [];
    const actions = createConsoleActions({
      ...stubDeps(store),
      dispatchCard: async (o) => {
        calls.push(o.agent);
        return {
          ok: true,
          outcome: 'dispatched',
          card: { id: 'B2', title: 'high priority card' },
          refused: null,
          message: 'B2 claimed by enhancer1, receipt submitted (640 ms)',
          receipt: { status: 'submitted', agent: o.agent, evidence: ['pane changed'], elapsedMs: 640, source: 'operator:mosaic-top', reason: null },
        };
      },
    });
    const r = mount({ store, actions, snapshot: makeSnapshot(mixedFleet()) });
    await r.press('j');
    await r.press('c');
    await r.waitFor((f) => f.includes('Claim the next ready card (next: B2 p9 high priority card) for enhancer1'), 'confirm');
    expect(r.frame()).toMatch(/^y confirm · n \/ esc cancel/m); // enhancer1 is available and holds nothing: no caution
    await r.press('n');
    await r.waitFor((f) => f.includes('claim cancelled'), 'declined');
    expect(calls).toEqual([]);
    await r.press('c');
    await r.press('y');
    const frame = await r.waitFor((f) => f.includes('B2 claimed by enhancer1'), 'result');
    expect(frame).toContain('card B2: high priority card');
    expect(calls).toEqual(['enhancer1']);
  });

  it('details of a claimed card before loading: time left or EXPIRED, never "expired … left"; dispatch refusals said once', async () => {
    const { cardRowLines: cardDetailLines } = await import('../../src/view/card-details.js');
    const { dispatchLines } = await import('../../src/view/result-lines.js');
    const card = { id: 'H1', title: 't', owner: 'reviewer', claimedAt: '2026-11-21T18:00:00Z', ttlSeconds: 1, secondsLeft: -9, expired: true };
    expect(cardDetailLines({ kind: 'claimed', id: 'H1', card })[1]).toBe('claimed by reviewer at 2026-11-21T18:00:00Z, ttl 1s: EXPIRED 9s ago (last snapshot)');
    expect(cardDetailLines({ kind: 'claimed', id: 'H1', card: { ...card, ttlSeconds: 900, secondsLeft: 600, expired: false } })[1]).toMatch(
      /ttl 900s: 10m00s left \(last snapshot\)$/,
    );
    const refused = dispatchLines({
      ok: false,
      outcome: 'refused',
      card: null,
      receipt: null,
      refused: 'no live pane',
      message: 'dispatch to research refused: no live pane',
    });
    expect(refused).toEqual(['dispatch to research refused: no live pane']);
  });

  it('c and s refuse at once (no dialog) for a dead pane, and c while PAUSED says since when and by whom; c cautions about a busy agent holding a card', async () => {
    const actions = recordingActions();
    const busy = makeAgent('coder9', { readiness: 'working', claim: { cardId: 'A3', title: 'wire', secondsLeft: 60 } });
    const r = mount({ actions, snapshot: makeSnapshot([...mixedFleet(), busy]) });
    await r.press('G'); // coder9, the last row
    await r.press('c');
    await r.waitFor((f) => f.includes('coder9: working now: it may queue the card, already holds A3 · y confirm'), 'caution');
    await r.press('n');
    await r.press('k'); // coder3: dead
    await r.press('c');
    await r.waitFor((f) => f.includes('claim refused: coder3 has no live pane (dead)'), 'dead refused');
    expect(r.store.getState().ui.open.kind).toBe('none');
    await r.press('s');
    await r.waitFor((f) => f.includes('send refused: coder3 has no live pane (dead)'), 'send to dead refused');
    expect(r.store.getState().ui.open.kind).toBe('none');
    r.store
      .getState()
      .applySnapshot(
        makeSnapshot(mixedFleet(), { fleet: { ...makeSnapshot(mixedFleet()).fleet, paused: { at: '2026-11-21T18:00:00Z', by: 'ops@vm', reason: 'deploy' } } }),
      );
    await r.press('g');
    await r.press('c');
    await r.waitFor((f) => f.includes('claim refused: fleet PAUSED since 2026-11-21T18:00:00Z by ops@vm: deploy'), 'paused refused');
    expect(r.store.getState().ui.open.kind).toBe('none');
    expect(actions.calls.filter((c) => c.startsWith('dispatch') || c.startsWith('send'))).toEqual([]);
  });

  it('x on a claimed card asks, then releases exactly that claim (guarded by its owner); on a ready card it says what to select', async () => {
    const store = createConsoleStore({ color: false });
    const reclaims: unknown[] = [];
    let answer = { reclaimed: ['A3'] };
    const client = {
      reclaim: async (input: unknown) => {
        reclaims.push(input);
        return answer;
      },
      close: async () => {},
    };
    const actions = createConsoleActions({
      ...stubDeps(store),
      openBacklog: async () => client as never,
      operator: () => 'ops',
    });
    const r = mount({ store, actions, snapshot: makeSnapshot(mixedFleet()) });
    await r.press('x'); // fleet focus: x is a backlog key
    expect(r.frame()).not.toContain('Release');
    await r.press('tab');
    await r.press('x');
    await r.waitFor((f) => f.includes('Release A3 (claimed by coder1, ttl 10m00s) back to ready?'), 'confirm');
    await r.press('n');
    await r.waitFor((f) => f.includes('release cancelled'), 'declined');
    expect(reclaims).toEqual([]);
    await r.press('x');
    await r.press('y');
    await r.waitFor((f) => f.includes("released A3: back to ready (was coder1's)"), 'released');
    expect(reclaims).toEqual([{ id: 'A3', owner: 'coder1', actor: 'operator:ops' }]);
    // The card changed hands meanwhile: nothing released, and the operator is told.
    answer = { reclaimed: [] };
    await r.press('x');
    await r.press('y');
    await r.waitFor((f) => f.includes('release: A3 is no longer claimed by coder1; nothing changed'), 'not released');
    // A ready card has no claim to release.
    await r.press('j');
    await r.press('x');
    await r.waitFor((f) => f.includes('release: select a claimed card (C) in the backlog panel'), 'ready card refused');
    expect(reclaims).toHaveLength(2);
  });
});

describe('console rendering safety and colour', () => {
  it('NO_COLOR: no escape sequence at all; state words still printed', async () => {
    const r = mount({ color: false, snapshot: makeSnapshot(mixedFleet()) });
    const frame = await r.waitFor((f) => f.includes('dead'), 'frame');
    expect(frame).not.toContain(ESC);
    for (const w of ['working', 'available', 'stale', 'unknown', 'dead']) expect(frame).toContain(w);
  });
  it('colour on: readiness is coloured (and the words are still there)', async () => {
    const level = chalk.level;
    chalk.level = 1;
    try {
      const r = mount({ color: true, snapshot: makeSnapshot(mixedFleet()) });
      const frame = await r.waitFor((f) => f.includes('dead'), 'frame');
      expect(frame).toContain(`${ESC}[31m`); // red for dead
      expect(frame).toContain('dead');
    } finally {
      chalk.level = level;
    }
  });
  it('untrusted strings are shown inert (OSC title, colour, cursor moves)', async () => {
    const evil = '\u001b]2;pwned\u0007\u001b[31mred\u001b[2J\u001b[H';
    const agent = makeAgent('victim', { evidence: [`note ${evil}`] });
    agent.heartbeat = { ...agent.heartbeat!, note: evil };
    agent.pane = { ...agent.pane!, title: evil };
    const backlog = makeBacklog({ ready: [{ id: 'E1', title: `card ${evil}`, priority: 5, phase: null }] });
    const r = mount({ columns: 160, rows: 40, color: false, snapshot: makeSnapshot([agent], { backlog, errors: [`probe said ${evil}`] }) });
    let frame = await r.waitFor((f) => f.includes('E1'), 'card');
    expect(frame).not.toContain(ESC);
    expect(frame).not.toContain('\u0007');
    expect(frame).toContain('card ^[]2;pwned^G^[[31mred');
    await r.press('enter');
    frame = await r.waitFor((f) => f.includes('note: ^[]2;pwned'), 'details note');
    expect(frame).toContain('title: ^[]2;pwned');
    expect(frame).not.toContain(ESC);
  });
  it('shows probe errors in place and keeps running', async () => {
    const snap = makeSnapshot(mixedFleet(), {
      // As the real probes report them: no tmux server is ok (the call worked) with an error text.
      probes: {
        systemd: { ok: false, durationMs: 3, error: 'systemd: no user bus' },
        'tmux:mosaic-fleet': { ok: true, durationMs: 2, error: 'tmux: no server on socket mosaic-fleet' },
      },
    });
    const r = mount({ snapshot: snap });
    const frame = await r.waitFor((f) => f.includes('! systemd: no user bus'), 'systemd error');
    expect(frame).toContain('! tmux: no server on socket mosaic-fleet');
    expect(frame).toMatch(/orchestrator\s+working/);
  });
  it('backlog: live TTL countdown from the store clock; none yet; error in place', async () => {
    const r = mount({ snapshot: makeSnapshot(mixedFleet()) });
    const t0 = r.store.getState().fleet.snapshotAtMs!;
    r.store.getState().tickClock(t0);
    await r.waitFor((f) => f.includes('ttl 10m00s'), 'initial ttl');
    r.store.getState().tickClock(t0 + 61_000);
    await r.waitFor((f) => f.includes('ttl 8m59s'), 'ttl after 61 s');
    r.store.getState().tickClock(t0 + 601_000);
    await r.waitFor((f) => f.includes('ttl expired 1s'), 'expired');
    r.store.getState().applySnapshot(makeSnapshot(mixedFleet(), { backlog: makeBacklog({ exists: false, ok: false, stats: null, claimed: [], ready: [] }) }));
    await r.waitFor((f) => f.includes('backlog: none yet'), 'none yet');
    r.store
      .getState()
      .applySnapshot(
        makeSnapshot(mixedFleet(), { backlog: makeBacklog({ ok: false, error: 'backlog server timed out', stats: null, claimed: [], ready: [] }) }),
      );
    await r.waitFor((f) => f.includes('backlog error: backlog server timed out'), 'error');
  });

  it('backlog: "ready 8" with two claimable cards listed says the other six wait on dependencies', async () => {
    const stats = { counts: { ready: 8, claimed: 1, blocked: 1, done: 3 }, oldestReadyAgeSeconds: 300, expiredClaims: 0, waitingOnDeps: 6 };
    const r = mount({ snapshot: makeSnapshot(mixedFleet(), { backlog: makeBacklog({ stats }) }) });
    const frame = await r.waitFor((f) => f.includes('+ 6 ready, waiting on dependencies'), 'waiting line');
    expect(frame).toContain('ready 8');
    r.store.getState().applySnapshot(makeSnapshot(mixedFleet(), { backlog: makeBacklog() }));
    await r.waitFor((f) => !f.includes('waiting on dependencies'), 'no waiting line when none wait');
  });
});
