import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { descendantsOf, programsUnder, readProcessTree } from '../../fleet/proc.js';

describe('process tree (fake /proc)', () => {
  let root: string | null = null;
  afterEach(() => { if (root) fs.rmSync(root, { recursive: true, force: true }); root = null; });

  const proc = (pid: number, ppid: number, comm: string, argv: string[] | null) => {
    const dir = path.join(root!, String(pid));
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'stat'), `${pid} (${comm}) S ${ppid} ${pid} ${pid} 0 -1 4194304`);
    if (argv) fs.writeFileSync(path.join(dir, 'cmdline'), `${argv.join('\u0000')}\u0000`);
  };

  it('walks descendants and names programs by comm, argv[0] and argv[1] basenames', () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-proc-'));
    proc(100, 1, 'bash', ['-bash']); // login shell: argv[0] starts with '-'
    proc(200, 100, 'node', ['/usr/bin/node', '/opt/agents/bin/pi', '--model', 'x']);
    proc(300, 200, 'git', ['git', 'status']);
    proc(400, 1, 'python3', ['python3', 'dogfood-agent.py']); // not under the pane
    proc(500, 300, 'vanished', null); // cmdline gone
    fs.mkdirSync(path.join(root, 'self'));
    fs.mkdirSync(path.join(root, '600')); // no stat: skipped
    const tree = readProcessTree(root);
    expect(tree.entries.size).toBe(5);
    expect(descendantsOf(tree, 100)).toEqual([100, 200, 300, 500]);
    expect(descendantsOf(tree, 100, 2)).toEqual([100, 200]);
    expect(programsUnder(tree, 100)).toEqual(['bash', 'node', 'pi', 'git', 'vanished']);
    expect(programsUnder(tree, 400)).toEqual(['python3', 'dogfood-agent.py']);
  });
});
