/**
 * A tick that moves only the fleet table's cells is written as the table's changed lines alone
 * (src/ink/line-write.ts): the bytes the console wrote, replayed in a real terminal (a tmux pane
 * on an isolated socket), show exactly what a fresh console drawing the same state shows — the
 * screen with its colours, and the cursor where Ink's log-update expects it, so the full frame
 * Ink writes after a key press lands right too. Counted (lines, writes), never timed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import React from 'react';
import chalk from 'chalk';
import { render, type Instance } from 'ink';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App } from '../../components/App.js';
import { fleetCellRedraws, redrawFleetCells, type DirectLines } from '../../components/FleetTable.js';
import { ConsoleProvider } from '../../hooks/useConsoleStore.js';
import { lineWrites, loadInkLineWriter, plainLineWidth, type InkLineWriter } from '../../src/ink/line-write.js';
import type { AgentRow, Snapshot } from '../../src/snapshot/types.js';
import { createConsoleStore, type ConsoleStore } from '../../src/store/index.js';
import { makeBacklog, makeSnapshot, manyAgents } from '../fixtures/snapshots.js';
import { fakeTtyStdin } from '../helpers/ink-terminal.js';
import { recordingActions } from '../helpers/render.js';
import { startIsolatedTmux, waitFor, type IsolatedTmux } from '../helpers/tmux.js';

const COLUMNS = 180;
const ROWS = 30;

/** 40 agents, pane `i` idle `idle + i` s, every beat `idle` s old, the evidence quoting it; `edit` changes one row. */
function fleetOf(idle: number, edit?: (a: AgentRow, i: number) => AgentRow): Snapshot {
  const agents = manyAgents(40).map((a, i) => {
    const row: AgentRow = {
      ...a,
      // Wide and combining characters before the changing cells (their columns by width).
      ...(i === 6 ? { class: 'cöde\u0301' } : i === 7 ? { runtime: '名前' } : i === 8 ? { class: 'a→b…▀·' } : {}),
      pane: a.pane ? { ...a.pane, idleSeconds: idle + i } : a.pane,
      heartbeat: a.heartbeat ? { ...a.heartbeat, ageSeconds: idle } : a.heartbeat,
      evidence: [`heartbeat ${idle}s old, state=busy`, ...a.evidence.slice(1)],
    };
    return edit ? edit(row, i) : row;
  });
  return makeSnapshot(agents, { backlog: { ...makeBacklog(), claimed: [] } });
}

/** A console mounted by real Ink on a TTY-like stdout that keeps every byte written. */
interface Recorded {
  store: ConsoleStore;
  instance: Instance;
  stdout: NodeJS.WriteStream;
  bytes: () => string;
  writes: () => number;
  type: (text: string) => Promise<void>;
}

function mountRecorded(color: boolean, snapshot: Snapshot): Recorded {
  const store = createConsoleStore({ color });
  store.getState().applySnapshot(snapshot);
  const chunks: string[] = [];
  const input: string[] = [];
  const stdin = fakeTtyStdin(input);
  const stdout = Object.assign(new EventEmitter(), {
    columns: COLUMNS,
    rows: ROWS,
    isTTY: true,
    write: (data: string) => {
      chunks.push(data);
      return true;
    },
  }) as unknown as NodeJS.WriteStream;
  const instance = render(React.createElement(ConsoleProvider, { store, actions: recordingActions() }, React.createElement(App)), {
    stdout,
    stdin: stdin as unknown as NodeJS.ReadStream,
    exitOnCtrlC: false,
    patchConsole: false,
    maxFps: 1000,
  });
  return {
    store,
    instance,
    stdout,
    bytes: () => chunks.join(''),
    writes: () => chunks.length,
    async type(text) {
      input.push(text);
      stdin.emit('readable');
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
    },
  };
}

/** Waits until Ink's last frame (its `lastOutput`) satisfies `test`. */
async function untilFrame(writer: InkLineWriter, r: Recorded, test: (frame: string) => boolean, what: string): Promise<void> {
  await waitFor(() => test(writer.instanceOf(r.stdout)?.lastOutput ?? ''), what, { timeoutMs: 5000, intervalMs: 5 });
}

let tmux: IsolatedTmux;
let dir: string;
let replays = 0;
const savedLevel = chalk.level;

/**
 * A `capture-pane -e` screen as cells: per line, each character with the SGR state it is drawn
 * in (tmux's capture carries the state across lines and may close it on the next line), trailing
 * blanks in the default state dropped. Two screens with equal cells look the same.
 */
function cellsOf(capture: string): string[] {
  let fg = '';
  let bg = '';
  const attrs = new Set<string>();
  const apply = (params: string) => {
    const codes = params === '' ? ['0'] : params.split(';');
    for (let i = 0; i < codes.length; i++) {
      const c = Number(codes[i]);
      if (c === 0) [fg, bg] = ['', ''];
      if (c === 0) attrs.clear();
      else if (c === 38 || c === 48) {
        const n = codes[i + 1] === '5' ? 2 : 4;
        const value = codes.slice(i, i + 1 + n).join(';');
        if (c === 38) fg = value;
        else bg = value;
        i += n;
      } else if (c === 39) fg = '';
      else if (c === 49) bg = '';
      else if ((c >= 30 && c <= 37) || (c >= 90 && c <= 97)) fg = String(c);
      else if ((c >= 40 && c <= 47) || (c >= 100 && c <= 107)) bg = String(c);
      else if (c === 22) ['1', '2'].forEach((a) => attrs.delete(a));
      else if (c > 22 && c < 30) attrs.delete(String(c - 20));
      else attrs.add(String(c));
    }
  };
  return capture.split('\n').map((line) => {
    const cells: string[] = [];
    for (let i = 0; i < line.length; i++) {
      const sgr = /^\x1b\[([0-9;]*)m/.exec(line.slice(i, i + 32));
      if (sgr) {
        apply(sgr[1]!);
        i += sgr[0].length - 1;
        continue;
      }
      cells.push(`${line[i]}${fg}/${bg}/${[...attrs].sort().join(',')}`);
    }
    while (cells.length > 0 && cells.at(-1) === ' //') cells.pop();
    return cells.join(' ');
  });
}

/** What a terminal shows after `bytes`: the screen with its colours, and the cursor. */
async function replay(bytes: string): Promise<{ screen: string[]; cursor: string }> {
  const n = ++replays;
  const file = path.join(dir, `replay-${n}`);
  fs.writeFileSync(file, bytes);
  await tmux.newSession(`r${n}`, ['sh', '-c', `cat ${file}; tmux wait-for -S done-${n}; exec sleep 3600`], { width: COLUMNS, height: ROWS });
  await tmux.ok(['wait-for', `done-${n}`]);
  const screen = await tmux.ok(['capture-pane', '-e', '-p', '-t', `=r${n}:0.0`]);
  const cursor = await tmux.ok(['display-message', '-p', '-t', `=r${n}:0.0`, '#{cursor_x},#{cursor_y}']);
  await tmux.killSession(`r${n}`);
  return { screen: cellsOf(screen), cursor: cursor.trim() };
}

/** The bytes a fresh console writes for `snapshot` after `keys`, once its frame shows `until`. */
async function freshBytes(writer: InkLineWriter, color: boolean, snapshot: Snapshot, keys: string[], until: string): Promise<string> {
  const r = mountRecorded(color, snapshot);
  try {
    await untilFrame(writer, r, (f) => f.includes(until), 'fresh frame');
    for (const k of keys) await r.type(k);
    await untilFrame(writer, r, (f) => f.includes(until) && f.includes(`> agent${String(keys.length).padStart(3, '0')}`), 'fresh frame after keys');
    return r.bytes();
  } finally {
    r.instance.unmount();
  }
}

beforeAll(async () => {
  chalk.level = Math.max(chalk.level, 1) as typeof chalk.level;
  tmux = await startIsolatedTmux('linewrite');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-linewrite-'));
});

afterAll(async () => {
  chalk.level = savedLevel;
  await tmux?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('table lines written alone', () => {
  it('plainLineWidth: printable text and SGR only', () => {
    expect(plainLineWidth('abc')).toBe(3);
    expect(plainLineWidth('\x1b[1mab\x1b[22m·c')).toBe(4);
    expect(plainLineWidth('a\x1b]0;title\x07')).toBeNull();
    expect(plainLineWidth('a\tb')).toBeNull();
    expect(plainLineWidth('名前')).toBe(4);
    expect(plainLineWidth('▁▂█·…→–x')).toBe(8);
  });

  for (const color of [true, false]) {
    it(`ages moved: changed lines only, and the terminal shows a fresh console's screen, also after a key (colour ${color ? 'on' : 'off'})`, async () => {
      const writer = await loadInkLineWriter();
      expect(writer).not.toBeNull();
      const direct: DirectLines = { writer: writer!, stdout: undefined as unknown as NodeJS.WriteStream };
      const r = mountRecorded(color, fleetOf(600));
      direct.stdout = r.stdout;
      try {
        await untilFrame(writer!, r, (f) => f.includes('agent000') && f.includes('10m00s'), 'first frame');
        const keys = Array.from({ length: 10 }, () => 'j');
        for (const k of keys) await r.type(k);
        await untilFrame(writer!, r, (f) => f.includes('> agent010'), 'selection moved');
        const frameBytes = writer!.instanceOf(r.stdout)!.lastOutput.length;
        const before = { written: fleetCellRedraws.written, lines: lineWrites.lines, writes: r.writes(), bytes: r.bytes().length };
        // One agent's age moved: one line written, one write.
        // (Its line holds the console's one-cell glyphs: measured by a scan, not by string-width.)
        const measured = lineWrites.measured;
        const one = fleetOf(600, (a, i) => (i === 8 && a.pane ? { ...a, pane: { ...a.pane, idleSeconds: 700 } } : a));
        expect(redrawFleetCells(r.store, one, Date.now(), direct)).toBe(true);
        expect(fleetCellRedraws.written - before.written).toBe(1);
        expect(lineWrites.lines - before.lines).toBe(1);
        expect(lineWrites.measured - measured).toBe(0);
        expect(r.writes() - before.writes).toBe(1);
        expect(r.bytes().length - before.bytes).toBeLessThan(frameBytes / 10);
        // Every age moved: a line per visible agent row at most (the table's rows on this screen), one write.
        // (And agent006's class loses its combining accent: a change right next to a non-ASCII character.)
        const moved = fleetOf(603, (a, i) => (i === 6 ? { ...a, class: 'cöde' } : i === 8 ? { ...a, class: 'a→c…▀·' } : a));
        const tableRows = ROWS - 1;
        const bytesBefore = r.bytes().length;
        expect(redrawFleetCells(r.store, moved, Date.now(), direct)).toBe(true);
        expect(lineWrites.lines - before.lines).toBeGreaterThan(10);
        expect(lineWrites.lines - before.lines).toBeLessThan(1 + tableRows);
        expect(r.writes() - before.writes).toBe(2);
        // Only the changed cells of each line (and the colours before them), not whole lines.
        expect(r.bytes().length - bytesBefore).toBeLessThan(frameBytes / 3);
        // A wider column, then back: every line shrinks, the cells it no longer covers are blanked.
        expect(
          redrawFleetCells(
            r.store,
            fleetOf(603, (a, i) => (i === 3 ? { ...a, runtime: 'a-much-longer-runtime' } : a)),
            Date.now(),
            direct,
          ),
        ).toBe(true);
        expect(redrawFleetCells(r.store, moved, Date.now(), direct)).toBe(true);
        expect(fleetCellRedraws.written - before.written).toBe(4);
        expect(await replay(r.bytes())).toEqual(await replay(await freshBytes(writer!, color, moved, keys, '10m03s')));
        // A key after the direct write: Ink writes its whole frame again, from where the cursor was left.
        await r.type('j');
        await waitFor(() => r.writes() > before.writes + 2, 'frame after the key', { timeoutMs: 5000, intervalMs: 5 });
        await untilFrame(writer!, r, (f) => f.includes('> agent011'), 'selection moved again');
        expect(await replay(r.bytes())).toEqual(await replay(await freshBytes(writer!, color, moved, [...keys, 'j'], '10m03s')));
      } finally {
        r.instance.unmount();
      }
    });
  }
});
