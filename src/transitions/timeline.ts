/**
 * One agent's recent readiness as a row of cells (docs/transitions.md: "a one-line timeline of its last
 * hour"): the window (default 3600 s) is cut into `cells` equal intervals (the newest holds
 * now), each showing the
 * readiness the agent had then, from the transition history. Pure: history, current readiness
 * and clock in; states out.
 */
import type { Transition } from './diff.js';
import { DEFAULT_ATTENTION } from './diff.js';

/** Options of {@link timelineStates}. */
export interface TimelineOptions {
  /** The clock, unix ms (the window ends here). */
  nowMs: number;
  /** Length of the window, seconds (default 3600). */
  windowSeconds?: number;
  /** Number of cells (≥ 1). */
  cells: number;
  /**
   * Since when this observer has watched the agent (unix ms; e.g. the console's first
   * snapshot); null when it has not. Cells before both this and the agent's first recorded
   * transition are `null` (not observed).
   */
  observedSinceMs: number | null;
  /** States that win a cell they appear in (default: the attention set), so a short death shows. */
  attention?: ReadonlySet<string>;
}

/**
 * The readiness of each cell, oldest first: in each interval, the last attention state the
 * agent passed through (a 20-second death inside a 5-minute cell still shows), else the state
 * it had at the end of the interval; null where nothing was observed. `history` holds this
 * agent's readiness transitions, chronological (others are ignored); `current` is its
 * readiness now. O(cells + transitions).
 */
export function timelineStates(history: readonly Transition[], current: string, opts: TimelineOptions): (string | null)[] {
  const cells = Math.max(1, Math.floor(opts.cells));
  const windowMs = (opts.windowSeconds ?? 3600) * 1000;
  const attention = opts.attention ?? DEFAULT_ATTENTION;
  const step = windowMs / cells;
  // Cells are aligned to the clock (multiples of `step` since the epoch): within one cell's
  // time the result does not change, so callers can cache it per (history, cell index).
  const start = (Math.floor(opts.nowMs / step) + 1) * step - windowMs;
  const trs = history.filter((t) => t.kind === 'readiness' && Date.parse(t.at) <= opts.nowMs);
  // Segments [from, until) of known state, oldest first.
  const segments: { from: number; until: number; state: string }[] = [];
  const first = trs[0];
  const firstAt = first ? Date.parse(first.at) : Number.POSITIVE_INFINITY;
  const knownFrom = Math.min(opts.observedSinceMs ?? Number.POSITIVE_INFINITY, firstAt);
  if (first && first.from !== null && knownFrom < firstAt) segments.push({ from: knownFrom, until: firstAt, state: first.from });
  trs.forEach((t, i) => {
    const next = trs[i + 1];
    const until = next ? Date.parse(next.at) : opts.nowMs;
    segments.push({ from: Date.parse(t.at), until, state: t.to ?? '?' });
  });
  if (!trs.length && Number.isFinite(knownFrom)) segments.push({ from: knownFrom, until: opts.nowMs, state: current });
  // Now: the current readiness (it may differ from the last recorded word when a change was not recorded).
  if (segments.length) segments.push({ from: opts.nowMs, until: opts.nowMs + 1, state: current });
  const out = new Array<string | null>(cells).fill(null);
  let k = 0;
  for (let i = 0; i < cells; i++) {
    const a = start + i * step;
    const b = start + (i + 1) * step;
    while ((segments[k]?.until ?? Number.POSITIVE_INFINITY) <= a) k++;
    let endState: string | null = null;
    let alarm: string | null = null;
    for (let j = k; j < segments.length; j++) {
      const segment = segments[j];
      if (!segment || segment.from >= b) break;
      endState = segment.state;
      if (attention.has(segment.state)) alarm = segment.state;
    }
    out[i] = alarm ?? endState;
  }
  return out;
}

/**
 * Run-length form of a timeline for words (NO_COLOR): `[{state: 'working', cells: 9}, {state: 'dead', cells: 3}]`,
 * oldest first; null states (not observed) are runs too.
 */
export function timelineRuns(states: readonly (string | null)[]): { state: string | null; cells: number }[] {
  const runs: { state: string | null; cells: number }[] = [];
  for (const s of states) {
    const last = runs[runs.length - 1];
    if (last && last.state === s) last.cells++;
    else runs.push({ state: s, cells: 1 });
  }
  return runs;
}
