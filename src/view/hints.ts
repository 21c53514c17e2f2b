/**
 * The status bar's key hints, from the keymap data: what the focused panel and the global
 * bindings offer, with a key dimmed when its precondition is unmet (it would be refused). Pure.
 */
import { KEYMAP, displayKey, type KeyScope, type Requirement } from './keymap.js';

/** One hint: `key label`, dimmed when the key would be refused now. */
export interface HintPart {
  text: string;
  dim: boolean;
}

/**
 * Hints for the focused panel in keymap order, the `hintLast` ones at the end: `tab focus`,
 * `/ filter`, `? help` … `↑↓ jk g G move`. Mutating keys are left out in read-only; a binding's
 * `pausedHint` replaces its hint while the fleet is paused (`p resume`); `isUnmet` says which
 * preconditions fail now (default: none).
 */
export function statusHintParts(focus: KeyScope, readonly: boolean, paused = false, isUnmet: (need: Requirement) => boolean = () => false): HintPart[] {
  const shown = KEYMAP.filter((b) => b.hint && (b.scope.includes('global') || b.scope.includes(focus)) && !(readonly && b.mutates));
  const ordered = [...shown.filter((b) => !b.hintLast), ...shown.filter((b) => b.hintLast)];
  return ordered.map((b) => ({
    text: `${b.hintKeys ?? displayKey(b.keys[0])} ${paused && b.pausedHint ? b.pausedHint : b.hint}`,
    dim: b.requires !== undefined && isUnmet(b.requires),
  }));
}

/** The hints as one line: `[read-only] ` first in read-only, two blanks between hints. */
export function statusHints(focus: KeyScope, readonly: boolean, paused = false): string {
  return `${readonly ? '[read-only] ' : ''}${statusHintParts(focus, readonly, paused)
    .map((p) => p.text)
    .join('  ')}`;
}
