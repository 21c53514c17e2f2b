import { describe, expect, it } from 'vitest';
import { decodeInput, newDecoderState, QUEUED_HINT, SimInput } from '../../src/demo/sim-input.js';

describe('decodeInput', () => {
  it('turns one bracketed paste into one event with \\n line breaks, then Enter', () => {
    const s = newDecoderState();
    expect(decodeInput(s, '\u001b[200~one\rtwo\r\nthree\u001b[201~\r')).toEqual([{ type: 'paste', text: 'one\ntwo\nthree' }, { type: 'enter' }]);
  });

  it('keeps a paste together across chunks, even with a marker cut in two', () => {
    const s = newDecoderState();
    expect(decodeInput(s, 'ab\u001b[20')).toEqual([{ type: 'text', text: 'ab' }]);
    expect(decodeInput(s, '0~x\ry')).toEqual([]);
    expect(decodeInput(s, '\u001b[20')).toEqual([]);
    expect(decodeInput(s, '1~z')).toEqual([
      { type: 'paste', text: 'x\ny' },
      { type: 'text', text: 'z' },
    ]);
  });

  it('drops other escape sequences and control characters, decodes backspace', () => {
    const s = newDecoderState();
    expect(decodeInput(s, 'a\u001b[Ab\u0003\u007fc')).toEqual([{ type: 'text', text: 'ab' }, { type: 'backspace' }, { type: 'text', text: 'c' }]);
  });
});

describe('SimInput', () => {
  function harness(mode: 'accept' | 'queue' | 'typed' | 'ignore', busy = false) {
    let screen = '';
    const taken: string[] = [];
    const input = new SimInput(mode, { write: (s: string) => (screen += s) }, { isBusy: () => busy, take: (t) => taken.push(t) });
    input.begin();
    return { input, taken, screen: () => screen };
  }

  it('accept: takes the message and reports paste blocks and lines', () => {
    const h = harness('accept');
    h.input.feed('\u001b[200~a\rb\u001b[201~\r');
    expect(h.taken).toEqual(['a\nb']);
    expect(h.screen()).toContain('input: 1 paste block(s), 2 line(s)');
    expect(h.screen()).toContain('\u001b[?2004h');
  });

  it('queue: queues while busy with the hint, takes it when idle', () => {
    const h = harness('queue', true);
    h.input.feed('hello\r');
    expect(h.taken).toEqual([]);
    expect(h.screen()).toContain(QUEUED_HINT);
    h.input.onIdle();
    expect(h.taken).toEqual(['hello']);
  });

  it('typed: echoes but ignores Enter; ignore: neither echoes nor takes', () => {
    const t = harness('typed');
    t.input.feed('hello\r');
    expect(t.taken).toEqual([]);
    expect(t.screen()).toContain('> hello');
    const i = harness('ignore');
    i.input.feed('hello\r');
    expect(i.taken).toEqual([]);
    expect(i.screen()).not.toContain('hello');
  });
});
