/**
 * End-to-end: the console's restart key (B) in the REAL `node bin/mosaic-top` running in a pane of
 * an isolated tmux server, acting on a REAL `systemd --user` (test/helpers/systemd.ts) whose
 * template unit starts the agent on the fleet's socket: the NEEDS-RESTART row, the y/n
 * confirmation, the unit restarted with a new pane pid and the result shown in place; and the key
 * disabled in `--readonly`. Needs `npx tsc -p .` first.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeHomeRoster } from '../helpers/roster.js';
import { realSystemdUnavailableReason, startTestSystemd, type TestSystemd } from '../helpers/systemd.js';
import { isolatedSocketName, startIsolatedTmux, untilScreen, type IsolatedTmux } from '../helpers/tmux.js';
import { realPartAvailable } from '../helpers/real-parts.js';

const repo = path.resolve(import.meta.dirname, '..', '..');
const bin = path.join(repo, 'bin', 'mosaic-top');

const available = realPartAvailable('a real systemd --user', realSystemdUnavailableReason(), 'console-lifecycle.test.ts');

describe.runIf(available)('console lifecycle keys on a real systemd --user', () => {
  let sd: TestSystemd;
  let ui: IsolatedTmux;
  let home: string;
  let uiSession = 0;
  const socket = isolatedSocketName('clife');
  const panePid = (agent: string): number =>
    Number(execFileSync('tmux', ['-L', socket, 'display-message', '-p', '-t', `=${agent}:0.0`, '#{pane_pid}'], { encoding: 'utf8' }).trim());

  beforeAll(async () => {
    if (!fs.existsSync(path.join(repo, 'dist', 'src', 'cli.js'))) throw new Error('dist/ missing: run `npx tsc -p .` first');
    sd = await startTestSystemd('clife', socket);
    console.info(`console-lifecycle.test.ts uses ${sd.description}`);
    await sd.installFleetUnits();
    ui = await startIsolatedTmux('clife-ui');
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-clife-'));
    writeHomeRoster(home, socket, [
      { name: 'boss', runtime: 'sh', class: 'orchestrator' },
      { name: 'en1', runtime: 'sh', class: 'enhancer' },
    ]);
    for (const a of ['boss', 'en1']) expect((await sd.systemctl(['start', `mosaic-agent@${a}.service`])).code).toBe(0);
  });

  afterAll(async () => {
    await ui?.stop();
    await sd?.stop();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  afterEach(async () => {
    for (const s of await ui.sessions()) await ui.killSession(s);
  });

  const screen = (session: string) => ui.capture(session);
  const keys = (session: string, ...k: string[]) => ui.ok(['send-keys', '-t', `=${session}:0.0`, ...k]);
  const until = (session: string, test: (s: string) => boolean, what: string, timeoutMs = 30_000) => untilScreen(ui, session, test, what, timeoutMs);

  async function startConsole(extra: string[] = []): Promise<string> {
    const session = `console${++uiSession}`;
    const env = sd.env({});
    const script = `node ${bin} --mosaic-home ${home} --interval 1 ${extra.join(' ')}; echo CONSOLE-EXIT=$?; exec sleep 600`;
    await ui.newSession(session, ['sh', '-c', script], {
      width: 200,
      height: 34,
      env: {
        TERM: 'xterm-256color',
        HOME: env.HOME!,
        XDG_RUNTIME_DIR: env.XDG_RUNTIME_DIR!,
        XDG_CONFIG_HOME: env.XDG_CONFIG_HOME!,
        XDG_CACHE_HOME: path.join(home, 'cache'),
        MOSAIC_LINGER_DIR: path.join(home, 'no-linger-dir'),
      },
    });
    await until(session, (s) => /en1/.test(s) && /boss/.test(s), 'console shows the agents');
    return session;
  }

  it('B on a NEEDS-RESTART row: confirm with y ⇒ the unit restarts, a new pane comes up, the result is shown in place', async () => {
    execFileSync('tmux', ['-L', socket, 'kill-session', '-t', '=en1']);
    const session = await startConsole();
    await until(session, (s) => /en1.*NEEDS-REST/.test(s), 'en1 flagged NEEDS-RESTART');
    // Select en1 whatever the row order: filter on its name.
    await keys(session, '/');
    await keys(session, '-l', 'en1');
    await keys(session, 'Enter');
    await until(session, (s) => /en1/.test(s) && !/boss\s/.test(s.split('\n').slice(2).join('\n')), 'filtered to en1');
    await keys(session, 'B');
    await until(session, (s) => /Restart en1\? \(systemctl --user restart mosaic-agent@en1\.service; waits for a new pane\)/.test(s), 'confirmation');
    await keys(session, 'y');
    const shown = await until(session, (s) => /restart en1: (done|failed|timed out|refused)/.test(s), 'restart result', 90_000);
    expect(shown).toMatch(/restart en1: done/);
    expect(shown).toMatch(/pane up with pid \d+|new pane pid \d+/);
    expect(shown).toMatch(/NEEDS-RESTART cleared/);
    const pid = panePid('en1');
    expect(shown).toContain(String(pid));
    expect((await sd.show('mosaic-agent@en1.service')).ActiveState).toBe('active');
    await keys(session, 'Escape');
    await until(session, (s) => /en1/.test(s) && !/en1.*NEEDS-REST/.test(s) && !/restart en1: done/.test(s), 'flag cleared in the table');
  });

  it('--readonly: B, D and U are disabled; the units and panes stay as they are', async () => {
    const before = panePid('boss');
    const session = await startConsole(['--readonly']);
    for (const k of ['B', 'D', 'U']) {
      await keys(session, k);
      await until(session, (s) => new RegExp(`read-only console: ${k} disabled`).test(s), `${k} refused in --readonly`);
    }
    expect(await screen(session)).not.toMatch(/Restart boss\?|Stop boss\?|Start boss\?/);
    expect(panePid('boss')).toBe(before);
    expect((await sd.show('mosaic-agent@boss.service')).ActiveState).toBe('active');
  });
});
