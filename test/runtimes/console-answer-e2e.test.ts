/**
 * The console's answer key `a` on a REAL Claude Code: the real `node bin/mosaic-top`
 * console in a pane of one isolated tmux server, the real Claude Code in a pane of another,
 * pointed at our model endpoint, a real embedded backlog (the answer is recorded as an event).
 * A scripted Bash tool call opens Claude's permission prompt: the row reads `waiting`, `a` shows
 * the prompt (tool, command, id), `a` again allows it once — the command runs (its file exists),
 * the receipt ANSWERED is shown in place, and the row goes back to working / available.
 * Needs `npx tsc -p .` first (the console runs dist/). Run under `flock /tmp/mosaic-runtime.lock`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopEmbeddedServer } from '../../backlog/client.js';
import { resolvePaths } from '../../lib/paths.js';
import { copyTemplateDataDir } from '../backlog/tiers.js';
import { writeHomeRoster } from '../helpers/roster.js';
import { startIsolatedTmux, untilScreen, waitFor, type IsolatedTmux } from '../helpers/tmux.js';
import { launchRuntime, SCREEN, type RuntimePane } from './launch.js';
import { startModelEndpoint, type ModelEndpoint } from './model-endpoint.js';

const repo = path.resolve(import.meta.dirname, '..', '..');
const bin = path.join(repo, 'bin', 'mosaic-top');
const fixtureBin = path.join(repo, 'test', 'fixtures', 'bin');

describe('console answer key on a real Claude Code', () => {
  let fleet: IsolatedTmux;
  let ui: IsolatedTmux;
  let endpoint: ModelEndpoint;
  let claude: RuntimePane;
  let home: string;
  let env: NodeJS.ProcessEnv;

  const keys = (...k: string[]) => ui.ok(['send-keys', '-t', '=console:0.0', ...k]);
  const until = (test: (s: string) => boolean, what: string, timeoutMs = 30_000) => untilScreen(ui, 'console', test, what, timeoutMs, 100);
  const row = (s: string) => s.split('\n').find((l) => /\bcc1\b/.test(l) && !/Answer|prompt/.test(l)) ?? '';

  beforeAll(async () => {
    if (!fs.existsSync(path.join(repo, 'dist', 'src', 'actions', 'answer.js'))) throw new Error('dist/ missing or stale: run `npx tsc -p .` first');
    endpoint = await startModelEndpoint();
    fleet = await startIsolatedTmux('console-ans-fleet');
    ui = await startIsolatedTmux('console-ans-ui');
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-console-ans-'));
    env = { ...process.env, MOSAIC_BACKLOG_IDLE_EXIT: '60' };
    delete env.DATABASE_URL;
    delete env.PGLITE_DATA_DIR;
    writeHomeRoster(home, fleet.socket, [{ name: 'cc1', runtime: 'claude', class: 'coder' }]);
    copyTemplateDataDir(path.join(home, 'fleet', 'backlog'));
    claude = await launchRuntime('claude', { endpoint, tmux: fleet, session: 'cc1' });
    const script = `node ${bin} --mosaic-home ${home} --interval 1; echo CONSOLE-EXIT=$?; exec sleep 600`;
    await ui.newSession('console', ['sh', '-c', script], {
      width: 140,
      height: 36,
      env: { PATH: `${fixtureBin}:${process.env.PATH}`, MT_SYSTEMCTL_MODE: 'nobus', TERM: 'xterm-256color', MOSAIC_BACKLOG_IDLE_EXIT: '60' },
    });
    await until((s) => /cc1/.test(s), 'the console shows cc1', 60_000);
  });

  afterAll(async () => {
    await ui?.stop();
    await claude?.stop();
    await fleet?.stop();
    await endpoint?.close();
    if (home) {
      await stopEmbeddedServer(resolvePaths({ mosaicHome: home }, env), 20_000);
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('a on a row that is not waiting: refused with a notice, nothing typed', async () => {
    await until((s) => /available/.test(row(s)), 'cc1 available', 60_000);
    const before = await claude.capture();
    await keys('a');
    await until((s) => /cc1 is not waiting on a permission prompt/.test(s), 'refusal notice');
    expect((await claude.capture()).replace(/\s+$/gm, '')).toBe(before.replace(/\s+$/gm, ''));
  });

  it('the waiting row, the prompt shown, allow: the command runs, ANSWERED in place, the row back to working / available', async () => {
    const proto = path.join(claude.dirs.workdir, 'proto.txt');
    const call = endpoint.queue({ kind: 'tool', command: 'echo hi > proto.txt' });
    await claude.submit('write the file please');
    await call.started;
    await claude.waitForScreen(SCREEN.claude.permission!, 30_000);
    await until((s) => /waiting/.test(row(s)), 'cc1 waiting in the console', 30_000);
    expect(fs.existsSync(proto)).toBe(false);

    await keys('a');
    const shown = await until((s) => /Answer cc1's permission prompt/.test(s), 'the answer dialog');
    expect(shown).toMatch(/Answer cc1's permission prompt: Bash echo hi > proto\.txt +\[id [0-9a-f]{16}\]/);
    expect(shown).toMatch(/Do you want to proceed\?/);
    expect(shown).toMatch(/a allow ONCE · d deny · n \/ esc cancel/);
    const id = /\[id ([0-9a-f]{16})\]/.exec(shown)![1];

    await keys('a');
    const receipt = await until((s) => /ANSWER (ANSWERED|REFUSED|NO_EVIDENCE): cc1/.test(s), 'the answer receipt', 30_000);
    expect(receipt).toMatch(/ANSWER ANSWERED: cc1/);
    expect(receipt).toMatch(/answered — allow once to cc1 \(key 1\)/);
    expect(receipt).toContain(`[id ${id}]`);
    expect(receipt).toMatch(/the prompt closed/);
    expect(receipt).toMatch(/recorded: backlog event #\d+/);
    await waitFor(() => fs.existsSync(proto), 'proto.txt written after allow', { timeoutMs: 30_000 });
    await keys('Escape');
    await until((s) => /working|available/.test(row(s)) && !/waiting/.test(row(s)), 'cc1 back to working / available', 60_000);
    await claude.waitForScreen(SCREEN.claude.prompt, 30_000);
  });
});
