/**
 * React glue for the console store: the context that carries the store and the actions, and
 * typed selector hooks. Selectors return primitives, or go through `useShallow` (zustand v5:
 * a selector that builds a new object each time re-renders forever).
 */
import { createContext, createElement, useContext, type ReactNode } from 'react';
import { useStore } from 'zustand';
import { useShallow } from 'zustand/react/shallow';
import type { ConsoleActions } from '../src/keys/types.js';
import type { ConsoleState, ConsoleStore } from '../src/store/index.js';

interface ConsoleContextValue {
  store: ConsoleStore;
  actions: ConsoleActions;
}

const ConsoleContext = createContext<ConsoleContextValue | null>(null);

/** Provides the store and actions to the console's components. */
export function ConsoleProvider(props: { store: ConsoleStore; actions: ConsoleActions; children?: ReactNode }): ReactNode {
  return createElement(ConsoleContext.Provider, { value: { store: props.store, actions: props.actions } }, props.children);
}

function useConsoleContext(): ConsoleContextValue {
  const value = useContext(ConsoleContext);
  if (!value) throw new Error('console components need a <ConsoleProvider>');
  return value;
}

/** Reads a primitive (or a stable reference) from the store; re-renders when it changes. */
export function useConsole<T>(selector: (s: ConsoleState) => T): T {
  return useStore(useConsoleContext().store, selector);
}

/** Reads an object/array from the store compared shallowly (one level). */
export function useConsoleShallow<T extends object>(selector: (s: ConsoleState) => T): T {
  return useStore(useConsoleContext().store, useShallow(selector));
}

/** The store itself (for the input dispatcher). */
export function useConsoleStoreApi(): ConsoleStore {
  return useConsoleContext().store;
}

/** The actions the dispatcher calls. */
export function useConsoleActions(): ConsoleActions {
  return useConsoleContext().actions;
}
