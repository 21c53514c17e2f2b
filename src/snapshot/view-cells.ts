/**
 * Which snapshot changes only the fleet table's cells: a live fleet's ages move every second
 * (pane idle, heartbeat age, and the evidence lines that quote them), and nothing else drawn
 * moves with them. The console redraws such a change as the table's text alone
 * (components/FleetTable.tsx `redrawFleetCells`), without a React render of the screen.
 *
 * The rule is {@link sameSnapshotView}'s (src/snapshot/view-key.ts) with these fields of each
 * agent left out: `pane.idleSeconds`, `heartbeat.ageSeconds` and `heartbeat.ts` (a rewritten
 * beat), `screen.ageSeconds`, `screen.sinceSeconds` and `evidence`. They are drawn in the fleet table's IDLE, HB and
 * EVIDENCE cells, and in the details view (which the redraw refuses while it is open).
 */
import { sameViewObjectExcept, sameViewValue } from './view-key.js';
import type { AgentRow, Snapshot } from './types.js';

/** Agent fields drawn only in the fleet table's cells (and the details view). */
const CELL_ONLY = new Set(['evidence']);
/** Per nested object of an agent: its fields drawn only in cells. */
const CELL_ONLY_IN: Readonly<Record<string, ReadonlySet<string>>> = {
  pane: new Set(['idleSeconds']),
  // A rewritten beat: its time is drawn as its age (and in the details view).
  heartbeat: new Set(['ageSeconds', 'ts']),
  screen: new Set(['ageSeconds', 'sinceSeconds']),
};

/**
 * True when snapshot `a` taken at `aNowMs` and `b` taken at `bNowMs` (unix ms) draw the same
 * console except in the agents' cell-only fields (see the module comment): same agents in the
 * same order, every other drawn value the same by {@link sameSnapshotView}'s rule. Pure; stops
 * at the first other difference. Snapshots are trees of plain data.
 */
export function onlyCellsDiffer(a: Snapshot, aNowMs: number, b: Snapshot, bNowMs: number): boolean {
  const aNow = aNowMs / 1000;
  const bNow = bNowMs / 1000;
  if (a.agents.length !== b.agents.length) return false;
  const rest = (s: Snapshot) => ({ ...s, agents: null });
  if (!sameViewValue(rest(a), rest(b), '', aNow, bNow)) return false;
  for (let i = 0; i < a.agents.length; i++) if (!sameAgentBesideCells(a.agents[i]!, b.agents[i]!, aNow, bNow)) return false;
  return true;
}

/** Agent keys compared apart (their cell-only fields skipped) or not at all. */
const AGENT_SKIP = new Set([...CELL_ONLY, ...Object.keys(CELL_ONLY_IN)]);
/** {@link CELL_ONLY_IN} as pairs, made once (this runs for every agent of every tick). */
const CELL_ONLY_PAIRS = Object.entries(CELL_ONLY_IN);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sameAgentBesideCells(a: AgentRow, b: AgentRow, aNow: number, bNow: number): boolean {
  if (a === b) return true;
  const ra = a as unknown as Record<string, unknown>;
  const rb = b as unknown as Record<string, unknown>;
  if (!sameViewObjectExcept(ra, rb, AGENT_SKIP, aNow, bNow)) return false;
  for (const [key, skip] of CELL_ONLY_PAIRS) {
    const x = ra[key];
    const y = rb[key];
    if (isPlainObject(x) && isPlainObject(y) ? !sameViewObjectExcept(x, y, skip, aNow, bNow) : !sameViewValue(x, y, key, aNow, bNow)) return false;
  }
  return true;
}
