/** The fleet table: agent, state word, class, runtime, idle, heartbeat age, unit, card, flags (+ evidence when wide). */
import React, { useMemo } from 'react';
import { Box } from 'ink';
import { useConsole } from '../hooks/useConsoleStore.js';
import { computeColumnWidths } from '../src/view/columns.js';
import { FLEET_COLUMNS, fleetRowCells, systemdProbeOk } from '../src/view/rows.js';
import { scrollOffset, selectedIndex, visibleAgents } from '../src/store/selectors.js';
import { sanitizeLine } from '../lib/sanitize.js';
import { Line, readinessColor } from './Line.js';
import { Table } from './Table.js';

/** Size of the fleet table, cells and lines. */
export interface FleetTableProps {
  width: number;
  /** Lines available, header and unmanaged line included. */
  height: number;
}

/** Renders the filtered fleet table with the selection kept visible. */
export function FleetTable({ width, height }: FleetTableProps): React.ReactElement | null {
  const snapshot = useConsole((s) => s.fleet.snapshot);
  const filter = useConsole((s) => s.ui.filter);
  const selectedName = useConsole((s) => s.ui.selectedAgent);
  const focused = useConsole((s) => s.ui.focus === 'fleet');
  const agents = useMemo(() => visibleAgents(snapshot, filter), [snapshot, filter]);
  const rows = useMemo(() => agents.map((a) => fleetRowCells(a, systemdProbeOk(snapshot, a))), [agents, snapshot]);
  const widths = useMemo(() => computeColumnWidths(FLEET_COLUMNS, rows, width - 2), [rows, width]);
  if (height <= 0) return null;
  const unmanaged = snapshot?.unmanaged ?? [];
  const unmanagedLine = unmanaged.length
    ? sanitizeLine(`unmanaged: ${unmanaged.map((u) => `${u.session}${u.socket ? `@${u.socket}` : ''}${u.host ? ` on ${u.host}` : ''}`).join(', ')}`)
    : null;
  const tableHeight = unmanagedLine && height >= 3 ? height - 1 : height;
  const selected = selectedIndex(agents.map((a) => a.name), selectedName);
  const offset = scrollOffset(rows.length, selected, tableHeight - 1);
  const empty = !snapshot
    ? 'waiting for the first snapshot…'
    : snapshot.agents.length === 0
      ? 'no agents in the roster'
      : agents.length === 0
        ? `no agent matches "${sanitizeLine(filter)}"`
        : null;
  return (
    <Box flexDirection="column" width={width}>
      <Table
        columns={FLEET_COLUMNS}
        widths={widths}
        rows={rows}
        width={width}
        height={empty ? Math.min(1, tableHeight) : tableHeight}
        selected={selected}
        offset={offset}
        focused={focused}
        cellColor={(row, column) => (column === 1 ? readinessColor(agents[row]?.readiness ?? '') : agents[row]?.flags.length && column === 8 ? 'yellow' : undefined)}
      />
      {empty && tableHeight >= 2 && <Line text={`  ${empty}`} width={width} dim />}
      {unmanagedLine && height >= 3 && <Line text={unmanagedLine} width={width} color="yellow" />}
    </Box>
  );
}
