/** RECENT EVENTS (`e`): the newest backlog events fleet-wide — claims, receipts, reclaims… */
import React from 'react';
import { useConsoleShallow } from '../hooks/useConsoleStore.js';
import { eventsLines } from '../src/view/event-rows.js';
import { ScrollView } from './ScrollView.js';

/** Renders the recent-events view in `height` lines (scrolls when longer); lines come sanitized from the store. */
export function EventsView({ width, height }: { width: number; height: number }): React.ReactElement | null {
  const lines = useConsoleShallow((s) => eventsLines(s));
  if (height <= 0) return null;
  return <ScrollView title="RECENT EVENTS, newest first (r reloads; esc or q closes)" lines={lines} width={width} height={height} />;
}
