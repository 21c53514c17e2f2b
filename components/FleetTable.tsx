/**
 * The fleet table: agent, state word, class, runtime, idle, heartbeat age, unit, card,
 * flags, the last hour's timeline (docs/transitions.md; + today's spend and evidence when wide), and the timeline's legend
 * under the rows when a line is free.
 */
import React, { useMemo } from 'react';
import { Box } from 'ink';
import { useConsole } from '../hooks/useConsoleStore.js';
import { fleetColumns, fleetColumnWidths, fleetRowCells, SPEND_COLUMN, systemdProbeOk, TIMELINE_COLUMN } from '../src/view/rows.js';
import { spendAlarm } from '../src/view/spend-rows.js';
import { scrollOffset, selectedIndex, visibleAgents } from '../src/store/selectors.js';
import { timelineStates } from '../src/transitions/timeline.js';
import type { Transition } from '../src/transitions/diff.js';
import { TIMELINE_WINDOW_SECONDS, timelineCellCount, timelineGlyph, timelineLegend, timelineText, timelineWords } from '../src/view/transition-rows.js';
import { sanitizeLine } from '../lib/sanitize.js';
import { Line, readinessColor } from './Line.js';
import { Table, type RowSegment } from './Table.js';

/** Each agent's readiness transitions, chronological (the timeline's input). Pure. */
function readinessByAgent(list: readonly Transition[]): Map<string, Transition[]> {
  const out = new Map<string, Transition[]>();
  for (const t of list) {
    if (t.scope !== 'agent' || t.kind !== 'readiness' || t.agent === null) continue;
    const own = out.get(t.agent);
    if (own) own.push(t);
    else out.set(t.agent, [t]);
  }
  return out;
}

/** Coloured runs of a timeline: consecutive cells of one state share a colour (unseen cells grey). */
function timelineRuns(states: readonly (string | null)[]): RowSegment[] {
  const runs: RowSegment[] = [];
  let last: string | null | undefined;
  for (const st of states) {
    if (runs.length && st === last) runs[runs.length - 1].text += timelineGlyph(st);
    else runs.push({ text: timelineGlyph(st), color: st === null ? 'gray' : readinessColor(st) });
    last = st;
  }
  return runs;
}

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
  const color = useConsole((s) => s.ui.color);
  const agents = useMemo(() => visibleAgents(snapshot, filter), [snapshot, filter]);
  // The timeline: cells by table width; recomputed when a cell's time passes (not every second),
  // on a new transition, or on a new snapshot.
  const cells = timelineCellCount(width);
  const stepMs = (TIMELINE_WINDOW_SECONDS * 1000) / cells;
  const bucket = useConsole((s) => Math.floor(s.ui.clockMs / stepMs));
  const transitions = useConsole((s) => s.transitions.list);
  const observedSinceMs = useConsole((s) => s.transitions.observedSinceMs);
  const byAgent = useMemo(() => readinessByAgent(transitions), [transitions]);
  const timelines = useMemo(
    () => agents.map((a) => timelineStates(byAgent.get(a.name) ?? [], a.readiness, { nowMs: (bucket + 1) * stepMs - 1, cells, observedSinceMs })),
    [agents, byAgent, bucket, stepMs, cells, observedSinceMs],
  );
  const columns = useMemo(() => fleetColumns(cells, !color), [cells, color]);
  const rows = useMemo(
    () =>
      agents.map((a, i) =>
        fleetRowCells(a, systemdProbeOk(snapshot, a), color ? timelineText(timelines[i]) : timelineWords(timelines[i], Math.max(24, cells))),
      ),
    [agents, snapshot, timelines, color, cells],
  );
  const runs = useMemo(() => (color ? timelines.map(timelineRuns) : []), [timelines, color]);
  const widths = useMemo(() => fleetColumnWidths(columns, rows, width - 2), [columns, rows, width]);
  if (height <= 0) return null;
  const unmanaged = snapshot?.unmanaged ?? [];
  const unmanagedLine = unmanaged.length
    ? sanitizeLine(`unmanaged: ${unmanaged.map((u) => `${u.session}${u.socket ? `@${u.socket}` : ''}${u.host ? ` on ${u.host}` : ''}`).join(', ')}`)
    : null;
  const afterUnmanaged = unmanagedLine && height >= 3 ? height - 1 : height;
  // The timeline's legend takes a line only when the rows leave one free.
  const legend = widths[TIMELINE_COLUMN] > 0 && agents.length > 0 && agents.length + 2 <= afterUnmanaged ? timelineLegend(cells, color) : null;
  const tableHeight = legend ? afterUnmanaged - 1 : afterUnmanaged;
  const selected = selectedIndex(
    agents.map((a) => a.name),
    selectedName,
  );
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
        columns={columns}
        widths={widths}
        rows={rows}
        width={width}
        height={empty ? Math.min(1, tableHeight) : tableHeight}
        selected={selected}
        offset={offset}
        focused={focused}
        cellColor={(row, column) =>
          column === 1
            ? readinessColor(agents[row]?.readiness ?? '')
            : agents[row]?.flags.length && (column === 8 || (column === SPEND_COLUMN && spendAlarm(agents[row].flags)))
              ? 'yellow'
              : undefined
        }
        cellRuns={(row, column) => (column === TIMELINE_COLUMN ? runs[row] : undefined)}
      />
      {legend && <Line text={legend} width={width} dim />}
      {empty && tableHeight >= 2 && <Line text={`  ${empty}`} width={width} dim />}
      {unmanagedLine && height >= 3 && <Line text={unmanagedLine} width={width} color="yellow" />}
    </Box>
  );
}
