/**
 * The join looks at a pane's processes again only when they changed: program names are kept per
 * process table and pane while the pane's processes are the same entries (the console's
 * incremental /proc reader keeps an unchanged process's entry from tick to tick). Counted by
 * identity, never timed.
 */
import { describe, expect, it } from 'vitest';
import type { ProcEntry, ProcessTree } from '../../fleet/proc.js';
import { programsUnder } from '../../fleet/proc.js';
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
});
