/**
 * The backlog panel: claimed cards with owner and a live TTL countdown (derived from
 * secondsLeft and the time since the snapshot; the store's clock tick re-renders it each
 * second, no timer here), then ready cards by priority, then the blocked count. "backlog: none
 * yet" when the store does not exist; the error in place when it cannot be read.
 */
import React, { useMemo } from 'react';
import { Box } from 'ink';
import { useConsole } from '../hooks/useConsoleStore.js';
import { backlogRowText } from '../src/view/rows.js';
import { backlogRows, scrollOffset, selectedIndex } from '../src/store/selectors.js';
import { backlogEmptyLine, backlogPanelStatus, backlogPanelTitle, backlogRowMarker, backlogWaitingLine } from '../src/view/backlog-lines.js';
import { Line } from './Line.js';

/** Size of the backlog panel, cells and lines. */
export interface BacklogPanelProps {
  width: number;
  height: number;
}

/** Renders the backlog panel in at most `height` lines. */
export function BacklogPanel({ width, height }: BacklogPanelProps): React.ReactElement | null {
  const section = useConsole((s) => s.backlog.section);
  const filter = useConsole((s) => s.ui.filter);
  const focused = useConsole((s) => s.ui.focus === 'backlog');
  const selectedId = useConsole((s) => s.ui.selectedCard);
  // The snapshot's time only counts claims' TTLs down: without claims, a new snapshot need not render the panel.
  const snapshotAtMs = useConsole((s) => (s.backlog.section?.claimed.length ? (s.fleet.snapshotAtMs ?? 0) : 0));
  // Whole seconds of the store clock, only while a countdown is on screen.
  const nowSecond = useConsole((s) => (s.backlog.section?.claimed.length ? Math.floor(s.ui.clockMs / 1000) : 0));
  const rows = useMemo(() => backlogRows(section, filter), [section, filter]);
  if (height <= 0) return null;
  const status = backlogPanelStatus(section);
  const room = Math.max(0, height - 1);
  const selected = selectedIndex(
    rows.map((r) => r.id),
    selectedId,
  );
  const offset = scrollOffset(rows.length, selected, room);
  // Cards scrolled out of view: the title says which are shown (as the fleet table's header).
  const scrolled = !status && rows.length > room && room > 0 ? { offset, shown: Math.min(room, rows.length - offset), total: rows.length } : null;
  const lines: React.ReactElement[] = [<Line key="t" text={backlogPanelTitle(section, focused, scrolled)} width={width} bold />];
  if (status) {
    lines.push(<Line key="s" text={status} width={width} color={section && !section.exists ? undefined : 'yellow'} />);
  } else {
    // Only claimed rows count down; without them the time is that of the snapshot.
    const now = nowSecond ? nowSecond * 1000 : snapshotAtMs;
    rows.slice(offset, offset + room).forEach((row, k) => {
      const isSelected = offset + k === selected;
      const text = backlogRowMarker(row, isSelected, focused) + backlogRowText(row, snapshotAtMs, now);
      const expired = row.kind === 'claimed' && row.card.secondsLeft - (now - snapshotAtMs) / 1000 < 0;
      lines.push(
        <Line key={row.id} text={text} width={width} inverse={focused && isSelected} color={expired ? 'red' : row.kind === 'claimed' ? 'green' : undefined} />,
      );
    });
    if (!rows.length) lines.push(<Line key="e" text={backlogEmptyLine(filter)} width={width} dim />);
    // "ready 8" above with two cards listed: say where the other six are.
    const waiting = backlogWaitingLine(section);
    if (waiting && lines.length < height) lines.push(<Line key="w" text={waiting} width={width} dim />);
  }
  return (
    <Box flexDirection="column" width={width}>
      {lines.slice(0, height)}
    </Box>
  );
}
