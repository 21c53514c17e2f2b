/** TRANSITIONS (`t`): fleet transitions newest first, with ages — from the history and this console's own observation. */
import React from 'react';
import { useConsole, useConsoleShallow } from '../hooks/useConsoleStore.js';
import { transitionsViewLines } from '../src/view/transition-rows.js';
import { ScrollView } from './ScrollView.js';

/** Renders the transitions view in `height` lines (scrolls when longer); lines come sanitized from src/view/transition-rows.ts. */
export function TransitionsView({ width, height }: { width: number; height: number }): React.ReactElement | null {
  // Ages move with the store's clock (a second at most): the lines are rebuilt then, not per frame.
  const clockMs = useConsole((s) => s.ui.clockMs);
  const lines = useConsoleShallow((s) =>
    transitionsViewLines(s.transitions.list, clockMs, {
      muted: s.transitions.muted,
      historyFile: s.transitions.historyFile,
      historyError: s.transitions.historyError,
    }),
  );
  if (height <= 0) return null;
  return <ScrollView title="TRANSITIONS, newest first (t, esc or q closes)" lines={lines} width={width} height={height} />;
}
