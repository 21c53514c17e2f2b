/**
 * End-to-end tests of the action commands with the real program (`node bin/mosaic-top …`,
 * run `npx tsc -p .` first) against real, isolated tmux servers.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startIsolatedTmux, waitFor, type IsolatedTmux } from '../helpers/tmux.js';
import { copyTemplateDataDir } from '../backlog/tiers.js';
import { stopEmbeddedServer } from '../../backlog/client.js';
import { resolvePaths } from '../../lib/paths.js';
import { runBin, type BinResult } from '../helpers/bin.js';
import { runCliInProcess } from '../helpers/cli.js';
import { dispatchCard } from '../../src/actions/dispatch.js';
import { at, must } from '../helpers/must.js';

const execFileAsync = promisify(execFile);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(repo, 'bin', 'mosaic-top');

let fleet: IsolatedTmux;
let outer: IsolatedTmux | null = null;
let home: string;
/** A home kept across the tests of a group (its backlog server started once), or null: a fresh home per test. */
let sharedHome: string | null = null;

/**
 * Writes the roster. Agents run `claude` unless `runtimes` says otherwise: the sim agents draw
 * Claude Code's input area (`--screen claude`), so verified send reads them with Claude's screen
 * rules and delivery, as it reads the real runtime.
 */
function writeRoster(socket: string, agents: string[], runtimes: Record<string, string> = {}): void {
  fs.mkdirSync(path.join(home, 'fleet', 'run'), { recursive: true });
  const lines = ['version: 1', 'transport: tmux', 'tmux:', `  socket_name: ${socket}`, 'agents:'];
  for (const a of agents) lines.push(`  - name: ${a}`, `    runtime: ${runtimes[a] ?? 'claude'}`, '    class: coder');
  fs.writeFileSync(path.join(home, 'fleet', 'roster.yaml'), `${lines.join('\n')}\n`);
}

async function runCli(args: string[], opts: { input?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const child = execFileAsync('node', [bin, ...args, '--mosaic-home', home], { encoding: 'utf8', timeout: 30_000 });
    if (opts.input !== undefined) {
      child.child.stdin?.end(opts.input);
    }
    const { stdout, stderr } = await child;
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/**
 * The command run in this process (test/helpers/cli.ts): for a command's verdict and output,
 * where the process boundary is not the point. A few tests per group keep the real program
 * (`runCli`, `cli`): stdin, a terminal, concurrent processes, and one verdict each end to end.
 */
function runCliIn(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCliInProcess([...args, '--mosaic-home', home], process.env);
}

/** Waits until the capture of `session` on `tmux` contains `text`; the error shows the last screen. */
async function untilScreen(tmux: IsolatedTmux, session: string, text: string, what: string): Promise<string> {
  let last = '';
  try {
    return await waitFor(async () => ((last = await tmux.capture(session)).includes(text) ? last : ''), what, { timeoutMs: 30_000 });
  } catch (error) {
    throw new Error(`${(error as Error).message}; screen was:\n${last}`, { cause: error });
  }
}

async function paneSize(tmux: IsolatedTmux, target: string): Promise<string> {
  return (await tmux.ok(['display-message', '-p', '-t', target, '#{pane_width}x#{pane_height}'])).trim();
}

beforeEach(async () => {
  fleet = await startIsolatedTmux('actions');
  home = sharedHome ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mt-actions-home-'));
});

afterEach(async () => {
  await outer?.stop();
  outer = null;
  await fleet.stop();
  if (home !== sharedHome) fs.rmSync(home, { recursive: true, force: true });
});

describe('mosaic-top watch (real program in an outer tmux pane)', () => {
  beforeEach(async () => {
    writeRoster(fleet.socket, ['coder1']);
    await fleet.newSession('coder1', ['sh', '-c', 'printf "agent pane marker\\n"; exec sleep 600'], { width: 100, height: 30 });
    await waitFor(async () => (await fleet.capture('coder1')).includes('agent pane marker'), 'agent pane prints its marker');
  });

  async function startWatch(): Promise<{ viewer: string; watchPid: number }> {
    outer = await startIsolatedTmux('actions-outer');
    const script = `node '${bin}' watch coder1 --mosaic-home '${home}'; echo "WATCH-EXIT=$?"; exec sleep 600`;
    await outer.newSession('op', ['sh', '-c', script], { width: 70, height: 20 });
    const viewer: string = await waitFor(
      async () => (await fleet.sessions()).find((s) => /^coder1-watch-\d+$/.test(s)) ?? '',
      'viewer session coder1-watch-<pid> on the fleet socket',
      { timeoutMs: 30_000 },
    );
    await waitFor(async () => (await fleet.ok(['list-clients', '-F', '#{client_session}'])).includes(viewer), 'viewer client attached', { timeoutMs: 30_000 });
    await untilScreen(outer!, 'op', 'agent pane marker', 'outer pane shows the agent pane');
    // Keys typed before the tmux client's terminal is raw would sit in the line discipline.
    const tty = (await outer!.ok(['display-message', '-p', '-t', '=op:0.0', '#{pane_tty}'])).trim();
    await waitFor(
      async () => /(^|\s)-icanon(\s|$)/.test((await execFileAsync('stty', ['-F', tty, '-a'], { encoding: 'utf8' })).stdout),
      'outer terminal in raw mode',
      { timeoutMs: 30_000 },
    );
    return { viewer, watchPid: Number(viewer.split('-').pop()) };
  }

  it('is read-only: typing changes neither content nor size of the agent pane; detach removes the viewer and exits 0', async () => {
    const before = await fleet.capture('coder1');
    const sizeBefore = await paneSize(fleet, '=coder1:0.0');
    const { viewer } = await startWatch();
    expect(await paneSize(fleet, '=coder1:0.0')).toBe(sizeBefore);

    await outer!.ok(['send-keys', '-t', '=op:0.0', '-l', 'typed by the watcher; rm -rf nothing']);
    await outer!.ok(['send-keys', '-t', '=op:0.0', 'Enter', 'C-c', 'y']);
    // tmux handles one client's keys in order: once prefix+d has detached the viewer, the
    // keys typed before it have been processed (and dropped as read-only).
    await outer!.ok(['send-keys', '-t', '=op:0.0', 'C-b', 'd']);
    await untilScreen(outer!, 'op', 'WATCH-EXIT=', 'watch command exits after detach');

    expect(await outer!.capture('op')).toContain('WATCH-EXIT=0');
    expect(await fleet.sessions()).not.toContain(viewer);
    expect(await fleet.capture('coder1')).toBe(before);
    expect(await paneSize(fleet, '=coder1:0.0')).toBe(sizeBefore);
    // The window-size pin is undone: the agent window has no local window-size again.
    expect((await fleet.ok(['show-options', '-wqv', '-t', '=coder1:0', 'window-size'])).trim()).toBe('');
  });

  it('prints how to come back with the real prefix before attaching', async () => {
    await fleet.ok(['set-option', '-g', 'prefix', 'C-a']);
    await startWatch();
    // The banner is written before tmux takes the screen; tmux redraws over it, so read the
    // outer pane's history too.
    await outer!.ok(['send-keys', '-t', '=op:0.0', 'C-a', 'd']);
    await untilScreen(outer!, 'op', 'WATCH-EXIT=0', 'detach with the custom prefix works');
    const history = await outer!.ok(['capture-pane', '-p', '-S', '-100', '-t', '=op:0.0']);
    expect(history).toMatch(/press C-a then d/);
  });

  it('SIGTERM ends the watch and removes the viewer session', async () => {
    const { viewer, watchPid } = await startWatch();
    process.kill(watchPid, 'SIGTERM');
    await untilScreen(outer!, 'op', 'WATCH-EXIT=', 'watch command exits on SIGTERM');
    expect(await outer!.capture('op')).toContain('WATCH-EXIT=143');
    expect(await fleet.sessions()).not.toContain(viewer);
    expect(await fleet.sessions()).toContain('coder1');
  });

  it('refuses without a terminal, and for an unknown agent, creating no viewer', async () => {
    const noTty = await runCli(['watch', 'coder1'], { input: '' });
    expect(noTty.code).toBe(3);
    expect(noTty.stderr).toMatch(/not a TTY/);
    const unknown = await runCliIn(['watch', 'ghost']);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/unknown agent "ghost".*known agents: coder1/);
    expect(await fleet.sessions()).toEqual(['coder1']);
  });
});

describe('mosaic-top pause / resume (real program)', () => {
  const pausedFile = () => path.join(home, 'fleet', 'run', 'PAUSED');

  it('refuses to overwrite an existing pause (exit 3, flag untouched, sanitized message); --force replaces it', async () => {
    const first = await runCliIn(['pause', '--by', 'alice', '--reason', 'incident \u001b]0;pwned\u0007 42']);
    expect(first.code, first.stderr).toBe(0);
    const original = fs.readFileSync(pausedFile(), 'utf8');
    const at = /^at=(.*)$/m.exec(original)![1];

    const again = await runCliIn(['pause', '--by', 'bob', '--reason', 'second thoughts']);
    expect(again.code).toBe(3);
    expect(again.stdout).toBe('');
    expect(again.stderr).toContain(`already paused since ${at} by alice: incident ^[]0;pwned^G 42`);
    expect(again.stderr).toMatch(/--force replaces it/);
    expect(again.stderr).not.toMatch(/[\u001b\u0007]/);
    expect(fs.readFileSync(pausedFile(), 'utf8')).toBe(original);

    const asJson = await runCliIn(['pause', '--reason', 'again', '--json']);
    expect(asJson.code).toBe(3);
    expect(JSON.parse(asJson.stdout)).toMatchObject({ paused: true, refused: 'already paused', at, by: 'alice' });
    expect(fs.readFileSync(pausedFile(), 'utf8')).toBe(original);

    const forced = await runCliIn(['pause', '--force', '--by', 'bob', '--reason', 'taking over', '--json']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ paused: true, by: 'bob', reason: 'taking over' });
    expect(fs.readFileSync(pausedFile(), 'utf8')).toMatch(/^at=.*\nby=bob\nreason=taking over\n$/);
    expect(fs.readdirSync(path.dirname(pausedFile()))).toEqual(['PAUSED']);

    const resumed = await runCliIn(['resume', '--json']);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ paused: false, was: { by: 'bob' } });
    expect(fs.existsSync(pausedFile())).toBe(false);
    expect((await runCliIn(['pause', '--by', 'carol'])).code).toBe(0);
  });
});

const simAgent = path.join(repo, 'dist', 'src', 'demo', 'sim-agent.js');

/** Starts a sim agent with `--input-mode mode`, drawing Claude Code's input area, in session `name`; waits for its empty input box. */
async function startSim(name: string, mode: string, extra: string[] = []): Promise<void> {
  const run = path.join(home, 'fleet', 'run');
  await fleet.newSession(name, ['node', simAgent, '--agent', name, '--run-dir', run, '--input-mode', mode, '--screen', 'claude', ...extra], {
    width: 120,
    height: 30,
  });
  await waitFor(async () => (await fleet.capture(name)).split('\n').some((l) => l.trimEnd() === '❯'), `${name} shows its empty input box`);
}

interface ReceiptJson {
  status: string;
  evidence: string[];
  reason: string | null;
  source: string;
}

/** `send --verify --json` in this process; `real`: through the real program instead. */
async function send(agent: string, message: string, extra: string[] = [], real = false): Promise<{ code: number; receipt: ReceiptJson; stderr: string }> {
  const args = ['send', agent, message, '--verify', '--json', ...extra];
  const r = real ? await runCli(args) : await runCliIn(args);
  return { code: r.code, receipt: JSON.parse(r.stdout) as ReceiptJson, stderr: r.stderr };
}

describe('mosaic-top send --verify against the simulated behaviours (real program)', () => {
  beforeEach(() => {
    writeRoster(fleet.socket, ['acceptor', 'queuer', 'typist', 'deaf', 'corpse']);
  });

  it('submitted: the sim agent takes the message; its input box emptying is the evidence (not the echo)', async () => {
    await startSim('acceptor', 'accept', ['--busy', '0', '--idle', '600']);
    await waitFor(() => fs.readFileSync(path.join(home, 'fleet', 'run', 'acceptor.hb'), 'utf8').includes('state=idle'), 'acceptor beats idle');
    const { code, receipt } = await send('acceptor', 'status please', [], true);
    expect(receipt.status).toBe('submitted');
    expect(code).toBe(0);
    expect(receipt.source).toBe('operator:mosaic-top');
    expect(receipt.evidence.join('\n')).toMatch(/input box held the text and emptied/);
    expect(receipt.evidence.join('\n')).not.toMatch(/text shows on screen/);
    const pane = await fleet.capture('acceptor');
    expect(pane).toContain('ack: [operator:mosaic-top] status please');
    expect(pane).toContain('input: 1 paste block(s), 1 line(s)'); // always through a paste buffer
  });

  it('a runtime without screen rules (the cooked-line sim agent): only its busy beat is uptake, not the echo', async () => {
    writeRoster(fleet.socket, ['acceptor'], { acceptor: 'sh' });
    const run = path.join(home, 'fleet', 'run');
    // Idle first (its first busy phase ended by SIGUSR1): the beat that turns busy when it takes
    // the line is the evidence, and it stays busy, so a loaded machine's polls still see it.
    await fleet.newSession('acceptor', ['node', simAgent, '--agent', 'acceptor', '--run-dir', run, '--busy', '600', '--idle', '600'], {
      width: 120,
      height: 30,
    });
    await waitFor(() => fs.existsSync(path.join(run, 'acceptor.hb')), 'cooked sim agent beating');
    process.kill(Number((await fleet.ok(['display-message', '-p', '-t', '=acceptor:0.0', '#{pane_pid}'])).trim()), 'SIGUSR1');
    await waitFor(() => fs.readFileSync(path.join(run, 'acceptor.hb'), 'utf8').includes('state=idle'), 'cooked sim agent idle', { timeoutMs: 20_000 });
    const { code, receipt } = await send('acceptor', 'are you there');
    expect(receipt.status).toBe('submitted');
    expect(code).toBe(0);
    expect(receipt.evidence.join('\n')).toMatch(/heartbeat went busy after the send/);
    await untilScreen(fleet, 'acceptor', 'ack: [operator:mosaic-top] are you there', 'the cooked sim acknowledges');
  });

  it('a multi-line message arrives as ONE bracketed paste with all its lines', async () => {
    await startSim('acceptor', 'accept');
    const { receipt } = await send('acceptor', 'first line\nsecond line\nthird line', ['--source', 'operator:test-suite']);
    expect(receipt.status).toBe('submitted');
    expect(receipt.evidence[0]).toMatch(/3 lines, one bracketed paste/);
    const pane = await fleet.capture('acceptor');
    expect(pane).toContain('input: 1 paste block(s), 3 line(s)');
    expect(pane).toContain('ack: [operator:test-suite] first line');
  });

  it('"-" reads the message from stdin: several lines, one paste', async () => {
    await startSim('acceptor', 'accept');
    const r = await runCli(['send', 'acceptor', '-', '--verify', '--json'], { input: 'from stdin\nsecond line\n' });
    expect((JSON.parse(r.stdout) as ReceiptJson).status).toBe('submitted');
    expect(await fleet.capture('acceptor')).toContain('input: 1 paste block(s), 2 line(s)');
  });

  it('queued: a busy runtime queues the message and shows the queued hint', async () => {
    await startSim('queuer', 'queue', ['--busy', '600']);
    const { code, receipt } = await send('queuer', 'stop after this step');
    expect(receipt.status).toBe('queued');
    expect(code).toBe(0);
    expect(receipt.evidence.join('\n')).toMatch(/the runtime queued it: screen reads queued/);
    expect(await fleet.capture('queuer')).toContain('❯ Press up to edit queued messages');
  });

  it('queued messages are taken once the runtime turns idle', async () => {
    // Busy until told otherwise: the phase ends on SIGUSR1, not on a clock a loaded machine misses.
    await startSim('queuer', 'queue', ['--busy', '600', '--idle', '600']);
    const { receipt } = await send('queuer', 'do this next');
    expect(receipt.status).toBe('queued');
    expect(await fleet.capture('queuer')).not.toContain('ack: [operator:mosaic-top] do this next');
    process.kill(Number((await fleet.ok(['display-message', '-p', '-t', '=queuer:0.0', '#{pane_pid}'])).trim()), 'SIGUSR1');
    await untilScreen(fleet, 'queuer', 'ack: [operator:mosaic-top] do this next', 'queued message taken when idle');
  });

  it('typed_not_submitted: text sits in the input line, exit 4', async () => {
    await startSim('typist', 'typed');
    const { code, receipt } = await send('typist', 'are you there', ['--timeout', '3']);
    expect(receipt.status).toBe('typed_not_submitted');
    expect(code).toBe(4);
    expect(receipt.evidence.join('\n')).toMatch(/text sits in the input box/);
  });

  it('no_evidence: a pane that ignores input, exit 4', async () => {
    await startSim('deaf', 'ignore', ['--busy', '600']);
    const { code, receipt } = await send('deaf', 'hello?', ['--timeout', '1.5']);
    expect(receipt.status).toBe('no_evidence');
    expect(code).toBe(4);
  });

  it('refused, nothing sent: control characters, a dead pane, a missing pane, an unknown agent', async () => {
    // A long busy phase: a phase change would print "[idle]" and change the screen.
    await startSim('typist', 'typed', ['--busy', '600']);
    const before = await fleet.capture('typist');
    for (const bad of ['tab\there', 'esc \u001b[31m red', 'bell \u0007', 'c1 \u009b']) {
      const { code, receipt } = await send('typist', bad);
      expect(receipt.status).toBe('refused');
      expect(receipt.reason).toMatch(/control character/);
      expect(code).toBe(3);
    }
    expect(await fleet.capture('typist')).toBe(before);

    await fleet.newSession('corpse', ['sh', '-c', 'echo last words; exit 7'], { remainOnExit: true });
    await waitFor(async () => (await fleet.ok(['display-message', '-p', '-t', '=corpse:0.0', '#{pane_dead}'])).trim() === '1', 'corpse pane is dead');
    const deadBefore = await fleet.capture('corpse');
    const dead = await send('corpse', 'wake up');
    expect(dead.receipt.status).toBe('refused');
    expect(dead.receipt.reason).toMatch(/=corpse:0\.0 on socket .* is dead/);
    expect(await fleet.capture('corpse')).toBe(deadBefore);

    const missing = await send('deaf', 'anyone?');
    expect(missing.receipt.status).toBe('refused');
    expect(missing.receipt.reason).toMatch(/no pane =deaf:0\.0/);

    const unknown = await send('ghost', 'hi');
    expect(unknown.receipt.status).toBe('refused');
    expect(unknown.receipt.reason).toMatch(/unknown agent "ghost"/);
  });

  it('sends still work while the fleet is PAUSED (operator traffic)', async () => {
    await startSim('acceptor', 'accept');
    expect((await runCliIn(['pause', '--reason', 'incident'])).code).toBe(0);
    const { receipt } = await send('acceptor', 'stop what you are doing');
    expect(receipt.status).toBe('submitted');
    expect((await runCliIn(['resume'])).code).toBe(0);
  });
});

/**
 * One home and ONE backlog server for the group (a server start is ~2 s of CPU): each test makes
 * its own three cards (ids `t<n>-C1..3`, priorities 30, 20, 10) and, after it, every card left
 * open is completed, the beats are removed and the fleet resumed, so the next test meets exactly
 * its own three ready cards; reads of all events take those after the test's first event.
 */
describe('mosaic-top dispatch: claim + verified send, recorded in events (real program, embedded backlog)', () => {
  const backlogEnv: NodeJS.ProcessEnv = { ...process.env, MOSAIC_BACKLOG_IDLE_EXIT: '120' };
  delete backlogEnv.DATABASE_URL;
  delete backlogEnv.PGLITE_DATA_DIR;
  /** This test's cards, by priority: C1 30, C2 20, C3 10. */
  let C1 = '';
  let C2 = '';
  let C3 = '';
  let testNo = 0;
  /** Id of the last event before this test's cards were made. */
  let firstEvent = 0;

  /** The real program: the first dispatch end to end, and two dispatching processes racing. */
  const cli = (args: string[]): Promise<BinResult> => runBin([...args, '--mosaic-home', home], backlogEnv);
  /**
   * In this process (test/helpers/cli.ts): the backlog setup and read-backs, and the verdicts of
   * dispatch and send whose process boundary is not the point (the backlog server is the real one).
   */
  const cliIn = (args: string[]): Promise<BinResult> => runCliInProcess([...args, '--mosaic-home', home], backlogEnv);

  async function json<T>(args: string[]): Promise<T> {
    const r = await cliIn([...args, '--json']);
    if (r.code !== 0) throw new Error(`${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  interface CardJson {
    id: string;
    status: string;
    claimOwner: string | null;
  }
  interface EventJson {
    id: number;
    verb: string;
    actor: string;
    cardId: string | null;
    detail: Record<string, unknown>;
  }
  interface DispatchJson {
    ok: boolean;
    outcome: string;
    card: { id: string } | null;
    receipt: { status: string; recorded?: string } | null;
    refused: string | null;
    message: string;
  }

  const claimed = () => json<CardJson[]>(['backlog', 'list', '--status', 'claimed']);
  /** The events of this test (newest first), as `backlog events --json` prints them. */
  const testEvents = async () => (await json<EventJson[]>(['backlog', 'events'])).filter((e) => e.id > firstEvent);

  beforeAll(() => {
    sharedHome = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-actions-home-'));
    copyTemplateDataDir(path.join(sharedHome, 'fleet', 'backlog'));
  });

  afterAll(async () => {
    if (!sharedHome) return;
    await stopEmbeddedServer(resolvePaths({ mosaicHome: sharedHome }, backlogEnv), 20_000);
    fs.rmSync(sharedHome, { recursive: true, force: true });
    sharedHome = null;
  });

  beforeEach(async () => {
    testNo++;
    [C1, C2, C3] = [1, 2, 3].map((n) => `t${testNo}-C${n}`) as [string, string, string];
    writeRoster(fleet.socket, ['w1', 'w2', 'slow', 'corpse']);
    firstEvent = (await json<EventJson[]>(['backlog', 'events', '--limit', '1']))[0]?.id ?? 0;
    for (const [id, prio] of [
      [C1, '30'],
      [C2, '20'],
      [C3, '10'],
    ] as const) {
      const r = await cliIn([
        'backlog',
        'create',
        '--id',
        id,
        '--title',
        `Card ${id} title`,
        '--priority',
        prio,
        '--body',
        `Body of ${id}\nsecond body line`,
        '--acceptance',
        `${id} is done when tests pass`,
      ]);
      expect(r.code, r.stderr).toBe(0);
    }
  });

  afterEach(async () => {
    // The next test meets its own cards only: this test's open cards done, no beats, not paused.
    for (const card of await json<CardJson[]>(['backlog', 'list'])) {
      if (card.status !== 'done') await json(['backlog', 'complete', '--id', card.id]);
    }
    const run = path.join(home, 'fleet', 'run');
    for (const f of fs.readdirSync(run)) if (f.endsWith('.hb')) fs.rmSync(path.join(run, f), { force: true });
    await cliIn(['resume']);
  });

  it('claims exactly one card, sends it as one paste, and records claim + receipt events', async () => {
    await startSim('w1', 'accept');
    const r = await cli(['dispatch', 'w1', '--json']);
    const result = JSON.parse(r.stdout) as DispatchJson;
    expect(result.outcome).toBe('dispatched');
    expect(r.code).toBe(0);
    expect(result.card?.id).toBe(C1);
    expect(result.receipt?.status).toBe('submitted');
    expect(result.receipt?.recorded).toMatch(/^backlog event #\d+$/);

    const cards = await claimed();
    expect(cards.map((c) => [c.id, c.claimOwner])).toEqual([[C1, 'w1']]);
    const pane = await fleet.capture('w1');
    expect(pane).toMatch(new RegExp(`ack: \\[operator:mosaic-top\\] Card ${C1} is claimed for you \\(w1, TTL 900 s`));
    expect(pane).toMatch(/input: 1 paste block\(s\), \d+ line\(s\)/);

    const events = await json<EventJson[]>(['backlog', 'events', '--id', C1]);
    const claim = events.filter((e) => e.verb === 'claim');
    const receipt = events.filter((e) => e.verb === 'receipt');
    expect(claim).toHaveLength(1);
    expect(at(claim, 0).actor).toBe('w1');
    expect(receipt).toHaveLength(1);
    expect(at(receipt, 0).detail.status).toBe('submitted');
    expect(at(receipt, 0).detail.agent).toBe('w1');
  });

  it('receipt events: a send that typed something is recorded; sends refused before anything was sent are not', async () => {
    await startSim('w1', 'accept');
    const sent = JSON.parse((await cliIn(['send', 'w1', 'status please', '--verify', '--json'])).stdout) as { status: string; recorded?: string };
    expect(sent.status).toBe('submitted');
    expect(sent.recorded).toMatch(/^backlog event #\d+$/);

    await fleet.newSession('corpse', ['sh', '-c', 'exit 2'], { remainOnExit: true });
    await waitFor(async () => (await fleet.ok(['display-message', '-p', '-t', '=corpse:0.0', '#{pane_dead}'])).trim() === '1', 'corpse pane is dead');
    for (const args of [
      ['w1', ''],
      ['w1', 'tab\there'],
      ['w1', 'hi', '--source', 'bad label!'],
      ['corpse', 'wake up'],
    ]) {
      const r = await cliIn(['send', ...args, '--json']);
      expect(r.code, args.join(' ')).toBe(3);
      const receipt = JSON.parse(r.stdout) as { status: string; recorded?: string };
      expect(receipt.status).toBe('refused');
      expect(receipt.recorded).toBeUndefined();
      const human = await cliIn(['send', ...args]);
      expect(human.stdout).not.toMatch(/recorded:/);
    }
    const receipts = (await testEvents()).filter((e) => e.verb === 'receipt');
    expect(receipts.map((e) => [e.detail.agent, e.detail.status, e.cardId])).toEqual([['w1', 'submitted', null]]);
  });

  it('two concurrent dispatches to different agents never get the same card', async () => {
    await startSim('w1', 'accept');
    await startSim('w2', 'accept');
    const [a, b] = await Promise.all([cli(['dispatch', 'w1', '--json']), cli(['dispatch', 'w2', '--json'])]);
    const ra = JSON.parse(a.stdout) as DispatchJson;
    const rb = JSON.parse(b.stdout) as DispatchJson;
    expect([ra.outcome, rb.outcome]).toEqual(['dispatched', 'dispatched']);
    expect(ra.card?.id).not.toBe(rb.card?.id);
    const cards = await claimed();
    expect(cards).toHaveLength(2);
    expect(new Set(cards.map((c) => c.claimOwner))).toEqual(new Set(['w1', 'w2']));
    expect(new Set(cards.map((c) => c.id))).toEqual(new Set([C1, C2]));
  });

  it('refused while PAUSED and for a dead pane: nothing claimed, nothing typed', async () => {
    await startSim('w1', 'accept', ['--busy', '600']);
    const before = await fleet.capture('w1');
    expect((await cliIn(['pause', '--reason', 'maintenance window'])).code).toBe(0);
    const paused = await cliIn(['dispatch', 'w1', '--json']);
    expect(paused.code).toBe(3);
    const pr = JSON.parse(paused.stdout) as DispatchJson;
    expect(pr.outcome).toBe('refused');
    expect(pr.refused).toMatch(/fleet PAUSED since .* maintenance window/);
    expect(await fleet.capture('w1')).toBe(before);
    expect((await cliIn(['resume'])).code).toBe(0);

    await fleet.newSession('corpse', ['sh', '-c', 'exit 2'], { remainOnExit: true });
    await waitFor(async () => (await fleet.ok(['display-message', '-p', '-t', '=corpse:0.0', '#{pane_dead}'])).trim() === '1', 'corpse pane is dead');
    const dead = await cliIn(['dispatch', 'corpse', '--json']);
    expect(dead.code).toBe(3);
    expect((JSON.parse(dead.stdout) as DispatchJson).refused).toMatch(/is dead/);

    expect(await claimed()).toEqual([]);
    const events = await testEvents();
    expect(events.filter((e) => e.verb === 'claim')).toEqual([]);
  });

  it('refused into a dialog BEFORE the claim; a send refused after the claim gives the claim back at once', async () => {
    // The pane shows Claude Code's permission prompt (its exact text): nothing claimed, nothing typed.
    const prompt = [
      'Bash command',
      '',
      '  rm -rf build',
      '  Remove the build dir',
      '',
      'Do you want to proceed?',
      '❯ 1. Yes',
      '  2. Yes, and always allow access to build/ from this project',
      '  3. No',
      '',
      'Esc to cancel · Tab to amend',
    ];
    await fleet.newSession('w2', ['sh', '-c', `printf '%s\\n' ${prompt.map((l) => `'${l}'`).join(' ')}; exec sleep 600`], { width: 100, height: 30 });
    await waitFor(async () => (await fleet.capture('w2')).includes('Esc to cancel'), 'w2 shows the permission prompt');
    const before = await fleet.capture('w2');
    const intoDialog = JSON.parse((await cliIn(['dispatch', 'w2', '--json'])).stdout) as DispatchJson;
    expect(intoDialog.outcome).toBe('refused');
    expect(intoDialog.refused).toMatch(/permission prompt \(Bash: rm -rf build\).*nothing claimed/);
    expect(await fleet.capture('w2')).toBe(before);
    expect(await claimed()).toEqual([]);

    // The check passes, then the send itself refuses (here: a bad source label): the claim is released.
    await startSim('w1', 'accept');
    const paths = resolvePaths({ mosaicHome: home }, backlogEnv);
    const result = await dispatchCard({ paths, agent: 'w1', runtime: 'claude', socket: fleet.socket, source: 'bad label!' });
    expect(result.outcome).toBe('refused');
    expect(result.message).toMatch(/send refused before anything was typed .*the claim was released \(card back to ready\)/);
    expect(await claimed()).toEqual([]);
    const events = await json<EventJson[]>(['backlog', 'events', '--id', C1]);
    expect(events.map((e) => e.verb)).toEqual(expect.arrayContaining(['claim', 'reclaim']));
  });

  it('not delivered: the claim stays for the operator (exit 4); nothing ready: exit 5', async () => {
    await startSim('slow', 'typed');
    const r = await cliIn(['dispatch', 'slow', '--card', C3, '--ttl', '120', '--timeout', '3', '--json']);
    const result = JSON.parse(r.stdout) as DispatchJson;
    expect(result.outcome).toBe('not_delivered');
    expect(r.code).toBe(4);
    expect(result.receipt?.status).toBe('typed_not_submitted');
    // The owner-guarded release, the console hint, and the text left in the input line.
    expect(result.message).toContain(`release it with: mosaic-top backlog reclaim --id ${C3} --owner slow (console: tab, select it, x)`);
    expect(result.message).toContain("the card text is still in the agent's input line — clear it in the agent before re-dispatching");
    expect((await claimed()).map((c) => [c.id, c.claimOwner])).toEqual([[C3, 'slow']]);

    await startSim('w1', 'accept');
    for (let i = 0; i < 2; i++) {
      const ok = await cliIn(['dispatch', 'w1']);
      expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    }
    const none = await cliIn(['dispatch', 'w1', '--json']);
    expect(none.code).toBe(5);
    expect((JSON.parse(none.stdout) as DispatchJson).outcome).toBe('nothing_ready');

    // The suggested command works as printed: the undelivered claim goes back to ready.
    const release = await cliIn(
      at(must(result.message.split('release it with: ')[1], 'the release command').split(' (console'), 0)
        .split(' ')
        .slice(1),
    );
    expect(release.code, release.stderr).toBe(0);
    expect(release.stdout).toContain(`reclaimed: ${C3}`);
    expect((await claimed()).map((c) => [c.id, c.claimOwner])).toEqual([
      [C1, 'w1'],
      [C2, 'w1'],
    ]);
  });
});
