/**
 * The console's ONE `useInput`: names the key (keymap.keyNameOf) and hands it to the pure
 * dispatcher (src/console/dispatch.ts: modal ⇒ focused panel ⇒ global). No other component
 * reads input, so a key is never handled twice.
 */
import { useInput } from 'ink';
import { keyNameOf, splitKeyChunk } from '../src/keymap.js';
import { dispatchKey } from '../src/console/dispatch.js';
import { useConsoleActions, useConsoleStoreApi } from './useConsoleStore.js';

/** Installs the dispatcher; `isActive` false while the terminal is handed to `watch`. */
export function useKeymapDispatcher(isActive = true): void {
  const store = useConsoleStoreApi();
  const actions = useConsoleActions();
  useInput(
    (input, key) => {
      const name = keyNameOf(input, key);
      if (!name) return;
      // Keys typed fast (or sent by tmux back to back) can arrive as one chunk: "jj". Dispatch
      // each character on its own so every key counts and text modals still get every char.
      if (name === input && input.length > 1) {
        for (const press of splitKeyChunk(input)) dispatchKey(press, store, actions);
      } else dispatchKey({ name, input }, store, actions);
    },
    { isActive },
  );
}
