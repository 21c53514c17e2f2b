/**
 * The console's cheaper Ink output pass (src/ink/output.ts) must produce the very same
 * frame as Ink's own `Output.get`: compared on hand-made lines (colours, inverse, bold+dim,
 * 256/true colour, resets, wide characters, emoji, foreign escapes, transformers, clipping) and
 * on every frame of the real console rendered with several fleets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Chalk } from 'chalk';
import { asciiStyledChars, installFastOutputPass, originalOutputGet } from '../../src/ink/output.js';
import { makeAgent, makeBacklog, makeSnapshot, manyAgents, mixedFleet } from '../fixtures/snapshots.js';
import { renderConsole } from '../helpers/render.js';
import { at } from '../helpers/must.js';

type Get = (this: unknown) => { output: string; height: number };
interface OutputClass {
  new (opts: { width: number; height: number }): {
    write(x: number, y: number, text: string, opts: { transformers: Array<(line: string, index: number) => string> }): void;
    clip(clip: { x1?: number; x2?: number; y1?: number; y2?: number }): void;
    unclip(): void;
    get(): { output: string; height: number };
  };
  prototype: { get: Get };
}

let Output: OutputClass;
let original: Get;
let fast: Get;

beforeAll(async () => {
  expect(await installFastOutputPass()).toBe(true);
  Output = ((await import(new URL('./output.js', import.meta.resolve('ink')).href)) as { default: OutputClass }).default;
  original = (await originalOutputGet())!;
  fast = Output.prototype.get;
  expect(original).not.toBeNull();
  expect(fast).not.toBe(original);
});

const c = new Chalk({ level: 3 });
const c1 = new Chalk({ level: 1 });

function both(
  width: number,
  height: number,
  writes: Array<[number, number, string, Array<(l: string, i: number) => string>?]>,
  clip?: { x1?: number; x2?: number; y1?: number; y2?: number },
) {
  const out = new Output({ width, height });
  if (clip) out.clip(clip);
  for (const [x, y, text, transformers] of writes) out.write(x, y, text, { transformers: transformers ?? [] });
  if (clip) out.unclip();
  return { ours: fast.call(out), ink: original.call(out) };
}

describe('fast Ink output pass', () => {
  it("is installed once (idempotent) and keeps Ink's own pass reachable", async () => {
    expect(await installFastOutputPass()).toBe(true);
    expect(Output.prototype.get).toBe(fast);
  });

  const cases: Array<[string, string[]]> = [
    ['plain ASCII', ['  AGENT    STATE     CLASS', '> agent000 working   code  sleep   4s']],
    [
      'basic colours and inverse',
      [c1.green('working') + ' ' + c1.red.bold('dead') + c1.inverse('> sel ') + ' tail', c1.dim('hint') + c1.bold('B') + c1.dim.bold('both')],
    ],
    [
      '256 and true colour (compound SGR)',
      [c.hex('#ff8800')('orange') + ' ' + c.bgRgb(10, 20, 30).white('bg') + ' x', '\u001b[38;5;123mcyanish\u001b[39m', '\u001b[1;31mbold red\u001b[0m after'],
    ],
    ['resets and unterminated styles', ['\u001b[31mred to end of line', '\u001b[mempty reset', '\u001b[0m\u001b[1m\u001b[22mx\u001b[2m\u001b[1my\u001b[22mz']],
    ['wide characters and emoji', ['名前 エージェント ok', c1.green('✓ 完了') + ' 🚀 x', 'e\u0301 combining', 'flag 🇫🇷 vs16 ❤️ end']],
    [
      'foreign escapes and controls',
      ['\u001b]8;;https://x.y\u0007link\u001b]8;;\u0007 done', '\u001b[2Kcursor', 'tab\there', 'bare \u001b x', 'caret ^[]2;pwned^G'],
    ],
    ['too long for the width', ['x'.repeat(250), c1.yellow('y'.repeat(240))]],
    ['styled and unstyled trailing spaces', ['ends in inverse' + c1.inverse('sel   '), 'plain then spaces      ', c1.bgBlue('   ') + '   ', '      ']],
  ];
  for (const [name, lines] of cases) {
    it(`same frame as Ink: ${name}`, () => {
      const r = both(200, 8, [
        [0, 0, lines.join('\n')],
        [3, 4, lines.join('\n')],
        [150, 6, at(lines, 0)],
      ]);
      expect(r.ours).toEqual(r.ink);
    });
  }

  it("same frame as Ink with transformers, overlapping writes, rows past the height, and clipping (Ink's own path)", () => {
    const upper = (l: string) => l.toUpperCase();
    const colour = (l: string, i: number) => (i % 2 ? c1.blue(l) : l);
    expect(
      (() => {
        const r = both(40, 4, [
          [0, 0, 'a\nb\nc\nd\ne\nf', [upper, colour]],
          [2, 1, c1.red('over')],
          [39, 3, '名x'],
        ]);
        return r.ours;
      })(),
    ).toEqual(
      both(40, 4, [
        [0, 0, 'a\nb\nc\nd\ne\nf', [upper, colour]],
        [2, 1, c1.red('over')],
        [39, 3, '名x'],
      ]).ink,
    );
    const beyond = both(20, 2, [
      [0, 0, 'near'],
      [30, 0, c1.red('far')],
      [25, 1, 'x'],
    ]); // cells past the width leave holes
    expect(beyond.ours).toEqual(beyond.ink);
    const clipped = both(20, 3, [[0, 0, 'hello world and more\nsecond']], { x1: 2, x2: 10, y1: 0, y2: 2 });
    expect(clipped.ours).toEqual(clipped.ink);
  });

  it('same frame as Ink for lines side by side on a row (table and backlog beside it), gaps, overlaps, and a row past the width', () => {
    const rows: Array<[number, number, string]> = [
      [0, 0, `${c1.green('working')} left ${c1.inverse('sel')}`],
      [30, 0, c1.bold('right') + ' tail   '],
      [0, 1, 'abc'],
      [3, 1, c.hex('#102030')('def')],
      [9, 1, 'ghi   '],
      [0, 2, 'x'.repeat(45)],
      [45, 2, 'beyond'],
      [0, 3, 'aaaaaa'],
      [2, 3, c1.red('BB')], // overlaps: the cell path
      [0, 4, 'near'],
      [60, 4, 'far'], // past the width: holes, the cell path
      [5, 5, c1.inverse('   ')],
      [0, 6, `${c1.green('▁▂▃')}…·× ← ↑ – — ─`],
      [20, 6, '名前'],
    ];
    const r = both(40, 7, rows);
    expect(r.ours).toEqual(r.ink);
    expect(both(40, 7, rows)).toEqual(r); // the same frame again: every row from the cache
  });

  it('the ASCII scan gives up on anything but printable ASCII and SGR', () => {
    expect(
      asciiStyledChars('abc')
        ?.map((ch) => ch.value)
        .join(''),
    ).toBe('abc');
    for (const line of ['名', '\u001b]8;;x\u0007', '\u001b[2K', 'tab\t', '\u001b[31', '\u001bx']) expect(asciiStyledChars(line)).toBeNull();
    const styled = asciiStyledChars('\u001b[31mab\u001b[39mc')!;
    expect(at(styled, 0).styles).toBe(at(styled, 1).styles);
    expect(at(styled, 2).styles).toHaveLength(0);
  });

  it('every frame of the real console is the same with both passes', async () => {
    const mismatches: string[] = [];
    let frames = 0;
    Output.prototype.get = function (this: unknown) {
      const ink = original.call(this);
      const ours = fast.call(this);
      frames++;
      if (ours.output !== ink.output || ours.height !== ink.height) mismatches.push(ink.output);
      return ours;
    };
    try {
      const fleets = [
        makeSnapshot([...mixedFleet(), makeAgent('名前', { evidence: ['🚀 wide', '\u001b]2;pwned\u0007'] })], { backlog: makeBacklog() }),
        makeSnapshot(manyAgents(50)),
      ];
      for (const [columns, rows] of [
        [200, 60],
        [80, 24],
      ] as const) {
        for (const snapshot of fleets) {
          for (const color of [true, false]) {
            const r = renderConsole({ columns, rows, snapshot, color });
            await r.waitFor((f) => f.includes('AGENT'), 'fleet table');
            r.unmount();
          }
        }
      }
    } finally {
      Output.prototype.get = fast;
    }
    expect(frames).toBeGreaterThan(0);
    expect(mismatches).toEqual([]);
  });
});

afterAll(() => {
  if (Output) Output.prototype.get = fast;
});
