/** The notice line (last action result / refusal) and the status bar of key hints, both from the store and the keymap data. */
import React from 'react';
import { useConsole } from '../hooks/useConsoleStore.js';
import { KEYMAP, displayKey, type KeyScope } from '../src/keys/keymap.js';
import { sanitizeLine } from '../lib/sanitize.js';
import { Line } from './Line.js';

/**
 * Hint text for the focused panel: `tab focus  / filter  ? help …`; mutating keys left out in
 * read-only; `p resume` instead of `p pause` while the fleet is paused. Pure.
 */
export function statusHints(focus: KeyScope, readonly: boolean, paused = false): string {
  const hints = KEYMAP.filter((b) => b.hint && (b.scope.includes('global') || b.scope.includes(focus)))
    .filter((b) => !(readonly && b.mutates))
    .map((b) => `${displayKey(b.keys[0])} ${b.command === 'pause' && paused ? 'resume' : b.hint}`);
  return `${readonly ? '[read-only] ' : ''}${hints.join('  ')}  ↑↓ jk g G move`;
}

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

/** The key hints of the focused panel, after the filter in use (always visible). */
export function StatusBar({ width }: { width: number }): React.ReactElement {
  const focus = useConsole((s) => s.ui.focus);
  const readonly = useConsole((s) => s.ui.readonly);
  const filter = useConsole((s) => s.ui.filter);
  const paused = useConsole((s) => Boolean(s.fleet.snapshot?.fleet.paused));
  return <Line text={`${filter ? `[/${sanitizeLine(filter)}] ` : ''}${statusHints(focus, readonly, paused)}`} width={width} inverse />;
}
