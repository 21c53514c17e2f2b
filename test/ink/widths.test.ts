/**
 * patches/ink+6.8.0.patch measures text widths by a char-code scan (ink/build/measure-text.js
 * `widestLine`) and keeps texts whose only escapes are SGR sequences as they are
 * (ink/build/sanitize-ansi.js): both must answer exactly what stock Ink's own functions answer
 * (widest-line → string-width 8, and the ANSI tokenizer), on the console's lines and on
 * everything else (wide characters, emoji, combining marks, foreign escapes, C1 controls).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Chalk } from 'chalk';
import stockWidestLine from 'widest-line';

type Fn<T> = (text: string) => T;
let widestLine: Fn<number>;
let stats: () => { scanned: number; measured: number };
let sanitizeAnsi: Fn<string>;
let tokenizeAnsi: Fn<Array<{ type: string; value: string; finalCharacter?: string; intermediateString?: string; parameterString?: string }>>;

beforeAll(async () => {
  const ink = (file: string) => import(new URL(file, import.meta.resolve('ink')).href) as Promise<Record<string, unknown>>;
  const measure = await ink('./measure-text.js');
  if (typeof measure.widestLine !== 'function' || typeof measure.lineWidthStats !== 'function') {
    throw new Error('ink/build/measure-text.js has no widestLine: patches/ink+6.8.0.patch is not applied (run npm install; postinstall runs patch-package)');
  }
  widestLine = measure.widestLine as Fn<number>;
  stats = measure.lineWidthStats as typeof stats;
  sanitizeAnsi = (await ink('./sanitize-ansi.js')).default as Fn<string>;
  tokenizeAnsi = (await ink('./ansi-tokenizer.js')).tokenizeAnsi as typeof tokenizeAnsi;
});

const c = new Chalk({ level: 3 });
const c1 = new Chalk({ level: 1 });

/** The console's own lines: ASCII, colours, the timeline's glyphs, arrows, `…`, `·`, `×`, dashes, `─`. */
const CONSOLE_LINES = [
  '',
  '  AGENT     STATE     CLASS   RUNTIME  IDLE     HB UNIT   CARD FLAGS LAST 1H      EVIDENCE',
  `> agent000  ${c1.green('working')}   code    claude    42s    12s active A3   -     ${c1.green('▁▂▃▄▅▆▇█')}${c1.red('▲')}${c.gray('....')} pane idle…`,
  c1.inverse(`· agent001  ${c1.cyan('available')} code  ← ↑ → ↓ · ×`),
  c.hex('#ff8800')('orange') + c.bgRgb(10, 20, 30).white(' bg ') + '\u001b[38;5;123mx\u001b[39m\u001b[m\u001b[0;1;;2m',
  '▀▌▐░▒▓▔▕▖▗▘▙▚▛▜▝▞▟',
  '  AGENT  STATE   1–57 of 100 rows — ─── ',
];
/** Lines the scan must hand to string-width, and what they are. */
const OTHER_LINES = [
  '名前 エージェント ok',
  '🚀 x ❤️ 🇫🇷 👩‍💻',
  'e\u0301 combining after ASCII',
  '…\u0301 combining after a glyph',
  'tab\there',
  '\u001b]8;;https://x.y\u0007link\u001b]8;;\u0007',
  '\u001b[2Kcursor',
  '\u001b[12345mlong parameter',
  '\u001b[38:5:1mcolon parameters',
  'bare \u001b x',
  'C1 \u009b31m csi',
  'nbsp\u00a0and soft\u00adhyphen',
  'zero\u200bwidth',
  '\u25b6 play (emoji presentation capable) \u2194',
];

describe('patched width measurement', () => {
  it("equals widest-line's on every line, one by one and as one text", () => {
    for (const line of [...CONSOLE_LINES, ...OTHER_LINES]) expect({ line, width: widestLine(line) }).toEqual({ line, width: stockWidestLine(line) });
    const all = [...CONSOLE_LINES, ...OTHER_LINES].join('\n');
    expect(widestLine(all)).toBe(stockWidestLine(all));
    expect(widestLine(`${CONSOLE_LINES.join('\n')}\n`)).toBe(stockWidestLine(`${CONSOLE_LINES.join('\n')}\n`));
  });

  it("scans the console's lines (none goes to string-width) and hands every other line to string-width", () => {
    const before = stats();
    widestLine(CONSOLE_LINES.join('\n'));
    const mid = stats();
    expect(mid).toEqual({ scanned: before.scanned + CONSOLE_LINES.length, measured: before.measured });
    for (const line of OTHER_LINES) widestLine(line);
    expect(stats()).toEqual({ scanned: mid.scanned, measured: mid.measured + OTHER_LINES.length });
  });
});

describe('patched ANSI sanitizing', () => {
  /** Stock sanitizeAnsi: SGR and OSC tokens and text kept, every other escape dropped. */
  const stock = (text: string) =>
    tokenizeAnsi(text)
      .filter(
        (t) =>
          t.type === 'text' ||
          t.type === 'osc' ||
          (t.type === 'csi' && t.finalCharacter === 'm' && t.intermediateString === '' && /^[\d:;]*$/.test(t.parameterString ?? '')),
      )
      .map((t) => t.value)
      .join('');

  it("equals the tokenizer's answer on colours only (kept whole) and on foreign escapes (dropped)", () => {
    for (const text of [...CONSOLE_LINES, ...OTHER_LINES, CONSOLE_LINES.join('\n'), '\u001b[31', '\u001b[', '\u001b', 'x\u001b[1;2:3mx']) {
      expect({ text, out: sanitizeAnsi(text) }).toEqual({ text, out: stock(text) });
    }
    expect(sanitizeAnsi(CONSOLE_LINES.join('\n'))).toBe(CONSOLE_LINES.join('\n'));
    expect(sanitizeAnsi('a\u001b[2Kb')).toBe('ab');
  });
});
