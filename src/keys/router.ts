/**
 * The ONE input dispatcher: a key press goes to the open modal first (src/keys/modal.ts), then
 * to the focused panel (fleet or backlog), then to the global bindings (src/keys/panel.ts); the
 * first layer that consumes it wins. Every binding comes from the keymap data
 * (src/view/keymap.ts), and so does every precondition (checked here through
 * src/keys/requirements.ts). `--readonly` refuses mutating commands here, and says so. Pure of
 * React: hooks/useKeymapDispatcher only adapts Ink's useInput to {@link dispatchKey}.
 */
import { bindingFor } from '../view/keymap.js';
import type { ConsoleStore } from '../store/index.js';
import { DEFAULT_PAGE_ROWS } from '../store/ui-slice.js';
import { refuseBusy, refuseReadonly, refuseUnmet } from './refusals.js';
import { handleModal } from './modal.js';
import { runPanelOrGlobal } from './panel.js';
import type { ConsoleActions, KeyPress, ViewSize } from './types.js';

/** Which layer consumed a key, or null when none did. */
export type DispatchLayer = 'modal' | 'fleet' | 'backlog' | 'global' | null;

const DEFAULT_VIEW: ViewSize = { pageRows: DEFAULT_PAGE_ROWS, viewLines: DEFAULT_PAGE_ROWS };

/**
 * Routes one key press: modal ⇒ focused panel ⇒ global. Returns the layer that consumed it
 * (null: no binding). Mutating commands in `--readonly` are consumed with a notice; a binding
 * whose precondition is unmet is consumed with its refusal (or silently). While an action is in
 * flight (its result dialog shows only a label) keys go on to the panels, so none is dropped; a
 * mutating one is consumed with a notice to wait. `view`: the layout's page sizes (default 10 rows).
 */
export function dispatchKey(press: KeyPress, store: ConsoleStore, actions: ConsoleActions, view: ViewSize = DEFAULT_VIEW): DispatchLayer {
  if (handleModal(press, store, actions, view)) return 'modal';
  const focus = store.getState().ui.focus;
  for (const layer of [focus, 'global'] as const) {
    const binding = bindingFor(press.name, layer);
    if (!binding) continue;
    if (!refuseReadonly(store, binding, press) && !refuseBusy(store, binding, press) && !refuseUnmet(store, binding))
      runPanelOrGlobal(binding, store, actions, view);
    return layer;
  }
  return null;
}
