/** Help (`?`): every binding, rendered from the keymap data, in columns when there is room. */
import React from 'react';
import { Box } from 'ink';
import { useConsole } from '../hooks/useConsoleStore.js';
import { KEYMAP, displayKey } from '../src/keymap.js';
import { padToWidth } from '../src/format.js';
import { Line } from './Line.js';

/** One help line per binding: `keys  description  [scope] (read-only: disabled)`. Pure. */
export function helpLines(readonly: boolean): string[] {
  return KEYMAP.filter((b) => b.showInHelp).map((b) => {
    const keys = b.keys.map(displayKey).join(' / ');
    const scope = b.scope.join('+');
    const off = readonly && b.mutates ? '  (disabled: read-only)' : '';
    return `${padToWidth(keys, 14)} ${b.description}  [${scope}]${off}`;
  });
}

/** Renders the help in `height` lines; two columns when the terminal is wide and lines would not fit. */
export function HelpView({ width, height }: { width: number; height: number }): React.ReactElement | null {
  const readonly = useConsole((s) => s.ui.readonly);
  if (height <= 0) return null;
  const lines = helpLines(readonly);
  const room = height - 1;
  const twoColumns = lines.length > room && width >= 120;
  const title = 'HELP — every binding (esc, q or ? closes)';
  if (!twoColumns) {
    return (
      <Box flexDirection="column">
        <Line text={title} width={width} bold />
        {lines.slice(0, room).map((l, i) => <Line key={i} text={l} width={width} />)}
      </Box>
    );
  }
  const half = Math.ceil(lines.length / 2);
  const colWidth = Math.floor((width - 1) / 2);
  return (
    <Box flexDirection="column">
      <Line text={title} width={width} bold />
      {lines.slice(0, Math.min(half, room)).map((l, i) => (
        <Line key={i} text={`${padToWidth(l, colWidth)} ${lines[i + half] ?? ''}`} width={width} />
      ))}
    </Box>
  );
}
