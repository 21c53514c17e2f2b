import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createConsoleStore } from '../../src/store/index.js';
import { startConsoleFeed } from '../../src/modes/console-feed.js';
import { alertRequested, createAlerter, terminalAlertBytes } from '../../src/transitions/alert.js';
import { readHistory } from '../../src/transitions/history.js';
import type { Transition } from '../../src/transitions/diff.js';
import type { AgentRow } from '../../src/snapshot/types.js';
import { makeAgent, makeSnapshot } from '../fixtures/snapshots.js';

const fleet = (c1: AgentRow['readiness'], c2: AgentRow['readiness'], atMs: number) =>
  makeSnapshot(
    [
      makeAgent('orchestrator', { class: 'orchestrator' }),
      makeAgent('enhancer1', { class: 'enhancer' }),
      makeAgent('coder1', { readiness: c1 }),
      makeAgent('coder2', { readiness: c2 }),
    ],
    { generatedAt: new Date(atMs).toISOString() },
  );

describe('the console as a transition observer', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-feed-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('baseline first; then transitions into the store and the history, a notice, alerts quiet for the selected and muted agents, damped', async () => {
    const store = createConsoleStore();
    const alerts: Transition[] = [];
    let clock = Date.now() - 3600_000;
    const file = path.join(dir, 'transitions.ndjson');
    const feed = startConsoleFeed({ store, historyFile: file, alert: (t) => alerts.push(t), now: () => clock });
    store.getState().applySnapshot(fleet('working', 'working', clock));
    expect(store.getState().transitions.list).toEqual([]);
    expect(store.getState().transitions.observedSinceMs).toBe(clock);
    // The first row (orchestrator) is selected; coder1 dies.
    clock += 2000;
    store.getState().applySnapshot(fleet('dead', 'working', clock));
    expect(store.getState().transitions.list.map((t) => `${t.agent} ${t.to}`)).toEqual(['coder1 dead']);
    expect(store.getState().ui.notices.at(-1)?.text).toBe('! coder1 working → dead');
    expect(alerts.map((t) => t.agent)).toEqual(['coder1']);
    await feed.idle();
    expect(readHistory(file).transitions.map((t) => `${t.agent} ${t.to}`)).toEqual(['coder1 dead']);
    // Flapping: back and dead again within the cool-down ⇒ recorded, noticed, not rung again.
    clock += 2000;
    store.getState().applySnapshot(fleet('working', 'working', clock));
    clock += 2000;
    store.getState().applySnapshot(fleet('dead', 'working', clock));
    expect(store.getState().transitions.list).toHaveLength(3);
    expect(alerts).toHaveLength(1);
    // The selected agent is quiet (no alert) but still noticed.
    store.setState((s) => ({ ui: { ...s.ui, selectedAgent: 'coder2' } }));
    clock += 2000;
    store.getState().applySnapshot(fleet('dead', 'stale', clock));
    expect(alerts).toHaveLength(1);
    expect(store.getState().ui.notices.at(-1)?.text).toBe('! coder2 working → stale');
    // A muted agent: no notice, no alert — still recorded.
    store.getState().toggleMute('coder1');
    const notices = store.getState().ui.notices.length;
    clock += 2000;
    store.getState().applySnapshot(fleet('working', 'stale', clock));
    clock += 400_000;
    store.getState().applySnapshot(fleet('dead', 'stale', clock));
    expect(store.getState().ui.notices.length).toBe(notices);
    expect(alerts).toHaveLength(1);
    expect(store.getState().transitions.list).toHaveLength(6);
    expect(store.getState().transitions.lastReadiness.get('coder1')?.to).toBe('dead');
    feed.stop();
    await feed.idle();
    expect(readHistory(file, { nowMs: clock }).transitions).toHaveLength(6);
  });

  it('the alert is off by default; on with the flag or MOSAIC_TOP_NOTIFY_BELL; bytes are BEL + OSC 777 + OSC 9, sanitized', () => {
    expect(alertRequested(undefined, {})).toBe(false);
    expect(alertRequested(true, {})).toBe(true);
    expect(alertRequested(undefined, { MOSAIC_TOP_NOTIFY_BELL: '1' })).toBe(true);
    expect(alertRequested(undefined, { MOSAIC_TOP_NOTIFY_BELL: '0' })).toBe(false);
    expect(terminalAlertBytes('mosaic-top: coder1', 'a;b\u001b]0;x\u0007')).toBe(
      '\x07\x1b]777;notify;mosaic-top: coder1;a b ]0 x \x07\x1b]9;mosaic-top: coder1: a b ]0 x \x07',
    );
    const written: string[] = [];
    const alerter = createAlerter({ write: (b) => written.push(b), notifySend: null });
    alerter.alert({
      schema: 'mosaic-top/transition@1',
      kind: 'readiness',
      scope: 'agent',
      agent: 'coder1',
      host: null,
      from: 'working',
      to: 'dead',
      at: new Date().toISOString(),
      evidence: ['no pane'],
      attention: true,
    });
    expect(written).toEqual([terminalAlertBytes('mosaic-top: coder1', 'working → dead: no pane')]);
  });
});
