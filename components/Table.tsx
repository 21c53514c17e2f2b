/**
 * A small table of our own (ink-table does not load with ink 6 and mis-measures CJK/emoji):
 * widths from src/view/columns.ts, cells padded/truncated by string-width, a `>` marker on
 * the selected row (inverse too when colour is on), exactly `height` lines at most.
 */
import React from 'react';
import { Box, Text, type DOMElement } from 'ink';
import chalk from 'chalk';
import { padToWidth, scrollPosition, truncateToWidth } from '../src/view/format.js';
import type { ColumnSpec } from '../src/view/columns.js';
import { useConsole } from '../hooks/useConsoleStore.js';

/** Props of {@link Table}. */
export interface TableProps {
  columns: readonly ColumnSpec[];
  /** One width per column (0 = hidden), from computeColumnWidths for `width - 2`. */
  widths: readonly number[];
  /** Sanitized display cells, one array per row. */
  rows: readonly (readonly string[])[];
  /** Total width in cells (marker included). */
  width: number;
  /** Lines available including the header line. */
  height: number;
  /** Selected row index, -1 for none. */
  selected: number;
  /** First row shown (scrolling). */
  offset: number;
  /** Mark the selection (the panel has focus). */
  focused: boolean;
  /** Per-cell colour (e.g. readiness words), undefined = default. */
  cellColor?: (row: number, column: number) => string | undefined;
  /**
   * Per-cell coloured runs (e.g. the timeline: one colour per glyph), used when colour is on and
   * their text is exactly the cell's padded text; undefined = the cell as one run.
   */
  cellRuns?: (row: number, column: number) => readonly RowSegment[] | undefined;
}

/** Formats one row into padded cell strings (hidden columns skipped). Pure. */
export function tableCells(columns: readonly ColumnSpec[], widths: readonly number[], cells: readonly string[]): { text: string; column: number }[] {
  const out: { text: string; column: number }[] = [];
  columns.forEach((c, i) => {
    const width = widths[i] ?? 0;
    if (width > 0) out.push({ text: padToWidth(cells[i] ?? '', width, c.align), column: i });
  });
  return out;
}

/**
 * `<Text color={color}>{text}</Text>` as a string: Ink's colorize for a named chalk colour or a
 * `#rrggbb` hex (the same chalk instance as Ink's, so the same codes at the same colour level);
 * any other colour leaves the text plain, as Ink does for names it does not know.
 */
export function colorText(text: string, color: string): string {
  const named = (chalk as unknown as Partial<Record<string, (t: string) => string>>)[color];
  if (color in chalk && typeof named === 'function') return named(text);
  if (color.startsWith('#')) return chalk.hex(color)(text);
  return text;
}

/**
 * The header line: column names cut to the width; when rows are scrolled out of view, which
 * are shown ({@link scrollPosition}) at the right edge. Plain text (no colour).
 */
export function tableHeader(props: Pick<TableProps, 'columns' | 'widths' | 'width' | 'offset' | 'rows'>, shown: number): string {
  const names = `  ${tableCells(
    props.columns,
    props.widths,
    props.columns.map((c) => c.header),
  )
    .map((c) => c.text)
    .join(' ')}`;
  const position = shown < props.rows.length ? scrollPosition(props.offset, shown, props.rows.length) : '';
  if (!position || props.width <= position.length + 10) return truncateToWidth(names, props.width).trimEnd();
  return padToWidth(truncateToWidth(names, props.width - position.length - 1), props.width - position.length) + position;
}

/** A run of a row's text with one colour (undefined: uncoloured). */
export interface RowSegment {
  text: string;
  color: string | undefined;
}

/**
 * One row as coloured runs: the selection `prefix`, then the cells joined by a blank;
 * uncoloured neighbours are merged into one run, coloured cells (`props.cellColor` of row
 * `index`) stand alone. `trimEnd` trims the padding of the last run (unselected rows: Ink
 * tokenizes every character it is given).
 */
export function rowSegments(
  props: Pick<TableProps, 'cellColor' | 'cellRuns'>,
  index: number,
  prefix: string,
  cells: { text: string; column: number }[],
  trimEnd: boolean,
): RowSegment[] {
  // Never empty: the prefix is the first segment, `last` the one text is appended to.
  let last: RowSegment = { text: prefix, color: undefined };
  const segments: RowSegment[] = [last];
  const push = (segment: RowSegment) => {
    segments.push(segment);
    last = segment;
  };
  cells.forEach((c, j) => {
    const runs = props.cellRuns?.(index, c.column);
    if (runs && runs.map((r) => r.text).join('') === c.text) {
      if (j) last.text += ' ';
      for (const r of runs) push({ text: r.text, color: r.color });
      return;
    }
    const color = props.cellColor?.(index, c.column);
    const cellText = (j ? ' ' : '') + c.text;
    if (!color && !last.color) last.text += cellText;
    else if (color) {
      if (j) last.text += ' ';
      push({ text: c.text, color });
    } else push({ text: cellText, color: undefined });
  });
  if (trimEnd) last.text = last.text.trimEnd();
  return segments;
}

/**
 * The table's text: a header line then the visible rows, one string (what {@link Table} draws).
 * Colours (header bold, state words, flags, the inverse selection) are applied with chalk
 * exactly as nested `<Text>` would (colorize the cell, then inverse the whole row). Every line
 * is already cut to `width`. Pure. `colorOn`: the store's `ui.color`.
 */
export function tableText(props: TableProps, colorOn: boolean): string {
  const visible = props.rows.slice(props.offset, props.offset + props.height - 1);
  const header = tableHeader(props, visible.length);
  let text = colorOn ? chalk.bold(header) : header;
  visible.forEach((row, k) => {
    const index = props.offset + k;
    const isSelected = props.focused && index === props.selected;
    const marked = index === props.selected;
    const cells = tableCells(props.columns, props.widths, row);
    const prefix = marked ? (props.focused ? '> ' : '· ') : '  ';
    text += '\n';
    if (!colorOn) {
      // Trailing padding is trimmed: Ink tokenizes every character it is given.
      text += truncateToWidth(prefix + cells.map((c) => c.text).join(' '), props.width).trimEnd();
      return;
    }
    const segments = rowSegments(props, index, prefix, cells, !isSelected);
    // Ink skips an empty nested Text's colours; so does this.
    const line = segments.map((seg) => (seg.color && seg.text ? colorText(seg.text, seg.color) : seg.text)).join('');
    text += isSelected && line ? chalk.inverse(line) : line;
  });
  return text;
}

/** Where a table's text lives in Ink's tree, for a redraw of the text alone (components/FleetTable.tsx). */
export interface TableHost {
  /** The table's Box, set by Ink once mounted (its first child is the text). */
  box: DOMElement | null;
  /** Bumped by each redraw made behind React's back: the text is remounted at the next render, so React never keeps a text it did not draw. */
  redraws: number;
  /** The Box's ref (one function for the host's life). */
  ref: (node: DOMElement | null) => void;
}

/** A new {@link TableHost}. */
export function createTableHost(): TableHost {
  const host: TableHost = {
    box: null,
    redraws: 0,
    ref: (node) => {
      host.box = node;
    },
  };
  return host;
}

/**
 * Renders the table ({@link tableText}) as ONE Ink text node holding ONE string: React and
 * Ink's text squashing handle one node per frame instead of ~150. With `host`, the Box is
 * exposed there so the text can be redrawn alone; `text`: the table's text when the caller
 * has it already (it must be `tableText(props, ui.color)`).
 */
export function Table(props: TableProps & { host?: TableHost; text?: string }): React.ReactElement | null {
  const colorOn = useConsole((s) => s.ui.color);
  const host = props.host;
  if (props.height <= 0) return null;
  return (
    <Box flexDirection="column" ref={host?.ref}>
      <Text key={host?.redraws ?? 0}>{props.text ?? tableText(props, colorOn)}</Text>
    </Box>
  );
}
