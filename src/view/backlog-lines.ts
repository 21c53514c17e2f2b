/**
 * The backlog panel's text besides its rows (src/view/rows.ts backlogRowText): the title with
 * the counts, the status line when the store is absent or unreadable, and the lines under the
 * rows. components/BacklogPanel.tsx only draws these. Every line leaves sanitized. Pure.
 */
import type { BacklogSection } from '../../backlog/snapshot.js';
import { sanitizeLine } from '../../lib/sanitize.js';
import type { BacklogRow } from '../store/selectors.js';
import { scrollPosition } from './format.js';

/**
 * The panel's title: `BACKLOG [focus]  ready 3  claimed 1  blocked 0  done 9  EXPIRED 1`, and
 * which rows are shown (`rows 3–10 of 40 ↑↓`) when `scrolled` says some are out of view.
 */
export function backlogPanelTitle(section: BacklogSection | null, focused: boolean, scrolled: { offset: number; shown: number; total: number } | null): string {
  const title = `BACKLOG${focused ? ' [focus]' : ''}`;
  const stats = section?.stats;
  const head = stats
    ? `${title}  ready ${stats.counts.ready}  claimed ${stats.counts.claimed}  blocked ${section.blockedCount}  done ${stats.counts.done}${stats.expiredClaims ? `  EXPIRED ${stats.expiredClaims}` : ''}`
    : title;
  return sanitizeLine(scrolled ? `${head}  ${scrollPosition(scrolled.offset, scrolled.shown, scrolled.total)}` : head);
}

/** The line shown instead of the rows (not probed, none yet, the read error), or null when the rows show. */
export function backlogPanelStatus(section: BacklogSection | null): string | null {
  if (!section) return 'backlog: not probed';
  if (!section.exists) return 'backlog: none yet';
  if (!section.ok) return sanitizeLine(`backlog error: ${section.error ?? 'unreadable'}`);
  return null;
}

/** What the panel says when no row shows: no match for the filter, or no claimed or ready card. */
export function backlogEmptyLine(filter: string): string {
  return filter ? `  no card matches "${sanitizeLine(filter)}"` : '  no claimed or ready cards';
}

/** The panel line for ready cards still waiting on dependencies (`  + 6 ready, waiting on dependencies`), or null when none. */
export function backlogWaitingLine(section: BacklogSection | null): string | null {
  const waiting = section?.stats?.waitingOnDeps ?? 0;
  return waiting ? `  + ${waiting} ready, waiting on dependencies` : null;
}

/** The row's marker: `> ` selected in the focused panel, `· ` selected otherwise, then `C ` claimed or `R ` ready. */
export function backlogRowMarker(row: BacklogRow, selected: boolean, focused: boolean): string {
  return (selected ? (focused ? '> ' : '· ') : '  ') + (row.kind === 'claimed' ? 'C ' : 'R ');
}
