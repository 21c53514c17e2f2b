/** The notice line (last action result / refusal) and the status bar of key hints, both from the store and the keymap data. */
import React from 'react';
import { useConsole } from '../hooks/useConsoleStore.js';
import { Box, Text } from 'ink';
import { KEYMAP, type Requirement } from '../src/view/keymap.js';
import { unmetRequirement } from '../src/keys/requirements.js';
import { statusHintParts } from '../src/view/hints.js';
import { sanitizeLine } from '../lib/sanitize.js';
import { Line } from './Line.js';

/** How long a notice stays on the notice line, milliseconds (store clock). */
export const NOTICE_TTL_MS = 10_000;

/** The last notice while it is fresh (refusals, action results); the filter in use otherwise. */
export function NoticeLine({ width }: { width: number }): React.ReactElement {
  const notice = useConsole((s) => {
    const last = s.ui.notices[s.ui.notices.length - 1];
    if (!last || s.ui.clockMs - last.atMs >= NOTICE_TTL_MS) return null;
    // "refreshing…" ends with the snapshot it asked for.
    if (last.level === 'progress' && (s.fleet.snapshotAtMs ?? 0) >= last.atMs) return null;
    return last;
  });
  const filter = useConsole((s) => s.ui.filter);
  const text = notice ? notice.text : filter ? `filter: ${sanitizeLine(filter)} (/ to edit, esc clears)` : '';
  return <Line text={text} width={width} color={notice?.level === 'error' ? 'red' : notice?.level === 'warn' ? 'yellow' : undefined} />;
}

/** The key hints of the focused panel, after the filter in use (always visible); a key that would be refused now is dimmed. */
export function StatusBar({ width }: { width: number }): React.ReactElement {
  const focus = useConsole((s) => s.ui.focus);
  const readonly = useConsole((s) => s.ui.readonly);
  const filter = useConsole((s) => s.ui.filter);
  const paused = useConsole((s) => Boolean(s.fleet.snapshot?.fleet.paused));
  const colorOn = useConsole((s) => s.ui.color);
  // Only the preconditions of hinted keys, as one string: re-renders when one flips.
  const unmet = useConsole((s) => HINTED_NEEDS.filter((need) => unmetRequirement(s, need, '') !== null).join(' '));
  const parts = statusHintParts(focus, readonly, paused, (need) => unmet.split(' ').includes(need));
  const prefix = `${filter ? `[/${sanitizeLine(filter)}] ` : ''}${readonly ? '[read-only] ' : ''}`;
  if (!colorOn) return <Line text={prefix + parts.map((p) => p.text).join('  ')} width={width} inverse />;
  return (
    <Box width={width}>
      <Text wrap="truncate-end" inverse>
        {prefix}
        {parts.map((p, i) => (
          <Text key={p.text} dimColor={p.dim}>
            {i ? '  ' : ''}
            {p.text}
          </Text>
        ))}
      </Text>
    </Box>
  );
}

/** Preconditions of the keys the status bar shows. */
const HINTED_NEEDS: readonly Requirement[] = [...new Set(KEYMAP.filter((b) => b.hint && b.requires).map((b) => b.requires as Requirement))];
