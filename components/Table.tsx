/**
 * A small table of our own (ink-table does not load with ink 6 and mis-measures CJK/emoji):
 * widths from src/console/columns.ts, cells padded/truncated by string-width, a `>` marker on
 * the selected row (inverse too when colour is on), exactly `height` lines at most.
 */
import React from 'react';
import { Box, Text } from 'ink';
import { padToWidth, truncateToWidth } from '../src/format.js';
import type { ColumnSpec } from '../src/console/columns.js';
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
}

/** Formats one row into padded cell strings (hidden columns skipped). Pure. */
export function tableCells(columns: readonly ColumnSpec[], widths: readonly number[], cells: readonly string[]): { text: string; column: number }[] {
  const out: { text: string; column: number }[] = [];
  columns.forEach((c, i) => {
    if (widths[i] > 0) out.push({ text: padToWidth(cells[i] ?? '', widths[i], c.align), column: i });
  });
  return out;
}

/**
 * Renders the table: a header line then the visible rows, as ONE Ink text node (lines joined
 * by newlines, colours as nested Text): Ink lays out and measures per node, so one node for
 * the whole table keeps a frame cheap. Every line is already cut to `width`, so Ink never wraps.
 */
export function Table(props: TableProps): React.ReactElement | null {
  const colorOn = useConsole((s) => s.ui.color);
  if (props.height <= 0) return null;
  const header = truncateToWidth(`  ${tableCells(props.columns, props.widths, props.columns.map((c) => c.header)).map((c) => c.text).join(' ')}`, props.width).trimEnd();
  const visible = props.rows.slice(props.offset, props.offset + props.height - 1);
  const children: React.ReactNode[] = [colorOn ? <Text key="h" bold>{header}</Text> : header];
  visible.forEach((row, k) => {
    const index = props.offset + k;
    const isSelected = props.focused && index === props.selected;
    const marked = index === props.selected;
    const cells = tableCells(props.columns, props.widths, row);
    const prefix = marked ? (props.focused ? '> ' : '· ') : '  ';
    children.push('\n');
    if (!colorOn) {
      // Trailing padding is trimmed: Ink tokenizes every character it is given.
      children.push(truncateToWidth(prefix + cells.map((c) => c.text).join(' '), props.width).trimEnd());
      return;
    }
    // Uncoloured neighbours are merged into one string; coloured cells get a nested Text.
    const segments: { text: string; color: string | undefined }[] = [{ text: prefix, color: undefined }];
    cells.forEach((c, j) => {
      const color = props.cellColor?.(index, c.column);
      const text = (j ? ' ' : '') + c.text;
      const last = segments[segments.length - 1];
      if (!color && !last.color) last.text += text;
      else if (color) {
        if (j) last.text += ' ';
        segments.push({ text: c.text, color });
      } else segments.push({ text, color: undefined });
    });
    const lastSegment = segments[segments.length - 1];
    if (!isSelected) lastSegment.text = lastSegment.text.trimEnd();
    const parts = segments.map((seg, j) => (seg.color ? <Text key={j} color={seg.color}>{seg.text}</Text> : seg.text));
    children.push(isSelected ? <Text key={`r${index}`} inverse>{parts}</Text> : <React.Fragment key={`r${index}`}>{parts}</React.Fragment>);
  });
  return (
    <Box flexDirection="column">
      <Text>{children}</Text>
    </Box>
  );
}
