/**
 * End-to-end: the REAL `node bin/mosaic-top` console inside a pane of an isolated tmux server,
 * watching a small real fleet (sleep panes + heartbeat files) on another isolated socket. Read
 * with `capture-pane -p` / `-e`, driven with `send-keys`. Needs `npx tsc -p .` first (npm test).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import stringWidth from 'string-width';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopEmbeddedServer } from '../../backlog/client.js';
import { KEYMAP } from '../../src/view/keymap.js';
import { resolvePaths } from '../../lib/paths.js';
import { copyTemplateDataDir } from '../backlog/tiers.js';
import { createTestDatabase, pgAdminUrl, type TestDatabase } from '../helpers/pg.js';
import { startIsolatedTmux, untilScreen, waitFor, type IsolatedTmux } from '../helpers/tmux.js';
import { writeHomeRoster } from '../helpers/roster.js';
import { runCliInProcess } from '../helpers/cli.js';

const repo = path.resolve(import.meta.dirname, '..', '..');
const bin = path.join(repo, 'bin', 'mosaic-top');
const fixtureBin = path.join(repo, 'test', 'fixtures', 'bin');
const EVIL = '\u001b]2;pwned\u0007\u001b[31mred\u001b[2J\u001b[H';

function writeBeat(runDir: string, agent: string, state: 'busy' | 'idle', note?: string): void {
  const body = `v=1\nts=${Math.floor(Date.now() / 1000)}\nstate=${state}\ninterval=30\n${note ? `note=${note}\n` : ''}`;
  const tmp = path.join(runDir, `.${agent}.hb.tmp`);
  fs.writeFileSync(tmp, body);
  fs.renameSync(tmp, path.join(runDir, `${agent}.hb`));
}

describe('console end-to-end in a real terminal', () => {
  let fleet: IsolatedTmux;
  let ui: IsolatedTmux;
  let home: string;
  let runDir: string;

  beforeAll(async () => {
    if (!fs.existsSync(path.join(repo, 'dist', 'src', 'cli.js'))) throw new Error('dist/ missing: run `npx tsc -p .` first');
    fleet = await startIsolatedTmux('console-fleet');
    ui = await startIsolatedTmux('console-ui');
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-console-e2e-'));
    runDir = path.join(home, 'fleet', 'run');
    writeHomeRoster(home, fleet.socket, [
      { name: 'orchestrator', runtime: 'sleep', class: 'orchestrator' },
      { name: 'enhancer1', runtime: 'sleep', class: 'enhancer' },
      { name: 'coder1', runtime: 'sleep', class: 'code' },
      { name: 'coder2', runtime: 'sleep', class: 'code' },
    ]);
    for (const name of ['orchestrator', 'enhancer1', 'coder1', 'coder2']) await fleet.newSession(name, ['sleep', '3600']);
    writeBeat(runDir, 'orchestrator', 'busy');
    writeBeat(runDir, 'enhancer1', 'idle');
    writeBeat(runDir, 'coder1', 'busy', `hello ${EVIL}`);
    writeBeat(runDir, 'coder2', 'idle');
    // tmux itself refuses control characters in `select-pane -T` titles (the title stays the
    // default), so the pane-title path is covered by the component test; here: a CJK title.
    await fleet.ok(['select-pane', '-t', '=coder1:0.0', '-T', 'タイトル🙂']);
  });

  afterAll(async () => {
    await ui?.stop();
    await fleet?.stop();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  async function startConsole(session: string, width: number, height: number, env: Record<string, string> = {}): Promise<void> {
    const script = `node ${bin} --mosaic-home ${home} --interval 1; echo EXITED $?; stty -a | tr ' ' '\\n' | grep -x -- '-\\?icanon'; sleep 3600`;
    await ui.newSession(session, ['sh', '-c', script], {
      width,
      height,
      env: { PATH: `${fixtureBin}:${process.env.PATH}`, MT_SYSTEMCTL_MODE: 'nobus', TERM: 'xterm-256color', ...env },
    });
  }
  const screen = (session: string) => ui.capture(session);
  const keys = (session: string, ...k: string[]) => ui.ok(['send-keys', '-t', `=${session}:0.0`, ...k]);
  const until = (session: string, test: (s: string) => boolean, what: string, timeoutMs = 15_000) => untilScreen(ui, session, test, what, timeoutMs);

  it('120×40: agents and readiness, j/k, filter, help, pause/resume, dead pane, quit leaves a sane terminal', async () => {
    const s = 'big';
    await startConsole(s, 120, 40);
    let text = await until(s, (t) => t.includes('coder2') && t.includes('available') && t.includes('working'), 'agents with readiness');
    expect(text).toMatch(/orchestrator\s+working/);
    expect(text).toMatch(/enhancer1\s+available/);
    expect(text).toContain('systemd'); // the no-bus error shown in place
    expect(text).toContain('> orchestrator');
    // j / k move the selection.
    await keys(s, 'j');
    await until(s, (t) => t.includes('> enhancer1'), 'j moves down');
    await keys(s, 'j');
    await until(s, (t) => t.includes('> coder1'), 'j again');
    await keys(s, 'k');
    await until(s, (t) => t.includes('> enhancer1'), 'k moves up');
    // / filters.
    await keys(s, '/');
    await keys(s, '-l', 'coder');
    text = await until(s, (t) => t.includes('/ coder') && !/^\S*\s*orchestrator\s+working/m.test(t) && t.includes('coder2'), 'filtered to coders');
    expect(text).not.toMatch(/enhancer1\s+available/);
    await keys(s, 'Escape');
    await until(s, (t) => /enhancer1\s+available/.test(t), 'filter cleared');
    // ? lists every binding (the keymap outgrew 40 rows: page through it, as an operator would).
    await keys(s, '?');
    text = await until(s, (t) => t.includes('HELP'), 'help');
    let pages = text;
    for (let i = 0; i < 4; i++) {
      await keys(s, 'PageDown');
      pages += `\n${await screen(s)}`;
    }
    for (const b of KEYMAP) expect(pages, b.command).toContain(b.description.slice(0, 30));
    await keys(s, 'Escape');
    await until(s, (t) => !t.includes('HELP') && t.includes('AGENT'), 'help closed');
    // p then y pauses: <run>/PAUSED and the banner; p y again resumes.
    await keys(s, 'p');
    await until(s, (t) => t.includes('PAUSE the whole fleet?'), 'confirm pause');
    await keys(s, 'y');
    await until(s, (t) => /PAUSED since \S+ .*by /.test(t), 'PAUSED banner');
    expect(fs.readFileSync(path.join(runDir, 'PAUSED'), 'utf8')).toMatch(/^at=.*\nby=.+\n/);
    await keys(s, 'p');
    await until(s, (t) => t.includes('Resume the fleet?'), 'confirm resume');
    await keys(s, 'y');
    await until(s, (t) => t.includes('fleet running'), 'banner gone');
    expect(fs.existsSync(path.join(runDir, 'PAUSED'))).toBe(false);
    // Killing an agent's pane shows it dead: at --interval 1 that is two ticks (~2 s); the
    // wait's bound is the default, for a loaded machine (the next snapshot seeing a killed
    // pane is covered without a clock in test/snapshot/snapshot.test.ts).
    await fleet.killSession('coder2');
    await until(s, (t) => /coder2\s+dead/.test(t), 'coder2 dead');
    // w hands the terminal to a read-only viewer; detaching restores the console as it was.
    await keys(s, '/');
    await keys(s, '-l', 'enhancer1');
    await keys(s, 'Enter');
    await until(s, (t) => t.includes('[/enhancer1]') && t.includes('> enhancer1'), 'filtered to enhancer1');
    await keys(s, 'w');
    await waitFor(
      async () => (await fleet.run(['list-sessions', '-F', '#{session_name} #{session_attached}'])).stdout.split('\n').some((l) => /-watch-\d+ 1$/.test(l)),
      'viewer attached',
    );
    await until(s, (t) => !t.includes('AGENT'), 'console suspended');
    await keys(s, 'C-b', 'd');
    text = await until(s, (t) => t.includes('back from watching enhancer1'), 'console restored');
    expect(text).toContain('> enhancer1');
    expect(text).toContain('[/enhancer1]');
    await waitFor(async () => !(await fleet.sessions()).some((n) => n.includes('-watch-')), 'viewer killed');
    // q quits; the shell gets a sane terminal back.
    await keys(s, 'q');
    text = await until(s, (t) => t.includes('EXITED'), 'exit');
    expect(text).toContain('EXITED 0');
    await until(s, (t) => /^icanon$/m.test(t), 'canonical mode restored (no raw mode)');
    const flags = await ui.ok(['display-message', '-p', '-t', `=${s}:0.0`, '#{alternate_on} #{cursor_flag}']);
    expect(flags.trim()).toBe('0 1'); // alternate screen left, cursor shown
  });

  it('80×24 with NO_COLOR: fits, and escape sequences from data stay inert', async () => {
    const s = 'small';
    const titleBefore = (await ui.ok(['display-message', '-p', '-t', '=_keepalive:0.0', '#{pane_title}'])).trim();
    await startConsole(s, 80, 24, { NO_COLOR: '1' });
    const paneTitle = async () => (await ui.ok(['display-message', '-p', '-t', `=${s}:0.0`, '#{pane_title}'])).trim();
    const initialTitle = await paneTitle();
    let text = await until(s, (t) => t.includes('coder1') && t.includes('working'), 'agents');
    for (const line of text.split('\n')) expect(stringWidth(line)).toBeLessThanOrEqual(80);
    expect(text.split('\n').filter((l) => l.trim()).length).toBeLessThanOrEqual(23);
    // Open coder1's details: the heartbeat note and the pane title carry the sequences.
    await keys(s, 'j');
    await keys(s, 'j');
    await until(s, (t) => t.includes('> coder1'), 'coder1 selected');
    await keys(s, 'Enter');
    text = await until(s, (t) => t.includes('DETAILS') && t.includes('note: hello ^[]2;pwned^G^[[31mred^[[2J^[[H'), 'note shown inert');
    expect(text).toContain('title: タイトル🙂');
    const withEscapes = await ui.ok(['capture-pane', '-p', '-e', '-t', `=${s}:0.0`]);
    expect(withEscapes).not.toContain('\u001b]');
    expect(withEscapes).not.toContain('\u001b[31m');
    expect(withEscapes).not.toMatch(/\u001b\[[0-9;]*m/); // NO_COLOR: no SGR at all
    expect(await paneTitle()).toBe(initialTitle);
    expect(await paneTitle()).not.toContain('pwned');
    expect(titleBefore).not.toContain('pwned');
    // The screen was not cleared by the data: the header is still on the first line.
    expect(text.split('\n')[0]).toContain('mosaic-top');
    await keys(s, 'Escape');
    await until(s, (t) => !t.includes('DETAILS') && t.includes('AGENT'), 'details closed');
    await keys(s, 'C-c');
    text = await until(s, (t) => t.includes('EXITED'), 'ctrl-c exits');
    expect(text).toContain('EXITED 0');
  });
  it('SIGTERM and SIGINT from outside (also during a watch) restore the terminal', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const s = `sig${signal.toLowerCase()}`;
      await startConsole(s, 100, 30);
      await until(s, (t) => t.includes('AGENT'), 'console up');
      const shPid = Number((await ui.ok(['display-message', '-p', '-t', `=${s}:0.0`, '#{pane_pid}'])).trim());
      const children = fs.readFileSync(`/proc/${shPid}/task/${shPid}/children`, 'utf8').trim().split(/\s+/).map(Number);
      const node = children.find((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('mosaic-top'));
      expect(node, 'console pid').toBeTruthy();
      process.kill(node!, signal);
      const text = await until(s, (t) => t.includes('EXITED'), `exit on ${signal}`);
      expect(text).toContain('EXITED 0');
      await until(s, (t) => /^icanon$/m.test(t), 'canonical mode restored');
      expect((await ui.ok(['display-message', '-p', '-t', `=${s}:0.0`, '#{alternate_on} #{cursor_flag}'])).trim()).toBe('0 1');
    }
    // SIGTERM while the terminal is handed to a watch viewer: the viewer dies, the console quits.
    const s = 'sigwatch';
    await startConsole(s, 100, 30);
    await until(s, (t) => t.includes('> orchestrator'), 'console up');
    await keys(s, 'w');
    await waitFor(async () => (await fleet.sessions()).some((n) => n.startsWith('orchestrator-watch-')), 'viewer up');
    const shPid = Number((await ui.ok(['display-message', '-p', '-t', `=${s}:0.0`, '#{pane_pid}'])).trim());
    const node = fs
      .readFileSync(`/proc/${shPid}/task/${shPid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number)
      .find((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('mosaic-top'));
    process.kill(node!, 'SIGTERM');
    const text = await until(s, (t) => t.includes('EXITED'), 'exit during watch');
    expect(text).toContain('EXITED 0');
    await waitFor(async () => !(await fleet.sessions()).some((n) => n.includes('-watch-')), 'viewer killed');
    expect((await ui.ok(['display-message', '-p', '-t', `=${s}:0.0`, '#{alternate_on} #{cursor_flag}'])).trim()).toBe('0 1');
  });
});

/** A one-agent fleet (`solo`, a sleep pane) on its own socket, a UI server, and a Mosaic home. */
async function soloFleet(label: string): Promise<{ fleet: IsolatedTmux; ui: IsolatedTmux; home: string }> {
  const fleet = await startIsolatedTmux(`${label}-fleet`);
  const ui = await startIsolatedTmux(`${label}-ui`);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `mt-${label}-`));
  writeHomeRoster(home, fleet.socket, [{ name: 'solo', runtime: 'sleep', class: 'orchestrator' }]);
  await fleet.newSession('solo', ['sleep', '3600']);
  return { fleet, ui, home };
}

describe('console end-to-end: a card title from the real backlog stays inert', () => {
  let fleet: IsolatedTmux;
  let ui: IsolatedTmux;
  let home: string;
  const env = { ...process.env, MOSAIC_BACKLOG_IDLE_EXIT: '30' } as NodeJS.ProcessEnv;
  delete env.DATABASE_URL;
  delete env.PGLITE_DATA_DIR;

  beforeAll(async () => {
    ({ fleet, ui, home } = await soloFleet('console-card'));
    // The backlog API refuses control characters, so write the row the way another writer
    // could (raw SQL; e.g. on the Postgres tier), before any backlog server opens the dir.
    const dataDir = copyTemplateDataDir(path.join(home, 'fleet', 'backlog'));
    const { PGlite } = await import('@electric-sql/pglite');
    const db = new PGlite(dataDir);
    await db.query('INSERT INTO backlog (id, title, priority) VALUES ($1, $2, 9)', ['EV1', `evil ${EVIL}`]);
    await db.close();
    // The API's refusal, in this process (test/helpers/cli.ts): the console below is the real program.
    const refused = await runCliInProcess(['backlog', 'create', '--id', 'EV2', '--title', `evil ${EVIL}`, '--mosaic-home', home], env);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/control characters/);
  });

  afterAll(async () => {
    await ui?.stop();
    await fleet?.stop();
    if (home) {
      await stopEmbeddedServer(resolvePaths({ mosaicHome: home }, env));
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('shows the card title as caret text; no sequence reaches the pane', async () => {
    const script = `node ${bin} --mosaic-home ${home} --interval 1; echo EXITED $?; sleep 3600`;
    await ui.newSession('card', ['sh', '-c', script], {
      width: 100,
      height: 30,
      env: { PATH: `${fixtureBin}:${process.env.PATH}`, MT_SYSTEMCTL_MODE: 'nobus', NO_COLOR: '1', MOSAIC_BACKLOG_IDLE_EXIT: '30' },
    });
    const title = async () => (await ui.ok(['display-message', '-p', '-t', '=card:0.0', '#{pane_title}'])).trim();
    const before = await title();
    const text = await waitFor(
      async () => {
        const s = await ui.capture('card');
        return s.includes('EV1') ? s : null;
      },
      'card EV1 in the backlog panel',
      { timeoutMs: 30_000 },
    );
    expect(text).toContain('evil ^[]2;pwned^G^[[31mred');
    const withEscapes = await ui.ok(['capture-pane', '-p', '-e', '-t', '=card:0.0']);
    expect(withEscapes).not.toMatch(/\u001b[\][]/);
    expect(await title()).toBe(before);
    expect(text.split('\n')[0]).toContain('mosaic-top');
    await ui.ok(['send-keys', '-t', '=card:0.0', 'q']);
    await waitFor(async () => (await ui.capture('card')).includes('EXITED 0'), 'exit');
  });
});

describe.skipIf(!pgAdminUrl())('console end-to-end: the server tier (DATABASE_URL) keeps ONE Postgres connection', () => {
  let fleet: IsolatedTmux;
  let ui: IsolatedTmux;
  let home: string;
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase(`mt_console_${process.pid}`);
    ({ fleet, ui, home } = await soloFleet('console-pg'));
    // The card, made in this process (test/helpers/cli.ts); its connection is closed when the command returns.
    const created = await runCliInProcess(['--mosaic-home', home, 'backlog', 'create', '--id', 'PG1', '--title', 'card on postgres'], {
      ...process.env,
      DATABASE_URL: db.url,
    });
    expect(created.code, created.stderr).toBe(0);
  });

  afterAll(async () => {
    await ui?.stop();
    await fleet?.stop();
    await db?.drop();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it('the same backend across many ticks, none after quit', async () => {
    const script = `node ${bin} --mosaic-home ${home} --interval 0.3; echo EXITED $?; sleep 3600`;
    await ui.newSession('pg', ['sh', '-c', script], {
      width: 120,
      height: 30,
      env: { PATH: `${fixtureBin}:${process.env.PATH}`, MT_SYSTEMCTL_MODE: 'nobus', DATABASE_URL: db.url },
    });
    const text = await waitFor(
      async () => {
        const s = await ui.capture('pg');
        return s.includes('PG1') ? s : null;
      },
      'card PG1 in the backlog panel',
      { timeoutMs: 30_000 },
    );
    expect(text.split('\n')[0]).toContain('backlog server');
    const first = await db.backends();
    expect(first).toHaveLength(1);
    // Ten samples over ≥ 3 s: at a 0.3 s interval that is ~10 ticks, each reading the backlog.
    for (let i = 0; i < 10; i += 1) {
      await new Promise((r) => setTimeout(r, 300));
      expect(await db.backends()).toEqual(first);
    }
    await ui.ok(['send-keys', '-t', '=pg:0.0', 'q']);
    await waitFor(async () => (await ui.capture('pg')).includes('EXITED 0'), 'exit');
    await waitFor(async () => ((await db.backends()).length === 0 ? true : null), 'connection closed on quit');
  });
});
