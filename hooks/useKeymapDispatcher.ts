/**
 * The console's ONE `useInput`: names the key (keymap.keyNameOf) and hands it to the pure
 * dispatcher (src/keys/router.ts: modal ⇒ focused panel ⇒ global). No other component
 * reads input, so a key is never handled twice.
 */
import { useInput } from 'ink';
import { keyPressesOf } from '../src/keys/keymap.js';
import { dispatchKey } from '../src/keys/router.js';
import { useConsoleActions, useConsoleStoreApi } from './useConsoleStore.js';

/** Installs the dispatcher; `isActive` false while the terminal is handed to `watch`. */
export function useKeymapDispatcher(isActive = true): void {
  const store = useConsoleStoreApi();
  const actions = useConsoleActions();
  useInput(
    (input, key) => {
      // Keys typed fast (or sent by tmux back to back) can arrive as one chunk ("jj", ESC+j):
      // each key is dispatched on its own so every key counts.
      for (const press of keyPressesOf(input, key)) dispatchKey(press, store, actions);
    },
    { isActive },
  );
}
