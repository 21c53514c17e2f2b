import { describe, expect, it, vi } from 'vitest';
import { createConsoleStore } from '../../src/store/index.js';
import { openDetailsOf, openScroll } from '../../src/store/ui-slice.js';
import { CONSOLE_TRANSITIONS_PER_SUBJECT } from '../../src/store/transitions-slice.js';
import { TRANSITION_SCHEMA, type Transition } from '../../src/transitions/diff.js';
import { backlogRows, scrollOffset, selectedAgentRow, visibleAgents } from '../../src/store/selectors.js';
import { computeLayout, consoleLayout } from '../../src/view/layout.js';
import { floorText } from '../../src/view/rows.js';
import { makeAgent, makeBacklog, makeSnapshot, manyAgents, mixedFleet } from '../fixtures/snapshots.js';
import { at } from '../helpers/must.js';

describe('console store', () => {
  it('applies whole snapshots, fleet and backlog slices together', () => {
    const store = createConsoleStore();
    const snap = makeSnapshot(mixedFleet());
    store.getState().applySnapshot(snap, 1000);
    const s = store.getState();
    expect(s.fleet.snapshot).toBe(snap);
    expect(s.fleet.snapshotAtMs).toBe(1000);
    expect(s.fleet.applied).toBe(1);
    expect(s.backlog.section?.claimed[0]?.id).toBe('A3');
    store.getState().tickFailed('boom', 2000);
    // The last snapshot stays on screen, but no row keeps a readiness that is no longer true.
    const stale = store.getState().fleet.snapshot!;
    expect(stale.agents.map((a) => a.name)).toEqual(snap.agents.map((a) => a.name));
    expect(stale.agents.every((a) => a.readiness === 'unknown' && a.evidence[0] === 'no fresh snapshot: boom')).toBe(true);
    expect(at(stale.agents, 0).evidence[1]).toBe(`was ${at(snap.agents, 0).readiness} in the snapshot of ${snap.generatedAt}`);
    expect(stale.fleet.counts.unknown).toBe(snap.agents.length);
    expect(store.getState().fleet.tickError).toBe('boom');
    store.getState().tickFailed('boom again', 2500);
    expect(at(store.getState().fleet.snapshot!.agents, 0).evidence.filter((e) => e.startsWith('no fresh snapshot')).length).toBe(1);
    store.getState().applySnapshot(snap, 3000);
    expect(store.getState().fleet.tickError).toBeNull();
  });
  it('keeps the selection by name across refreshes and reorderings', () => {
    const store = createConsoleStore();
    store.getState().applySnapshot(makeSnapshot(mixedFleet()));
    store.getState().moveSelection(2);
    expect(store.getState().ui.selectedAgent).toBe('coder1');
    store.getState().applySnapshot(makeSnapshot([...mixedFleet()].reverse()));
    expect(store.getState().ui.selectedAgent).toBe('coder1');
    store.getState().moveSelection(1);
    expect(store.getState().ui.selectedAgent).toBe('enhancer1');
  });
  it('finds the selected row in each new snapshot: same roster order, reordered, filtered', () => {
    const store = createConsoleStore();
    const first = makeSnapshot(mixedFleet());
    store.getState().applySnapshot(first);
    store.getState().moveSelection(2);
    expect(selectedAgentRow(store.getState())).toBe(at(first.agents, 2));
    // Fresh rows, same names in the same order (every tick of a live console): the new row.
    const next = makeSnapshot(mixedFleet());
    store.getState().applySnapshot(next);
    expect(selectedAgentRow(store.getState())).toBe(at(next.agents, 2));
    const reversed = makeSnapshot([...mixedFleet()].reverse());
    store.getState().applySnapshot(reversed);
    expect(selectedAgentRow(store.getState())?.name).toBe('coder1');
    expect(selectedAgentRow(store.getState())).toBe(reversed.agents.find((a) => a.name === 'coder1'));
    store.getState().setFilter('coder');
    expect(selectedAgentRow(store.getState())?.name).toBe('coder1');
    store.getState().applySnapshot(makeSnapshot(mixedFleet().filter((a) => a.name !== 'coder1')));
    // Gone from the roster: the first row that passes the filter.
    expect(selectedAgentRow(store.getState())?.name).toBe(visibleAgents(store.getState().fleet.snapshot, 'coder')[0]?.name);
  });
  it('pages by the layout page size and clamps', () => {
    const store = createConsoleStore();
    store.getState().applySnapshot(makeSnapshot(manyAgents(50)));
    store.getState().moveSelection('page-down', 10);
    expect(store.getState().ui.selectedAgent).toBe('agent010');
    store.getState().moveSelection('bottom');
    store.getState().moveSelection('page-down', 10);
    expect(store.getState().ui.selectedAgent).toBe('agent049');
    store.getState().moveSelection('page-up', 10);
    expect(store.getState().ui.selectedAgent).toBe('agent039');
  });
  it('opens details of the focused selection and closes cleanly', () => {
    const store = createConsoleStore();
    store.getState().applySnapshot(makeSnapshot(mixedFleet()));
    store.getState().openDetails();
    expect(openDetailsOf(store.getState().ui.open)).toEqual({ kind: 'agent', key: 'orchestrator' });
    store.getState().closeModal();
    store.getState().switchFocus();
    store.getState().openDetails();
    expect(openDetailsOf(store.getState().ui.open)).toEqual({ kind: 'card', key: 'A3' });
    expect(store.getState().ui.open.kind).toBe('details');
  });
  it('clamps help/details scrolling to the content', () => {
    const store = createConsoleStore();
    store.getState().openModal('help');
    store.getState().scrollModal(100, 23, 10);
    expect(openScroll(store.getState().ui.open)).toBe(13);
    store.getState().scrollModal(-1, 23, 10);
    expect(openScroll(store.getState().ui.open)).toBe(12); // one step up is visible at once
    store.getState().scrollModal(5, 8, 10);
    expect(openScroll(store.getState().ui.open)).toBe(0); // fits: no scrolling
    store.getState().scrollModal(3, 23, 10);
    store.getState().openModal('help');
    expect(openScroll(store.getState().ui.open)).toBe(0);
  });
  it('caps notices and toggles the preview', () => {
    const store = createConsoleStore();
    for (let i = 0; i < 30; i++) store.getState().pushNotice(`n${i}`);
    expect(store.getState().ui.notices).toHaveLength(20);
    expect(store.getState().ui.notices.at(-1)?.text).toBe('n29');
    store.getState().togglePreview();
    store.getState().setPreview({ agent: 'a', lines: ['x'], error: null });
    store.getState().togglePreview();
    expect(store.getState().ui.previewOn).toBe(false);
    expect(store.getState().ui.preview).toBeNull();
  });
});

describe('view model', () => {
  it('filters by name, class, readiness and flag, all terms required', () => {
    const snap = makeSnapshot(mixedFleet());
    expect(visibleAgents(snap, 'coder').map((a) => a.name)).toEqual(['coder1', 'coder2', 'coder3']);
    expect(visibleAgents(snap, 'DEAD').map((a) => a.name)).toEqual(['coder3']);
    expect(visibleAgents(snap, 'drift').map((a) => a.name)).toEqual(['coder1']);
    expect(visibleAgents(snap, 'enhancer available').map((a) => a.name)).toEqual(['enhancer1']);
    expect(visibleAgents(snap, 'code stale').map((a) => a.name)).toEqual(['coder2']);
    expect(visibleAgents(null, '')).toEqual([]);
  });
  it('orders backlog rows: claimed by TTL, then ready by priority', () => {
    const section = makeBacklog({
      claimed: [
        { id: 'C2', title: 't', owner: 'o', claimedAt: '', ttlSeconds: 900, secondsLeft: 500, expired: false },
        { id: 'C1', title: 't', owner: 'o', claimedAt: '', ttlSeconds: 900, secondsLeft: -5, expired: true },
      ],
    });
    expect(backlogRows(section).map((r) => r.id)).toEqual(['C1', 'C2', 'B2', 'B1']);
    expect(backlogRows(section, 'high').map((r) => r.id)).toEqual(['B2']);
    expect(backlogRows(null)).toEqual([]);
  });
  it('scrolls to keep the selection visible', () => {
    expect(scrollOffset(5, 4, 10)).toBe(0);
    expect(scrollOffset(50, 0, 10)).toBe(0);
    expect(scrollOffset(50, 25, 10)).toBe(20);
    expect(scrollOffset(50, 49, 10)).toBe(40);
  });
});

describe('header texts', () => {
  it('says the floor once, with its reason', () => {
    const snap = makeSnapshot([makeAgent('c1')]);
    snap.fleet.floor = {
      ok: false,
      profile: 'default',
      lead: 'orchestrator',
      required: [],
      orchestrators: 0,
      enhancers: 0,
      reason: 'floor broken: no orchestrator working or available',
    };
    expect(floorText(snap)).toBe('FLOOR BROKEN: no orchestrator working or available');
    expect(floorText(makeSnapshot(mixedFleet()))).toBe('floor ok (1 orch, 1 enh)');
  });
});

describe('layout', () => {
  it('never uses more than rows - 1 lines', () => {
    for (const rows of [3, 5, 10, 24, 40, 60]) {
      for (const modal of ['none', 'help', 'filter', 'confirm-pause', 'send-editor', 'receipt', 'message'] as const) {
        for (const previewOn of [false, true]) {
          const l = computeLayout({ columns: 80, rows, errorCount: 5, backlogWanted: 30, previewOn, modal, dialogWanted: 12 });
          const total =
            l.headerLines +
            l.errorLines +
            l.dialogLines +
            l.noticeLines +
            l.statusLines +
            l.fullViewLines +
            (l.backlogBeside ? l.tableLines : l.tableLines + l.backlogLines) +
            l.previewLines;
          expect(total, `${rows} ${modal} ${previewOn}`).toBeLessThanOrEqual(rows - 1);
          expect(Math.min(l.tableLines, l.backlogLines, l.previewLines, l.errorLines)).toBeGreaterThanOrEqual(0);
        }
      }
    }
  });
  it('puts the backlog beside the table on wide terminals', () => {
    const wide = computeLayout({ columns: 160, rows: 40, errorCount: 0, backlogWanted: 5, previewOn: false, modal: 'none' });
    expect(wide.backlogBeside).toBe(true);
    expect(wide.tableWidth + 1 + wide.backlogWidth).toBe(160);
    const narrow = computeLayout({ columns: 80, rows: 24, errorCount: 0, backlogWanted: 5, previewOn: false, modal: 'none' });
    expect(narrow.backlogBeside).toBe(false);
    expect(narrow.backlogLines).toBe(5);
  });
  it('a short fleet gives its unused lines to the backlog, no gap between them', () => {
    // 120×35, 6 agents (+ header + unmanaged = 8 lines), 2 claimed + 10 ready cards wanted (14).
    const short = computeLayout({ columns: 120, rows: 35, errorCount: 1, backlogWanted: 14, tableWanted: 8, previewOn: false, modal: 'none' });
    expect(short.tableLines).toBe(8);
    expect(short.backlogLines).toBe(14);
    // A long fleet keeps the table's share; the backlog its 35 %.
    const long = computeLayout({ columns: 120, rows: 35, errorCount: 1, backlogWanted: 14, tableWanted: 60, previewOn: false, modal: 'none' });
    expect(long.backlogLines).toBe(Math.floor((long.tableLines + long.backlogLines) * 0.35));
  });
  it('the layout gives the table a line for the LAST 1H legend, and the transitions view the whole body', () => {
    const store = createConsoleStore({ color: false });
    const snap = makeSnapshot(mixedFleet());
    store.getState().applySnapshot(snap);
    const agents = visibleAgents(snap, '').length;
    const unmanaged = snap.unmanaged.length ? 1 : 0;
    // Header + rows + unmanaged line + legend line, the backlog below (120 columns: not beside).
    expect(consoleLayout(store.getState(), { columns: 120, rows: 40 }).tableLines).toBe(1 + agents + unmanaged + 1);
    store.getState().openModal('transitions');
    const full = consoleLayout(store.getState(), { columns: 120, rows: 40 });
    expect(full.tableLines + full.backlogLines + full.previewLines).toBe(0);
    expect(full.fullViewLines).toBe(39 - full.headerLines - full.noticeLines - full.statusLines - full.errorLines);
  });
  it('the transitions view opens fresh and scrolls; closing drops its scroll', () => {
    const store = createConsoleStore();
    store.getState().openModal('transitions');
    expect(store.getState().ui.open).toEqual({ kind: 'transitions', scroll: 0 });
    store.getState().scrollModal(5, 40, 10);
    expect(openScroll(store.getState().ui.open)).toBe(5);
    store.getState().scrollModal(100, 40, 10);
    expect(openScroll(store.getState().ui.open)).toBe(30);
    store.getState().closeModal();
    expect(store.getState().ui.open).toEqual({ kind: 'none' });
    store.getState().openModal('transitions');
    expect(store.getState().ui.open).toEqual({ kind: 'transitions', scroll: 0 });
  });
  void makeAgent;
});

describe('transitions slice', () => {
  const NOW = Date.UTC(2026, 0, 1, 12);
  const tr = (agent: string, i: number, atMs = NOW - 3600_000 + i * 1000): Transition => ({
    schema: TRANSITION_SCHEMA,
    kind: 'readiness',
    scope: 'agent',
    agent,
    host: null,
    from: i % 2 ? 'dead' : 'working',
    to: i % 2 ? 'working' : 'dead',
    at: new Date(atMs).toISOString(),
    evidence: [],
    attention: i % 2 === 0,
  });

  it('an append within the bounds does not walk the list (1,000 agents, 5,000 transitions kept)', () => {
    const store = createConsoleStore();
    const history = Array.from({ length: 5000 }, (_, i) => tr(`coder${i % 1000}`, i));
    store.getState().loadTransitions(history, NOW);
    expect(store.getState().transitions.list).toHaveLength(5000);
    const parse = vi.spyOn(Date, 'parse');
    try {
      for (let k = 0; k < 10; k++) store.getState().addTransitions([tr(`coder${k}`, 5000 + k, NOW)], NOW);
      // The oldest transition's age, once per append; no pass over the 5,000 (before: 5,000+ per append).
      expect(parse.mock.calls.length).toBe(10);
    } finally {
      parse.mockRestore();
    }
    const s = store.getState().transitions;
    expect(s.list).toHaveLength(5010);
    expect(s.lastReadiness.get('coder3')?.at).toBe(new Date(NOW).toISOString());
  });

  it('keeps the bounds: at most CONSOLE_TRANSITIONS_PER_SUBJECT per agent, nothing older than 24 h', () => {
    const store = createConsoleStore();
    const one = Array.from({ length: CONSOLE_TRANSITIONS_PER_SUBJECT }, (_, i) => tr('coder1', i));
    store.getState().loadTransitions([...one, tr('coder2', 0)], NOW);
    const before = store.getState().transitions.lastReadiness;
    // A flag transition leaves the readiness index as it is (the same object).
    store.getState().addTransitions([{ ...tr('coder2', 1, NOW), kind: 'flag', flag: 'DRIFT', change: 'raised' }], NOW);
    expect(store.getState().transitions.lastReadiness).toBe(before);
    store.getState().addTransitions([tr('coder1', 500, NOW)], NOW);
    const list = store.getState().transitions.list;
    expect(list.filter((t) => t.agent === 'coder1')).toHaveLength(CONSOLE_TRANSITIONS_PER_SUBJECT);
    expect(list.at(-1)?.at).toBe(new Date(NOW).toISOString());
    expect(list.filter((t) => t.agent === 'coder2')).toHaveLength(2);
    // A day and a second later: the old ones go, the new one stays.
    const later = NOW + 86_401_000;
    store.getState().addTransitions([tr('coder3', 0, later)], later);
    expect(store.getState().transitions.list.map((t) => t.agent)).toEqual(['coder3']);
  });
});
