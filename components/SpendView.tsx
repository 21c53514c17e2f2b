/** SPEND (`$`): today's cost and tokens per agent and the subscription windows with pace (docs/spend.md). */
import React from 'react';
import { useConsole, useConsoleShallow } from '../hooks/useConsoleStore.js';
import { spendViewLines } from '../src/view/spend-rows.js';
import { ScrollView } from './ScrollView.js';

/** Renders the spend view in `height` lines (scrolls when longer); lines come sanitized from src/view/spend-rows.ts. */
export function SpendView({ width, height }: { width: number; height: number }): React.ReactElement | null {
  // Reset times move with the clock: rebuilt once a minute or on a new snapshot, not per frame.
  const minute = useConsole((s) => Math.floor(s.ui.clockMs / 60_000));
  const lines = useConsoleShallow((s) => spendViewLines(s.fleet.snapshot, minute * 60_000));
  if (height <= 0) return null;
  return <ScrollView title="SPEND today ($, esc or q closes)" lines={lines} width={width} height={height} />;
}
