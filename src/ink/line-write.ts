/**
 * Changed lines of one Ink text written straight to the terminal, for Ink 6.8 (ink/build/ink.js,
 * log-update.js): the console's fleet table when only its cells moved (a live fleet's ages).
 *
 * Why: Ink draws a change by walking the whole tree into its output grid, serializing every
 * changed row of the frame and rewriting the whole frame (log-update erases every line and
 * writes ~12 KB at 200×60). A tick of a live fleet moves a few cells per row of one text; the
 * terminal needs only those rows, and the process only their bytes.
 *
 * How: each changed line of the text is written where Ink put it — the text node's position
 * summed from yoga's computed layout — by relative cursor moves from where log-update left the
 * cursor (column 0 of the line below the frame), the cells the old line covered and the new
 * one does not erased (ECH), and the cursor is put back there. Ink's bookkeeping then says "the
 * screen holds an unknown frame of the same height": `lastOutput` and log-update's previous
 * output are set to a string no frame equals (same line count), so Ink's next render writes the
 * whole frame as usual. The text node holds the new text, so that render draws it.
 *
 * Taken only where that is exact: Ink's standard (not debug, not screen-reader, not
 * incremental) log-update, a frame shorter than the terminal (not Ink's full-screen path), no
 * render pending, no cursor set by the app, no clipping or transform above the text, the same
 * number of lines, lines of printable text and SGR sequences only, none wider than the text's
 * box. Otherwise the caller lets Ink draw (false). Applied only to the Ink version it was
 * written against.
 */
import fs from 'node:fs';
import stringWidth from 'string-width';
import { isOneCellSymbol } from './output.js';

/** The Ink minor version this writer mirrors (ink 6.8.x: instance fields, log-update). */
export const INK_LINE_WRITE_VERSION = /^6\.8\./;

/** The parts of an Ink DOM node (ink/build/dom.js) the writer reads. */
export interface InkNodeLike {
  nodeName: string;
  parentNode?: InkNodeLike | null;
  style?: { overflow?: string; overflowX?: string; overflowY?: string; display?: string };
  internal_transform?: unknown;
  yogaNode?: { getComputedLeft(): number; getComputedTop(): number; getComputedWidth(): number } | undefined;
}

/** The parts of Ink's instance (ink/build/ink.js 6.8) the writer reads and sets. */
export interface InkInstanceLike {
  options: { stdout: NodeJS.WriteStream; debug?: boolean; incrementalRendering?: boolean };
  rootNode: InkNodeLike;
  isScreenReaderEnabled: boolean;
  isUnmounted: boolean;
  hasPendingThrottledRender?: boolean;
  lastOutput: string;
  lastOutputHeight: number;
  log: { sync(str: string): void; isCursorDirty(): boolean };
}

/** Ink's instances by stdout, and its synchronized-output rule, loaded by {@link loadInkLineWriter}. */
export interface InkLineWriter {
  /** Ink's live instance drawing to `stdout`, if any. */
  instanceOf(stdout: NodeJS.WriteStream): InkInstanceLike | undefined;
  /** Ink's own test for wrapping a frame in synchronized-output marks (`CSI ? 2026 h/l`). */
  shouldSynchronize(stdout: NodeJS.WriteStream): boolean;
}

/** Counters for tests (never times): texts written line by line, lines written, lines measured by string-width. */
export const lineWrites = { texts: 0, lines: 0, measured: 0 };

const BSU = '\x1b[?2026h';
const ESU = '\x1b[?2026l';

/**
 * Loads Ink's instance map and synchronized-output rule (the very modules Ink uses); null when
 * the installed Ink is not the version this writer was written against, or cannot be loaded.
 */
export async function loadInkLineWriter(): Promise<InkLineWriter | null> {
  try {
    const inkEntry = import.meta.resolve('ink');
    const inkPackage = JSON.parse(fs.readFileSync(new URL('../package.json', inkEntry), 'utf8')) as { version?: string };
    if (!INK_LINE_WRITE_VERSION.test(inkPackage.version ?? '')) return null;
    const instances = (await import(new URL('./instances.js', inkEntry).href)) as { default: WeakMap<object, InkInstanceLike> };
    const sync = (await import(new URL('./write-synchronized.js', inkEntry).href)) as { shouldSynchronize(s: NodeJS.WriteStream): boolean };
    return { instanceOf: (stdout) => instances.default.get(stdout), shouldSynchronize: sync.shouldSynchronize };
  } catch {
    return null;
  }
}

/**
 * True for a UTF-16 code unit that is neither printable ASCII nor one of the console's one-cell
 * glyphs (src/ink/output.ts {@link isOneCellSymbol}; string-width agrees, test/view/format.test.ts):
 * its width needs string-width, and a change boundary next to it is moved off it. NaN (past the
 * end) counts as such.
 */
function wide(c: number): boolean {
  return !(c >= 32 && c <= 126) && !isOneCellSymbol(c);
}

/**
 * The width of `line` in terminal cells when it holds only printable characters and SGR
 * sequences (`ESC [` digits/`;` `m`); null for anything else (other escapes, controls), which
 * Ink would sanitize. ASCII and the one-cell glyphs by a scan, the rest by string-width (what
 * Ink measures with).
 */
export function plainLineWidth(line: string): number | null {
  let width = 0;
  let ascii = true;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 27) {
      if (line.charCodeAt(i + 1) !== 91) return null;
      let j = i + 2;
      while (j < line.length && ((line.charCodeAt(j) >= 48 && line.charCodeAt(j) <= 57) || line.charCodeAt(j) === 59)) j++;
      if (line.charCodeAt(j) !== 109) return null;
      i = j;
      continue;
    }
    if (c < 32 || (c >= 127 && c < 160)) return null;
    if (wide(c)) ascii = false;
    width++;
  }
  if (ascii) return width;
  lineWrites.measured++;
  return stringWidth(line);
}

/** Where `node`'s text starts in Ink's frame (columns, rows from its top-left); null when Ink would clip, hide or transform it. */
function framePosition(node: InkNodeLike, root: InkNodeLike): { x: number; y: number } | null {
  let x = 0;
  let y = 0;
  for (let n: InkNodeLike | null | undefined = node; n; n = n.parentNode) {
    const style = n.style ?? {};
    if (n !== node && (style.overflow === 'hidden' || style.overflowX === 'hidden' || style.overflowY === 'hidden')) return null;
    if (style.display === 'none' || !n.yogaNode) return null;
    if (n !== node && n.internal_transform) return null;
    x += n.yogaNode.getComputedLeft();
    y += n.yogaNode.getComputedTop();
    if (n === root) return { x, y };
  }
  return null;
}

/** The cursor moved `rows` down (negative: up), column kept; '' for none. */
function verticalMove(rows: number): string {
  return rows > 0 ? `\x1b[${rows}B` : rows < 0 ? `\x1b[${-rows}A` : '';
}

/** True when Ink's last frame is on screen as log-update's standard mode left it (see the module comment). */
function inkFrameSettled(ink: InkInstanceLike): boolean {
  const { stdout } = ink.options;
  return (
    !ink.options.debug &&
    !ink.options.incrementalRendering &&
    !ink.isScreenReaderEnabled &&
    !ink.isUnmounted &&
    !ink.hasPendingThrottledRender &&
    !ink.log.isCursorDirty() &&
    stdout.isTTY === true &&
    ink.lastOutput !== '' &&
    ink.lastOutputHeight > 0 &&
    ink.lastOutputHeight < (stdout.rows ?? 0)
  );
}

/**
 * The bytes that turn `before` into `after` on the current row, whose text starts at column `x`
 * (0-based), ending in the default colours: from the first differing character — its colours
 * set by replaying the SGR sequences before it — to the last one when both lines are as wide
 * (the rest is on screen already), else to the line's end. Boundaries never split an SGR
 * sequence and sit between printable ASCII characters (else they move outwards), so the
 * column of the first is the count of characters before it.
 */
function lineChange(before: string, after: string, x: number, sameWidth: boolean): string {
  const n = Math.min(before.length, after.length);
  let from = 0;
  while (from < n && before.charCodeAt(from) === after.charCodeAt(from)) from++;
  let suffix = 0;
  while (suffix < n - from && before.charCodeAt(before.length - 1 - suffix) === after.charCodeAt(after.length - 1 - suffix)) suffix++;
  let to = sameWidth ? after.length - suffix : after.length;
  // Off non-ASCII neighbours (a wide or combining character is written whole, with its neighbours).
  while (from > 0 && (wide(after.charCodeAt(from)) || wide(before.charCodeAt(from)) || wide(after.charCodeAt(from - 1)))) from--;
  while (to < after.length && (wide(after.charCodeAt(to)) || wide(after.charCodeAt(to - 1)))) to++;
  // The prefix's SGR sequences (replayed), its width, and a start inside a sequence moved to its start.
  let codes = '';
  let column = 0;
  let ascii = true;
  for (let i = 0; i < from; i++) {
    const c = after.charCodeAt(i);
    if (c !== 27) {
      if (wide(c)) ascii = false;
      column++;
      continue;
    }
    const end = after.indexOf('m', i);
    if (end >= from) {
      from = i;
      break;
    }
    codes += after.slice(i, end + 1);
    i = end;
  }
  if (!ascii) column = stringWidth(after.slice(0, from));
  // An end inside a sequence moved past it.
  const open = after.lastIndexOf('\x1b', to - 1);
  if (open >= from && after.indexOf('m', open) >= to) to = after.indexOf('m', open) + 1;
  const text = codes + after.slice(from, to);
  return `\x1b[${x + column + 1}G${text}${text.includes('\x1b') ? '\x1b[0m' : ''}`;
}

/**
 * Writes the lines of Ink text node `node` that differ between `before` (on screen in Ink's
 * last frame) and `after` (already set on the node), and marks Ink's frame as unknown (its
 * next render rewrites it whole). `root`: Ink's root node above `node`. True when written;
 * false (nothing written, nothing changed) when the writer cannot be exact here (see the
 * module comment) — let Ink render then.
 */
export function writeChangedLines(writer: InkLineWriter, ink: InkInstanceLike, node: InkNodeLike, before: string, after: string): boolean {
  if (!inkFrameSettled(ink)) return false;
  const at = framePosition(node, ink.rootNode);
  const boxWidth = node.yogaNode?.getComputedWidth() ?? 0;
  const old = before.split('\n');
  const next = after.split('\n');
  const height = ink.lastOutputHeight;
  if (!at || old.length !== next.length || at.y + next.length > height) return false;
  let out = '';
  let row = height;
  let lines = 0;
  for (let k = 0; k < next.length; k++) {
    const line = next[k]!;
    if (line === old[k]) continue;
    const width = plainLineWidth(line);
    const oldWidth = plainLineWidth(old[k]!);
    if (width === null || oldWidth === null || width > boxWidth || oldWidth > boxWidth) return false;
    const target = at.y + k;
    out += verticalMove(target - row) + lineChange(old[k]!, line, at.x, width === oldWidth);
    // The cells the old line covered beyond the new one, erased in place (ECH, default colours):
    // blank as log-update's erased lines are.
    if (oldWidth > width) out += `\x1b[${oldWidth - width}X`;
    row = target;
    lines++;
  }
  if (lines === 0) return true;
  out += `${verticalMove(height - row)}\r`;
  const { stdout } = ink.options;
  const sync = writer.shouldSynchronize(stdout);
  stdout.write(sync ? BSU + out + ESU : out);
  // The screen now holds a frame Ink did not compute: no frame equals this (a NUL is never
  // drawn), and it has the line count of the last one, so log-update erases it whole next time.
  const unknown = `\0${ink.lastOutput}\n`;
  ink.lastOutput = unknown;
  ink.log.sync(unknown);
  lineWrites.texts++;
  lineWrites.lines += lines;
  return true;
}
