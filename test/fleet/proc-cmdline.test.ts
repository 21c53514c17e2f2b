/**
 * argv kept per process by the console's process-tree reader (fleet/proc.ts): a process kept
 * from the last read is not read again (counted through a `cmdline` rewritten under it, which a
 * kept entry does not see until the reader's full re-read); a re-read process (new pid, or its
 * pane's command changed) is read again; a one-off tree reads every time.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { programsUnder, readCmdline, readProcessTree } from '../../fleet/proc.js';
import { ProcessTreeReader } from '../../fleet/proc-reader.js';

let root: string;

/** A fake `/proc` entry: `stat` (pid, comm, ppid) and `cmdline` (argv, NUL separated). */
function proc(pid: number, ppid: number, comm: string, argv: string[]): void {
  fs.mkdirSync(path.join(root, String(pid)), { recursive: true });
  fs.writeFileSync(path.join(root, String(pid), 'stat'), `${pid} (${comm}) S ${ppid} 0 0\n`);
  fs.writeFileSync(path.join(root, String(pid), 'cmdline'), `${argv.join('\0')}\0`);
}

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-proc-'));
  proc(100, 1, 'bash', ['bash']);
  proc(101, 100, 'node', ['node', '/opt/pi/bin/pi']);
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe('argv kept across reads of the process tree', () => {
  it('a kept process is not read again until the full re-read; a changed pane reads its subtree again', () => {
    const reader = new ProcessTreeReader(root, 30_000);
    const panes = [{ pid: 100, currentCommand: 'node' }];
    let tree = reader.read(panes, 0);
    expect(programsUnder(tree, 100)).toEqual(['bash', 'node', 'pi']);
    // Rewritten under a kept entry: still the argv read before (no read of cmdline).
    proc(101, 100, 'node', ['node', '/opt/codex/bin/codex']);
    tree = reader.read(panes, 2_000);
    expect(readCmdline(tree, 101)).toEqual(['node', '/opt/pi/bin/pi']);
    // The pane's command changed: its subtree is read again, argv with it.
    tree = reader.read([{ pid: 100, currentCommand: 'codex' }], 4_000);
    expect(programsUnder(tree, 100)).toEqual(['bash', 'node', 'codex']);
    // A new process is read.
    proc(102, 100, 'sleep', ['sleep', '60']);
    tree = reader.read([{ pid: 100, currentCommand: 'codex' }], 6_000);
    expect(readCmdline(tree, 102)).toEqual(['sleep', '60']);
    // The full re-read (every 30 s) reads every argv again.
    proc(101, 100, 'node', ['node', '/opt/opencode/bin/opencode']);
    expect(readCmdline(reader.read([{ pid: 100, currentCommand: 'codex' }], 6_000), 101)).toEqual(['node', '/opt/codex/bin/codex']);
    expect(readCmdline(reader.read([{ pid: 100, currentCommand: 'codex' }], 40_000), 101)).toEqual(['node', '/opt/opencode/bin/opencode']);
  });

  it('a one-off tree (--once, actions) reads cmdline every time', () => {
    const tree = readProcessTree(root);
    expect(readCmdline(tree, 101)).toEqual(['node', '/opt/pi/bin/pi']);
    proc(101, 100, 'node', ['node', '/opt/codex/bin/codex']);
    expect(readCmdline(tree, 101)).toEqual(['node', '/opt/codex/bin/codex']);
  });
});
