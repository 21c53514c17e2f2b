/**
 * Faults: keys typed in the console while an action runs (a claim waiting on a locked backlog).
 * The in-flight result dialog used to swallow every key (`?`, `q` were lost). Now they go on to
 * the panels: `?` opens the help, `q` quits, movement moves; a mutating key is refused with a
 * notice to wait, never dropped without a word; the result still shows when it comes.
 */
import { describe, expect, it } from 'vitest';
import { dispatchKey } from '../../src/keys/router.js';
import { createConsoleStore } from '../../src/store/index.js';
import { makeSnapshot, mixedFleet } from '../fixtures/snapshots.js';
import { recordingActions } from '../helpers/render.js';

function setup() {
  const store = createConsoleStore({ readonly: false, color: false });
  store.getState().applySnapshot(makeSnapshot(mixedFleet()));
  const actions = recordingActions();
  const press = (name: string) => dispatchKey({ name, input: name }, store, actions);
  // What the console's claim + dispatch does first, then waits (here: forever) on the backlog.
  store.getState().startPending('message', 'claiming a card for enhancer1…');
  return { store, actions, press };
}

describe('faults: keys while an action runs', () => {
  it('? opens the help and the result still shows when it comes', () => {
    const { store, press } = setup();
    press('?');
    expect(store.getState().ui.open.kind).toBe('help');
    store.getState().showMessage('claim + dispatch', ['claimed K1']);
    expect(store.getState().ui.open).toMatchObject({ kind: 'message', pending: null });
  });

  it('q quits', () => {
    const { actions, press } = setup();
    press('q');
    expect(actions.calls).toEqual(['quit']);
  });

  it('j moves the selection; a mutating key (c, R) is refused with a notice, not dropped', () => {
    const { store, actions, press } = setup();
    const before = store.getState().ui.selectedAgent;
    press('j');
    expect(store.getState().ui.selectedAgent).not.toBe(before);
    press('c');
    press('R');
    expect(actions.calls).toEqual([]);
    expect(store.getState().ui.open).toMatchObject({ kind: 'message', pending: 'claiming a card for enhancer1…' });
    const notices = store.getState().ui.notices.map((n) => n.text);
    expect(notices).toEqual([
      'c: wait for the running action (claiming a card for enhancer1…)',
      'R: wait for the running action (claiming a card for enhancer1…)',
    ]);
  });
});
