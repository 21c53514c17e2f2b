/**
 * The fleet table: agent, state word, class, runtime, idle, heartbeat age, unit, card,
 * flags, the last hour's timeline (docs/transitions.md; + today's spend and evidence when wide), and the timeline's legend
 * under the rows when a line is free.
 */
import React, { useLayoutEffect, useMemo, useState } from 'react';
import { Box } from 'ink';
import { useConsole, useConsoleStoreApi } from '../hooks/useConsoleStore.js';
import {
  fitFleetColumnWidths,
  fleetColumns,
  fleetEmptyLine,
  SPEND_COLUMN,
  systemdProbeOk,
  TIMELINE_COLUMN,
  unmanagedLine as unmanagedText,
} from '../src/view/rows.js';
import { spendAlarm } from '../src/view/spend-rows.js';
import { scrollOffset, selectedAgentIndex, visibleAgents } from '../src/store/selectors.js';
import {
  cachedFleetRow,
  cachedTimelineStates,
  createFleetRowCache,
  fleetNaturalWidths,
  pruneFleetRowCache,
  type FleetRowCache,
} from '../src/view/fleet-rows.js';
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
import { createTableHost, Table, tableText, type RowSegment, type TableHost, type TableProps } from './Table.js';
import type { AgentRow, Snapshot } from '../src/snapshot/types.js';
import type { ConsoleStore } from '../src/store/index.js';
import { writeChangedLines, type InkInstanceLike, type InkLineWriter } from '../src/ink/line-write.js';
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

/** What the fleet table draws from besides the snapshot: the store's UI state and the props, as of one render. */
interface FleetTableInputs {
  filter: string;
  selectedName: string | null;
  focused: boolean;
  color: boolean;
  width: number;
  height: number;
  /** Timeline cells, and the clock cell the timelines were drawn for (`floor(clockMs / stepMs)`). */
  cells: number;
  stepMs: number;
  bucket: number;
  transitions: readonly Transition[];
  byAgent: ReadonlyMap<string, readonly Transition[]>;
  observedSinceMs: number | null;
}

/**
 * The table's columns and their widths for one snapshot: all a render keeps (a memo of it holds
 * nothing of any agent, so no old snapshot stays alive behind quiet cell redraws).
 */
interface FleetTableLayout {
  columns: ReturnType<typeof fleetColumns>;
  widths: number[];
}

/** The timeline cell's text of `states`: glyphs (colour) or words (NO_COLOR). */
function timelineCell(states: readonly (string | null)[], inp: FleetTableInputs): string {
  return inp.color ? timelineDrawn(states).text : timelineWords(states, Math.max(24, inp.cells));
}

/** `agent`'s timeline states for `inp`, through the per-agent `cache`. */
function agentTimeline(cache: FleetRowCache, agent: AgentRow, inp: FleetTableInputs): (string | null)[] {
  // Recomputed when a cell's time passes (not every second), on a new transition, or on a new snapshot.
  const opts = { nowMs: (inp.bucket + 1) * inp.stepMs - 1, cells: inp.cells, observedSinceMs: inp.observedSinceMs };
  return cachedTimelineStates(cache, agent.name, inp.byAgent.get(agent.name) ?? NO_HISTORY, agent.readiness, opts);
}

/**
 * Columns and widths of `snapshot`'s table for `inp`: the widths every visible agent's row
 * gives (src/view/fleet-rows.ts `fleetNaturalWidths`), with no row made or kept.
 */
function fleetTableLayout(cache: FleetRowCache, snapshot: Snapshot | null, inp: FleetTableInputs): FleetTableLayout {
  const agents = visibleAgents(snapshot, inp.filter);
  const columns = fleetColumns(inp.cells, !inp.color);
  const { natural, spendShown } = fleetNaturalWidths(
    columns,
    agents,
    (a) => systemdProbeOk(snapshot, a),
    (i) => timelineCell(agentTimeline(cache, agents[i] as AgentRow, inp), inp),
  );
  return { columns, widths: fitFleetColumnWidths(columns, natural, spendShown, inp.width - 2) };
}

/** What the fleet table draws: the Table's props (null when there is no room), and the lines under it. */
interface FleetTableView {
  table: TableProps | null;
  legend: string | null;
  empty: string | null;
  unmanaged: string | null;
}

/**
 * The table's props and the lines under it for `layout`. Only the rows in view are made
 * (through `cache`); the Table reads no other (`rows` holds those alone, at their indexes).
 */
function fleetTableView(layout: FleetTableLayout, cache: FleetRowCache, snapshot: Snapshot | null, inp: FleetTableInputs): FleetTableView {
  const { height, width } = inp;
  if (height <= 0) return { table: null, legend: null, empty: null, unmanaged: null };
  const agents = visibleAgents(snapshot, inp.filter);
  const unmanagedLine = unmanagedText(snapshot);
  const afterUnmanaged = unmanagedLine && height >= 3 ? height - 1 : height;
  // The timeline's legend takes a line only when the rows leave one free.
  const legend =
    (layout.widths[TIMELINE_COLUMN] ?? 0) > 0 && agents.length > 0 && agents.length + 2 <= afterUnmanaged ? timelineLegend(inp.cells, inp.color) : null;
  const tableHeight = legend ? afterUnmanaged - 1 : afterUnmanaged;
  const selected = selectedAgentIndex(agents, inp.selectedName);
  const empty = fleetEmptyLine(snapshot, agents.length, inp.filter);
  const drawnHeight = empty ? Math.min(1, tableHeight) : tableHeight;
  const offset = scrollOffset(agents.length, selected, tableHeight - 1);
  const shown = agents.slice(offset, offset + Math.max(0, drawnHeight - 1));
  pruneFleetRowCache(cache, shown.length, agents.length);
  const rows = new Array<readonly string[]>(agents.length);
  const runs: (readonly RowSegment[])[] = [];
  for (let k = 0; k < shown.length; k++) {
    const agent = shown[k] as AgentRow;
    const states = agentTimeline(cache, agent, inp);
    rows[offset + k] = cachedFleetRow(cache, agent, systemdProbeOk(snapshot, agent), timelineCell(states, inp)).cells;
    if (inp.color) runs.push(timelineDrawn(states).runs);
  }
  return {
    table: {
      columns: layout.columns,
      widths: layout.widths,
      rows,
      width,
      height: drawnHeight,
      selected,
      offset,
      focused: inp.focused,
      cellColor: (row, column) => fleetCellColor(shown[row - offset], column),
      cellRuns: (row, column) => (column === TIMELINE_COLUMN ? runs[row - offset] : undefined),
    },
    legend,
    empty: empty && tableHeight >= 2 ? empty : null,
    unmanaged: unmanagedLine && height >= 3 ? unmanagedLine : null,
  };
}

/** A mounted fleet table as last drawn: what a redraw of its text alone needs. */
interface FleetTableTarget {
  host: TableHost;
  cache: FleetRowCache;
  inputs: FleetTableInputs;
  view: FleetTableView;
  /** The table's text as on screen (drawn by React or by {@link redrawFleetCells}). */
  text: string | null;
}

/** The mounted fleet table of each store (the console mounts one). */
const targets = new WeakMap<ConsoleStore, FleetTableTarget>();

/** Work of {@link redrawFleetCells}, for tests that count it (never times): texts redrawn, refusals, redraws written line by line. */
export const fleetCellRedraws = { redrawn: 0, refused: 0, written: 0 };

/** Where the console's Ink draws, for a redraw written line by line (src/ink/line-write.ts). */
export interface DirectLines {
  writer: InkLineWriter;
  stdout: NodeJS.WriteStream;
}

/** True when the store's UI state is the one `inp` was drawn for (else React redraws the table anyway). */
function sameInputs(store: ConsoleStore, inp: FleetTableInputs): boolean {
  const s = store.getState();
  return (
    s.ui.open.kind === 'none' &&
    s.ui.filter === inp.filter &&
    s.ui.selectedAgent === inp.selectedName &&
    (s.ui.focus === 'fleet') === inp.focused &&
    s.ui.color === inp.color &&
    s.transitions.list === inp.transitions &&
    s.transitions.observedSinceMs === inp.observedSinceMs &&
    Math.floor(s.ui.clockMs / inp.stepMs) === inp.bucket
  );
}

/**
 * Draws `snapshot` (taken at `atMs`, local ms) as the fleet table's text alone and applies it
 * to `store` quietly (`applySnapshotQuietly`): no React render; Ink lays out and writes the
 * frame with the new text, as it would after React's commit of the same text. For a snapshot
 * whose change from the applied one is only in the table's cells (src/snapshot/view-cells.ts).
 * Refuses (false, nothing changed) when no table is mounted for `store`, a view or dialog is
 * open, the UI state moved since the table's last render, or the change would draw anything
 * but the table's text (the legend, the empty or unmanaged line, the table's height).
 * With `direct` (the console's Ink and stdout), only the table's changed lines are written to
 * the terminal where that is exact (src/ink/line-write.ts `writeChangedLines`); else Ink renders.
 */
export function redrawFleetCells(store: ConsoleStore, snapshot: Snapshot, atMs: number, direct?: DirectLines): boolean {
  const t = targets.get(store);
  const box = t?.host.box;
  const ink = box?.childNodes[0];
  const node = ink && 'childNodes' in ink ? ink.childNodes[0] : undefined;
  if (!t || !box || !ink || !node || node.nodeName !== '#text' || !sameInputs(store, t.inputs)) {
    fleetCellRedraws.refused++;
    return false;
  }
  const view = fleetTableView(fleetTableLayout(t.cache, snapshot, t.inputs), t.cache, snapshot, t.inputs);
  const was = t.view;
  if (
    !view.table ||
    !was.table ||
    view.table.height !== was.table.height ||
    view.legend !== was.legend ||
    view.empty !== was.empty ||
    view.unmanaged !== was.unmanaged
  ) {
    fleetCellRedraws.refused++;
    return false;
  }
  store.getState().applySnapshotQuietly(snapshot, atMs);
  t.view = view;
  const text = tableText(view.table, t.inputs.color);
  const before = t.text;
  if (text === before) return true;
  t.text = text;
  // React's text node keeps a text React did not draw: the Table remounts it at its next render.
  t.host.redraws++;
  node.nodeValue = text;
  ink.yogaNode?.markDirty();
  let root: typeof box = box;
  while (root.parentNode) root = root.parentNode;
  fleetCellRedraws.redrawn++;
  const instance: InkInstanceLike | undefined = direct?.writer.instanceOf(direct.stdout);
  if (direct && before !== null && instance?.rootNode === root && writeChangedLines(direct.writer, instance, ink, before, text)) {
    fleetCellRedraws.written++;
    return true;
  }
  root.onRender?.();
  return true;
}

/** Renders the filtered fleet table with the selection kept visible. */
export function FleetTable({ width, height }: FleetTableProps): React.ReactElement | null {
  const store = useConsoleStoreApi();
  // `s.fleet` changes with every notified update; a quiet one (redrawFleetCells) changes its snapshot in place.
  const fleet = useConsole((s) => s.fleet);
  const applied = fleet.applied;
  const filter = useConsole((s) => s.ui.filter);
  const selectedName = useConsole((s) => s.ui.selectedAgent);
  const focused = useConsole((s) => s.ui.focus === 'fleet');
  const color = useConsole((s) => s.ui.color);
  // The timeline: cells by table width; its clock moves a cell at a time.
  const cells = timelineCellCount(width);
  const stepMs = (TIMELINE_WINDOW_SECONDS * 1000) / cells;
  const bucket = useConsole((s) => Math.floor(s.ui.clockMs / stepMs));
  const transitions = useConsole((s) => s.transitions.list);
  const observedSinceMs = useConsole((s) => s.transitions.observedSinceMs);
  const byAgent = useMemo(() => readinessByAgent(transitions), [transitions]);
  // Per-agent rows and timelines kept between snapshots: a snapshot costs what changed in it.
  const [cache] = useState(createFleetRowCache);
  const [host] = useState(createTableHost);
  const inputs: FleetTableInputs = { filter, selectedName, focused, color, width, height, cells, stepMs, bucket, transitions, byAgent, observedSinceMs };
  // Keyed by the applied count, not the snapshot: neither the memo nor any closure here keeps a snapshot.
  const layout = useMemo(
    () =>
      fleetTableLayout(cache, fleet.snapshot, {
        filter,
        selectedName: null,
        focused,
        color,
        width,
        height,
        cells,
        stepMs,
        bucket,
        transitions,
        byAgent,
        observedSinceMs,
      }),
    // eslint-disable-next-line react-hooks/exhaustive-deps -- selection, focus and height do not change the layout; `applied` moves with the snapshot
    [cache, fleet, applied, filter, color, width, cells, stepMs, bucket, transitions, byAgent, observedSinceMs],
  );
  const view = fleetTableView(layout, cache, fleet.snapshot, inputs);
  const text = view.table && view.table.height > 0 ? tableText(view.table, color) : null;
  // What is on screen now, for a redraw of the text alone (redrawFleetCells).
  useLayoutEffect(() => {
    targets.set(store, { host, cache, inputs, view, text });
  });
  useLayoutEffect(() => () => void targets.delete(store), [store]);
  if (!view.table) return null;
  return (
    <Box flexDirection="column" width={width}>
      <Table {...view.table} host={host} {...(text === null ? {} : { text })} />
      {view.legend && <Line text={view.legend} width={width} dim />}
      {view.empty && <Line text={`  ${view.empty}`} width={width} dim />}
      {view.unmanaged && <Line text={view.unmanaged} width={width} color="yellow" />}
    </Box>
  );
}
