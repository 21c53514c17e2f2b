/**
 * A cheaper output pass for Ink 6.8 (`Output.get`, ink/build/output.js), installed by the
 * console before it mounts. Same frame, byte for byte; less work per cell.
 *
 * Why: Ink turns every frame into a grid of columns × rows cell objects. Stock 6.8 allocates a
 * fresh blank cell (and a fresh `styles` array) for each of them, tokenizes every written line
 * with an `Intl.Segmenter` (one token object and one copied `styles` array per character), and
 * serializes each row by diffing the styles of every neighbouring pair of cells (three `Set`s
 * per cell). At 200×60 that was ~13 ms and most of the console's garbage per frame — about a
 * third of its CPU at `--interval 2` (docs/console.md, Performance).
 *
 * What differs: one shared blank cell; lines made of printable ASCII, a few one-cell symbols
 * (the timeline's glyphs, arrows) and SGR sequences (the console's own rows) are tokenized by a
 * char-code scan whose cells share one `styles` array per style run (the codes come from
 * ansi-tokenize itself, so they reduce the same way); rows are serialized diffing styles only
 * where the `styles` array changes, trailing blanks skipped — and a row of such lines written
 * side by side is serialized straight from its style runs, without a cell per character.
 * Rows are cached by what was written on them: a row written as in the previous frame (most
 * rows, when an age moved on one) reuses its string, so a frame costs what changed on it.
 * Every other line (wide characters, emoji, other escapes) and any frame with clipping
 * (`overflow`) takes Ink's own path. Applied only to the Ink version it was written against;
 * tests compare both passes.
 */
import fs from 'node:fs';
import { ansiCodesToString, diffAnsiCodes, reduceAnsiCodesIncremental, tokenize } from '@alcalzone/ansi-tokenize';

/** The Ink minor version this pass mirrors (`Output.get` of ink 6.8.x). */
export const INK_OUTPUT_VERSION = /^6\.8\./;

type AnsiCode = { type: 'ansi'; code: string; endCode: string };
type StyledChar = { type: 'char'; value: string; fullWidth: boolean; styles: AnsiCode[] };
type Operation =
  | { type: 'write'; x: number; y: number; text: string; transformers: Array<(line: string, index: number) => string> }
  | { type: 'clip'; clip: unknown }
  | { type: 'unclip' };

/** The parts of ink's Output instance the pass reads (ink/build/output.js 6.8). */
export interface InkOutputLike {
  width: number;
  height: number;
  operations: Operation[];
  caches: { getStyledChars(line: string): StyledChar[]; getStringWidth(text: string): number };
}

const NO_STYLES: AnsiCode[] = Object.freeze([]) as unknown as AnsiCode[];
const BLANK: StyledChar = Object.freeze({ type: 'char', value: ' ', fullWidth: false, styles: NO_STYLES }) as StyledChar;
const CC_ESC = 27;
const CC_BRACKET = 91;
const CC_M = 109;
const CC_SEMI = 59;

/** Tokens of one SGR sequence (`\x1b[…m`), as ansi-tokenize makes them; null when it is not one. */
const sgrTokens = new Map<string, AnsiCode[] | null>();
function tokensOfSgr(sequence: string): AnsiCode[] | null {
  let tokens = sgrTokens.get(sequence);
  if (tokens === undefined) {
    const parsed = tokenize(sequence) as Array<AnsiCode | { type: 'char' }>;
    tokens = parsed.length > 0 && parsed.every((t) => t.type === 'ansi') ? (parsed as AnsiCode[]) : null;
    if (sgrTokens.size < 512) sgrTokens.set(sequence, tokens);
  }
  return tokens;
}

/** Index of the `m` ending the SGR sequence (`ESC [` digits and `;`, then `m`) at `i` of `line`, or -1 when none starts there. */
function sgrEnd(line: string, i: number): number {
  if (line.charCodeAt(i + 1) !== CC_BRACKET) return -1;
  for (let end = i + 2; end < line.length; end++) {
    const d = line.charCodeAt(end);
    if (d === CC_M) return end;
    if (d !== CC_SEMI && (d < 48 || d > 57)) return -1;
  }
  return -1;
}

/**
 * The console's own narrow symbols (single UTF-16 units, one cell, never full width, each its
 * own grapheme unless a combining mark follows — and a combining mark sends the line to Ink's
 * path): `·` `×` `…`, the dashes `–` `—`, arrows ← ↑ → ↓, the box line `─`, the block elements
 * U+2580–259F and `▲` of the timeline.
 */
export function isOneCellSymbol(c: number): boolean {
  return (
    c === 0xb7 ||
    c === 0xd7 ||
    c === 0x2013 ||
    c === 0x2014 ||
    c === 0x2026 ||
    (c >= 0x2190 && c <= 0x2193) ||
    c === 0x2500 ||
    (c >= 0x2580 && c <= 0x259f) ||
    c === 0x25b2
  );
}

/**
 * Styled cells of a line made only of printable ASCII (0x20–0x7e), the console's one-cell
 * symbols ({@link isOneCellSymbol}) and SGR sequences, equal to
 * ansi-tokenize's `styledCharsFromTokens(tokenize(line))` except that cells of one style run
 * share their (never mutated) `styles` array. Null for any other line (the caller falls back).
 */
export function asciiStyledChars(line: string): StyledChar[] | null {
  const out: StyledChar[] = [];
  let styles = NO_STYLES;
  const n = line.length;
  for (let i = 0; i < n; i++) {
    const c = line.charCodeAt(i);
    if (c === CC_ESC) {
      const end = sgrEnd(line, i);
      if (end < 0) return null;
      const tokens = tokensOfSgr(line.slice(i, end + 1));
      if (!tokens) return null;
      styles = reduceAnsiCodesIncremental(styles, tokens) as AnsiCode[];
      i = end;
      continue;
    }
    if (c < 0x20 || (c > 0x7e && !isOneCellSymbol(c))) return null;
    out.push({ type: 'char', value: line.charAt(i), fullWidth: false, styles });
  }
  return out;
}

/**
 * ansi-tokenize's `styledCharsToString(row.filter(defined)).trimEnd()`: holes are skipped, the
 * styles are diffed only where the `styles` array changes, and trailing unstyled spaces are not
 * visited (trimEnd would drop them; the style reset before them is still written, as stock does).
 */
export function styledRowToString(row: readonly (StyledChar | undefined)[]): string {
  let last = row.length - 1;
  while (last >= 0) {
    const cell = row[last];
    if (cell !== undefined && (cell.value !== ' ' || cell.styles.length > 0)) break;
    last--;
  }
  let ret = '';
  let prev: AnsiCode[] | null = null;
  for (let i = 0; i <= last; i++) {
    const char = row[i];
    if (char === undefined) continue;
    if (prev === null) {
      if (char.styles.length) ret += ansiCodesToString(char.styles);
    } else if (prev !== char.styles && (prev.length || char.styles.length)) {
      ret += ansiCodesToString(diffAnsiCodes(prev, char.styles));
    }
    ret += char.value;
    prev = char.styles;
  }
  if (prev !== null && prev.length) ret += ansiCodesToString(diffAnsiCodes(prev, []));
  return ret.trimEnd();
}

/** A line written on a row of the frame: its column and its text (transformers applied). */
interface RowPiece {
  x: number;
  line: string;
}

/**
 * Rows serialized in the last two frames, by what was written on them ({@link rowKey}): a row
 * whose writes are those of a row of the previous frame is not tokenized and serialized again.
 * Content-addressed (same writes on a row of the same width ⇒ the same string), so it is shared
 * safely by every Ink instance; it holds two frames' rows at most.
 */
let previousRows = new Map<string, string>();
let currentRows = new Map<string, string>();

/** Work done by the output pass, for tests that count it (never times). */
export const outputPassStats = { frames: 0, rowsBuilt: 0, rowsReused: 0 };

/** What decides a row's string: the frame's width and each write's column and text (lengths make it unambiguous). */
function rowKey(width: number, pieces: readonly RowPiece[]): string {
  let key = String(width);
  for (const { x, line } of pieces) key += `|${x}:${line.length}:${line}`;
  return key;
}

/** A run of cells of one style (the very `styles` array {@link asciiStyledChars} would give each). */
interface StyleRun {
  styles: AnsiCode[];
  text: string;
}

/**
 * Style runs of one line as {@link asciiStyledChars} would cell it (cells of a run share their
 * `styles` array; a new array starts a new run), appended to `runs`; the number of cells, or
 * -1 when the line is not one the scan takes (the caller falls back).
 */
function appendRuns(line: string, runs: StyleRun[]): number {
  let styles = NO_STYLES;
  let run: StyleRun | null = null;
  let from = 0;
  let cells = 0;
  const n = line.length;
  const close = (to: number) => {
    if (to > from) {
      if (run && run.styles === styles) run.text += line.slice(from, to);
      else runs.push((run = { styles, text: line.slice(from, to) }));
    }
  };
  for (let i = 0; i < n; i++) {
    const c = line.charCodeAt(i);
    if (c === CC_ESC) {
      close(i);
      const end = sgrEnd(line, i);
      if (end < 0) return -1;
      const tokens = tokensOfSgr(line.slice(i, end + 1));
      if (!tokens) return -1;
      styles = reduceAnsiCodesIncremental(styles, tokens) as AnsiCode[];
      i = end;
      from = end + 1;
      continue;
    }
    if (c < 0x20 || (c > 0x7e && !isOneCellSymbol(c))) return -1;
    cells++;
  }
  close(n);
  return cells;
}

/**
 * A row whose pieces are all lines the scan takes, written left to right without overlapping
 * and without leaving holes (no piece starts past the row's width), serialized straight from
 * style runs: the same string as building its cells and {@link styledRowToString}, without a
 * cell object per character. Null for any other row (the caller builds the cells).
 */
export function serializeRowOfRuns(width: number, pieces: readonly RowPiece[]): string | null {
  const runs: StyleRun[] = [];
  let cursor = 0;
  for (const { x, line } of pieces) {
    if (x < cursor || x > Math.max(cursor, width)) return null;
    if (x > cursor) runs.push({ styles: NO_STYLES, text: ' '.repeat(x - cursor) });
    const cells = appendRuns(line, runs);
    if (cells < 0) return null;
    cursor = x + cells;
  }
  // Trailing blanks are never written (stock trims them, styles reset before them or not).
  let last = runs.length - 1;
  while (last >= 0) {
    const run = runs[last]!;
    if (run.styles.length > 0) break;
    const kept = run.text.trimEnd();
    if (kept.length > 0) {
      runs[last] = { styles: run.styles, text: kept };
      break;
    }
    last--;
  }
  let ret = '';
  let prev: AnsiCode[] | null = null;
  for (let i = 0; i <= last; i++) {
    const run = runs[i]!;
    if (prev === null) {
      if (run.styles.length) ret += ansiCodesToString(run.styles);
    } else if (prev !== run.styles && (prev.length || run.styles.length)) {
      ret += ansiCodesToString(diffAnsiCodes(prev, run.styles));
    }
    ret += run.text;
    prev = run.styles;
  }
  if (prev !== null && prev.length) ret += ansiCodesToString(diffAnsiCodes(prev, []));
  return ret.trimEnd();
}

/** One row of `width` cells with `pieces` written in order, serialized as stock Ink does (see the file comment). */
function buildRow(output: InkOutputLike, width: number, pieces: readonly RowPiece[]): string {
  const direct = serializeRowOfRuns(width, pieces);
  if (direct !== null) return direct;
  const currentLine = new Array<StyledChar>(width).fill(BLANK);
  for (const { x, line } of pieces) {
    const ascii = asciiStyledChars(line);
    let offsetX = x;
    if (ascii) {
      for (const character of ascii) currentLine[offsetX++] = character;
      continue;
    }
    for (const character of output.caches.getStyledChars(line)) {
      currentLine[offsetX] = character;
      const characterWidth = Math.max(1, output.caches.getStringWidth(character.value));
      for (let k = 1; k < characterWidth; k++) {
        currentLine[offsetX + k] = { type: 'char', value: '', fullWidth: false, styles: character.styles };
      }
      offsetX += characterWidth;
    }
  }
  return styledRowToString(currentLine);
}

/**
 * `Output.prototype.get` of ink 6.8 with the cheaper cells (see the file comment), row by row:
 * a row written exactly as a row of the previous frame reuses its string. Call with `this` = an
 * Ink Output. Frames with clip operations go to `fallback` (Ink's own).
 */
export function fastOutputGet(this: InkOutputLike, fallback: () => { output: string; height: number }): { output: string; height: number } {
  for (const operation of this.operations) if (operation.type === 'clip') return fallback.call(this);
  const pieces: RowPiece[][] = [];
  for (let y = 0; y < this.height; y++) pieces.push([]);
  for (const operation of this.operations) {
    if (operation.type !== 'write') continue;
    const { text, transformers, x, y } = operation;
    const lines = text.split('\n');
    let offsetY = 0;
    for (const [index, written] of lines.entries()) {
      const row = pieces[y + offsetY];
      // As stock Ink: a line off the frame is skipped without moving down (so are the rest).
      if (!row) continue;
      let line = written;
      for (const transformer of transformers) line = transformer(line, index);
      row.push({ x, line });
      offsetY++;
    }
  }
  const rows: string[] = [];
  for (const rowPieces of pieces) {
    const key = rowKey(this.width, rowPieces);
    let row = currentRows.get(key) ?? previousRows.get(key);
    if (row === undefined) {
      row = buildRow(this, this.width, rowPieces);
      outputPassStats.rowsBuilt++;
    } else outputPassStats.rowsReused++;
    currentRows.set(key, row);
    rows.push(row);
  }
  previousRows = currentRows;
  currentRows = new Map();
  outputPassStats.frames++;
  return { output: rows.join('\n'), height: rows.length };
}

const ORIGINAL = Symbol.for('mosaic-top.ink-output.original-get');

/**
 * Replaces ink's `Output.prototype.get` with {@link fastOutputGet} when the installed ink is a
 * 6.8.x (read from its package.json) and uses the same ansi-tokenize copy as we do. Idempotent.
 * Returns true when installed, false when the versions do not match (Ink keeps its own pass).
 * Never throws.
 */
export async function installFastOutputPass(): Promise<boolean> {
  try {
    const inkEntry = import.meta.resolve('ink');
    const inkPackage = JSON.parse(fs.readFileSync(new URL('../package.json', inkEntry), 'utf8')) as { version?: string };
    if (!INK_OUTPUT_VERSION.test(inkPackage.version ?? '')) return false;
    // ink must resolve the same ansi-tokenize module we import (no copy nested under ink).
    if (fs.existsSync(new URL('../node_modules/@alcalzone/ansi-tokenize', inkEntry))) return false;
    const mod = (await import(new URL('./output.js', inkEntry).href)) as { default: { prototype: Record<PropertyKey, unknown> } };
    const proto = mod.default.prototype;
    if (typeof proto.get !== 'function') return false;
    if (proto[ORIGINAL]) return true;
    const original = proto.get as () => { output: string; height: number };
    proto[ORIGINAL] = original;
    proto.get = function get(this: InkOutputLike) {
      return fastOutputGet.call(this, original);
    };
    return true;
  } catch {
    return false;
  }
}

/** Ink's own `Output.prototype.get` once {@link installFastOutputPass} replaced it (tests compare both); null before. */
export async function originalOutputGet(): Promise<((this: unknown) => { output: string; height: number }) | null> {
  const inkEntry = import.meta.resolve('ink');
  const mod = (await import(new URL('./output.js', inkEntry).href)) as { default: { prototype: Record<PropertyKey, unknown> } };
  return (mod.default.prototype[ORIGINAL] as ((this: unknown) => { output: string; height: number }) | undefined) ?? null;
}
