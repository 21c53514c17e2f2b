import { describe, expect, it } from 'vitest';
import stringWidth from 'string-width';
import { formatAge, formatElapsedMs, formatTtl, liveSecondsLeft, padToWidth, secondsSince, truncateToWidth } from '../../src/view/format.js';

describe('formatAge / formatTtl', () => {
  it('formats seconds as short ages', () => {
    expect(formatAge(0)).toBe('0s');
    expect(formatAge(59.9)).toBe('59s');
    expect(formatAge(192)).toBe('3m12s');
    expect(formatAge(2 * 3600 + 5 * 60)).toBe('2h05m');
    expect(formatAge(3 * 86400 + 4 * 3600)).toBe('3d04h');
    expect(formatAge(null)).toBe('-');
    expect(formatAge(Number.NaN)).toBe('-');
    expect(formatAge(-5)).toBe('0s');
  });
  it('formats TTL countdowns, expired ones too', () => {
    expect(formatTtl(899)).toBe('14m59s');
    expect(formatTtl(-182)).toBe('expired 3m02s');
  });
  it('derives live countdowns from the snapshot time', () => {
    expect(liveSecondsLeft(600, 1_000_000, 1_000_000)).toBe(600);
    expect(liveSecondsLeft(600, 1_000_000, 1_010_500)).toBe(589);
    expect(liveSecondsLeft(5, 0, 10_000)).toBe(-5);
    expect(liveSecondsLeft(5, 10_000, 0)).toBe(5); // clock went back: no negative elapsed
  });
  it('formats elapsed ms and ages of ISO times', () => {
    expect(formatElapsedMs(812.4)).toBe('812 ms');
    expect(formatElapsedMs(2400)).toBe('2.4 s');
    expect(secondsSince('2026-01-01T00:00:00Z', Date.parse('2026-01-01T00:01:00Z'))).toBe(60);
    expect(secondsSince('garbage', 0)).toBeNull();
  });
});

describe('truncateToWidth / padToWidth', () => {
  it('leaves short text alone and cuts long text with an ellipsis', () => {
    expect(truncateToWidth('coder1', 10)).toBe('coder1');
    expect(truncateToWidth('orchestrator', 6)).toBe('orche…');
    expect(truncateToWidth('abc', 0)).toBe('');
    expect(truncateToWidth('abc', 1)).toBe('…');
  });
  it('never splits a wide character and never exceeds the width', () => {
    const cjk = '漢字タイトル';
    for (let w = 1; w <= 14; w++) {
      const cut = truncateToWidth(cjk, w);
      expect(stringWidth(cut)).toBeLessThanOrEqual(w);
    }
    expect(truncateToWidth(cjk, 6)).toBe('漢字…');
    const emoji = 'ok 👩‍💻 done 🙂';
    for (let w = 1; w <= 14; w++) expect(stringWidth(truncateToWidth(emoji, w))).toBeLessThanOrEqual(w);
    expect(truncateToWidth(emoji, 5)).toBe('ok …'); // the ZWJ emoji (2 cells) does not fit in 5-1
  });
  it('pads to exactly the width, left or right', () => {
    expect(padToWidth('ab', 4)).toBe('ab  ');
    expect(padToWidth('ab', 4, 'right')).toBe('  ab');
    expect(stringWidth(padToWidth('漢字漢字', 5))).toBe(5);
    expect(padToWidth('漢字漢字', 5)).toBe('漢字…');
    expect(padToWidth('漢字漢字', 6)).toBe('漢字… '); // 3 cells for a 2-cell glyph: pad
  });
});

describe('displayWidth fast path', () => {
  it("the console's own narrow symbols are one cell each, as string-width says", async () => {
    const { displayWidth } = await import('../../src/view/format.js');
    const symbols = ['·', '×', '…', '←', '↑', '→', '↓', '▲', '–', '—', '─', ...Array.from({ length: 32 }, (_, i) => String.fromCharCode(0x2580 + i))];
    for (const c of symbols) expect(stringWidth(c), c).toBe(1);
    expect(displayWidth('▆▆▂×·· working → dead')).toBe(stringWidth('▆▆▂×·· working → dead'));
    expect(displayWidth('漢字▆')).toBe(5);
  });
});
