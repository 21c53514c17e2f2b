/**
 * Claude Code's `statusLine` setting, wired by `hooks install --statusline` so our hidden
 * `statusline-hook` records the subscription windows Claude puts in the statusline JSON
 * (fleet/spend/statusline.ts). Settings hold ONE statusLine: we add ours only where there is
 * none, update one that is ours, and never replace the operator's (`hooks status` says so).
 * Opt-in because a statusLine changes Claude's screen: Claude Code 2.1.197 then draws the line
 * in place of its `? for shortcuts` footer and shows no `esc to interrupt` while busy (only the
 * spinner line), the busy marker screen readiness reads.
 */
import { shellQuote, type HookCommandTarget } from '../hook-config.js';

/** What marks a statusLine command as ours. */
export const STATUSLINE_COMMAND_MARK = 'statusline-hook --mosaic-home';

/** The statusLine command: `<node> <bin> statusline-hook --mosaic-home H` (absolute paths; the verb always exits 0). */
export function statuslineCommand(target: HookCommandTarget): string {
  return `${shellQuote(target.node)} ${shellQuote(target.bin)} ${STATUSLINE_COMMAND_MARK} ${shellQuote(target.mosaicHome)}`;
}

/** Whose statusLine a settings object holds: none, ours (current or another install's), or the operator's. */
export type StatusLineState = 'none' | 'ours' | 'outdated' | 'operator';

/** The state of `root.statusLine` against our `command`. */
export function statusLineState(root: Record<string, unknown>, command: string): StatusLineState {
  const s = root.statusLine;
  if (s === undefined || s === null) return 'none';
  const current = typeof s === 'object' && !Array.isArray(s) ? (s as { command?: unknown }).command : undefined;
  if (typeof current !== 'string' || !current.includes(STATUSLINE_COMMAND_MARK)) return 'operator';
  return current === command ? 'ours' : 'outdated';
}

/**
 * Adds our statusLine to a parsed settings object `root` (mutated) when it has none and `add`
 * is set, or updates ours to `command`; the operator's is kept. Returns the change line, or null
 * when nothing changed.
 */
export function mergeStatusLine(root: Record<string, unknown>, command: string, add = true): string | null {
  const state = statusLineState(root, command);
  if (state === 'ours' || state === 'operator' || (state === 'none' && !add)) return null;
  root.statusLine = { type: 'command', command, padding: 0 };
  return state === 'none' ? 'added statusLine' : 'updated statusLine';
}

/** The `hooks status` words for the statusLine of a settings JSON text (null: no file). */
export function statusLineDetail(text: string | null, command: string): string {
  let root: Record<string, unknown> = {};
  try {
    if (text) root = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return 'statusLine unreadable';
  }
  switch (statusLineState(root, command)) {
    case 'ours':
      return 'statusLine records subscription windows';
    case 'outdated':
      return 'statusLine calls another mosaic-top install: run hooks install';
    case 'operator':
      return "statusLine is the operator's (kept): subscription windows not recorded";
    case 'none':
      return 'no statusLine: hooks install --statusline records subscription windows';
  }
}
