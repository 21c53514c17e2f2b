/**
 * The console's ONE `useInput`: names the key (keymap.keyNameOf) and hands it to the pure
 * dispatcher (src/keys/router.ts: modal ⇒ focused panel ⇒ global). No other component
 * reads input, so a key is never handled twice.
 */
import { useLayoutEffect, useRef } from 'react';
import { useInput } from 'ink';
import { keyPressesOf } from '../src/view/keymap.js';
import { dispatchKey } from '../src/keys/router.js';
import { consoleLayout, viewSizeOf, type ScreenSize } from '../src/view/layout.js';
import { useConsoleActions, useConsoleStoreApi } from './useConsoleStore.js';

/**
 * Installs the dispatcher; `isActive` false while the terminal is handed to `watch`. `size`:
 * the screen's, from which each key's page sizes are computed (with the state as it is when
 * the key arrives, e.g. a view the previous key opened).
 */
export function useKeymapDispatcher(isActive: boolean, size: ScreenSize): void {
  const store = useConsoleStoreApi();
  const actions = useConsoleActions();
  const sizeRef = useRef(size);
  useLayoutEffect(() => {
    sizeRef.current = size;
  }, [size]);
  useInput(
    (input, key) => {
      // Keys typed fast (or sent by tmux back to back) can arrive as one chunk ("jj", ESC+j):
      // each key is dispatched on its own so every key counts.
      for (const press of keyPressesOf(input, key)) {
        dispatchKey(press, store, actions, viewSizeOf(consoleLayout(store.getState(), sizeRef.current)));
      }
    },
    { isActive },
  );
}
