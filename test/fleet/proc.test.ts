import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { spawn } from 'node:child_process';
import { descendantsOf, parseProcStat, programsUnder, readProcessSubtree, readProcessSubtrees, readProcessTree } from '../../fleet/proc.js';
import { imageMark, ProcessTreeReader, taskMark } from '../../fleet/proc-reader.js';

describe('process tree (fake /proc)', () => {
  let root: string | null = null;
  afterEach(() => {
    if (root) fs.rmSync(root, { recursive: true, force: true });
    root = null;
  });

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

  it('ProcessTreeReader reads only what changed between ticks, and the whole table every fullEveryMs', () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-proc-'));
    proc(100, 1, 'bash', ['bash']);
    proc(200, 100, 'claude', ['claude']);
    proc(300, 1, 'sshd', ['sshd']);
    const reader = new ProcessTreeReader(root, 30_000);
    const pane = (command: string) => [{ pid: 100, currentCommand: command }];
    let tree = reader.read(pane('claude'), 0);
    expect(programsUnder(tree, 100)).toEqual(['bash', 'claude']);
    // A new process under the pane is seen at once.
    proc(210, 200, 'rg', ['rg']);
    tree = reader.read(pane('claude'), 2_000);
    expect(descendantsOf(tree, 100)).toEqual([100, 200, 210]);
    // Its parent goes: the orphan is read again and found re-parented, no longer under the pane.
    fs.rmSync(path.join(root, '200'), { recursive: true });
    fs.writeFileSync(path.join(root, '210', 'stat'), '210 (rg) S 1 210 210 0 -1 4194304');
    tree = reader.read(pane('bash'), 4_000);
    expect(descendantsOf(tree, 100)).toEqual([100]);
    expect(tree.entries.get(210)?.ppid).toBe(1);
    // An exec far from the pane's foreground is not re-read until the pane changes or the full read.
    fs.writeFileSync(path.join(root, '300', 'stat'), '300 (sshd-new) S 1 300 300 0 -1 4194304');
    expect(reader.read(pane('bash'), 6_000).entries.get(300)?.comm).toBe('sshd');
    expect(reader.read(pane('bash'), 31_000).entries.get(300)?.comm).toBe('sshd-new');
    // An exec in the pane (tmux reports another current command) re-reads its subtree.
    fs.writeFileSync(path.join(root, '100', 'stat'), '100 (vim) S 1 100 100 0 -1 4194304');
    expect(programsUnder(reader.read(pane('vim'), 33_000), 100)).toContain('vim');
  });
});

describe('ProcessTreeReader: the panes checked every paneEveryMs, the whole table every fullEveryMs or after a gap', () => {
  let root = '';
  afterEach(() => {
    if (root) fs.rmSync(root, { recursive: true, force: true });
    root = '';
  });

  /** A kernel-shaped `stat` (52 fields) whose image mark (fields 48, 49: arg_start, arg_end) is `image`. */
  const stat = (pid: number, comm: string, ppid: number, image: number) => {
    const fields = [`${pid}`, `(${comm})`, 'S', `${ppid}`, ...Array.from({ length: 43 }, () => '0'), `${image}`, `${image + 20}`, '0', '0', '0'];
    return `${fields.join(' ')}\n`;
  };
  const proc = (pid: number, comm: string, ppid: number, image: number, argv: string[]) => {
    fs.mkdirSync(path.join(root, String(pid)), { recursive: true });
    fs.writeFileSync(path.join(root, String(pid), 'stat'), stat(pid, comm, ppid, image));
    fs.writeFileSync(path.join(root, String(pid), 'cmdline'), `${argv.join('\0')}\0`);
  };

  it('reads the image mark from the kernel shape only', () => {
    expect(imageMark(stat(7, 'a) b', 1, 5000))).toBe('5000 5020');
    expect(imageMark(stat(7, 'x', 1, 0))).toBeNull();
    expect(imageMark('7 (x) S 1 7 7 0 -1')).toBeNull();
    expect(imageMark(fs.readFileSync('/proc/self/stat', 'utf8'))).toMatch(/^\d+ \d+$/);
  });

  it('checks only the processes under the panes at paneEveryMs: an exec there is seen, a kept process keeps its entry and argv', () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-proc-'));
    proc(100, 'bash', 1, 1000, ['bash']);
    proc(200, 'node', 100, 2000, ['node', '/opt/pi/bin/pi']);
    proc(300, 'sshd', 1, 3000, ['sshd']);
    const reader = new ProcessTreeReader(root);
    const panes = [{ pid: 100, currentCommand: 'bash' }];
    let tree = reader.read(panes, 0);
    expect(reader.stats).toEqual({ statReads: 3, listings: 1, fullReads: 1, paneChecks: 0 });
    expect(programsUnder(tree, 100)).toEqual(['bash', 'node', 'pi']);
    // An exec below the unchanged foreground, one far from the panes: nothing read before the pane check.
    proc(200, 'node', 100, 2500, ['node', '/opt/codex/bin/codex']);
    proc(300, 'sshd-new', 1, 3500, ['sshd-new']);
    for (let t = 2_000; t < 30_000; t += 2_000) tree = reader.read(panes, t);
    expect(reader.stats.statReads).toBe(3);
    expect(programsUnder(tree, 100)).toEqual(['bash', 'node', 'pi']);
    // The pane check (30 s): the pane's two processes read, the exec'd one replaced, argv read again.
    const bash = tree.entries.get(100);
    tree = reader.read(panes, 30_000);
    expect(reader.stats).toEqual({ statReads: 5, listings: 16, fullReads: 1, paneChecks: 1 });
    expect(programsUnder(tree, 100)).toEqual(['bash', 'node', 'codex']);
    expect(tree.entries.get(300)?.comm).toBe('sshd');
    expect(tree.entries.get(100)).toBe(bash);
    const kept = tree.entries.get(200);
    fs.writeFileSync(path.join(root, '200', 'cmdline'), 'node\0/opt/opencode/bin/opencode\0');
    for (let t = 32_000; t <= 60_000; t += 2_000) tree = reader.read(panes, t);
    expect(reader.stats).toEqual({ statReads: 7, listings: 31, fullReads: 1, paneChecks: 2 });
    expect(tree.entries.get(200)).toBe(kept);
    expect(programsUnder(tree, 100)).toEqual(['bash', 'node', 'codex']);
  });

  it('reads the whole table every fullEveryMs and after a gap of more than maxGapMs', () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-proc-'));
    proc(100, 'bash', 1, 1000, ['bash']);
    proc(300, 'sshd', 1, 3000, ['sshd']);
    const reader = new ProcessTreeReader(root, { fullEveryMs: 20_000, paneEveryMs: 10_000, maxGapMs: 5_000 });
    const panes = [{ pid: 100, currentCommand: 'bash' }];
    reader.read(panes, 0);
    proc(300, 'sshd-new', 1, 3500, ['sshd-new']);
    expect(reader.read(panes, 4_000).entries.get(300)?.comm).toBe('sshd');
    // A gap (a stopped console): the whole table.
    expect(reader.read(panes, 10_000).entries.get(300)?.comm).toBe('sshd-new');
    proc(300, 'sshd', 1, 3000, ['sshd']);
    for (let t = 14_000; t < 30_000; t += 4_000) expect(reader.read(panes, t).entries.get(300)?.comm).toBe('sshd-new');
    expect(reader.read(panes, 30_000).entries.get(300)?.comm).toBe('sshd');
    expect(reader.stats.fullReads).toBe(3);
  });

  it('lists the table only when the task mark moved, once the kernel showed its last pid moving', () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-proc-'));
    proc(100, 'bash', 1, 1000, ['bash']);
    proc(200, 'node', 100, 2000, ['node']);
    const loadavg = (tasks: number, lastPid: number) => fs.writeFileSync(path.join(root, 'loadavg'), `0.00 0.01 0.05 1/${tasks} ${lastPid}\n`);
    const reader = new ProcessTreeReader(root);
    const panes = [{ pid: 100, currentCommand: 'bash' }];
    loadavg(900, 500);
    reader.read(panes, 0);
    // Not yet seen moving: every read lists.
    reader.read(panes, 2_000);
    expect(reader.stats.listings).toBe(2);
    // A process created: the last pid moved, the listing sees it.
    proc(210, 'rg', 200, 2100, ['rg']);
    loadavg(901, 501);
    expect(descendantsOf(reader.read(panes, 4_000), 100)).toEqual([100, 200, 210]);
    expect(reader.stats.listings).toBe(3);
    // Quiet: the mark stays, no listing, the same tree and children.
    const tree = reader.read(panes, 6_000);
    for (let t = 8_000; t < 20_000; t += 2_000) expect(reader.read(panes, t).children).toBe(tree.children);
    expect(reader.stats.listings).toBe(3);
    // A process ends (the count falls): listed, and gone.
    fs.rmSync(path.join(root, '210'), { recursive: true });
    loadavg(900, 501);
    expect(descendantsOf(reader.read(panes, 20_000), 100)).toEqual([100, 200]);
    expect(reader.stats.listings).toBe(4);
    // No mark (the file gone, or a last pid of 0): every read lists.
    loadavg(900, 0);
    reader.read(panes, 22_000);
    fs.rmSync(path.join(root, 'loadavg'));
    reader.read(panes, 24_000);
    expect(reader.stats.listings).toBe(6);
  });

  it('reads the task mark of the kernel shape only', () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-proc-'));
    const real = taskMark('/proc');
    expect(real && real.tasks > 0 && real.lastPid > 0).toBe(true);
    fs.writeFileSync(path.join(root, 'loadavg'), '0.1 0.2 0.3 2/1211 2490\n');
    expect(taskMark(root)).toEqual({ tasks: 1211, lastPid: 2490 });
    fs.writeFileSync(path.join(root, 'loadavg'), 'garbage\n');
    expect(taskMark(root)).toBeNull();
  });
});

describe('readProcessSubtree (the real /proc)', () => {
  it('finds the same descendants and program names as the whole tree, from task/*/children', async () => {
    const child = spawn('bash', ['-c', 'sleep 30 & sleep 30 & wait'], { stdio: 'ignore', detached: true });
    try {
      const pid = child.pid!;
      // Wait (bounded) until both sleeps are children of the shell.
      let sub = readProcessSubtree(pid);
      for (let i = 0; i < 100 && (sub?.entries.size ?? 0) < 3; i++) {
        await new Promise((r) => setTimeout(r, 20));
        sub = readProcessSubtree(pid);
      }
      expect(sub).not.toBeNull();
      expect(sub!.entries.size).toBe(3);
      const whole = readProcessTree();
      expect(descendantsOf(sub!, pid).sort()).toEqual(descendantsOf(whole, pid).sort());
      expect(programsUnder(sub!, pid).sort()).toEqual(programsUnder(whole, pid).sort());
      expect(programsUnder(sub!, pid)).toEqual(expect.arrayContaining(['bash', 'sleep']));
    } finally {
      // The shell and its two sleeps: the process group this test started.
      process.kill(-child.pid!, 'SIGKILL');
    }
    // A pid that does not exist: null (read the whole tree instead).
    expect(readProcessSubtree(2 ** 22 + 12345)).toBeNull();
  });
});

describe('readProcessSubtrees (the real /proc)', () => {
  /** Starts `args` as a group leader and waits (bounded) until its subtree holds `size` processes. */
  async function group(args: string[], size: number): Promise<number> {
    const child = spawn(args[0]!, args.slice(1), { stdio: 'ignore', detached: true });
    const pid = child.pid!;
    started.push(pid);
    for (let i = 0; i < 200 && (readProcessSubtree(pid)?.entries.size ?? 0) < size; i++) await new Promise((r) => setTimeout(r, 20));
    expect(readProcessSubtree(pid)?.entries.size).toBe(size);
    return pid;
  }
  const started: number[] = [];
  afterEach(() => {
    for (const pid of started.splice(0)) process.kill(-pid, 'SIGKILL');
    vi.restoreAllMocks();
  });

  it('reads several panes as the whole table does (children in its order); one `task/` listing per multi-threaded process only', async () => {
    const shells = [await group(['bash', '-c', 'sleep 31 & sleep 32 & sleep 33 & wait'], 4), await group(['bash', '-c', 'sleep 34 & wait'], 2)];
    // node runs several threads: its children are looked for in every thread's `children` file.
    const node = await group([process.execPath, '-e', "require('child_process').spawn('sleep', ['35'], { stdio: 'ignore' }); setTimeout(() => {}, 30000)"], 2);
    const listings = vi.spyOn(fs, 'readdirSync');
    const sub = readProcessSubtrees([...shells, node], '/proc', Infinity);
    expect(listings).toHaveBeenCalledTimes(1);
    listings.mockRestore();
    const whole = readProcessTree();
    expect(sub?.entries.size).toBe(8);
    for (const pid of [...shells, node]) {
      expect(descendantsOf(sub!, pid)).toEqual(descendantsOf(whole, pid));
      expect(programsUnder(sub!, pid)).toEqual(programsUnder(whole, pid));
    }
    expect(programsUnder(sub!, node)).toEqual(['node', 'sleep']);
    // Over its read budget (each process: its stat, its children file) or with a pid gone: null.
    expect(readProcessSubtrees(shells, '/proc', 5)).toBeNull();
    expect(readProcessSubtrees(shells, '/proc', 12)).not.toBeNull();
    expect(readProcessSubtrees([...shells, 2 ** 22 + 12345], '/proc', Infinity)).toBeNull();
  });

  it('parses the kernel stat shape in place, and anything else as words, with the same answers', () => {
    for (const text of [
      '1234 (node) S 1000 1234 1234 0 -1',
      '77 (a) b (c)) R 5 77',
      '9 (x) S 12',
      '9 (x)  S 12 1',
      '9 (x) SS 12 1',
      '9 (x) S 12a 1',
      '9 (x) S\t12 1',
      '9 (x) S -1 1',
    ])
      expect(parseProcStat(text)).toEqual(slowParse(text));
  });
});

/** The reference parse (words after the last `)`). */
function slowParse(text: string) {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const ppid = Number(
    text
      .slice(close + 1)
      .trim()
      .split(/\s+/)[1],
  );
  if (!Number.isInteger(pid) || !Number.isInteger(ppid)) return null;
  return { pid, ppid, comm: text.slice(open + 1, close) };
}
