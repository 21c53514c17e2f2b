/**
 * Faults: the console under `TERM=dumb` (an Emacs shell buffer, a CI log). It used to draw its
 * screen with cursor addressing the terminal cannot do. Now it refuses with one line naming
 * the reason and `--once`, exit 2, having written no escape sequence. Real program in a pane of
 * an isolated tmux server; needs a build.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { terminalProblem } from '../../src/modes/console.js';
import { BIN } from '../helpers/bin.js';
import { startIsolatedTmux, type IsolatedTmux } from '../helpers/tmux.js';
import { FIXTURE_BIN, freshHome, untilScreen } from './harness.js';

describe('faults: the console under TERM=dumb', () => {
  let ui: IsolatedTmux;
  const homes: string[] = [];
  beforeAll(async () => {
    ui = await startIsolatedTmux('fault-dumb-term');
  });
  afterAll(async () => {
    await ui?.stop();
    for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
  });

  it('refuses with one line pointing at --once and exits 2; the message holds no escape sequence', async () => {
    const { home } = freshHome('mt-fault-dumb-');
    homes.push(home);
    const out = path.join(home, 'console.out');
    // TERM is set by the shell inside the pane: tmux sets its own TERM for the pane's program.
    await ui.newSession('dumb', ['sh', '-c', `TERM=dumb node ${BIN} --mosaic-home ${home} --interval 1 2>${out}; echo EXITED $?; sleep 3600`], {
      env: {
        PATH: `${FIXTURE_BIN}:${process.env.PATH}`,
        MT_SYSTEMCTL_MODE: 'nobus',
        XDG_CACHE_HOME: path.join(home, 'cache'),
        MOSAIC_HOME: '',
        DATABASE_URL: '',
        PGLITE_DATA_DIR: '',
      },
    });
    const screen = await untilScreen(ui, 'dumb', (s) => /EXITED \d+/.test(s), 'the console to exit under TERM=dumb', 20_000);
    expect(screen).toMatch(/EXITED 2/);
    const stderr = fs.readFileSync(out, 'utf8');
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/TERM=dumb .*--once/);
    expect(stderr).not.toMatch(/\x1b/);
  });

  it('terminalProblem: only TERM=dumb is refused', () => {
    expect(terminalProblem({ TERM: 'dumb' })).toMatch(/cursor addressing.*--once/);
    expect(terminalProblem({ TERM: 'xterm-256color' })).toBeNull();
    expect(terminalProblem({})).toBeNull();
  });
});
