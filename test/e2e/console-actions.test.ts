/**
 * End-to-end: the console's action keys w, s, c in the REAL `node bin/mosaic-top` running in a
 * pane of an isolated tmux server, acting on simulated agents on another isolated socket, with
 * a real embedded backlog. Read with `capture-pane`, driven with `send-keys`. Needs
 * `npx tsc -p .` first.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stopEmbeddedServer } from '../../backlog/client.js';
import { resolvePaths } from '../../lib/paths.js';
import { copyTemplateDataDir } from '../backlog/tiers.js';
import { startIsolatedTmux, untilScreen, waitFor, type IsolatedTmux } from '../helpers/tmux.js';
import { writeHomeRoster } from '../helpers/roster.js';
import type { BinResult } from '../helpers/bin.js';
import { runCliInProcess } from '../helpers/cli.js';

const execFileAsync = promisify(execFile);
const repo = path.resolve(import.meta.dirname, '..', '..');
const bin = path.join(repo, 'bin', 'mosaic-top');
const simAgent = path.join(repo, 'dist', 'src', 'demo', 'sim-agent.js');
const fixtureBin = path.join(repo, 'test', 'fixtures', 'bin');

describe('console action keys w, s, c end-to-end', () => {
  let fleet: IsolatedTmux;
  let ui: IsolatedTmux;
  let home: string;
  let env: NodeJS.ProcessEnv;
  let uiSession = 0;

  /** The backlog setup and read-backs, in this process (test/helpers/cli.ts): the console under test is the real program. */
  const cli = (args: string[]): Promise<BinResult> => runCliInProcess([...args, '--mosaic-home', home], env);

  async function claimedCards(): Promise<{ id: string; claimOwner: string | null }[]> {
    const r = await cli(['backlog', 'list', '--status', 'claimed', '--json']);
    if (r.code !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout) as { id: string; claimOwner: string | null }[];
  }

  beforeAll(async () => {
    if (!fs.existsSync(path.join(repo, 'dist', 'src', 'cli.js'))) throw new Error('dist/ missing: run `npx tsc -p .` first');
    fleet = await startIsolatedTmux('console-actions-fleet');
    ui = await startIsolatedTmux('console-actions-ui');
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-console-actions-'));
    env = { ...process.env, MOSAIC_BACKLOG_IDLE_EXIT: '30' };
    delete env.DATABASE_URL;
    delete env.PGLITE_DATA_DIR;
    // The sim draws Claude Code's input area and is sent to as claude (a card of
    // several lines needs a runtime known to take a bracketed paste).
    writeHomeRoster(home, fleet.socket, [{ name: 'alpha', runtime: 'claude', class: 'orchestrator' }]);
    const runDir = path.join(home, 'fleet', 'run');
    copyTemplateDataDir(path.join(home, 'fleet', 'backlog'));
    for (const id of ['K1', 'K2']) {
      const r = await cli(['backlog', 'create', '--id', id, '--title', `Console card ${id}`, '--body', `do ${id}`]);
      expect(r.code, r.stderr).toBe(0);
    }
    await fleet.newSession(
      'alpha',
      ['node', simAgent, '--agent', 'alpha', '--run-dir', runDir, '--input-mode', 'accept', '--busy', '0', '--idle', '600', '--screen', 'claude'],
      { width: 100, height: 30 },
    );
    await waitFor(async () => (await fleet.capture('alpha')).includes('? for shortcuts'), 'alpha shows its idle input box');
  });

  afterAll(async () => {
    await ui?.stop();
    await fleet?.stop();
    if (home) {
      await stopEmbeddedServer(resolvePaths({ mosaicHome: home }, env), 20_000);
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  afterEach(async () => {
    for (const s of await ui.sessions()) await ui.killSession(s);
  });

  async function startConsole(extra: string[] = []): Promise<string> {
    const session = `console${++uiSession}`;
    const script = `node ${bin} --mosaic-home ${home} --interval 1 ${extra.join(' ')}; echo CONSOLE-EXIT=$?; exec sleep 600`;
    await ui.newSession(session, ['sh', '-c', script], {
      width: 120,
      height: 32,
      env: { PATH: `${fixtureBin}:${process.env.PATH}`, MT_SYSTEMCTL_MODE: 'nobus', TERM: 'xterm-256color', MOSAIC_BACKLOG_IDLE_EXIT: '30' },
    });
    await until(session, (s) => /alpha/.test(s) && /available|working/.test(s), 'console shows alpha');
    return session;
  }
  /** Waits until the terminal of `session`'s pane is raw (the tmux viewer client owns it). */
  async function untilRaw(session: string): Promise<void> {
    const tty = (await ui.ok(['display-message', '-p', '-t', `=${session}:0.0`, '#{pane_tty}'])).trim();
    await waitFor(
      async () => /(^|\s)-icanon(\s|$)/.test((await execFileAsync('stty', ['-F', tty, '-a'], { encoding: 'utf8' })).stdout),
      'terminal in raw mode',
      { timeoutMs: 20_000 },
    );
  }
  const keys = (session: string, ...k: string[]) => ui.ok(['send-keys', '-t', `=${session}:0.0`, ...k]);
  const until = (session: string, test: (s: string) => boolean, what: string, timeoutMs = 20_000) => untilScreen(ui, session, test, what, timeoutMs);

  it('s: types a message in the console, sends it verified, shows the receipt', async () => {
    const session = await startConsole();
    await keys(session, 's');
    await keys(session, '-l', 'hello from the console');
    await keys(session, 'Enter');
    const shown = await until(session, (s) => /RECEIPT (SUBMITTED|QUEUED|TYPED_NOT_SUBMITTED|NO_EVIDENCE|REFUSED)/.test(s), 'receipt dialog');
    expect(shown).toMatch(/RECEIPT SUBMITTED/);
    expect(await fleet.capture('alpha')).toContain('ack: [operator:mosaic-top] hello from the console');
    // The backlog exists, so the console's receipt is recorded in the events table.
    const events = await waitFor(async () => {
      const r = await cli(['backlog', 'events', '--json']);
      const list = JSON.parse(r.stdout) as { verb: string; detail: Record<string, unknown> }[];
      return list.filter((e) => e.verb === 'receipt' && e.detail.agent === 'alpha').length ? list : null;
    }, 'receipt event recorded');
    expect(events.find((e) => e.verb === 'receipt')?.detail.status).toBe('submitted');
  });

  it('c: confirms, claims the next card for the agent and dispatches it; x releases the claim', async () => {
    const session = await startConsole();
    await keys(session, 'c');
    await until(session, (s) => /Claim the next ready card \(next: K1 p\d+ [^)]*\) for alpha/.test(s), 'confirm dialog');
    await keys(session, 'y');
    const shown = await until(session, (s) => /claimed by alpha|refused/.test(s), 'dispatch result');
    expect(shown).toMatch(/K1 claimed by alpha, receipt (submitted|queued)/);
    expect((await claimedCards()).map((c) => [c.id, c.claimOwner])).toEqual([['K1', 'alpha']]);
    expect(await fleet.capture('alpha')).toContain('Card K1 is claimed for you');
    // x releases that claim from the backlog panel (the operator's way out of a bad dispatch).
    await keys(session, 'Escape');
    await until(session, (s) => /C K1\s+alpha/.test(s) && !/claimed by alpha, receipt/.test(s), 'K1 claimed in the backlog panel');
    await keys(session, 'Tab');
    await keys(session, 'x');
    await until(session, (s) => /Release K1 \(claimed by alpha, ttl \S+\) back to ready\?/.test(s), 'release confirmation');
    await keys(session, 'y');
    await until(session, (s) => /released K1: back to ready \(was alpha's\)/.test(s), 'released');
    expect(await claimedCards()).toEqual([]);
  });

  it('w: hands the terminal to a read-only view and comes back on detach, agent pane untouched', async () => {
    const session = await startConsole();
    const before = await fleet.capture('alpha');
    const size = (await fleet.ok(['display-message', '-p', '-t', '=alpha:0.0', '#{pane_width}x#{pane_height}'])).trim();
    await keys(session, 'w');
    const viewer: string = await waitFor(async () => (await fleet.sessions()).find((s) => /^alpha-watch-\d+$/.test(s)) ?? '', 'viewer session');
    await waitFor(async () => (await fleet.ok(['list-clients', '-F', '#{client_session}'])).includes(viewer), 'viewer attached');
    await until(session, (s) => s.includes('[alpha-wat'), 'the viewer (its status line) is on screen');
    // The way back is on the viewer's status line, where the operator looks (the banner printed
    // before attaching is under tmux's screen); the agent's own session keeps its status line.
    await until(session, (s) => s.includes('READ-ONLY view of alpha · detach: C-b d'), 'detach hint in the status line');
    expect(await fleet.ok(['show-options', '-qv', '-t', '=alpha', 'status-right'])).not.toContain('READ-ONLY');
    await untilRaw(session);
    await keys(session, '-l', 'not for the agent');
    await keys(session, 'Enter');
    await keys(session, 'C-b', 'd');
    await until(session, (s) => /back from watching alpha/.test(s), 'console is back after detach');
    expect(await fleet.sessions()).not.toContain(viewer);
    expect(await fleet.capture('alpha')).toBe(before);
    expect((await fleet.ok(['display-message', '-p', '-t', '=alpha:0.0', '#{pane_width}x#{pane_height}'])).trim()).toBe(size);
  });

  it('--readonly: w, s, c and x are disabled (no viewer, nothing sent, nothing claimed or released)', async () => {
    const claims = async () => (await claimedCards()).map((c) => `${c.id}:${c.claimOwner}`).sort();
    const claimedBefore = await claims();
    const session = await startConsole(['--readonly']);
    const before = await fleet.capture('alpha');
    await keys(session, 's');
    await until(session, (s) => /read-only console: s disabled/.test(s), 's refused in --readonly');
    await keys(session, 'c');
    await until(session, (s) => /read-only console: c disabled/.test(s), 'c refused in --readonly');
    await keys(session, 'w');
    await until(session, (s) => /read-only console: w disabled/.test(s), 'w refused in --readonly');
    await keys(session, 'Tab');
    await keys(session, 'x');
    await until(session, (s) => /read-only console: x disabled/.test(s), 'x refused in --readonly');
    expect((await fleet.sessions()).filter((s) => /-watch-\d+$/.test(s))).toEqual([]);
    expect(await fleet.capture('alpha')).toBe(before);
    expect(await claims()).toEqual(claimedBefore);
  });
});
