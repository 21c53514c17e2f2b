/** The notice line (last action result / refusal) and the status bar of key hints, both from the store and the keymap data. */
import React from 'react';
import { useConsole } from '../hooks/useConsoleStore.js';
import { KEYMAP, displayKey, type KeyScope } from '../src/keymap.js';
import { sanitizeLine } from '../src/sanitize.js';
import { Line } from './Line.js';

/** Hint text for the focused panel: `tab focus  / filter  ? help …`; mutating keys marked off in read-only. Pure. */
export function statusHints(focus: KeyScope, readonly: boolean): string {
  const hints = KEYMAP.filter((b) => b.hint && (b.scope.includes('global') || b.scope.includes(focus)))
    .filter((b) => !(readonly && b.mutates))
    .map((b) => `${displayKey(b.keys[0])} ${b.hint}`);
  return `${readonly ? '[read-only] ' : ''}${hints.join('  ')}  ↑↓ jk g G move`;
}

/** The last notice (refusals, action results), or the last tick time. */
export function NoticeLine({ width }: { width: number }): React.ReactElement {
  const notice = useConsole((s) => s.ui.notices[s.ui.notices.length - 1] ?? null);
  const filter = useConsole((s) => s.ui.filter);
  const text = notice ? notice.text : filter ? `filter: ${sanitizeLine(filter)} (/ to edit, esc in the filter clears)` : '';
  return <Line text={text} width={width} color={notice?.level === 'error' ? 'red' : notice?.level === 'warn' ? 'yellow' : undefined} />;
}

/** The key hints of the focused panel. */
export function StatusBar({ width }: { width: number }): React.ReactElement {
  const focus = useConsole((s) => s.ui.focus);
  const readonly = useConsole((s) => s.ui.readonly);
  return <Line text={statusHints(focus, readonly)} width={width} inverse />;
}
