/**
 * The join looks at a pane's processes again only when they changed: program names are kept per
 * process table and pane while the pane's processes are the same entries (the console's
 * incremental /proc reader keeps an unchanged process's entry from tick to tick). Counted by
 * identity, never timed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ProcEntry, ProcessTree } from '../../fleet/proc.js';
import { programsUnder } from '../../fleet/proc.js';
import { ProcessTreeReader } from '../../fleet/proc-reader.js';
import { keptProgramsUnder } from '../../src/snapshot/join.js';

/** A tree of `entries` whose argv are given (as a remote host's `ps` would give them). */
function tree(entries: Map<number, ProcEntry>, argv: Map<number, string[]>): ProcessTree {
  const children = new Map<number, number[]>();
  for (const e of entries.values()) children.set(e.ppid, [...(children.get(e.ppid) ?? []), e.pid]);
  return { procRoot: '/nonexistent', entries, children, argv };
}

describe('program names kept per pane', () => {
  it('same entries: the same names, not looked at again; a changed or new process, or a new table: looked at again', () => {
    const entries = new Map<number, ProcEntry>([
      [10, { pid: 10, ppid: 1, comm: 'bash' }],
      [11, { pid: 11, ppid: 10, comm: 'node' }],
    ]);
    const argv = new Map([
      [10, ['bash']],
      [11, ['node', '/opt/pi/bin/pi']],
    ]);
    const first = keptProgramsUnder(tree(entries, argv), 10);
    expect(first).toEqual(['bash', 'node', 'pi']);
    expect(first).toEqual(programsUnder(tree(entries, argv), 10));
    // The next tick: the same entries (children rebuilt, as the reader does): the names kept.
    expect(keptProgramsUnder(tree(entries, argv), 10)).toBe(first);
    // The foreground process exec'd something else: a new entry, new names.
    entries.set(11, { pid: 11, ppid: 10, comm: 'claude' });
    argv.set(11, ['claude']);
    expect(keptProgramsUnder(tree(entries, argv), 10)).toEqual(['bash', 'claude']);
    // A child appeared.
    entries.set(12, { pid: 12, ppid: 11, comm: 'rg' });
    argv.set(12, ['rg', 'x']);
    expect(keptProgramsUnder(tree(entries, argv), 10)).toEqual(['bash', 'claude', 'rg']);
    // It is gone again.
    entries.delete(12);
    expect(keptProgramsUnder(tree(entries, argv), 10)).toEqual(['bash', 'claude']);
    // A new table (a full read: every entry new) is looked at afresh.
    const full = new Map([...entries].map(([pid, e]) => [pid, { ...e }]));
    const again = keptProgramsUnder(tree(full, argv), 10);
    expect(again).toEqual(['bash', 'claude']);
    expect(keptProgramsUnder(tree(full, argv), 10)).toBe(again);
  });

  it("with the reader's changes: a pane whose subtree did not change keeps its names without a walk; one that changed is walked", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-proc-'));
    const proc = (pid: number, ppid: number, comm: string, argv: string[]) => {
      fs.mkdirSync(path.join(root, String(pid)), { recursive: true });
      fs.writeFileSync(path.join(root, String(pid), 'stat'), `${pid} (${comm}) S ${ppid} 0 0\n`);
      fs.writeFileSync(path.join(root, String(pid), 'cmdline'), `${argv.join('\0')}\0`);
    };
    try {
      proc(10, 1, 'bash', ['bash']);
      proc(11, 10, 'node', ['node', '/opt/pi/bin/pi']);
      proc(20, 1, 'bash', ['bash']);
      const reader = new ProcessTreeReader(root);
      const panes = [
        { pid: 10, currentCommand: 'node' },
        { pid: 20, currentCommand: 'bash' },
      ];
      let t = reader.read(panes, 0);
      expect(t.changes).toEqual({ read: 1, dirty: null });
      const a = keptProgramsUnder(t, 10);
      const b = keptProgramsUnder(t, 20);
      expect(a).toEqual(['bash', 'node', 'pi']);
      // A grandchild under pane 10: it and its ancestors are dirty, pane 20 is not.
      proc(12, 11, 'rg', ['rg', 'x']);
      t = reader.read(panes, 2_000);
      expect([...(t.changes?.dirty ?? [])].sort()).toEqual([1, 10, 11, 12]);
      expect(keptProgramsUnder(t, 10)).toEqual(['bash', 'node', 'pi', 'rg']);
      expect(keptProgramsUnder(t, 20)).toBe(b);
      // Nothing changed: the names are kept without a walk (a tree without children would walk to the pane alone).
      t = reader.read(panes, 4_000);
      expect(t.changes?.dirty?.size).toBe(0);
      const kept = keptProgramsUnder(t, 10);
      expect(keptProgramsUnder({ ...t, children: new Map() }, 10)).toBe(kept);
      // The grandchild goes: pane 10 is walked again.
      fs.rmSync(path.join(root, '12'), { recursive: true });
      t = reader.read(panes, 6_000);
      expect(keptProgramsUnder(t, 10)).toEqual(['bash', 'node', 'pi']);
      // A read skipped for a pane (its names last confirmed two reads ago): walked, not trusted.
      proc(21, 20, 'vim', ['vim']);
      reader.read(panes, 8_000);
      t = reader.read(panes, 10_000);
      expect(keptProgramsUnder(t, 20)).toEqual(['bash', 'vim']);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
