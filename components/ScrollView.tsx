/** A scrolled block of sanitized lines for help and details: title, visible slice, "more" marks. */
import React from 'react';
import { Box } from 'ink';
import { useConsole } from '../hooks/useConsoleStore.js';
import { openScroll } from '../src/store/ui-slice.js';
import { Line } from './Line.js';

/** Clamps a scroll offset to the content: 0 … lines - visible. Pure. */
export function clampScroll(offset: number, lines: number, visible: number): number {
  return Math.max(0, Math.min(offset, lines - visible));
}

/** Renders `title` then the lines from the store's modal scroll offset, in `height` lines. */
export function ScrollView({
  title,
  lines,
  width,
  height,
}: {
  title: string;
  lines: readonly string[];
  width: number;
  height: number;
}): React.ReactElement | null {
  const scroll = useConsole((s) => openScroll(s.ui.open));
  if (height <= 0) return null;
  const room = Math.max(0, height - 1);
  const fits = lines.length <= room;
  const visible = fits ? room : Math.max(0, room - 1);
  const offset = fits ? 0 : clampScroll(scroll, lines.length, visible);
  const more = fits ? null : `-- lines ${offset + 1}-${Math.min(lines.length, offset + visible)} of ${lines.length}: j/k ↑/↓ PgUp/PgDn scroll --`;
  return (
    <Box flexDirection="column">
      <Line text={title} width={width} bold />
      {lines.slice(offset, offset + visible).map((l, i) => (
        <Line key={i} text={l} width={width} />
      ))}
      {more && <Line text={more} width={width} dim />}
    </Box>
  );
}
