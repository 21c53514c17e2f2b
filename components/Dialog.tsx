/**
 * The small dialogs at the bottom of the screen: filter line, pause/claim/release/unit/answer
 * confirmations, the one-line send editor, the send receipt and result messages. Rendering
 * only: the text comes from src/view/dialog-lines.ts, keys are handled by the dispatcher.
 */
import React from 'react';
import { Box } from 'ink';
import { useConsole } from '../hooks/useConsoleStore.js';
import { nextReadyCard, selectedAgentRow, selectedClaimedCard } from '../src/store/selectors.js';
import { dialogLines } from '../src/view/dialog-lines.js';
import { Line } from './Line.js';

/** Renders the open dialog in `height` lines (nothing when no dialog is open). */
export function Dialog({ width, height }: { width: number; height: number }): React.ReactElement | null {
  const open = useConsole((s) => s.ui.open);
  const filter = useConsole((s) => s.ui.filter);
  const paused = useConsole((s) => s.fleet.snapshot?.fleet.paused ?? null);
  // Only while a dialog is open: a new snapshot need not render an empty dialog.
  const selected = useConsole((s) => (s.ui.open.kind === 'none' ? null : selectedAgentRow(s)));
  // The panel's order (priority, then age): its first ready row is the card a claim takes next.
  const nextReady = useConsole((s) => (s.ui.open.kind === 'confirm-dispatch' ? nextReadyCard(s.backlog.section) : null));
  const claimed = useConsole((s) => (s.ui.open.kind === 'confirm-release' ? selectedClaimedCard(s) : null));
  const unitAgent = useConsole((s) => {
    const o = s.ui.open;
    return o.kind === 'confirm-unit' ? (s.fleet.snapshot?.agents.find((a) => a.name === o.agent) ?? null) : null;
  });
  if (height <= 0) return null;
  const lines = dialogLines({ open, filter, paused, selected, nextReady, claimed, unitAgent }, width, height);
  if (!lines) return null;
  return (
    <Box flexDirection="column">
      {lines.map((l, i) => (
        <Line key={i} text={l.text} width={width} color={l.color} bold={l.bold} />
      ))}
    </Box>
  );
}
