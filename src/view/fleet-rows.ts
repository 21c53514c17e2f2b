/**
 * The fleet table's per-agent work, kept between snapshots so that a snapshot costs what changed
 * in it: an agent's cells are sanitized and measured again only where their text changed (a
 * tick of a live fleet moves ages, two cells a row), its timeline is computed again only when
 * its history, readiness, clock cell, width or observation start changed. The results are
 * exactly those of {@link fleetRowCells}, {@link displayWidth} and `timelineStates`: the caches
 * are keyed by agent name and checked against every input, so a stale or shared entry can only
 * cost a recomputation, never a wrong cell. Owned by one table (a React ref); bounded by the
 * roster (entries of agents gone are dropped once they outnumber the fleet).
 */
import { sanitizeLine } from '../../lib/sanitize.js';
import type { AgentRow } from '../snapshot/types.js';
import { timelineStates, type TimelineOptions } from '../transitions/timeline.js';
import type { Transition } from '../transitions/diff.js';
import { clampWidth, type ColumnSpec } from './columns.js';
import { displayWidth } from './format.js';
import { FLEET_CELL_TEXT, SPEND_COLUMN, TIMELINE_COLUMN, fleetRowText } from './rows.js';

/** An agent's row as last drawn: raw cell texts, the sanitized cells, their widths (cells). */
export interface FleetRowEntry {
  raw: readonly string[];
  cells: readonly string[];
  widths: readonly number[];
}

interface TimelineEntry {
  history: readonly Transition[];
  current: string;
  nowMs: number;
  cells: number;
  observedSinceMs: number | null;
  states: (string | null)[];
}

/** The caches of one fleet table. */
export interface FleetRowCache {
  rows: Map<string, FleetRowEntry>;
  timelines: Map<string, TimelineEntry>;
}

/** Work done by every fleet row cache of the process, for tests that count it (never times). */
export const fleetRowWork = { rowsComputed: 0, cellsSanitized: 0, timelinesComputed: 0 };

/** An empty cache. */
export function createFleetRowCache(): FleetRowCache {
  return { rows: new Map(), timelines: new Map() };
}

/**
 * Drops every row once the cache holds more than twice `rows` (+64), every timeline once more
 * than twice `timelines` (+64): the rows and timelines a table draws (and measures) — agents gone
 * from the roster or scrolled out of view do not pile up.
 */
export function pruneFleetRowCache(cache: FleetRowCache, rows: number, timelines = rows): void {
  if (cache.rows.size > 2 * rows + 64) cache.rows.clear();
  if (cache.timelines.size > 2 * timelines + 64) cache.timelines.clear();
}

// Printable ASCII: sanitizeLine leaves it as it is, and it is one cell per character.
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Display width of the sanitized `text` (cells), as fleetRowCells' cell of this text measures. */
function sanitizedWidth(text: string): number {
  return PRINTABLE_ASCII.test(text) ? text.length : displayWidth(sanitizeLine(text));
}

/**
 * The fleet columns' natural widths (src/view/columns.ts `naturalColumnWidths`) over the rows of
 * `agents` — `fleetRowCells(agent, systemdOk(agent), timeline(i))` each — and whether some row's
 * spend cell is not `-` (`spendShown`): exactly what those rows would give, measured without
 * making or keeping any row. Each cell's text is made alone and measured (printable ASCII: its
 * length); a column whose min is its max is not measured (its natural width is that), nor one
 * whose widest cell so far reached its max; `timeline(i)` is asked only when the timeline's
 * width depends on it. Nothing is kept: what a snapshot of 10,000 agents costs here dies young.
 */
export function fleetNaturalWidths(
  columns: readonly ColumnSpec[],
  agents: readonly AgentRow[],
  systemdOk: (agent: AgentRow) => boolean,
  timeline: (index: number) => string,
): { natural: number[]; spendShown: boolean } {
  const widest = columns.map((c) => displayWidth(c.header));
  const open = columns.map((c, i) => i < FLEET_CELL_TEXT.length && c.min !== c.max && (widest[i] ?? 0) < (c.max ?? Infinity));
  let spendShown = false;
  for (let k = 0; k < agents.length; k++) {
    const agent = agents[k] as AgentRow;
    const ok = systemdOk(agent);
    for (let i = 0; i < columns.length; i++) {
      if (!open[i] && (i !== SPEND_COLUMN || spendShown)) continue;
      const text = (FLEET_CELL_TEXT[i] as (typeof FLEET_CELL_TEXT)[number])(agent, ok, i === TIMELINE_COLUMN ? timeline(k) : '');
      if (i === SPEND_COLUMN && !spendShown) spendShown = text !== '-' && sanitizeLine(text) !== '-';
      if (!open[i]) continue;
      const w = sanitizedWidth(text);
      if (w <= (widest[i] as number)) continue;
      widest[i] = w;
      if (w >= ((columns[i] as ColumnSpec).max ?? Infinity)) open[i] = false;
    }
  }
  return { natural: columns.map((c, i) => clampWidth(c, widest[i] as number)), spendShown };
}

/**
 * `agent`'s row: {@link fleetRowCells}`(agent, systemdOk, timeline)` and each cell's display
 * width — the previous entry itself when no cell text changed, else a new entry in which only the
 * changed cells were sanitized and measured again.
 */
export function cachedFleetRow(cache: FleetRowCache, agent: AgentRow, systemdOk: boolean, timeline: string): FleetRowEntry {
  const raw = fleetRowText(agent, systemdOk, timeline);
  const prev = cache.rows.get(agent.name);
  let entry: FleetRowEntry;
  if (prev && prev.raw.length === raw.length) {
    let cells: string[] | null = null;
    let widths: number[] | null = null;
    raw.forEach((text, i) => {
      if (text === prev.raw[i]) return;
      cells ??= [...prev.cells];
      widths ??= [...prev.widths];
      const cell = sanitizeLine(text);
      cells[i] = cell;
      widths[i] = displayWidth(cell);
      fleetRowWork.cellsSanitized++;
    });
    if (!cells || !widths) return prev;
    entry = { raw, cells, widths };
  } else {
    const cells = raw.map(sanitizeLine);
    fleetRowWork.cellsSanitized += cells.length;
    entry = { raw, cells, widths: cells.map(displayWidth) };
  }
  fleetRowWork.rowsComputed++;
  cache.rows.set(agent.name, entry);
  return entry;
}

/** `timelineStates(history, current, opts)` for agent `name`: the previous array itself while every input is the same. */
export function cachedTimelineStates(
  cache: FleetRowCache,
  name: string,
  history: readonly Transition[],
  current: string,
  opts: Pick<TimelineOptions, 'nowMs' | 'cells' | 'observedSinceMs'>,
): (string | null)[] {
  const prev = cache.timelines.get(name);
  if (
    prev &&
    prev.history === history &&
    prev.current === current &&
    prev.nowMs === opts.nowMs &&
    prev.cells === opts.cells &&
    prev.observedSinceMs === opts.observedSinceMs
  ) {
    return prev.states;
  }
  const states = timelineStates(history, current, opts);
  fleetRowWork.timelinesComputed++;
  cache.timelines.set(name, { history, current, nowMs: opts.nowMs, cells: opts.cells, observedSinceMs: opts.observedSinceMs, states });
  return states;
}
