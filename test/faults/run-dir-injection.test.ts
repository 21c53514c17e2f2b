/**
 * Fault injection over the run dir: every file the program reads or writes there — an agent's
 * heartbeat, `PAUSED`, the transition history, the backlog server's log and its socket — is
 * replaced in turn by a FIFO, a directory, a symlink to /dev/zero, a 1 GB sparse file and an
 * unreadable file (mode 000, the program run without DAC override so root meets EACCES), and
 * `--once --json`, `events` and `backlog list` each return within their bound with a correct
 * result or ONE error line. A running `events --follow` and a running console, with the history
 * turned into a FIFO under them, end on SIGTERM within 2 s (polled by pid) and the console
 * leaves the terminal restored. Real program, real tmux, real backlog server. Needs a build.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isHolderAlive, readDataDirLock } from '../../backlog/lock.js';
import { copyTemplateDataDir } from '../backlog/tiers.js';
import { BIN } from '../helpers/bin.js';
import { writeHomeRoster } from '../helpers/roster.js';
import { startIsolatedTmux, waitFor, type IsolatedTmux } from '../helpers/tmux.js';
import { freshHome, runBounded, startConsole, untilScreen, type BoundedRun } from './harness.js';
import type { Snapshot } from '../../src/snapshot/types.js';
import { readJson } from '../helpers/json.js';

type Plant = 'fifo' | 'directory' | 'devzero' | 'sparse' | 'unreadable';
const PLANTS: Plant[] = ['fifo', 'directory', 'devzero', 'sparse', 'unreadable'];
/** The program under a bounding set without DAC override: root cannot read a mode-000 file. */
const NO_DAC = ['setpriv', '--bounding-set', '-dac_override,-dac_read_search'];
/** Bound of each command (README: none over 30 s). */
const BOUND_MS = 30_000;
/** SIGTERM must end a running console or `events --follow` within this bound (polled). */
const SIGTERM_BOUND_MS = 2000;

/** Replaces `file` by a hostile `kind`. */
function plant(file: string, kind: Plant): void {
  fs.rmSync(file, { recursive: true, force: true });
  if (kind === 'fifo') execFileSync('mkfifo', [file]);
  else if (kind === 'directory') fs.mkdirSync(file);
  else if (kind === 'devzero') fs.symlinkSync('/dev/zero', file);
  else if (kind === 'sparse') {
    fs.writeFileSync(file, '');
    fs.truncateSync(file, 1024 ** 3);
  } else {
    fs.writeFileSync(file, 'v=1\n', { mode: 0o000 });
    fs.chmodSync(file, 0o000);
  }
}

/** A correct result (exit 0) or one error line, no stack trace, within the bound. */
function expectBounded(r: BoundedRun, what: string): void {
  expect(r.killed, `${what}: did not return within ${BOUND_MS} ms; stderr: ${r.stderr}`).toBe(false);
  expect(r.stderr, what).not.toMatch(/^\s+at /m);
  expect(r.stderr, what).not.toContain('[object Object]');
  if (r.code !== 0) {
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '' && !l.includes('creating backlog data dir'));
    expect(lines, `${what}: exit ${r.code}`).toHaveLength(1);
  }
}

/** Pid of the process whose parent is `parent` (the console under the pane's shell), polled. */
async function childOf(parent: number): Promise<number> {
  return waitFor(
    () => {
      for (const task of fs.readdirSync(`/proc/${parent}/task`)) {
        const kids = fs.readFileSync(`/proc/${parent}/task/${task}/children`, 'utf8').trim();
        if (kids) return Number(kids.split(/\s+/)[0]);
      }
      return null;
    },
    `a child of pid ${parent}`,
    { timeoutMs: 10_000 },
  );
}

/** True while `pid` runs (a zombie counts as gone). */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

/** SIGTERMs `pid` and polls, bounded by {@link SIGTERM_BOUND_MS}, until it is gone. */
async function expectEndsOnSigterm(pid: number, what: string): Promise<void> {
  process.kill(pid, 'SIGTERM');
  try {
    await waitFor(() => !running(pid), `${what} (pid ${pid}) to end on SIGTERM`, { timeoutMs: SIGTERM_BOUND_MS, intervalMs: 50 });
  } catch (error) {
    const where = (f: string) => {
      try {
        return fs.readFileSync(`/proc/${pid}/${f}`, 'utf8').trim();
      } catch {
        return '?';
      }
    };
    throw new Error(
      `${(error as Error).message}: ${/State:.*/.exec(where('status'))?.[0] ?? ''} wchan=${where('wchan')} cmdline=${where('cmdline').replace(/\0/g, ' ')}`,
      { cause: error },
    );
  }
}

describe('faults: hostile files in the run dir (real program)', () => {
  let tmux: IsolatedTmux;
  let ui: IsolatedTmux;
  const homes: string[] = [];
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    tmux = await startIsolatedTmux('fault-rundir');
    ui = await startIsolatedTmux('fault-rundir-ui');
    await tmux.newSession('coder1', ['sleep', '3600']);
  });
  afterAll(async () => {
    await ui?.stop();
    await tmux?.stop();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
    for (const h of homes.splice(0)) {
      await stopServer(h);
      fs.rmSync(h, { recursive: true, force: true });
    }
  });
  const runDir = (h: string) => path.join(h, 'fleet', 'run');
  /** A home with coder1 on the roster and a beat; `backlog: false` leaves out the store (a command that never opens it). */
  const home = ({ backlog = true } = {}) => {
    const h = freshHome();
    homes.push(h.home);
    writeHomeRoster(h.home, tmux.socket, [{ name: 'coder1', runtime: 'sleep', class: 'coder' }]);
    if (backlog) copyTemplateDataDir(path.join(h.home, 'fleet', 'backlog'));
    fs.writeFileSync(path.join(runDir(h.home), 'coder1.hb'), `v=1\nts=${Math.floor(Date.now() / 1000)}\nstate=busy\ninterval=30\n`);
    return h;
  };
  /** Ends the home's backlog server by the pid its lock names (it may be unreachable by design here). */
  async function stopServer(h: string): Promise<void> {
    const holder = readDataDirLock(path.join(h, 'fleet', 'backlog'));
    if (!holder || !isHolderAlive(holder)) return;
    process.kill(holder.pid, 'SIGKILL');
    await waitFor(() => !isHolderAlive(holder), `server pid ${holder.pid} to end`, { timeoutMs: 20_000 });
  }

  /**
   * The cells, each asserted (expectBounded on all three; the exact one-line error where a
   * file is refused): 5 kinds × 5 files × 3 commands = 75 bounded runs of the real program.
   *
   *   kind \ file   backlog-server.log   backlog.sock        coder1.hb  PAUSED  transitions.ndjson
   *   fifo          once events list*    once events list    o e l      o e l   o e! l
   *   directory     once events list*    once events list    o e l      o e l   o e! l
   *   devzero       once events list*    once events list    o e l      o e l   o e! l
   *   sparse        once events list     once events list    o e l      o e l   o e l
   *   unreadable    once events list*    once events list    o e l      o e l   o e! l
   *   (* list exits 1 naming the log; ! events exits 1 naming the history and its cause;
   *    once: exit 0 with coder1 in the snapshot, every cell)
   *
   * One home serves the five kinds, and the files are met in the order log, socket, heartbeat,
   * PAUSED, history: the log and the socket are met when a server starts, so none runs then
   * (the previous one is ended by pid first, as before), and the server the socket cell starts
   * serves the three files after it — the server itself reads none of them at start (only the
   * log, the socket and its data dir; PAUSED on a claim), the commands read them as before.
   * Each cell removes its file after it (a real socket the server bound stays; the log is
   * removed after the socket cell so a refused start's last line cannot refuse the next one).
   */
  const FILES = ['backlog-server.log', 'backlog.sock', 'coder1.hb', 'PAUSED', 'transitions.ndjson'] as const;
  let shared: { home: string; env: NodeJS.ProcessEnv };
  beforeAll(() => {
    shared = home();
    // The shared home is not one of the per-test homes ended after each test.
    homes.splice(homes.indexOf(shared.home), 1);
  });
  afterAll(async () => {
    if (!shared) return;
    await stopServer(shared.home);
    fs.rmSync(shared.home, { recursive: true, force: true });
  });

  for (const kind of PLANTS) {
    it(`every run-dir file as ${kind === 'devzero' ? 'a link to /dev/zero' : `a ${kind}`}: --once --json, events, backlog list return within their bound`, async () => {
      const { home: h, env } = shared;
      const wrapper = kind === 'unreadable' ? NO_DAC : [];
      const run = (args: string[]) => runBounded(['--mosaic-home', h, ...args], env, BOUND_MS, wrapper);
      for (const name of FILES) {
        const file = path.join(runDir(h), name);
        // The log and the socket are met when a server starts: none runs then.
        if (name === 'backlog-server.log' || name === 'backlog.sock') await stopServer(h);
        plant(file, kind);
        const once = await run(['--once', '--json']);
        expectBounded(once, `${name} as ${kind}: --once --json`);
        expect(once.code, once.stderr).toBe(0);
        expect(readJson<Snapshot>(once.stdout).agents.map((a: { name: string }) => a.name)).toEqual(['coder1']);
        const events = await run(['events']);
        expectBounded(events, `${name} as ${kind}: events`);
        const list = await run(['backlog', 'list']);
        expectBounded(list, `${name} as ${kind}: backlog list`);
        if (name === 'transitions.ndjson' && kind !== 'sparse') {
          const cause = {
            fifo: 'a FIFO, not a regular file',
            directory: 'a directory, not a regular file',
            devzero: 'a symlink \\(refused\\)',
            unreadable: 'EACCES',
          }[kind];
          expect(events.stderr).toMatch(new RegExp(`^mosaic-top events: cannot read the history .*transitions\\.ndjson: .*${cause}`));
          expect(events.code).toBe(1);
        }
        if (name === 'backlog-server.log' && kind !== 'sparse') {
          expect(list.stderr).toMatch(/backlog-server\.log/);
          expect(list.code).toBe(1);
        }
        if (name !== 'backlog.sock' || !fs.lstatSync(file, { throwIfNoEntry: false })?.isSocket()) fs.rmSync(file, { recursive: true, force: true });
        if (name === 'backlog.sock') fs.rmSync(path.join(runDir(h), 'backlog-server.log'), { force: true });
      }
    });
  }

  it('a FIFO history under a running events --follow: it keeps following and ends on SIGTERM within 2 s', async () => {
    // `events` never opens the backlog store.
    const { home: h, env } = home({ backlog: false });
    await tmux.newSession('coder2', ['sleep', '3600']);
    writeHomeRoster(h, tmux.socket, [
      { name: 'coder1', runtime: 'sleep', class: 'coder' },
      { name: 'coder2', runtime: 'sleep', class: 'coder' },
    ]);
    const child = spawn(process.execPath, [BIN, '--mosaic-home', h, 'events', '--follow', '--interval', '0.5'], {
      env: { ...env, MOSAIC_TOP_EVENTS_TRACE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    await waitFor(() => stderr.includes('baseline of'), 'the baseline', { timeoutMs: 20_000 });
    plant(path.join(runDir(h), 'transitions.ndjson'), 'fifo');
    // A transition to record: coder2's pane goes away.
    await tmux.ok(['kill-session', '-t', '=coder2']);
    await waitFor(() => stdout.includes('coder2'), 'the transition of coder2', { timeoutMs: 20_000 });
    const ticks = () => (stderr.match(/^tick \d+/gm) ?? []).length;
    const after = ticks();
    // Still ticking after the append met the FIFO.
    await waitFor(() => ticks() >= after + 2, 'two more ticks', { timeoutMs: 20_000 });
    await waitFor(() => /history not recorded: .*transitions\.ndjson: a FIFO, not a regular file/.test(stderr), 'the history error', { timeoutMs: 10_000 });
    await expectEndsOnSigterm(child.pid!, 'events --follow');
  });

  it('a console started over a FIFO history draws; a FIFO planted under a running console: SIGTERM ends it within 2 s, terminal restored', async () => {
    // One home for both consoles (the second reuses the backlog server the first started); the
    // history is a FIFO before the first starts and a regular path again before the second.
    const { home: h } = home();
    const history = path.join(runDir(h), 'transitions.ndjson');
    for (const when of ['before', 'running'] as const) {
      fs.rmSync(history, { force: true });
      if (when === 'before') plant(history, 'fifo');
      const session = `console-${when}`;
      await startConsole(ui, session, h);
      await untilScreen(ui, session, (s) => s.includes('coder1'), 'the console drawing coder1');
      const panePid = Number((await ui.ok(['display-message', '-p', '-t', `=${session}:0.0`, '#{pane_pid}'])).trim());
      const consolePid = await childOf(panePid);
      if (when === 'running') {
        plant(history, 'fifo');
        const agent = `gone-${Date.now() % 100000}`;
        await tmux.newSession(agent, ['sleep', '3600']);
        writeHomeRoster(h, tmux.socket, [
          { name: 'coder1', runtime: 'sleep', class: 'coder' },
          { name: agent, runtime: 'sleep', class: 'coder' },
        ]);
        await untilScreen(ui, session, (s) => s.includes(agent), `the console drawing ${agent}`);
        await tmux.ok(['kill-session', '-t', `=${agent}`]);
        await untilScreen(ui, session, (s) => new RegExp(`${agent}.*dead`).test(s), `${agent} dead on screen`);
      }
      await expectEndsOnSigterm(consolePid, `the console (${when})`);
      await untilScreen(ui, session, (s) => /EXITED 0/.test(s), 'EXITED 0', 10_000);
      expect((await ui.ok(['display-message', '-p', '-t', `=${session}:0.0`, '#{alternate_on}'])).trim()).toBe('0');
    }
  });
});
