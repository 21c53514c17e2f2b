/**
 * One screen line: text cut to `width` cells (string-width, ellipsis) so Ink never wraps it.
 * Colour and inverse only when colour is on (NO_COLOR ⇒ plain text; meaning is in the words).
 */
import React from 'react';
import { Text } from 'ink';
import { truncateToWidth } from '../src/view/format.js';
import { sanitizeLine } from '../lib/sanitize.js';
import { useConsole } from '../hooks/useConsoleStore.js';

/** Props of {@link Line}: sanitized text, width in cells, optional styling. */
export interface LineProps {
  text: string;
  width: number;
  color?: string;
  bold?: boolean;
  inverse?: boolean;
  dim?: boolean;
}

/**
 * A single truncated line. Callers pass sanitized text; the line sanitizes again anyway
 * (defense in depth: a control character here would be written to the operator's tty).
 */
export function Line({ text, width, color, bold, inverse, dim }: LineProps): React.ReactElement {
  const colorOn = useConsole((s) => s.ui.color);
  const cut = truncateToWidth(sanitizeLine(text), width);
  if (!colorOn) return <Text wrap="truncate-end">{cut || ' '}</Text>;
  return (
    <Text wrap="truncate-end" color={color} bold={bold} inverse={inverse} dimColor={dim}>
      {cut || ' '}
    </Text>
  );
}

/** Colour of a readiness word (the word itself is always printed); each readiness has its own. */
export function readinessColor(readiness: string): string | undefined {
  switch (readiness) {
    case 'working':
      return 'green';
    case 'available':
      return 'cyan';
    case 'stale':
      return 'yellow';
    case 'unknown':
      return 'magenta';
    case 'dead':
      return 'red';
    case 'waiting':
      return 'blueBright';
    case 'stuck':
      return 'redBright';
    default:
      return undefined;
  }
}
