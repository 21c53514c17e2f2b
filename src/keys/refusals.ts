/**
 * The dispatcher's refusals of a bound key: read-only, an action in flight, an unmet
 * precondition (src/keys/requirements.ts). Each says why in a notice, where there is something
 * to say, and returns true when the key is refused.
 */
import { displayKey, type KeyBinding } from '../view/keymap.js';
import { unmetRequirement } from './requirements.js';
import { sanitizeLine } from '../../lib/sanitize.js';
import type { ConsoleStore } from '../store/index.js';
import { openPending } from '../store/ui-slice.js';
import type { KeyPress } from './types.js';

/** True (and said in a notice) for a mutating key in a `--readonly` console. */
export function refuseReadonly(store: ConsoleStore, binding: KeyBinding, press: KeyPress): boolean {
  if (!binding.mutates || !store.getState().ui.readonly) return false;
  store.getState().pushNotice(`read-only console: ${displayKey(press.name)} disabled (${binding.command})`, 'warn');
  return true;
}

/** True (and said in a notice) for a mutating key while an action is in flight: one action at a time. */
export function refuseBusy(store: ConsoleStore, binding: KeyBinding, press: KeyPress): boolean {
  const pending = openPending(store.getState().ui.open);
  if (!binding.mutates || !pending) return false;
  store.getState().pushNotice(sanitizeLine(`${displayKey(press.name)}: wait for the running action (${pending})`), 'warn');
  return true;
}

/** True (and the refusal said, when there is one to say) when the binding's precondition is unmet. */
export function refuseUnmet(store: ConsoleStore, binding: KeyBinding): boolean {
  if (!binding.requires) return false;
  const unmet = unmetRequirement(store.getState(), binding.requires, binding.hint ?? binding.command);
  if (!unmet) return false;
  if (unmet.notice) store.getState().pushNotice(sanitizeLine(unmet.notice), 'warn');
  return true;
}
