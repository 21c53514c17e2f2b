/**
 * The console App mounted by REAL Ink on a fake terminal (no tmux, no pty): a TTY stdout of a
 * fixed size that counts Ink's writes and times the last one, and a raw-mode stdin that
 * `type(…)` feeds. For tests that count what a tick writes and for the console benches (which
 * import this module dynamically, after setting NODE_ENV, as they do React).
 */
import React from 'react';
import { EventEmitter } from 'node:events';
import { render, type Instance, type RenderOptions } from 'ink';
import { App } from '../../components/App.js';
import { ConsoleProvider } from '../../hooks/useConsoleStore.js';
import type { ConsoleStore } from '../../src/store/index.js';
import { recordingActions } from './render.js';

/** A fake terminal for Ink: its streams, and what Ink wrote to it. */
export interface FakeTerminal {
  stdout: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  /** Writes Ink made to stdout so far. */
  writes: number;
  /** `performance.now()` of the last write (ms), 0 before any. */
  lastWriteAt: number;
  /** Types `text` into the terminal as one read (Ink reads stdin in raw mode on 'readable'). */
  type(text: string): void;
}

/**
 * A TTY-like stdin for Ink: raw mode and the stream calls Ink makes are no-ops, and each `read()`
 * takes the next string of `queue` (push onto it, then emit 'readable'). Cast it to
 * `NodeJS.ReadStream` where Ink's options want one.
 */
export function fakeTtyStdin(queue: string[]): EventEmitter & { isTTY: true; read(): string | null } {
  return Object.assign(new EventEmitter(), {
    isTTY: true as const,
    setRawMode() {},
    setEncoding() {},
    resume() {},
    pause() {},
    ref() {},
    unref() {},
    read: (): string | null => queue.shift() ?? null,
  });
}

/** A `columns`×`rows` TTY whose stdout only counts writes and whose stdin yields what {@link FakeTerminal.type} queued. */
export function fakeTerminal(columns: number, rows: number): FakeTerminal {
  const chunks: string[] = [];
  const stdin = fakeTtyStdin(chunks);
  const terminal: FakeTerminal = {
    stdout: Object.assign(new EventEmitter(), {
      columns,
      rows,
      isTTY: true,
      write: () => {
        terminal.writes++;
        terminal.lastWriteAt = performance.now();
        return true;
      },
    }) as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    writes: 0,
    lastWriteAt: 0,
    type(text) {
      chunks.push(text);
      stdin.emit('readable');
    },
  };
  return terminal;
}

/** Options of {@link mountConsoleApp}: terminal size, Ink's frame cap and render hook, the component (default App). */
export interface MountOptions {
  columns: number;
  rows: number;
  maxFps: number;
  onRender?: RenderOptions['onRender'];
  /** The component under the provider: App, or a wrapper of it (e.g. one that counts renders). */
  component?: React.ComponentType;
}

/**
 * Mounts the console App for `store` (actions that only record their calls) with Ink on a
 * fresh fake terminal; returns Ink's instance (unmount it) and the terminal.
 */
export function mountConsoleApp(store: ConsoleStore, opts: MountOptions): { instance: Instance; terminal: FakeTerminal } {
  const terminal = fakeTerminal(opts.columns, opts.rows);
  const instance = render(React.createElement(ConsoleProvider, { store, actions: recordingActions() }, React.createElement(opts.component ?? App)), {
    stdout: terminal.stdout,
    stdin: terminal.stdin,
    exitOnCtrlC: false,
    patchConsole: false,
    maxFps: opts.maxFps,
    ...(opts.onRender ? { onRender: opts.onRender } : {}),
  });
  return { instance, terminal };
}
