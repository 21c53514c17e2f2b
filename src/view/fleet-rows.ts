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
import { displayWidth } from './format.js';
import { fleetRowText } from './rows.js';

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

/** Drops every entry once the cache holds more than twice `fleetSize` agents (+64): agents gone from the roster do not pile up. */
export function pruneFleetRowCache(cache: FleetRowCache, fleetSize: number): void {
  const bound = 2 * fleetSize + 64;
  if (cache.rows.size > bound) cache.rows.clear();
  if (cache.timelines.size > bound) cache.timelines.clear();
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
