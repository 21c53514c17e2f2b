/** Details (`enter`) of the selected agent (evidence, pane, heartbeat, unit, process) or card (body, acceptance, deps). */
import React from 'react';
import { useConsoleShallow } from '../hooks/useConsoleStore.js';
import { detailsLines } from '../src/view/rows.js';
import { ScrollView } from './ScrollView.js';

/** Renders the details view in `height` lines (scrolls when longer). */
export function DetailsView({ width, height }: { width: number; height: number }): React.ReactElement | null {
  const lines = useConsoleShallow((s) => detailsLines(s));
  if (height <= 0) return null;
  return <ScrollView title="DETAILS (esc, enter or q closes)" lines={lines} width={width} height={height} />;
}
