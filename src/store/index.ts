/**
 * The console's model: ONE vanilla zustand store (works outside React: the poller writes it,
 * components read it with selectors), split into slices fleet / backlog / ui.
 */
import { createStore } from 'zustand/vanilla';
import { createBacklogSlice } from './backlog-slice.js';
import { createFleetSlice } from './fleet-slice.js';
import { createUiSlice } from './ui-slice.js';
import { createTransitionsSlice } from './transitions-slice.js';
import type { ConsoleState, ConsoleStore, UiOptions } from './state.js';

export type { BacklogEventView, ConsoleState, ConsoleStore, DetailsOf, Focus, Modal, Notice, OpenView, PlainModal, UiOptions } from './state.js';

/** Creates the console store. `readonly` and `color` are fixed for the session. */
export function createConsoleStore(opts: UiOptions = {}): ConsoleStore {
  return createStore<ConsoleState>()((...a) => ({
    ...createFleetSlice(...a),
    ...createBacklogSlice(...a),
    ...createUiSlice(opts)(...a),
    ...createTransitionsSlice(...a),
  }));
}
