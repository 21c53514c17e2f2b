/**
 * The fleet table: agent, state word, class, runtime, idle, heartbeat age, unit, card,
 * flags, the last hour's timeline (docs/transitions.md; + today's spend and evidence when wide), and the timeline's legend
 * under the rows when a line is free.
 */
import React, { useMemo, useState } from 'react';
import { Box } from 'ink';
import { useConsole } from '../hooks/useConsoleStore.js';
import {
  fleetColumns,
  fleetColumnWidths,
  fleetEmptyLine,
  SPEND_COLUMN,
  systemdProbeOk,
  TIMELINE_COLUMN,
  unmanagedLine as unmanagedText,
} from '../src/view/rows.js';
import { spendAlarm } from '../src/view/spend-rows.js';
import { scrollOffset, selectedIndex, visibleAgents } from '../src/store/selectors.js';
import { cachedFleetRow, cachedTimelineStates, createFleetRowCache, pruneFleetRowCache } from '../src/view/fleet-rows.js';
import {
  TIMELINE_WINDOW_SECONDS,
  readinessByAgent,
  timelineCellCount,
  timelineGlyph,
  timelineLegend,
  timelineText,
  timelineWords,
} from '../src/view/transition-rows.js';
import { Line, readinessColor } from './Line.js';
import { Table, type RowSegment } from './Table.js';
import type { AgentRow } from '../src/snapshot/types.js';
import type { Transition } from '../src/transitions/diff.js';

const NO_HISTORY: readonly Transition[] = Object.freeze([]);

/** Glyphs and coloured runs of a timeline's states (an array kept by the row cache while its inputs hold). */
const timelineTexts = new WeakMap<readonly (string | null)[], { text: string; runs: RowSegment[] }>();
function timelineDrawn(states: readonly (string | null)[]): { text: string; runs: RowSegment[] } {
  let drawn = timelineTexts.get(states);
  if (!drawn) {
    drawn = { text: timelineText(states), runs: timelineRuns(states) };
    timelineTexts.set(states, drawn);
  }
  return drawn;
}

/** Coloured runs of a timeline: consecutive cells of one state share a colour (unseen cells grey). */
function timelineRuns(states: readonly (string | null)[]): RowSegment[] {
  const runs: RowSegment[] = [];
  let run: RowSegment | null = null;
  let last: string | null | undefined;
  for (const st of states) {
    if (run && st === last) run.text += timelineGlyph(st);
    else {
      run = { text: timelineGlyph(st), color: st === null ? 'gray' : readinessColor(st) };
      runs.push(run);
    }
    last = st;
  }
  return runs;
}

/** A fleet cell's colour: the state word by readiness; flags (and spend on a spend alarm) yellow when the agent has flags. */
function fleetCellColor(agent: AgentRow | undefined, column: number): string | undefined {
  if (!agent) return undefined;
  if (column === 1) return readinessColor(agent.readiness);
  if (agent.flags.length && (column === 8 || (column === SPEND_COLUMN && spendAlarm(agent.flags)))) return 'yellow';
  return undefined;
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
  // Per-agent rows and timelines kept between snapshots: a snapshot costs what changed in it.
  const [cache] = useState(createFleetRowCache);
  const timelines = useMemo(() => {
    pruneFleetRowCache(cache, agents.length);
    const opts = { nowMs: (bucket + 1) * stepMs - 1, cells, observedSinceMs };
    return agents.map((a) => cachedTimelineStates(cache, a.name, byAgent.get(a.name) ?? NO_HISTORY, a.readiness, opts));
  }, [cache, agents, byAgent, bucket, stepMs, cells, observedSinceMs]);
  const columns = useMemo(() => fleetColumns(cells, !color), [cells, color]);
  const entries = useMemo(
    () =>
      agents.map((a, i) => {
        const states = timelines[i] ?? [];
        return cachedFleetRow(cache, a, systemdProbeOk(snapshot, a), color ? timelineDrawn(states).text : timelineWords(states, Math.max(24, cells)));
      }),
    [cache, agents, snapshot, timelines, color, cells],
  );
  const rows = useMemo(() => entries.map((e) => e.cells), [entries]);
  const runs = useMemo(() => (color ? timelines.map((states) => timelineDrawn(states).runs) : []), [timelines, color]);
  const widths = useMemo(
    () =>
      fleetColumnWidths(
        columns,
        rows,
        width - 2,
        entries.map((e) => e.widths),
      ),
    [columns, rows, entries, width],
  );
  if (height <= 0) return null;
  const unmanagedLine = unmanagedText(snapshot);
  const afterUnmanaged = unmanagedLine && height >= 3 ? height - 1 : height;
  // The timeline's legend takes a line only when the rows leave one free.
  const legend = (widths[TIMELINE_COLUMN] ?? 0) > 0 && agents.length > 0 && agents.length + 2 <= afterUnmanaged ? timelineLegend(cells, color) : null;
  const tableHeight = legend ? afterUnmanaged - 1 : afterUnmanaged;
  const selected = selectedIndex(
    agents.map((a) => a.name),
    selectedName,
  );
  const offset = scrollOffset(rows.length, selected, tableHeight - 1);
  const empty = fleetEmptyLine(snapshot, agents.length, filter);
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
        cellColor={(row, column) => fleetCellColor(agents[row], column)}
        cellRuns={(row, column) => (column === TIMELINE_COLUMN ? runs[row] : undefined)}
      />
      {legend && <Line text={legend} width={width} dim />}
      {empty && tableHeight >= 2 && <Line text={`  ${empty}`} width={width} dim />}
      {unmanagedLine && height >= 3 && <Line text={unmanagedLine} width={width} color="yellow" />}
    </Box>
  );
}
