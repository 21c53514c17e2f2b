import { describe, expect, it } from 'vitest';
import { classifySendEvidence, messageFingerprints, newLinesSince, splitInputRegion, type VerifyInput } from '../../fleet/verify.js';

const sent = '[operator:mosaic-top] please report status';

function input(over: Partial<VerifyInput>): VerifyInput {
  return {
    baseline: 'working on A3\n> \n',
    current: 'working on A3\n> \n',
    sentText: sent,
    seenInInputEarlier: false,
    heartbeatBefore: { ts: 1000, state: 'idle' },
    heartbeatNow: { ts: 1000, state: 'idle' },
    ...over,
  };
}

describe('messageFingerprints', () => {
  it('takes the head of the first line and the tail of the last (and paste placeholders for several lines)', () => {
    expect(messageFingerprints('[operator:mosaic-top] first line\nmiddle\nthe very last line of it')).toEqual([
      '[operator:mosaic-top] fi',
      'the very last line of it',
      '[Pasted text',
    ]);
    expect(messageFingerprints('[operator:mosaic-top] one line')).toEqual(['[operator:mosaic-top] on', '[operator:mosaic-top] one line'.slice(-24)]);
  });

  it('a paste placeholder in the input line, gone after Enter, is a submission (Claude Code)', () => {
    const sentText = '[operator:mosaic-top] a\nb\nc';
    const baseline = '● done\n╭────╮\n│ >  │\n╰────╯\n';
    const typed = '● done\n╭────╮\n│ > [Pasted text #1 +2 lines] │\n╰────╯\n';
    const v1 = classifySendEvidence({ baseline, current: typed, sentText, seenInInputEarlier: false, heartbeatBefore: null, heartbeatNow: null });
    expect(v1.status).toBe('typed_not_submitted');
    const v2 = classifySendEvidence({ baseline, current: baseline, sentText, seenInInputEarlier: true, heartbeatBefore: null, heartbeatNow: null });
    expect(v2.status).toBe('submitted');
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

  it('a cooked-mode agent: the acked message is submitted, not typed (its ack is the last line)', () => {
    const sentText = '[operator:mosaic-top] hello there';
    const baseline = { rows: ['ready', '[idle]', ''], cursorRow: 2, width: 80 };
    const typed = { rows: ['ready', '[idle]', sentText], cursorRow: 2, width: 80 };
    const acked = { rows: ['ready', '[idle]', sentText, `ack: ${sentText}`, ''], cursorRow: 4, width: 80 };
    const base = { sentText, heartbeatBefore: null, heartbeatNow: null, baseline };
    expect(classifySendEvidence({ ...base, current: typed, seenInInputEarlier: false }).status).toBe('typed_not_submitted');
    const v = classifySendEvidence({ ...base, current: acked, seenInInputEarlier: false });
    expect(v.status).toBe('submitted');
    expect(v.evidence.join(' ')).toMatch(/new line/);
  });
});

describe('newLinesSince', () => {
  it('is a multiset difference', () => {
    expect(newLinesSince(['a', 'b', 'a'], ['a', 'a', 'a', 'b', 'c'])).toEqual(['a', 'c']);
  });
});

describe('classifySendEvidence', () => {
  it('no_evidence when nothing changed', () => {
    const v = classifySendEvidence(input({}));
    expect(v.status).toBe('no_evidence');
    expect(v.final).toBe(false);
    expect(v.evidence.join(' ')).toMatch(/unchanged/);
  });

  it('typed_not_submitted when the text sits in the input line', () => {
    const v = classifySendEvidence(input({ current: `working on A3\n> ${sent}\n` }));
    expect(v.status).toBe('typed_not_submitted');
    expect(v.textInInput).toBe(true);
    expect(v.final).toBe(false);
  });

  it('an identical message already in the baseline input line does not count', () => {
    const v = classifySendEvidence(input({ baseline: `> ${sent}\n`, current: `> ${sent}\n` }));
    expect(v.status).toBe('no_evidence');
  });

  it('submitted when the runtime echoes the message above a fresh prompt', () => {
    const v = classifySendEvidence(input({ current: `working on A3\n> ${sent}\nack: got it\n> \n` }));
    expect(v.status).toBe('submitted');
    expect(v.final).toBe(true);
    expect(v.evidence.join(' ')).toMatch(/new line/);
  });

  it('an echo already present in the baseline is not evidence', () => {
    const base = `received: ${sent}\n> \n`;
    const v = classifySendEvidence(input({ baseline: base, current: base }));
    expect(v.status).toBe('no_evidence');
  });

  it('submitted when text was seen typed and then left the input line', () => {
    const v = classifySendEvidence(input({ seenInInputEarlier: true }));
    expect(v.status).toBe('submitted');
    expect(v.evidence).toContain('text left the input line after Enter');
  });

  it('submitted on a heartbeat that turned busy (same second counts, older does not)', () => {
    const v = classifySendEvidence(input({ heartbeatNow: { ts: 1000, state: 'busy' } }));
    expect(v.status).toBe('submitted');
    expect(v.evidence.join(' ')).toMatch(/heartbeat went busy/);
    expect(classifySendEvidence(input({ heartbeatNow: { ts: 999, state: 'busy' } })).status).toBe('no_evidence');
  });

  it('a heartbeat that was already busy is not evidence', () => {
    const v = classifySendEvidence(input({ heartbeatBefore: { ts: 990, state: 'busy' }, heartbeatNow: { ts: 1020, state: 'busy' } }));
    expect(v.status).toBe('no_evidence');
  });

  it('unrelated new output is named but is not evidence', () => {
    const v = classifySendEvidence(input({ current: 'working on A3\nstep 2 done\n> \n' }));
    expect(v.status).toBe('no_evidence');
    expect(v.evidence.join(' ')).toMatch(/no trace of the message/);
  });

  it('queued when a queued hint appears (Claude Code mid-turn)', () => {
    const v = classifySendEvidence(
      input({ current: `working on A3\n${sent}\nPress up to edit queued messages\n> \n` }),
    );
    expect(v.status).toBe('queued');
    expect(v.final).toBe(true);
  });

  it('a queued hint already on screen before the send does not count, the message text in it is not a marker', () => {
    const base = 'Press up to edit queued messages\n> \n';
    expect(classifySendEvidence(input({ baseline: base, current: base })).status).toBe('no_evidence');
    const tricky = '[operator:mosaic-top] why is the queued message stuck';
    const v = classifySendEvidence(input({ sentText: tricky, current: `working on A3\n> ${tricky}\n` }));
    expect(v.status).toBe('typed_not_submitted');
  });

  it('marker list is data: a custom marker is honoured', () => {
    const v = classifySendEvidence(input({ current: 'working on A3\n⏸ will run after this turn\n> \n', queuedMarkers: ['will run after this turn'] }));
    expect(v.status).toBe('queued');
  });

  it('sanitizes pane text in evidence', () => {
    const v = classifySendEvidence(input({ current: `\u001b]0;evil\u0007${sent}\n> \n` }));
    expect(v.status).toBe('submitted');
    expect(v.evidence.join(' ')).not.toMatch(/\u001b|\u0007/);
  });
});
