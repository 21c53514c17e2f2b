/** Read-only preview of the selected agent's pane (`v`): the poller's sanitized capture, last lines first to go. */
import React from 'react';
import { Box } from 'ink';
import { useConsole } from '../hooks/useConsoleStore.js';
import { sanitizeLine } from '../lib/sanitize.js';
import { Line } from './Line.js';

/** Renders the preview in `height` lines (title + the capture's last lines). */
export function Preview({ width, height }: { width: number; height: number }): React.ReactElement | null {
  const preview = useConsole((s) => s.ui.preview);
  if (height <= 0) return null;
  const title = preview ? `PREVIEW ${sanitizeLine(preview.agent)} (read-only, v closes)` : 'PREVIEW (read-only, v closes): capturing…';
  const body = preview?.error ? [`! ${sanitizeLine(preview.error)}`] : (preview?.lines ?? []);
  const shown = body.slice(Math.max(0, body.length - (height - 1)));
  return (
    <Box flexDirection="column" width={width}>
      <Line text={`── ${title} ${'─'.repeat(width)}`} width={width} dim />
      {shown.map((l, i) => (
        <Line key={i} text={l} width={width} />
      ))}
    </Box>
  );
}
