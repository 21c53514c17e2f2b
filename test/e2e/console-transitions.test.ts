/**
 * End-to-end: the REAL console in a pane of an isolated tmux server, watching a real
 * fleet (sleep panes + heartbeats) on another isolated socket. A killed agent shows in the
 * TRANSITIONS view, on the notice line and in its LAST 1H timeline at 80×24, rings the terminal
 * (tmux's bell flag) when asked; a console started AFTER the transition knows it from the
 * history, draws the timeline at 200 columns; under NO_COLOR the timeline reads in words.
 * Needs `npx tsc -p .` first (npm test).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import stringWidth from 'string-width';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIsolatedTmux, untilScreen, waitFor, type IsolatedTmux } from '../helpers/tmux.js';
import { writeHomeRoster } from '../helpers/roster.js';
import type { Transition } from '../../src/transitions/diff.js';
import { readJsonLines } from '../helpers/json.js';

const repo = path.resolve(import.meta.dirname, '..', '..');
const bin = path.join(repo, 'bin', 'mosaic-top');
const fixtureBin = path.join(repo, 'test', 'fixtures', 'bin');
const AGENTS = ['orchestrator', 'enhancer1', 'coder1', 'coder2'];

function writeBeat(runDir: string, agent: string, state: 'busy' | 'idle'): void {
  const tmp = path.join(runDir, `.${agent}.hb.tmp`);
  fs.writeFileSync(tmp, `v=1\nts=${Math.floor(Date.now() / 1000)}\nstate=${state}\ninterval=30\n`);
  fs.renameSync(tmp, path.join(runDir, `${agent}.hb`));
}

describe('console transitions end-to-end in a real terminal', () => {
  let fleet: IsolatedTmux;
  let ui: IsolatedTmux;
  let home: string;
  let runDir: string;
  let beats: NodeJS.Timeout | null = null;

  beforeAll(async () => {
    if (!fs.existsSync(path.join(repo, 'dist', 'src', 'cli.js'))) throw new Error('dist/ missing: run `npx tsc -p .` first');
    fleet = await startIsolatedTmux('trans-fleet');
    ui = await startIsolatedTmux('trans-ui');
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-trans-e2e-'));
    runDir = path.join(home, 'fleet', 'run');
    writeHomeRoster(home, fleet.socket, [
      { name: 'orchestrator', runtime: 'sleep', class: 'orchestrator' },
      { name: 'enhancer1', runtime: 'sleep', class: 'enhancer' },
      { name: 'coder1', runtime: 'sleep', class: 'code' },
      { name: 'coder2', runtime: 'sleep', class: 'code' },
    ]);
    for (const name of AGENTS) await fleet.newSession(name, ['sleep', '3600']);
    const beat = () => {
      for (const [i, a] of AGENTS.entries()) writeBeat(runDir, a, i % 2 ? 'idle' : 'busy');
    };
    beat();
    beats = setInterval(beat, 2000);
  });

  afterAll(async () => {
    if (beats) clearInterval(beats);
    await ui?.stop();
    await fleet?.stop();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  async function startConsole(session: string, width: number, height: number, env: Record<string, string> = {}): Promise<void> {
    await ui.newSession(session, ['sh', '-c', `node ${bin} --mosaic-home ${home} --interval 1; echo EXITED $?; sleep 3600`], {
      width,
      height,
      env: { PATH: `${fixtureBin}:${process.env.PATH}`, MT_SYSTEMCTL_MODE: 'nobus', TERM: 'xterm-256color', ...env },
    });
  }
  const keys = (session: string, ...k: string[]) => ui.ok(['send-keys', '-t', `=${session}:0.0`, ...k]);
  const until = (session: string, test: (s: string) => boolean, what: string, timeoutMs = 20_000) => untilScreen(ui, session, test, what, timeoutMs);
  const row = (text: string, agent: string) => text.split('\n').find((l) => new RegExp(`^[> ·] ${agent}\\s`).test(l)) ?? '';
  const fits = (text: string, width: number) => text.split('\n').every((l) => stringWidth(l) <= width);

  it('80×24: a killed agent — notice, bell, timeline X, TRANSITIONS view, details with ages', async () => {
    const s = 'small';
    await startConsole(s, 80, 24, { MOSAIC_TOP_NOTIFY_BELL: '1' });
    let text = await until(s, (t) => /coder2\s+available/.test(t) && t.includes('LAST 1H'), 'agents and the timeline column');
    expect(fits(text, 80)).toBe(true);
    // The first row is selected (orchestrator): an alert for coder1 is not held back.
    expect(row(text, 'coder1')).toMatch(/[#=]$|[#=] /);
    expect((await ui.ok(['display-message', '-p', '-t', `${s}:0`, '#{window_bell_flag}'])).trim()).toBe('0');

    await fleet.killSession('coder1');
    await until(s, (t) => /coder1\s+dead/.test(t), 'coder1 dead');
    await until(s, (t) => t.includes('! coder1 working → dead'), 'the attention notice');
    text = await until(s, (t) => / \.*#*X+$/.test(row(t, 'coder1')), 'the X in coder1 timeline');
    expect(fits(text, 80)).toBe(true);
    // BEL reached the terminal: tmux flags the window.
    await waitFor(async () => (await ui.ok(['display-message', '-p', '-t', `${s}:0`, '#{window_bell_flag}'])).trim() === '1', 'tmux bell flag');

    await keys(s, 't');
    text = await until(s, (t) => t.includes('TRANSITIONS') && /coder1 {2}working → dead {2}!/.test(t), 'the transitions view lists the killed agent');
    expect(fits(text, 80)).toBe(true);
    await keys(s, 'Escape');
    await until(s, (t) => !t.includes('TRANSITIONS') && t.includes('LAST 1H'), 'view closed');

    // Details of coder1 (third row): since and the transition with its age.
    await keys(s, 'j', 'j');
    await until(s, (t) => t.includes('> coder1'), 'coder1 selected');
    await keys(s, 'Enter');
    text = await until(s, (t) => t.includes('DETAILS') && t.includes('recent transitions:'), 'details with transitions');
    expect(text).toMatch(/dead since \d+s/);
    expect(text).toMatch(/\d+s ago {2}working → dead/);
    await keys(s, 'Escape');
    await keys(s, 'q');
    await until(s, (t) => t.includes('EXITED 0'), 'clean exit');
    const recorded = readJsonLines<Transition>(fs.readFileSync(path.join(runDir, 'transitions.ndjson'), 'utf8'));
    expect(recorded.filter((t) => t.agent === 'coder1' && t.to === 'dead')).toHaveLength(1);
    expect(fs.statSync(path.join(runDir, 'transitions.ndjson')).mode & 0o777).toBe(0o600);
  });

  it('200×50 started after the transition: the history shows it, the timeline is drawn with its legend', async () => {
    const s = 'wide';
    await startConsole(s, 200, 50);
    const text = await until(s, (t) => /coder1\s+dead/.test(t) && t.includes('LAST 1H ('), 'agents, timeline and legend');
    expect(fits(text, 200)).toBe(true);
    expect(text).toMatch(/LAST 1H \(2m a cell, oldest left\): # working/);
    // From the history: dead since the transition; before it, not observed by anyone (.).
    expect(row(text, 'coder1')).toMatch(/ \.+X+ /);
    await keys(s, 't');
    await until(s, (t) => t.includes('TRANSITIONS') && /coder1 {2}working → dead/.test(t), 'history in the transitions view');
    await keys(s, 'q');
    await keys(s, 'q');
    await until(s, (t) => t.includes('EXITED 0'), 'clean exit');
  });

  it('NO_COLOR: the timeline reads in words', async () => {
    const s = 'plain';
    await startConsole(s, 100, 30, { NO_COLOR: '1' });
    const text = await until(s, (t) => /coder1\s+dead/.test(t) && t.includes('LAST 1H'), 'agents');
    expect(row(text, 'coder1')).toMatch(/working \d+m dead \d+m|dead \d+m/);
    expect(row(text, 'coder2')).toMatch(/available \d+m/);
    expect(row(text, 'coder1')).not.toMatch(/\.{3}|X/);
    expect(fits(text, 100)).toBe(true);
    await keys(s, 'q');
    await until(s, (t) => t.includes('EXITED 0'), 'clean exit');
  });
});
