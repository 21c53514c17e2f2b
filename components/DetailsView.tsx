/** Details (`enter`) of the selected agent (evidence, pane, heartbeat, unit, process) or card (body, acceptance, deps). */
import React from 'react';
import { useConsole } from '../hooks/useConsoleStore.js';
import { agentDetailLines, cardDetailLines } from '../src/console/rows.js';
import { backlogRows } from '../src/console/view-model.js';
import { ScrollView } from './ScrollView.js';

/** Renders the details view in `height` lines. */
export function DetailsView({ width, height }: { width: number; height: number }): React.ReactElement | null {
  const detailsOf = useConsole((s) => s.ui.detailsOf);
  const snapshot = useConsole((s) => s.fleet.snapshot);
  const section = useConsole((s) => s.backlog.section);
  const cardDetails = useConsole((s) => s.ui.cardDetails);
  if (height <= 0 || !detailsOf) return null;
  let lines: string[];
  if (detailsOf.kind === 'agent') {
    const agent = snapshot?.agents.find((a) => a.name === detailsOf.key);
    lines = agent ? agentDetailLines(agent) : [`agent ${detailsOf.key} is no longer in the snapshot`];
  } else {
    const row = backlogRows(section).find((r) => r.id === detailsOf.key);
    lines = row ? cardDetailLines(row) : [`card ${detailsOf.key} is no longer listed`];
    if (cardDetails?.id === detailsOf.key) lines = [...lines, ...cardDetails.lines];
    else lines = [...lines, '(loading body, acceptance and dependencies from the backlog…)'];
  }
  return <ScrollView title="DETAILS (esc, enter or q closes)" lines={lines} width={width} height={height} />;
}
