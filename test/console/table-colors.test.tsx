/**
 * The fleet table builds its colours as one string (components/Table.tsx) instead of nested
 * `<Text>` elements: the frame must be byte-identical to the nested rendering Ink would make,
 * at every colour level, with the selection focused, unfocused and scrolled.
 */
import React from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { Box, Text } from 'ink';
import chalk from 'chalk';
import { Table, rowSegments, tableCells, tableHeader, type TableProps } from '../../components/Table.js';
import { useConsole } from '../../hooks/useConsoleStore.js';
import { truncateToWidth } from '../../src/view/format.js';
import type { ColumnSpec } from '../../src/view/columns.js';
import { renderConsole, type Rendered } from '../helpers/render.js';
import { at } from '../helpers/must.js';

/** The nested-Text table as it was before (reference rendering). */
function NestedTable(props: TableProps): React.ReactElement | null {
  const colorOn = useConsole((s) => s.ui.color);
  if (props.height <= 0) return null;
  const visible = props.rows.slice(props.offset, props.offset + props.height - 1);
  const header = tableHeader(props, visible.length);
  const children: React.ReactNode[] = [
    colorOn ? (
      <Text key="h" bold>
        {header}
      </Text>
    ) : (
      header
    ),
  ];
  visible.forEach((row, k) => {
    const index = props.offset + k;
    const isSelected = props.focused && index === props.selected;
    const marked = index === props.selected;
    const cells = tableCells(props.columns, props.widths, row);
    const prefix = marked ? (props.focused ? '> ' : '· ') : '  ';
    children.push('\n');
    if (!colorOn) {
      children.push(truncateToWidth(prefix + cells.map((c) => c.text).join(' '), props.width).trimEnd());
      return;
    }
    // Same runs as the real table; what differs is how they are coloured (nested Text here).
    const segments = rowSegments(props, index, prefix, cells, !isSelected);
    const parts = segments.map((seg, j) =>
      seg.color ? (
        <Text key={j} color={seg.color}>
          {seg.text}
        </Text>
      ) : (
        seg.text
      ),
    );
    children.push(
      isSelected ? (
        <Text key={`r${index}`} inverse>
          {parts}
        </Text>
      ) : (
        <React.Fragment key={`r${index}`}>{parts}</React.Fragment>
      ),
    );
  });
  return (
    <Box flexDirection="column">
      <Text>{children}</Text>
    </Box>
  );
}

const columns: ColumnSpec[] = [
  { key: 'agent', header: 'AGENT', min: 5, priority: 0 },
  { key: 'state', header: 'STATE', min: 5, priority: 0 },
  { key: 'idle', header: 'IDLE', min: 4, priority: 1, align: 'right' },
  { key: 'flags', header: 'FLAGS', min: 5, priority: 2 },
  { key: 'evidence', header: 'EVIDENCE', min: 8, priority: 3 },
];
const colors = ['green', 'cyan', 'yellow', 'magenta', 'red', undefined, '#ff8800', 'nonsense'];
const rows = Array.from({ length: 12 }, (_, i) => [
  `agent${i}`,
  at(['working', 'available', 'stale', 'unknown', 'dead', 'odd', 'hex', 'bad'], i % 8),
  `${i * 7}s`,
  i % 3 ? '' : 'DRIFT',
  i % 4 ? `heartbeat ${i}s old ^[]2;x^G` : '',
]);

let current: Rendered | null = null;
const savedLevel = chalk.level;
afterEach(() => {
  current?.unmount();
  current = null;
  chalk.level = savedLevel;
});

async function frameOf(element: React.ReactElement, color: boolean): Promise<string> {
  current?.unmount();
  current = renderConsole({ columns: 100, rows: 20, color }, element);
  const f = await current.waitFor((frame) => frame.includes('AGENT'), 'table');
  current.unmount();
  current = null;
  return f;
}

describe('Table colours as one string', () => {
  for (const level of [0, 1, 2, 3] as const) {
    it(`same frame as nested <Text> at chalk level ${level}`, async () => {
      chalk.level = level;
      for (const [selected, focused, offset] of [
        [0, true, 0],
        [3, true, 0],
        [3, false, 0],
        [9, true, 5],
        [-1, true, 0],
      ] as const) {
        const props: TableProps = {
          columns,
          widths: [8, 9, 5, 5, 30],
          rows,
          width: 100,
          height: 10,
          selected,
          offset,
          focused,
          cellColor: (row, column) => (column === 1 ? colors[row % colors.length] : column === 3 && at(rows, row)[3] ? 'yellow' : undefined),
        };
        for (const color of [true, false]) {
          const ours = await frameOf(<Table {...props} />, color);
          const nested = await frameOf(<NestedTable {...props} />, color);
          expect(ours, `selected ${selected} focused ${focused} offset ${offset} color ${color}`).toBe(nested);
          if (level > 0 && color) expect(ours).toContain('\u001b[');
        }
      }
    });
  }
});
