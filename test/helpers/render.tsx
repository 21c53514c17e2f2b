/**
 * The ONE component-test harness of the console (no sleeps: press() and waitFor(frame contains …)): renders a tree inside a
 * <ConsoleProvider> with an injected store and actions through ink-testing-library, at a fixed
 * width/height, and offers `press(key)` and `waitFor(frame => …)` — polling, never sleeping.
 */
import React from 'react';
import { render as inkRender } from 'ink-testing-library';
import { App } from '../../components/App.js';
import { ConsoleProvider } from '../../hooks/useConsoleStore.js';
import type { ConsoleActions } from '../../src/keys/types.js';
import { createConsoleStore, type ConsoleStore, type UiOptions } from '../../src/store/index.js';
import type { Snapshot } from '../../src/snapshot/types.js';

/** Key names accepted by {@link Rendered.press} besides plain characters. */
const SEQUENCES: Record<string, string> = {
  up: '\u001b[A',
  down: '\u001b[B',
  pageup: '\u001b[5~',
  pagedown: '\u001b[6~',
  enter: '\r',
  escape: '\u001b',
  tab: '\t',
  backspace: '\u007f',
  'ctrl+c': '\u0003',
};

/** Records every action call; each returns immediately. */
export interface RecordingActions extends ConsoleActions {
  calls: string[];
}

/** Actions that only record their calls (for keymap/dispatch tests). */
export function recordingActions(over: Partial<ConsoleActions> = {}): RecordingActions {
  const calls: string[] = [];
  const rec =
    (name: string) =>
    (...args: unknown[]) => {
      const label = (a: unknown) =>
        typeof a === 'object' && a ? ('name' in a ? (a as { name: string }).name : 'id' in a ? (a as { id: string }).id : String(a)) : String(a);
      calls.push([name, ...args.map(label)].join(' '));
      return Promise.resolve();
    };
  return {
    calls,
    quit: rec('quit') as () => void,
    refresh: rec('refresh') as () => void,
    togglePreview: rec('togglePreview') as () => void,
    watch: rec('watch') as ConsoleActions['watch'],
    pauseOrResume: rec('pauseOrResume') as ConsoleActions['pauseOrResume'],
    send: rec('send') as ConsoleActions['send'],
    dispatch: rec('dispatch') as ConsoleActions['dispatch'],
    reclaim: rec('reclaim') as ConsoleActions['reclaim'],
    release: rec('release') as ConsoleActions['release'],
    unitAction: rec('unitAction') as NonNullable<ConsoleActions['unitAction']>,
    answer: rec('answer') as NonNullable<ConsoleActions['answer']>,
    ...over,
  };
}

/** Options of {@link renderConsole}: size (default 80×24), snapshot, injected store/actions. */
export interface RenderOptions extends UiOptions {
  columns?: number;
  rows?: number;
  snapshot?: Snapshot;
  store?: ConsoleStore;
  actions?: ConsoleActions;
}

/** A rendered console under test. */
export interface Rendered {
  store: ConsoleStore;
  actions: ConsoleActions;
  /** The last frame (ANSI included when colour is on). */
  frame: () => string;
  /** Frame lines. */
  lines: () => string[];
  /** Sends a key: a name from SEQUENCES (`up`, `enter`, `escape`, `ctrl+c`…) or literal text. */
  press: (key: string) => Promise<void>;
  /** Polls until `predicate(frame)` holds (default deadline 3000 ms); throws with the last frame. */
  waitFor: (predicate: (frame: string) => boolean, what?: string, timeoutMs?: number) => Promise<string>;
  /** Changes the terminal size and emits 'resize'. */
  resize: (columns: number, rows: number) => void;
  unmount: () => void;
}

/** Renders the whole console App (or `tree`) at `columns`×`rows` (default 80×24). */
export function renderConsole(opts: RenderOptions = {}, tree?: React.ReactElement): Rendered {
  const store = opts.store ?? createConsoleStore({ readonly: opts.readonly, color: opts.color ?? false });
  if (opts.snapshot) store.getState().applySnapshot(opts.snapshot);
  const actions = opts.actions ?? recordingActions();
  let columns = opts.columns ?? 80;
  let rows = opts.rows ?? 24;
  // Mount empty first, fix the size on ink-testing-library's stdout, then render the tree:
  // Ink reads stdout.columns/rows on every render, and useTerminalSize follows 'resize'.
  const instance = inkRender(<></>);
  Object.defineProperty(instance.stdout, 'columns', { get: () => columns, configurable: true });
  Object.defineProperty(instance.stdout, 'rows', { get: () => rows, configurable: true });
  instance.rerender(
    <ConsoleProvider store={store} actions={actions}>
      {tree ?? <App />}
    </ConsoleProvider>,
  );
  const frame = () => instance.lastFrame() ?? '';
  const waitFor = async (predicate: (f: string) => boolean, what = 'frame condition', timeoutMs = 3000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = frame();
      if (predicate(f)) return f;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last frame:\n${f}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return {
    store,
    actions,
    frame,
    lines: () => frame().split('\n'),
    async press(key) {
      instance.stdin.write(SEQUENCES[key] ?? key);
      // Let Ink's input parser and React flush (a macrotask, not a timed sleep).
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
    },
    waitFor,
    resize(c, r) {
      columns = c;
      rows = r;
      instance.stdout.emit('resize');
    },
    unmount: () => {
      instance.unmount();
      instance.cleanup();
    },
  };
}
