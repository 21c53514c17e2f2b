import { describe, expect, it } from 'vitest';
import { KEYMAP, bindingFor, keyNameOf, keyPressesOf, splitKeyChunk, type KeyScope, type KeySpec, type KeySpecTable } from '../../src/view/keymap.js';
import { dispatchKey } from '../../src/keys/router.js';
import { unmetRequirement } from '../../src/keys/requirements.js';
import { statusHintParts } from '../../src/view/hints.js';
import { helpLines } from '../../src/view/rows.js';
import { createConsoleStore } from '../../src/store/index.js';
import { openScroll } from '../../src/store/ui-slice.js';
import { TRANSITION_SCHEMA, type Transition } from '../../src/transitions/diff.js';
import { makeSnapshot, mixedFleet } from '../fixtures/snapshots.js';
import { recordingActions } from '../helpers/render.js';

function setup(readonly = false) {
  const store = createConsoleStore({ readonly, color: false });
  store.getState().applySnapshot(makeSnapshot(mixedFleet()));
  const actions = recordingActions();
  const press = (name: string, input = name.length === 1 ? name : '') => dispatchKey({ name, input }, store, actions);
  return { store, actions, press };
}

describe('keymap data', () => {
  it('is typed so a command without keys, a description or a scope does not compile (tsc checks the @ts-expect-error lines)', () => {
    // @ts-expect-error: every command but move-up is missing
    const partial: KeySpecTable = { 'move-up': { keys: ['k'], description: 'up', scope: ['fleet'] } };
    // @ts-expect-error: no description
    const undescribed: KeySpec = { keys: ['k'], scope: ['fleet'] };
    // @ts-expect-error: no key
    const keyless: KeySpec = { keys: [], description: 'up', scope: ['fleet'] };
    // @ts-expect-error: no scope
    const nowhere: KeySpec = { keys: ['k'], description: 'up', scope: [] };
    expect([partial, undescribed, keyless, nowhere]).toHaveLength(4);
    // Every binding the table yields has keys, a description and a scope; showInHelp is written only to hide one.
    for (const b of KEYMAP) expect(b.keys.length > 0 && b.description.length > 0 && b.scope.length > 0, b.command).toBe(true);
  });
  it('has no key bound twice within one scope', () => {
    for (const scope of ['global', 'fleet', 'backlog', 'modal'] as KeyScope[]) {
      const keys = KEYMAP.filter((b) => b.scope.includes(scope)).flatMap((b) => b.keys);
      expect(new Set(keys).size, scope).toBe(keys.length);
    }
  });
  it('covers every documented key (docs/console.md) and marks the mutating ones', () => {
    for (const k of [
      'up',
      'down',
      'j',
      'k',
      'pageup',
      'pagedown',
      'g',
      'G',
      'tab',
      'enter',
      '/',
      'escape',
      '?',
      'v',
      'w',
      's',
      'c',
      'p',
      'R',
      'r',
      'e',
      'q',
      'ctrl+c',
    ]) {
      expect(
        KEYMAP.some((b) => b.keys.includes(k)),
        k,
      ).toBe(true);
    }
    expect(
      KEYMAP.filter((b) => b.mutates)
        .map((b) => b.keys[0])
        .sort(),
    ).toEqual(['B', 'D', 'R', 'U', 'a', 'c', 'p', 's', 'w', 'x']);
  });
  it('names Ink key presses', () => {
    expect(keyNameOf('', { upArrow: true })).toBe('up');
    expect(keyNameOf('', { pageDown: true })).toBe('pagedown');
    expect(keyNameOf('\r', { return: true })).toBe('enter');
    expect(keyNameOf('c', { ctrl: true })).toBe('ctrl+c');
    expect(keyNameOf('G', { shift: true })).toBe('G');
    expect(keyNameOf('', { tab: true })).toBe('tab');
    expect(keyNameOf('', { leftArrow: true })).toBeNull();
    expect(bindingFor('j', 'fleet')?.command).toBe('move-down');
    expect(keyPressesOf('j', { meta: true })).toEqual([
      { name: 'escape', input: '' },
      { name: 'j', input: 'j' },
    ]);
    expect(keyPressesOf('\u0003', {})).toEqual([{ name: 'ctrl+c', input: 'c' }]);
    expect(keyPressesOf('', { escape: true, meta: true })).toEqual([{ name: 'escape', input: '' }]);
    expect(keyPressesOf('jk', {})).toEqual([
      { name: 'j', input: 'j' },
      { name: 'k', input: 'k' },
    ]);
    expect(keyPressesOf('c', { ctrl: true })).toEqual([{ name: 'ctrl+c', input: 'c' }]);
    expect(keyPressesOf('', { upArrow: true })).toEqual([{ name: 'up', input: '' }]);
    expect(splitKeyChunk('/a2\rw\u007f\u001b\t')).toEqual([
      { name: '/', input: '/' },
      { name: 'a', input: 'a' },
      { name: '2', input: '2' },
      { name: 'enter', input: '\r' },
      { name: 'w', input: 'w' },
      { name: 'backspace', input: '' },
      { name: 'tab', input: '\t' },
    ]);
    expect(bindingFor('j', 'global')).toBeUndefined();
  });
});

describe('dispatchKey priorities: modal ⇒ focused panel ⇒ global', () => {
  it('moves the selection of the focused panel', () => {
    const { store, press } = setup();
    expect(press('j')).toBe('fleet');
    expect(store.getState().ui.selectedAgent).toBe('enhancer1');
    press('G');
    expect(store.getState().ui.selectedAgent).toBe('coder3');
    press('down');
    expect(store.getState().ui.selectedAgent).toBe('coder3'); // clamped
    press('g');
    expect(store.getState().ui.selectedAgent).toBe('orchestrator');
    expect(press('tab')).toBe('global');
    expect(press('j')).toBe('backlog');
    expect(store.getState().ui.selectedAgent).toBe('orchestrator');
    expect(store.getState().ui.selectedCard).toBe('B2'); // claimed A3 first, then ready by priority
  });
  it('text modals take printable keys before panel and global bindings', () => {
    const { store, actions, press } = setup();
    press('/');
    expect(store.getState().ui.open.kind).toBe('filter');
    expect(press('q', 'q')).toBe('modal');
    expect(press('j', 'j')).toBe('modal');
    expect(store.getState().ui.filter).toBe('qj');
    expect(actions.calls).not.toContain('quit');
    press('backspace', '');
    press('backspace', '');
    for (const ch of 'coder') press(ch, ch);
    expect(press('down', '')).toBe('fleet'); // movement passes through the filter
    press('enter', '\r');
    expect(store.getState().ui.open.kind).toBe('none');
    expect(store.getState().ui.filter).toBe('coder');
    press('/');
    press('escape', '');
    expect(store.getState().ui.filter).toBe('');
  });
  it('ctrl-c quits even from a modal; q closes a modal first', () => {
    const { store, actions, press } = setup();
    press('?');
    expect(store.getState().ui.open.kind).toBe('help');
    press('q');
    expect(store.getState().ui.open.kind).toBe('none');
    expect(actions.calls).not.toContain('quit');
    press('?');
    expect(press('ctrl+c', 'c')).toBe('global');
    expect(actions.calls).toContain('quit');
  });
  it('pause asks first: y runs it, n does not', () => {
    const { store, actions, press } = setup();
    press('p');
    expect(store.getState().ui.open.kind).toBe('confirm-pause');
    press('n');
    expect(store.getState().ui.open.kind).toBe('none');
    expect(actions.calls).not.toContain('pauseOrResume');
    press('p');
    press('y');
    expect(actions.calls).toContain('pauseOrResume');
  });
  it('send opens the editor on the selected agent and sends on enter', () => {
    const { store, actions, press } = setup();
    press('j');
    press('s');
    expect(store.getState().ui.open.kind).toBe('send-editor');
    for (const ch of 'hi q') press(ch === ' ' ? ' ' : ch, ch);
    press('enter', '\r');
    expect(actions.calls).toContain('send enhancer1 hi q');
  });
  it('--readonly refuses p, s, c, R, w with a notice and runs nothing', () => {
    const { store, actions, press } = setup(true);
    for (const k of ['p', 's', 'c', 'R', 'w']) {
      expect(press(k)).not.toBeNull();
      expect(store.getState().ui.open.kind).toBe('none');
      expect(store.getState().ui.notices.at(-1)?.text).toMatch(new RegExp(`^read-only console: ${k} disabled`));
    }
    expect(actions.calls.filter((c) => /reclaim|pause|send|dispatch|watch/.test(c))).toEqual([]);
    press('r');
    expect(actions.calls).toContain('refresh');
  });
  it('unbound keys go nowhere', () => {
    const { press } = setup();
    expect(press('x')).toBeNull();
  });
});

describe('keymap data: every key, its scope and its precondition', () => {
  it('has no key bound twice within any scope, and every modal key is data', () => {
    const scopes = [...new Set(KEYMAP.flatMap((b) => b.scope))];
    expect(scopes).toEqual(expect.arrayContaining(['modal', 'text', 'view', 'help', 'events', 'transitions', 'result']));
    for (const scope of scopes) {
      const keys = KEYMAP.filter((b) => b.scope.includes(scope)).flatMap((b) => b.keys);
      expect(new Set(keys).size, scope).toBe(keys.length);
    }
    expect(bindingFor('r', 'events')?.command).toBe('reload-events');
    expect(bindingFor('j', 'view')?.command).toBe('move-down');
    expect(bindingFor('z', 'result')?.command).toBe('dismiss');
    expect(bindingFor('z', 'text')?.command).toBe('type-text');
  });
  it('the dispatcher checks preconditions from the data: s on a dead agent is refused with the reason', () => {
    const { store, press } = setup();
    press('G'); // coder3: dead
    expect(KEYMAP.find((b) => b.command === 'send')?.requires).toBe('live-agent');
    press('s');
    expect(store.getState().ui.open.kind).toBe('none');
    expect(store.getState().ui.notices.at(-1)?.text).toBe('send refused: coder3 has no live pane (dead)');
    expect(unmetRequirement(store.getState(), 'live-agent', 'send')).toEqual({ notice: 'send refused: coder3 has no live pane (dead)' });
    press('g'); // orchestrator: live
    expect(unmetRequirement(store.getState(), 'live-agent', 'send')).toBeNull();
  });
  it('the hint bar dims a key whose precondition is unmet, and the help names the precondition', () => {
    const parts = statusHintParts('fleet', false, false, (need) => need === 'live-agent');
    expect(parts.find((p) => p.text === 's send')?.dim).toBe(true);
    expect(parts.find((p) => p.text === 'w watch')?.dim).toBe(true);
    expect(parts.find((p) => p.text === 'p pause')?.dim).toBe(false);
    expect(parts.at(-1)?.text).toBe('↑↓ jk g G move');
    expect(helpLines(false).find((l) => l.includes('send a message'))).toContain('(needs a selected agent with a live pane)');
  });
  it('r reloads the events view; e and esc close it; a result dialog ignores keys while its action runs', () => {
    const { store, actions, press } = setup();
    actions.loadEvents = async () => {
      actions.calls.push('loadEvents');
    };
    press('e');
    expect(store.getState().ui.open.kind).toBe('events');
    expect(press('r')).toBe('modal');
    expect(actions.calls.filter((c) => c === 'loadEvents')).toHaveLength(2);
    expect(actions.calls).not.toContain('refresh');
    press('e');
    expect(store.getState().ui.open.kind).toBe('none');
    store.getState().startPending('receipt', 'sending to coder1…');
    press('z');
    expect(store.getState().ui.open).toEqual({ kind: 'receipt', pending: 'sending to coder1…', receipt: null });
    store.getState().showMessage('done', ['ok']);
    press('z');
    expect(store.getState().ui.open).toEqual({ kind: 'none' });
  });
  it('t opens the transitions view fresh; the view keys scroll it, t closes it; m (requires an agent) mutes the selected one', () => {
    const { store, actions, press } = setup();
    const at = (i: number) => new Date(Date.UTC(2026, 0, 1, 12, i)).toISOString();
    const list: Transition[] = Array.from({ length: 30 }, (_, i) => ({
      schema: TRANSITION_SCHEMA,
      kind: 'readiness',
      scope: 'agent',
      agent: 'coder1',
      host: null,
      from: i % 2 ? 'working' : 'available',
      to: i % 2 ? 'available' : 'working',
      at: at(i),
      evidence: [],
      attention: false,
    }));
    store.getState().addTransitions(list, Date.UTC(2026, 0, 1, 13));
    expect(press('t')).toBe('global');
    expect(store.getState().ui.open).toEqual({ kind: 'transitions', scroll: 0 });
    press('j');
    press('pagedown', '');
    expect(store.getState().ui.open).toEqual({ kind: 'transitions', scroll: 10 });
    press('g');
    expect(store.getState().ui.open).toEqual({ kind: 'transitions', scroll: 0 });
    // r and e belong to other views: swallowed here, no refresh behind the view.
    expect(press('r')).toBe('modal');
    expect(press('e')).toBe('modal');
    expect(actions.calls).not.toContain('refresh');
    expect(store.getState().ui.open.kind).toBe('transitions');
    press('G');
    expect(store.getState().ui.open.kind).toBe('transitions');
    expect(openScroll(store.getState().ui.open)).toBeGreaterThan(10);
    expect(press('t')).toBe('modal');
    expect(store.getState().ui.open).toEqual({ kind: 'none' });
    press('t');
    expect(store.getState().ui.open).toEqual({ kind: 'transitions', scroll: 0 });
    press('escape', '');
    expect(store.getState().ui.open).toEqual({ kind: 'none' });

    expect(KEYMAP.find((b) => b.command === 'mute')?.requires).toBe('agent');
    press('m');
    expect(store.getState().transitions.muted).toEqual(['orchestrator']);
    expect(store.getState().ui.notices.at(-1)?.text).toBe('orchestrator muted: its transitions give no notice or bell (m unmutes)');
    press('m');
    expect(store.getState().transitions.muted).toEqual([]);
    expect(store.getState().ui.notices.at(-1)?.text).toBe('orchestrator unmuted');
    const empty = createConsoleStore({ color: false });
    expect(dispatchKey({ name: 'm', input: 'm' }, empty, actions)).toBe('fleet');
    expect(empty.getState().ui.notices.at(-1)?.text).toBe('mute: no agent selected');
  });
  it('closing drops everything that lived with the open dialog (the draft too)', () => {
    const { store, press } = setup();
    press('s');
    for (const ch of 'half') press(ch, ch);
    expect(store.getState().ui.open).toEqual({ kind: 'send-editor', draft: 'half' });
    press('escape', '');
    expect(store.getState().ui.open).toEqual({ kind: 'none' });
    press('s');
    expect(store.getState().ui.open).toEqual({ kind: 'send-editor', draft: '' });
  });
});
