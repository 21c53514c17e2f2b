/**
 * Column widths for the console's tables, computed by a pure function measured in terminal
 * cells (string-width: CJK and emoji count 2). Our own, because ink-table does not load with
 * ink 6 and measures with String.length (field notes).
 */
import { displayWidth } from './format.js';

/** A column of a table. */
export interface ColumnSpec {
  key: string;
  header: string;
  /** Narrowest useful width, cells (content is truncated with `…` below its natural width). */
  min: number;
  /** Widest it may grow, cells (undefined = as wide as its content). */
  max?: number;
  /** Higher keeps the column longer when space is short; the lowest goes first. */
  priority: number;
  align?: 'left' | 'right';
  /** Shown only when every other visible column gets its natural width (e.g. evidence). */
  optional?: boolean;
}

/**
 * Widths for `columns` so that the sum of visible widths plus one-cell gaps fits `totalWidth`.
 * Each column's natural width is its widest cell or header (clamped to [min, max]). Columns
 * are dropped (width 0) from the lowest priority while even their minimums do not fit; then
 * every visible column gets its minimum and spare cells go to columns by priority up to their
 * natural width. `optional` columns are dropped, lowest priority first, while a core column
 * would be cut.
 * Returns one width per column (0 = hidden). `rows` are display strings.
 */
export function computeColumnWidths(columns: readonly ColumnSpec[], rows: readonly (readonly string[])[], totalWidth: number): number[] {
  return fitColumnWidths(columns, naturalColumnWidths(columns, rows), totalWidth);
}

/**
 * {@link computeColumnWidths} from the columns' natural widths ({@link naturalColumnWidths}):
 * a column's natural width depends on its own cells only, so it is measured once and every fit
 * (with and without the optional columns) reads it.
 */
export function fitColumnWidths(columns: readonly ColumnSpec[], natural: readonly number[], totalWidth: number): number[] {
  // Optional columns (spend, evidence) never take room the core columns need: drop them one at
  // a time, lowest priority first, until no core column is cut.
  const dropOrder = columns
    .map((c, i) => ({ c, i }))
    .filter(({ c }) => c.optional)
    .sort((a, b) => a.c.priority - b.c.priority || b.i - a.i)
    .map(({ i }) => i);
  const kept = columns.map(() => true);
  for (let dropped = 0; ; dropped++) {
    const keep = columns.map((c, i) => ({ c, i })).filter(({ i }) => kept[i]);
    const fit = fitColumns(
      keep.map(({ c }) => c),
      keep.map(({ i }) => natural[i] ?? 0),
      totalWidth,
    );
    const widths = columns.map(() => 0);
    keep.forEach(({ i }, k) => {
      widths[i] = fit[k] ?? 0;
    });
    const squeezed = columns.some((c, i) => {
      const width = widths[i] ?? 0;
      return !c.optional && width > 0 && width < (natural[i] ?? 0);
    });
    const optionalShown = columns.some((c, i) => c.optional && (widths[i] ?? 0) > 0);
    const drop = dropOrder[dropped];
    if (!squeezed || !optionalShown || drop === undefined) return widths;
    kept[drop] = false;
  }
}

/** Each column's natural width: its widest cell or header (cells), clamped to [min, max]. `rows` are display strings. */
export function naturalColumnWidths(columns: readonly ColumnSpec[], rows: readonly (readonly string[])[]): number[] {
  return columns.map((c, i) => {
    let w = displayWidth(c.header);
    for (const row of rows) {
      const cell = row[i] ?? '';
      // A cell no longer than half the widest so far cannot be wider (a character is at most 2 cells).
      if (cell.length * 2 > w) w = Math.max(w, displayWidth(cell));
    }
    return clampWidth(c, w);
  });
}

/** {@link naturalColumnWidths} from the cells' widths already measured (`cellWidths[row][column]`, cells). */
export function naturalColumnWidthsOf(columns: readonly ColumnSpec[], cellWidths: readonly (readonly number[])[]): number[] {
  return columns.map((c, i) => {
    let w = displayWidth(c.header);
    for (const row of cellWidths) w = Math.max(w, row[i] ?? 0);
    return clampWidth(c, w);
  });
}

/** `w` (cells) clamped to the column's [min, max]: its natural width when its widest cell or header is `w` wide. */
export function clampWidth(c: ColumnSpec, w: number): number {
  return Math.max(c.min, Math.min(c.max ?? Number.POSITIVE_INFINITY, w));
}

/** Widths of `columns` (whose natural widths are `natural`) in `totalWidth` cells: see {@link computeColumnWidths}. */
function fitColumns(columns: readonly ColumnSpec[], natural: readonly number[], totalWidth: number): number[] {
  const visible = columns.map(() => true);
  const need = () => columns.reduce((sum, c, i) => (visible[i] ? sum + c.min : sum), 0) + Math.max(0, visible.filter(Boolean).length - 1);
  const byPriorityAsc = columns.map((c, i) => ({ p: c.priority, i })).sort((a, b) => a.p - b.p || b.i - a.i);
  for (const { i } of byPriorityAsc) {
    if (need() <= totalWidth) break;
    visible[i] = false;
  }
  const widths = columns.map((c, i) => (visible[i] ? c.min : 0));
  let spare = totalWidth - need();
  if (spare < 0) return widths.map(() => 0);
  const byPriorityDesc = [...byPriorityAsc].reverse();
  for (const { i } of byPriorityDesc) {
    const width = widths[i];
    if (!visible[i] || spare <= 0 || width === undefined) continue;
    const extra = Math.min(spare, (natural[i] ?? width) - width);
    widths[i] = width + extra;
    spare -= extra;
  }
  return widths;
}
