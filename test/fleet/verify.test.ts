import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  classifyReceipt,
  messageFingerprints,
  newLinesSince,
  readInput,
  sendRefusal,
  splitInputRegion,
  type InputReading,
  type ReceiptInput,
} from '../../fleet/verify.js';
import { deliveryFor, GENERIC_DELIVERY } from '../../fleet/delivery.js';

const screens = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'screens');
/** A screen measured with the real runtime (test/fixtures/screens). */
const screen = (name: string) => fs.readFileSync(path.join(screens, `${name}.txt`), 'utf8');

const _sent = '[operator:mosaic-top] please report status';

describe('messageFingerprints', () => {
  it('takes the head of the first line and the tail of the last (and paste placeholders for several lines)', () => {
    expect(messageFingerprints('[operator:mosaic-top] first line\nmiddle\nthe very last line of it')).toEqual([
      '[operator:mosaic-top] fi',
      'the very last line of it',
      '[Pasted text',
    ]);
    expect(messageFingerprints('[operator:mosaic-top] one line')).toEqual(['[operator:mosaic-top] on', '[operator:mosaic-top] one line'.slice(-24)]);
  });

  it('dedups a short single line and drops empty text', () => {
    expect(messageFingerprints('hi')).toEqual(['hi']);
    expect(messageFingerprints('  \n ')).toEqual([]);
  });
});

describe('splitInputRegion', () => {
  it('finds the lowest prompt line, also inside a box, and keeps what is below it', () => {
    const claude = ['● did things', '╭──────╮', '│ > typed text │', '╰──────╯', '  ? for shortcuts', ''].join('\n');
    const r = splitInputRegion(claude);
    expect(r.input[0]).toBe('│ > typed text │');
    expect(r.input).toHaveLength(3);
    expect(r.above).toEqual(['● did things', '╭──────╮']);
  });
  it('falls back to the last non-empty line', () => {
    expect(splitInputRegion('a\nb\n\n\n').input).toEqual(['b']);
    expect(splitInputRegion('').input).toEqual([]);
  });
});

describe('cursor and wrapped rows (PaneText)', () => {
  it('without a prompt glyph, the input region starts at the cursor line', () => {
    const pane = { rows: ['[busy]', `[operator:mosaic-top] hi`, 'ack: [operator:mosaic-top] hi', '', ''], cursorRow: 3, width: 80 };
    expect(splitInputRegion(pane)).toEqual({ above: ['[busy]', '[operator:mosaic-top] hi', 'ack: [operator:mosaic-top] hi'], input: [] });
  });

  it('joins rows filled to the pane width into one logical line', () => {
    const pane = { rows: ['0123456789', 'abcdef', '> x'], cursorRow: 2, width: 10 };
    expect(splitInputRegion(pane)).toEqual({ above: ['0123456789abcdef'], input: ['> x'] });
    const typed = { rows: ['[idle]', '[operator:m', 'osaic-top] a', ' long tail'], cursorRow: 3, width: 11 };
    expect(splitInputRegion(typed).input).toEqual(['[operator:mosaic-top] a long tail']);
  });
});

describe('newLinesSince', () => {
  it('is a multiset difference', () => {
    expect(newLinesSince(['a', 'b', 'a'], ['a', 'a', 'a', 'b', 'c'])).toEqual(['a', 'c']);
  });
});

/** A receipt input for `runtime` from two screens (before, now). */
function receiptInput(runtime: string | null, before: string | InputReading, now: string | InputReading, over: Partial<ReceiptInput> = {}): ReceiptInput {
  const r = (x: string | InputReading) => (typeof x === 'string' ? readInput(runtime, x) : x);
  return {
    rule: deliveryFor(runtime),
    before: r(before),
    now: r(now),
    sentText: '[operator:mosaic-top] one line ends with;',
    seenInBox: true,
    entered: true,
    wasBusy: false,
    heartbeatBefore: null,
    heartbeatNow: null,
    ...over,
  };
}

describe('readInput (screen rules of the runtime; the cursor line without)', () => {
  it('Claude Code: the input box between the bottom rules, never a ❯ echo in the transcript', () => {
    expect(readInput('claude', screen('claude-idle'))).toMatchObject({ state: 'idle', box: '' });
    expect(readInput('claude', screen('send-claude-typed-1line')).box).toBe('[operator:mosaic-top] one line ends with;');
    expect(readInput('claude', screen('send-claude-typed-2k')).box).toBe('[Pasted text #1]');
    // The transcript holds `❯ [operator:mosaic-top] …` echoes; the box is empty.
    expect(readInput('claude', screen('send-claude-after-turn'))).toMatchObject({ state: 'idle', box: '' });
    expect(readInput('claude', screen('send-claude-busy-after-enter-150'))).toMatchObject({ state: 'queued', box: '' });
    expect(readInput('claude', screen('claude-permission')).state).toBe('waiting');
  });
  it('Codex: the composer `› …` near the bottom; its placeholder is an empty box', () => {
    expect(readInput('codex', screen('codex-idle'))).toMatchObject({ state: 'idle', box: '' });
    expect(readInput('codex', screen('send-codex-typed-1line')).box).toBe('[operator:mosaic-top] one line ends with;');
    expect(readInput('codex', screen('send-codex-after-enter-150')).box).toBe('');
  });
  it('no rules: the cursor line is the input line (blank or a prompt glyph, nothing below); anything else is not', () => {
    expect(readInput(null, { rows: ['', ''], cursorRow: 0, width: 80 })).toMatchObject({ state: 'idle', box: '', rules: 'none' });
    expect(readInput('sh', { rows: ['[idle]', '> typed', ''], cursorRow: 1, width: 80 })).toMatchObject({ state: 'idle', box: 'typed' });
    expect(readInput(null, { rows: ['Do you trust this folder?', '  1. Yes', '  2. No'], cursorRow: 0, width: 80 }).state).toBe('unknown');
    expect(readInput(null, { rows: ['Press any key to continue'], cursorRow: 0, width: 80 }).state).toBe('unknown');
  });
});

describe('sendRefusal (before anything is typed)', () => {
  const refuse = (
    runtime: string | null,
    text: string | { rows: string[]; cursorRow: number; width: number },
    over: { heartbeat?: { ts: number; state: 'busy' | 'idle' | 'waiting' | 'stuck' } | null; multiLine?: boolean } = {},
  ) => sendRefusal({ runtime, reading: readInput(runtime, text), heartbeat: over.heartbeat ?? null, rule: deliveryFor(runtime), multiLine: !!over.multiLine });
  it('a permission prompt is refused, naming the tool and command', () => {
    expect(refuse('claude', screen('claude-permission'))).toMatch(/permission prompt \(Bash: echo hi > proto\.txt\).*never answer it; nothing typed/);
    expect(refuse('codex', screen('codex-permission'))).toMatch(/permission prompt/);
    expect(refuse('opencode', screen('opencode-permission'))).toMatch(/permission prompt/);
  });
  it('text already in the input box is refused (Enter would submit it too)', () => {
    expect(refuse('claude', screen('send-claude-typed-1line'))).toMatch(/input box already holds text/);
    expect(refuse('codex', screen('send-codex-typed-multi'))).toMatch(/input box already holds text/);
  });
  it('idle, busy and queued screens may be typed into', () => {
    for (const [rt, name] of [
      ['claude', 'claude-idle'],
      ['claude', 'claude-busy'],
      ['claude', 'claude-queued'],
      ['codex', 'codex-idle'],
      ['codex', 'codex-busy'],
      ['opencode', 'opencode-idle'],
    ] as const) {
      expect(refuse(rt, screen(name)), `${rt} ${name}`).toBeNull();
    }
  });
  it("a screen the runtime's rules do not recognise is refused, and so is a cursor off any input line without rules", () => {
    expect(refuse('claude', 'loading…\n')).toMatch(/input line is not on screen/);
    expect(refuse(null, { rows: ['  1. Yes', '  2. No', ''], cursorRow: 0, width: 80 })).toMatch(
      /no screen rules and the pane's cursor is not on an input line/,
    );
  });
  it('a waiting heartbeat refuses unless the screen shows the idle input line (read after the beat)', () => {
    expect(refuse('claude', screen('claude-busy'), { heartbeat: { ts: 5, state: 'waiting' } })).toMatch(/heartbeat says waiting/);
    expect(refuse('claude', screen('claude-idle'), { heartbeat: { ts: 5, state: 'waiting' } })).toBeNull();
  });
  it('several lines need a runtime that takes bracketed paste', () => {
    expect(refuse(null, { rows: ['$ '], cursorRow: 0, width: 80 }, { multiLine: true })).toMatch(/several lines/);
    expect(refuse('claude', screen('claude-idle'), { multiLine: true })).toBeNull();
  });
});

describe('classifyReceipt (uptake from the runtime only)', () => {
  it('Claude: the box emptied after holding the text is submitted — the ❯ echo in the transcript is not typed_not_submitted', () => {
    const v = classifyReceipt(receiptInput('claude', screen('claude-idle'), screen('send-claude-after-turn')));
    expect(v.status).toBe('submitted');
    expect(v.evidence.join(' ')).toMatch(/input box held the text and emptied/);
  });
  it('Claude: text still in the box after Enter is typed_not_submitted (not final: it may still be taken)', () => {
    const v = classifyReceipt(receiptInput('claude', screen('claude-idle'), screen('send-claude-typed-1line')));
    expect(v).toMatchObject({ status: 'typed_not_submitted', final: false });
  });
  it('Claude: a message sent mid-turn is queued', () => {
    const v = classifyReceipt(
      receiptInput('claude', screen('claude-busy'), screen('send-claude-busy-after-enter-150'), {
        sentText: '[operator:mosaic-top] while busy',
        wasBusy: true,
      }),
    );
    expect(v.status).toBe('queued');
    expect(v.evidence.join(' ')).toMatch(/shown as '❯ \[operator:mosaic-top\] while busy'/);
  });
  it('Codex: Enter while busy steers into the running turn: submitted, and said so', () => {
    const v = classifyReceipt(receiptInput('codex', screen('codex-busy'), screen('send-codex-after-enter-150'), { wasBusy: true }));
    expect(v.status).toBe('submitted');
    expect(v.evidence.join(' ')).toMatch(/steered into the running turn/);
  });
  it('the text never seen in the box and an unchanged screen: no_evidence', () => {
    const v = classifyReceipt(receiptInput('claude', screen('claude-idle'), screen('claude-idle'), { seenInBox: false }));
    expect(v).toMatchObject({ status: 'no_evidence', final: false });
  });
  it('no rules: the terminal echo moving on is not uptake; a busy beat is', () => {
    const sentText = '[operator:mosaic-top] hello there';
    const before = { rows: ['', ''], cursorRow: 0, width: 80 };
    const echoed = { rows: [sentText, ''], cursorRow: 1, width: 80 };
    const base = receiptInput(null, readInput(null, before), readInput(null, echoed), { sentText, rule: GENERIC_DELIVERY });
    const v = classifyReceipt(base);
    expect(v.status).toBe('no_evidence');
    expect(v.evidence.join(' ')).toMatch(/not uptake/);
    expect(classifyReceipt({ ...base, heartbeatBefore: { ts: 10, state: 'idle' }, heartbeatNow: { ts: 10, state: 'busy' } }).status).toBe('submitted');
    // A beat that was already busy is not evidence.
    expect(classifyReceipt({ ...base, heartbeatBefore: { ts: 10, state: 'busy' }, heartbeatNow: { ts: 11, state: 'busy' } }).status).toBe('no_evidence');
  });
  it('a permission prompt opening after Enter on an idle runtime is uptake; on a busy one, or without the text seen, it is not', () => {
    const v = classifyReceipt(receiptInput('claude', screen('claude-idle'), screen('claude-permission')));
    expect(v).toMatchObject({ status: 'submitted', final: true });
    expect(v.evidence.join(' ')).toMatch(/permission prompt \(Bash: echo hi > proto\.txt\) opened after Enter: the runtime took the message/);
    expect(classifyReceipt(receiptInput('claude', screen('claude-busy'), screen('claude-permission'), { wasBusy: true })).status).toBe('no_evidence');
    expect(classifyReceipt(receiptInput('claude', screen('claude-idle'), screen('claude-permission'), { seenInBox: false })).status).toBe('no_evidence');
    expect(classifyReceipt(receiptInput('claude', screen('claude-permission'), screen('claude-permission'))).status).toBe('no_evidence');
  });
  it('Enter held back (a dialog opened while typing): typed_not_submitted or no_evidence, final', () => {
    const v = classifyReceipt(receiptInput('claude', screen('claude-idle'), screen('claude-permission'), { entered: false }));
    expect(v).toMatchObject({ status: 'no_evidence', final: true });
  });
  it('sanitizes pane text in evidence', () => {
    const v = classifyReceipt(
      receiptInput(
        null,
        readInput(null, { rows: [''], cursorRow: 0, width: 80 }),
        readInput(null, { rows: ['> [operator:mosaic-top] one line ends with;\u001b[31m'], cursorRow: 0, width: 80 }),
      ),
    );
    expect(v.evidence.join(' ')).not.toMatch(/\u001b/);
  });
});
