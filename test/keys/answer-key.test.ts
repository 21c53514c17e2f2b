/**
 * The answer key as keymap data: `a` on a `waiting` row with a permission prompt
 * opens a dialog showing the prompt (tool, command, block, id) and asks allow once / deny /
 * cancel; the answer carries the prompt id captured when shown; refused on other rows and in
 * --readonly; the console action shows the receipt in place.
 */
import { describe, expect, it } from 'vitest';
import { KEYMAP } from '../../src/view/keymap.js';
import { dispatchKey } from '../../src/keys/router.js';
import { createConsoleActions } from '../../src/keys/commands.js';
import { answerLines } from '../../src/view/result-lines.js';
import { createConsoleStore } from '../../src/store/index.js';
import type { AnswerOptions, AnswerReceipt } from '../../src/actions/answer.js';
import { makeAgent, makeSnapshot, mixedFleet } from '../fixtures/snapshots.js';
import { recordingActions } from '../helpers/render.js';
import type { MosaicPaths } from '../../lib/paths.js';

const PROMPT = {
  kind: 'permission' as const,
  tool: 'Bash',
  detail: 'echo hi > proto.txt',
  block: ' Bash command\n   echo hi > proto.txt\n Do you want to proceed?\n ❯ 1. Yes\n   3. No\n Esc to cancel',
  id: '0123456789abcdef',
};

function setup(opts: { readonly?: boolean } = {}) {
  const store = createConsoleStore({ readonly: opts.readonly ?? false, color: false });
  const waiting = makeAgent('cc1', { runtime: 'claude', readiness: 'waiting' });
  waiting.screen = { state: 'waiting', rules: 'claude@>=2.0.0', prompt: PROMPT } as typeof waiting.screen;
  const snap = makeSnapshot([waiting, ...mixedFleet()]);
  store.getState().applySnapshot(snap);
  const actions = recordingActions();
  const press = (name: string) => dispatchKey({ name, input: name }, store, actions);
  const select = (name: string) => store.setState((s) => ({ ui: { ...s.ui, selectedAgent: name } }));
  return { store, actions, press, select };
}

describe('answer key (keymap data)', () => {
  it('one binding `a`, fleet scope, mutating, requires a waiting agent; a / d inside the dialog', () => {
    const b = KEYMAP.find((k) => k.command === 'answer')!;
    expect(b).toMatchObject({ keys: ['a'], mutates: true, scope: ['fleet'], requires: 'waiting-agent', hint: 'answer', showInHelp: true });
    expect(KEYMAP.find((k) => k.command === 'answer-choice')).toMatchObject({ keys: ['a', 'd'], scope: ['modal'] });
  });

  it('a on the waiting row shows the prompt; a allows once with the shown prompt id', () => {
    const { store, actions, press, select } = setup();
    select('cc1');
    expect(press('a')).toBe('fleet');
    expect(store.getState().ui.open).toMatchObject({ kind: 'confirm-answer', agent: 'cc1', prompt: { id: PROMPT.id, detail: 'echo hi > proto.txt' } });
    press('a');
    expect(actions.calls).toEqual([`answer cc1 allow ${PROMPT.id}`]);
  });

  it('d denies; n / esc cancel without acting', () => {
    const s1 = setup();
    s1.select('cc1');
    s1.press('a');
    s1.press('d');
    expect(s1.actions.calls).toEqual([`answer cc1 deny ${PROMPT.id}`]);
    for (const cancel of ['n', 'escape', 'q']) {
      const s = setup();
      s.select('cc1');
      s.press('a');
      s.press(cancel);
      expect(s.store.getState().ui.open.kind).toBe('none');
      expect(s.actions.calls).toEqual([]);
      expect(s.store.getState().ui.notices.at(-1)?.text).toBe('answer cancelled: nothing typed');
    }
  });

  it('a row that is not waiting: refused with a notice, no dialog', () => {
    const { store, actions, press, select } = setup();
    select('coder1');
    press('a');
    expect(store.getState().ui.open.kind).toBe('none');
    expect(actions.calls).toEqual([]);
    expect(store.getState().ui.notices.at(-1)?.text).toBe('answer: coder1 is not waiting on a permission prompt (working); nothing to answer');
  });

  it('--readonly: refused, no dialog', () => {
    const { store, actions, press, select } = setup({ readonly: true });
    select('cc1');
    press('a');
    expect(store.getState().ui.open.kind).toBe('none');
    expect(actions.calls).toEqual([]);
    expect(store.getState().ui.notices.at(-1)?.text).toBe('read-only console: a disabled (answer)');
  });

  it('the console action answers with the prompt id and shows the receipt in place', async () => {
    const { store } = setup();
    const seen: AnswerOptions[] = [];
    const receipt: AnswerReceipt = {
      status: 'answered',
      agent: 'cc1',
      answer: 'allow',
      key: '1',
      prompt: { id: PROMPT.id, kind: 'permission', tool: 'Bash', detail: 'echo hi > proto.txt', text: [] },
      reason: null,
      evidence: ['key 1 (allow once) sent', 'the prompt closed', 'then the runtime is busy'],
      elapsedMs: 120,
      by: 'op@host',
      recorded: 'backlog event #3',
    };
    const actions = createConsoleActions({
      store,
      paths: { runDir: '/nonexistent-run' } as MosaicPaths,
      poller: { refresh: () => {}, capturePreview: async () => {} },
      quit: () => {},
      watch: () => {},
      operator: () => 'op@host',
      answerPrompt: async (o) => {
        seen.push(o);
        return receipt;
      },
    });
    const agent = store.getState().fleet.snapshot!.agents.find((a) => a.name === 'cc1')!;
    await actions.answer!(agent, 'allow', PROMPT.id);
    expect(seen[0]).toMatchObject({ agent: 'cc1', runtime: 'claude', answer: 'allow', promptId: PROMPT.id, readonly: false, by: 'op@host' });
    const open = store.getState().ui.open;
    expect(open.kind).toBe('message');
    expect(open.kind === 'message' ? open.message : null).toEqual({ title: 'ANSWER ANSWERED: cc1', lines: answerLines(receipt) });
    expect(answerLines(receipt)[0]).toBe('answered — allow once to cc1 (key 1) in 120 ms');
  });
});
