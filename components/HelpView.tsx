/** Help (`?`): every binding, rendered from the keymap data, in columns when there is room. */
import React from 'react';
import { useConsole } from '../hooks/useConsoleStore.js';
import { helpLines } from '../src/view/rows.js';
import { padToWidth } from '../src/view/format.js';
import { ScrollView } from './ScrollView.js';

/** Renders the help in `height` lines: two columns when wide and tall enough, else one scrolled column. */
export function HelpView({ width, height }: { width: number; height: number }): React.ReactElement | null {
  const readonly = useConsole((s) => s.ui.readonly);
  if (height <= 0) return null;
  const lines = helpLines(readonly);
  const title = 'HELP — every binding (esc, q or ? closes)';
  const half = Math.ceil(lines.length / 2);
  if (lines.length > height - 1 && width >= 150 && half <= height - 1) {
    const colWidth = Math.floor((width - 1) / 2);
    const paired = lines.slice(0, half).map((l, i) => `${padToWidth(l, colWidth)} ${lines[i + half] ?? ''}`);
    return <ScrollView title={title} lines={paired} width={width} height={height} />;
  }
  return <ScrollView title={title} lines={lines} width={width} height={height} />;
}
