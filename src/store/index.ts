/**
 * The console's model: ONE vanilla zustand store (works outside React: the poller writes it,
 * components read it with selectors), split into slices fleet / backlog / ui.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { createBacklogSlice, type BacklogSlice } from './backlog-slice.js';
import { createFleetSlice, type FleetSlice } from './fleet-slice.js';
import { createUiSlice, type UiOptions, type UiSlice } from './ui-slice.js';
import { createTransitionsSlice, type TransitionsSlice } from './transitions-slice.js';

/** The whole console state: the slices (fleet, backlog, ui, transitions) and their actions. */
export type ConsoleState = FleetSlice & BacklogSlice & UiSlice & TransitionsSlice;
/** The vanilla store (getState/setState/subscribe), usable outside React. */
export type ConsoleStore = StoreApi<ConsoleState>;
export type { DetailsOf, Focus, Modal, Notice, OpenView, PlainModal, UiOptions } from './ui-slice.js';
export { openDetailsOf, openPending, openScroll } from './ui-slice.js';
export type { BacklogEventView } from './backlog-slice.js';

/** Creates the console store. `readonly` and `color` are fixed for the session. */
export function createConsoleStore(opts: UiOptions = {}): ConsoleStore {
  return createStore<ConsoleState>()((...a) => ({
    ...createFleetSlice(...a),
    ...createBacklogSlice(...a),
    ...createUiSlice(opts)(...a),
    ...createTransitionsSlice(...a),
  }));
}
