/**
 * Pure derivations from the store for the panels: which agents pass the filter, which backlog
 * cards are listed and in what order, where the selection is. No React, no I/O.
 */
import type { AgentRow, Snapshot } from '../snapshot/types.js';
import type { BacklogSection, ClaimedCardView, ReadyCardView } from '../../backlog/snapshot.js';
import type { ConsoleState } from './state.js';

/**
 * True when `agent` matches every whitespace-separated term of `filter` (case-insensitive
 * substring of name, class, runtime, readiness or a flag). Empty filter matches all.
 */
export function agentMatchesFilter(agent: AgentRow, filter: string): boolean {
  return matchesTerms(agent, filterTerms(filter));
}

function filterTerms(filter: string): string[] {
  return filter.toLowerCase().split(/\s+/).filter(Boolean);
}

function matchesTerms(agent: AgentRow, terms: readonly string[]): boolean {
  if (!terms.length) return true;
  const fields = [agent.name, agent.class ?? '', agent.runtime, agent.readiness, ...agent.flags].map((f) => f.toLowerCase());
  return terms.every((t) => fields.some((f) => f.includes(t)));
}

/** A filtered list, and its name → position index once asked for (selectors ask many times per store change). */
interface VisibleEntry {
  filter: string;
  agents: readonly AgentRow[];
  index: Map<string, number> | null;
}

/** The last filtered list per snapshot. */
const visibleCache = new WeakMap<Snapshot, VisibleEntry>();
/** The last index built and its names (not the rows: no old snapshot kept): a later list with the same names in the same order shares it. */
let lastIndexed: { names: readonly string[]; index: Map<string, number> } | null = null;

function visibleEntry(snapshot: Snapshot, filter: string): VisibleEntry {
  const hit = visibleCache.get(snapshot);
  if (hit && hit.filter === filter) return hit;
  const terms = filterTerms(filter);
  const agents = terms.length ? snapshot.agents.filter((a) => matchesTerms(a, terms)) : snapshot.agents;
  const entry: VisibleEntry = { filter, agents, index: null };
  visibleCache.set(snapshot, entry);
  return entry;
}

function sameNames(names: readonly string[], agents: readonly AgentRow[]): boolean {
  if (names.length !== agents.length) return false;
  for (let i = 0; i < names.length; i++) if (names[i] !== agents[i]?.name) return false;
  return true;
}

/**
 * Name → position in the entry's list (a name listed twice: its last position). Built when
 * first asked, and shared with the previous list when the names are the same, in the same
 * order (a roster of 10,000 agents: one compare per agent instead of a new table per snapshot).
 */
function indexOf(entry: VisibleEntry): Map<string, number> {
  if (entry.index) return entry.index;
  const last = lastIndexed;
  if (last && sameNames(last.names, entry.agents)) return (entry.index = last.index);
  const names = entry.agents.map((a) => a.name);
  entry.index = new Map(names.map((name, i) => [name, i]));
  lastIndexed = { names, index: entry.index };
  return entry.index;
}

/**
 * Agents of the snapshot that pass the filter, in roster order. Empty without a snapshot.
 * The same array (do not mutate it) for the same snapshot and filter: a console of 1,000 agents
 * asks on every store change.
 */
export function visibleAgents(snapshot: Snapshot | null, filter: string): AgentRow[] {
  if (!snapshot) return [];
  return visibleEntry(snapshot, filter).agents as AgentRow[];
}

/** A row of the backlog panel: a claimed card (with owner and TTL) or a ready card. */
export type BacklogRow = { kind: 'claimed'; id: string; card: ClaimedCardView } | { kind: 'ready'; id: string; card: ReadyCardView };

/** The ready card a claim would take next, in the panel's order (null when none is ready). */
export function nextReadyCard(section: BacklogSection | null): ReadyCardView | null {
  const row = backlogRows(section).find((r) => r.kind === 'ready');
  return row?.kind === 'ready' ? row.card : null;
}

/**
 * Rows of the backlog panel: claimed cards (soonest TTL first), then ready cards by priority
 * (higher first, snapshot order kept for ties). Cards pass the filter by id or title.
 */
export function backlogRows(section: BacklogSection | null, filter = ''): BacklogRow[] {
  if (!section) return [];
  const f = filter.toLowerCase().trim();
  const keep = (id: string, title: string) => !f || id.toLowerCase().includes(f) || title.toLowerCase().includes(f);
  const claimed = [...section.claimed]
    .sort((a, b) => a.secondsLeft - b.secondsLeft)
    .filter((c) => keep(c.id, c.title))
    .map((card): BacklogRow => ({ kind: 'claimed', id: card.id, card }));
  const ready = section.ready
    .map((card, i) => ({ card, i }))
    .sort((a, b) => b.card.priority - a.card.priority || a.i - b.i)
    .filter(({ card }) => keep(card.id, card.title))
    .map(({ card }): BacklogRow => ({ kind: 'ready', id: card.id, card }));
  return [...claimed, ...ready];
}

/**
 * Index of the selected key in `keys`: the key itself when still present, else 0 (or -1 when
 * the list is empty). The selection is kept by name/id so it survives reordering and refreshes.
 */
export function selectedIndex(keys: readonly string[], selected: string | null): number {
  if (!keys.length) return -1;
  const i = selected === null ? -1 : keys.indexOf(selected);
  return i >= 0 ? i : 0;
}

/** {@link selectedIndex} of `agents`' names, without making the list of names (a roster of 10,000 agents). */
export function selectedAgentIndex(agents: readonly AgentRow[], selected: string | null): number {
  if (!agents.length) return -1;
  if (selected !== null) for (let i = 0; i < agents.length; i++) if (agents[i]?.name === selected) return i;
  return 0;
}

/** Moves an index by `delta` (or to `top`/`bottom`) within `count` rows, clamped. -1 when empty. */
export function moveIndex(index: number, count: number, move: number | 'top' | 'bottom'): number {
  if (count <= 0) return -1;
  if (move === 'top') return 0;
  if (move === 'bottom') return count - 1;
  return Math.min(count - 1, Math.max(0, index + move));
}

/**
 * First row to show so the selection stays visible in a window of `visible` rows, keeping the
 * selection roughly centered once scrolled. 0 when everything fits.
 */
export function scrollOffset(count: number, selected: number, visible: number): number {
  if (visible <= 0 || count <= visible) return 0;
  const half = Math.floor(visible / 2);
  return Math.max(0, Math.min(count - visible, selected - half));
}

/** The selected card of the (filtered) backlog panel when it is a claimed one, else null. */
export function selectedClaimedCard(s: ConsoleState): ClaimedCardView | null {
  const rows = backlogRows(s.backlog.section, s.ui.filter);
  const row =
    rows[
      selectedIndex(
        rows.map((r) => r.id),
        s.ui.selectedCard,
      )
    ];
  return row?.kind === 'claimed' ? row.card : null;
}

/** The selected agent of the (filtered) fleet table, or null. */
export function selectedAgentRow(s: ConsoleState): AgentRow | null {
  if (!s.fleet.snapshot) return null;
  const entry = visibleEntry(s.fleet.snapshot, s.ui.filter);
  const { agents } = entry;
  if (!agents.length) return null;
  return agents[(s.ui.selectedAgent === null ? undefined : indexOf(entry).get(s.ui.selectedAgent)) ?? 0] ?? null;
}
