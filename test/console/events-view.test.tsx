/**
 * The RECENT EVENTS view (`e`): keymap ⇒ dispatcher ⇒ actions.loadEvents ⇒ store ⇒
 * EventsView. Component tests through the one harness (test/helpers/render.tsx), the pure
 * formatters, "backlog: none yet" with the real openBacklog (nothing created), and a real
 * PGlite backlog's claim / receipt / reclaim events end to end through createConsoleActions.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import stringWidth from 'string-width';
import { KEYMAP, bindingFor } from '../../src/view/keymap.js';
import { createConsoleActions } from '../../src/keys/commands.js';
import { eventClock, eventSummary, eventView, eventsLines } from '../../src/view/event-rows.js';
import { createConsoleStore, type ConsoleStore } from '../../src/store/index.js';
import { resolvePaths } from '../../lib/paths.js';
import type { BacklogEvent } from '../../backlog/types.js';
import { makeSnapshot, mixedFleet } from '../fixtures/snapshots.js';
import { recordingActions, renderConsole, type Rendered } from '../helpers/render.js';
import { embeddedTier, type TierHandle } from '../backlog/tiers.js';
import { realPartAvailable } from '../helpers/real-parts.js';

/** Whether the run's PGlite template is here (under CI it must be: a missing one fails the file). */
const hasTemplate = () =>
  realPartAvailable('the PGlite template', inject('pgliteTemplateDir') ? null : 'not made: no backlog test selected', 'events-view.test.tsx');

const ESC = '\u001b';
const EVIL = '\u001b]2;pwned\u0007\u001b[31mred\u001b[2J';
let current: Rendered | null = null;
const temps: string[] = [];
let tier: TierHandle | null = null;
afterEach(async () => {
  current?.unmount();
  current = null;
  for (const t of temps.splice(0)) fs.rmSync(t, { recursive: true, force: true });
  await tier?.close();
  tier = null;
});

function assertFits(frame: string, columns: number, rows: number): void {
  const lines = frame.split('\n');
  expect(lines.length).toBeLessThanOrEqual(rows - 1);
  for (const line of lines) expect(stringWidth(line), line).toBeLessThanOrEqual(columns);
}

function event(id: number, over: Partial<BacklogEvent> = {}): BacklogEvent {
  return {
    id,
    at: new Date(Date.now() - id * 1000).toISOString(),
    actor: `coder${id % 3}`,
    verb: 'claim',
    cardId: `A${id}`,
    detail: { owner: `coder${id % 3}`, token: id, ttlSeconds: 900, attempts: 1 },
    ...over,
  };
}

/** Fake actions whose loadEvents fills the store the way the real one does (eventView). */
function fakeEventActions(store: ConsoleStore, events: BacklogEvent[]) {
  let loads = 0;
  const actions = recordingActions({
    loadEvents: async () => {
      loads++;
      store.getState().setBacklogEvents(events.map(eventView));
    },
  });
  return { actions, loads: () => loads };
}

describe('keymap: e opens recent events', () => {
  it('is a global, non-mutating binding shown in help', () => {
    const b = bindingFor('e', 'global');
    expect(b?.command).toBe('events');
    expect(b?.mutates).toBe(false);
    expect(b?.showInHelp).toBe(true);
    expect(KEYMAP.filter((k) => k.command === 'events')).toHaveLength(1);
  });
});

describe('event formatters', () => {
  it('digests claim, receipt, reclaim and unknown verbs; sanitizes every string', () => {
    expect(eventSummary('claim', { owner: 'coder1', token: 7, ttlSeconds: 900, attempts: 2 })).toBe('owner coder1 token 7 ttl 15m00s attempt 2');
    expect(eventSummary('receipt', { agent: 'coder1', status: 'delivered', elapsedMs: 812.4, reason: null })).toBe('delivered coder1 812 ms');
    expect(eventSummary('receipt', { agent: 'coder1', status: 'refused', elapsedMs: 0, reason: `boom ${EVIL}` })).toBe(
      'refused coder1 0 ms — boom ^[]2;pwned^G^[[31mred^[[2J',
    );
    expect(
      eventSummary('answer', {
        agent: 'cc1',
        answer: 'allow',
        status: 'answered',
        prompt: { id: 'ab', tool: 'Bash', detail: 'echo hi > proto.txt' },
        reason: null,
      }),
    ).toBe('cc1 allow answered Bash echo hi > proto.txt');
    expect(eventSummary('reclaim', { previousOwner: 'coder2', token: 9, expired: true, forced: false })).toBe('from coder2 token 9 expired');
    expect(eventSummary('dispatch', { agent: 'coder1', outcome: `ok\n${EVIL}` })).toBe('agent=coder1 outcome=ok ^[]2;pwned^G^[[31mred^[[2J');
    expect(eventSummary('weird', null)).toBe('');
    const v = eventView({ id: 1, at: '2026-11-21T17:00:00Z', actor: `x${EVIL}`, verb: 'claim', cardId: `C${EVIL}`, detail: {} });
    expect(JSON.stringify(v)).not.toContain(ESC);
    expect(v.actor).toBe('x^[]2;pwned^G^[[31mred^[[2J');
  });
  it('prints local HH:MM:SS for today, MM-DD HH:MM for older days, ? for garbage', () => {
    const now = new Date(2026, 10, 21, 19, 5, 9).getTime();
    expect(eventClock(new Date(2026, 10, 21, 8, 7, 6).toISOString(), now)).toBe('08:07:06');
    expect(eventClock(new Date(2026, 10, 20, 23, 59, 1).toISOString(), now)).toBe('11-20 23:59');
    expect(eventClock('nope', now)).toBe('?');
  });
  it('says why there is nothing: none yet, error, loading, no events', () => {
    const store = createConsoleStore({ color: false });
    expect(eventsLines(store.getState())[0]).toMatch(/loading/);
    store.getState().setBacklogEventsState('absent', 'no backlog yet at /x');
    expect(eventsLines(store.getState())).toEqual(['backlog: none yet (no backlog yet at /x)']);
    store.getState().setBacklogEvents([]);
    expect(eventsLines(store.getState())).toEqual(['(no events yet)']);
    store.getState().setBacklogEventsState('error', 'socket gone');
    expect(eventsLines(store.getState())).toEqual(['events: socket gone']);
  });
});

describe('RECENT EVENTS view', () => {
  it('e loads and lists events newest first, fits 80×24, scrolls, r reloads, esc closes', async () => {
    const store = createConsoleStore({ color: false });
    const events = Array.from({ length: 50 }, (_, i) => event(i + 1));
    events[0] = event(1, {
      verb: 'receipt',
      actor: 'operator:ann@host',
      cardId: 'A1',
      detail: { agent: 'coder1', status: 'delivered', elapsedMs: 640, source: 'operator:mosaic-top', evidence: ['pane changed'] },
    });
    events[1] = event(2, { verb: 'reclaim', actor: 'operator:ann@host', detail: { previousOwner: 'coder2', token: 4, expired: true, forced: false } });
    const fake = fakeEventActions(store, events);
    current = renderConsole({ store, actions: fake.actions, columns: 80, rows: 24, snapshot: makeSnapshot(mixedFleet()) });
    const r = current;
    await r.press('e');
    let frame = await r.waitFor((f) => f.includes('RECENT EVENTS') && f.includes('delivered coder1 640 ms'), 'events listed');
    assertFits(frame, 80, 24);
    expect(fake.loads()).toBe(1);
    const lines = frame.split('\n');
    const header = lines.findIndex((l) => /TIME +ACTOR +VERB +CARD +DETAIL/.test(l));
    expect(header).toBeGreaterThan(0);
    expect(lines[header + 1]).toMatch(new RegExp(`^${eventClock(events[0].at, Date.now())} +operator:ann@host +receipt +A1 +delivered coder1 640 ms$`));
    expect(lines[header + 2]).toMatch(/reclaim +A2 +from coder2 token 4 expired$/);
    expect(frame).toMatch(/claim +A3 +owner coder0 token 3 ttl 15m/);
    expect(frame).toMatch(/lines 1-\d+ of 51/);
    expect(frame).not.toContain('AGENT'); // the view replaces the fleet table
    // j / PgDn scroll; the last event can be reached.
    await r.press('j');
    await r.waitFor((f) => /lines 2-/.test(f), 'scrolled one line');
    for (let i = 0; i < 5; i++) await r.press('pagedown');
    frame = await r.waitFor((f) => /of 51/.test(f) && f.includes('A50'), 'scrolled to the end');
    assertFits(frame, 80, 24);
    await r.press('k');
    await r.waitFor((f) => !/lines \d+-51 of 51/.test(f), 'scrolled back one');
    // r reloads inside the view (and is not the global refresh).
    await r.press('r');
    await r.waitFor(() => fake.loads() === 2, 'reloaded');
    expect(fake.actions.calls).not.toContain('refresh');
    await r.press('escape');
    await r.waitFor((f) => !f.includes('RECENT EVENTS') && f.includes('AGENT'), 'closed by esc');
    // q closes it too, without quitting.
    await r.press('e');
    await r.waitFor((f) => f.includes('RECENT EVENTS'), 'reopened');
    await r.press('q');
    await r.waitFor((f) => !f.includes('RECENT EVENTS'), 'closed by q');
    expect(fake.actions.calls).not.toContain('quit');
  });

  it('shows an escape sequence in an actor, card id or detail inert', async () => {
    const store = createConsoleStore({ color: false });
    const evil = [
      event(1, {
        actor: `mallory${EVIL}`,
        cardId: `X${EVIL}`,
        verb: 'receipt',
        detail: { status: 'refused', agent: 'coder1', elapsedMs: 3, reason: `because ${EVIL}` },
      }),
    ];
    const fake = fakeEventActions(store, evil);
    current = renderConsole({ store, actions: fake.actions, columns: 80, rows: 24, snapshot: makeSnapshot(mixedFleet()) });
    await current.press('e');
    const frame = await current.waitFor((f) => f.includes('mallory^[]2;pwned'), 'evil actor shown as caret text');
    expect(frame).not.toContain(ESC);
    expect(frame).not.toContain('\u0007');
    assertFits(frame, 80, 24);
    // Even a raw string put in the store behind the formatter's back stays inert on screen.
    store.getState().setBacklogEvents([{ at: new Date().toISOString(), actor: `raw${EVIL}`, action: 'claim', cardId: null, summary: EVIL }]);
    const raw = await current.waitFor((f) => f.includes('raw^[]2;pwned'), 'raw actor inert');
    expect(raw).not.toContain(ESC);
  });

  it('says "backlog: none yet" and creates no store when the embedded data dir is absent (real openBacklog)', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-events-'));
    temps.push(home);
    const paths = resolvePaths({ mosaicHome: home }, {});
    const store = createConsoleStore({ color: false });
    const actions = createConsoleActions({ store, paths, poller: { refresh: () => {}, capturePreview: async () => {} }, quit: () => {}, watch: () => {} });
    current = renderConsole({ store, actions, columns: 80, rows: 24, snapshot: makeSnapshot(mixedFleet()) });
    await current.press('e');
    const frame = await current.waitFor((f) => f.includes('backlog: none yet'), 'none yet', 10_000);
    assertFits(frame, 80, 24);
    expect(store.getState().backlog.eventsStatus.state).toBe('absent');
    expect(fs.existsSync(paths.backlogDataDir)).toBe(false);
    expect(fs.existsSync(path.join(paths.runDir, 'backlog.sock'))).toBe(false);
  });

  // The PGlite template comes from test/global-setup.ts, which makes it under CI and when the run
  // selects backlog or e2e tests (`npx vitest run test/console test/e2e/…`, `npm test`); a local
  // run of test/console alone skips this one rather than paying a fresh initdb.
  it.runIf(hasTemplate())('lists real claim, receipt and reclaim events from a PGlite backlog, newest first', async () => {
    tier = await embeddedTier();
    const service = await tier.service();
    await service.create({ id: 'A3', title: 'wire the heartbeat writer', priority: 5 });
    const claimed = await service.claim({ owner: 'coder1', ttlSeconds: 600 });
    expect(claimed.card?.id).toBe('A3');
    await service.recordEvent({
      actor: 'operator:ann@host',
      verb: 'receipt',
      cardId: 'A3',
      detail: { agent: 'coder1', status: 'refused', elapsedMs: 12, reason: `pane said ${EVIL}` },
    });
    await service.reclaim({ id: 'A3', actor: 'operator:ann@host' });
    let closed = 0;
    const store = createConsoleStore({ color: false });
    const actions = createConsoleActions({
      store,
      paths: resolvePaths({ mosaicHome: '/nonexistent' }, {}),
      poller: { refresh: () => {}, capturePreview: async () => {} },
      quit: () => {},
      watch: () => {},
      openBacklog: async () =>
        ({
          events: (input?: { limit?: number }) => service.events(input),
          close: async () => {
            closed++;
          },
        }) as never,
    });
    current = renderConsole({ store, actions, columns: 120, rows: 30, snapshot: makeSnapshot(mixedFleet()) });
    await current.press('e');
    const frame = await current.waitFor((f) => f.includes('from coder1 token'), 'real events', 10_000);
    assertFits(frame, 120, 30);
    expect(frame).not.toContain(ESC);
    const body = frame.split('\n');
    const at = (verb: string) => body.findIndex((l) => new RegExp(` ${verb} +A3 `).test(l));
    expect(at('reclaim')).toBeGreaterThan(0);
    expect(at('reclaim')).toBeLessThan(at('receipt'));
    expect(at('receipt')).toBeLessThan(at('claim'));
    expect(at('claim')).toBeLessThan(at('create'));
    expect(body[at('claim')]).toMatch(/coder1 +claim +A3 +owner coder1 token \d+ ttl 10m00s attempt 1/);
    expect(body[at('receipt')]).toContain('refused coder1 12 ms — pane said ^[]2;pwned^G');
    expect(body[at('reclaim')]).toMatch(/forced$/);
    expect(closed).toBe(1);
  });
});
