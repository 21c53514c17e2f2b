/**
 * The console's `s` and `c` on a REAL Claude Code: the real `node bin/mosaic-top`
 * console in a pane of one isolated tmux server, the real Claude Code in a pane of another,
 * pointed at our model endpoint, a real embedded backlog. The console shows the same receipts
 * as `mosaic-top send --verify` / `dispatch`:
 * - `s` to the idle Claude: RECEIPT SUBMITTED, and the model receives the framed text once;
 * - with a permission prompt open: `s` "1" is REFUSED (the prompt stays open, the tool does not
 *   run, nothing reaches the model) and `c` is refused BEFORE claiming (no card claimed);
 * - after the prompt is dismissed: `c` claims K1 and the card reaches the model, receipt submitted.
 * Needs `npx tsc -p .` first (the console runs dist/). Run under `flock /tmp/mosaic-runtime.lock`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stopEmbeddedServer } from '../../backlog/client.js';
import { resolvePaths } from '../../lib/paths.js';
import { copyTemplateDataDir } from '../backlog/tiers.js';
import { runBin, type BinResult } from '../helpers/bin.js';
import { writeHomeRoster } from '../helpers/roster.js';
import { startIsolatedTmux, untilScreen, waitFor, type IsolatedTmux } from '../helpers/tmux.js';
import { launchRuntime, SCREEN, type RuntimePane } from './launch.js';
import { lastUserText, startModelEndpoint, type ModelEndpoint } from './model-endpoint.js';

const repo = path.resolve(import.meta.dirname, '..', '..');
const bin = path.join(repo, 'bin', 'mosaic-top');
const fixtureBin = path.join(repo, 'test', 'fixtures', 'bin');

describe('console s and c on a real Claude Code: the same receipts', () => {
  let fleet: IsolatedTmux;
  let ui: IsolatedTmux;
  let endpoint: ModelEndpoint;
  let claude: RuntimePane;
  let home: string;
  let env: NodeJS.ProcessEnv;

  const cli = (args: string[]): Promise<BinResult> => runBin([...args, '--mosaic-home', home], env);
  const claimed = async () => {
    const r = await cli(['backlog', 'list', '--status', 'claimed', '--json']);
    if (r.code !== 0) throw new Error(r.stderr);
    return (JSON.parse(r.stdout) as { id: string; claimOwner: string | null }[]).map((c) => [c.id, c.claimOwner]);
  };
  const keys = (...k: string[]) => ui.ok(['send-keys', '-t', '=console:0.0', ...k]);
  const until = (test: (s: string) => boolean, what: string, timeoutMs = 30_000) => untilScreen(ui, 'console', test, what, timeoutMs, 100);
  /** Main requests after `after` whose new user message contains `needle`. */
  const reached = (after: number, needle: string) => endpoint.mainRequests().filter((r) => r.seq > after && lastUserText(r).includes(needle)).length;

  beforeAll(async () => {
    if (!fs.existsSync(path.join(repo, 'dist', 'src', 'cli.js'))) throw new Error('dist/ missing: run `npx tsc -p .` first');
    endpoint = await startModelEndpoint();
    fleet = await startIsolatedTmux('console-rcpt-fleet');
    ui = await startIsolatedTmux('console-rcpt-ui');
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-console-rcpt-'));
    env = { ...process.env, MOSAIC_BACKLOG_IDLE_EXIT: '60' };
    delete env.DATABASE_URL;
    delete env.PGLITE_DATA_DIR;
    writeHomeRoster(home, fleet.socket, [{ name: 'cc1', runtime: 'claude', class: 'coder' }]);
    copyTemplateDataDir(path.join(home, 'fleet', 'backlog'));
    const r = await cli(['backlog', 'create', '--id', 'K1', '--title', 'Console card K1', '--body', 'do K1; then stop;']);
    expect(r.code, r.stderr).toBe(0);
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

  afterEach(async () => {
    // Close whatever dialog a failed step left open (Escape twice), so the next test starts clean.
    await keys('Escape');
    await keys('Escape');
  });

  it('s to the idle Claude: RECEIPT SUBMITTED, and the model receives exactly the framed text, once', async () => {
    const before = endpoint.lastSeq();
    await keys('s');
    // (No final `;` here: tmux would eat it from these send-keys arguments as a command separator.)
    await keys('-l', 'hello from the console; done');
    await keys('Enter');
    const shown = await until((s) => /RECEIPT (SUBMITTED|QUEUED|TYPED_NOT_SUBMITTED|NO_EVIDENCE|REFUSED)/.test(s), 'receipt dialog');
    expect(shown).toMatch(/RECEIPT SUBMITTED/);
    expect(shown).toMatch(/input box held the text and emptied|busy marker turned on/);
    await waitFor(() => reached(before, '[operator:mosaic-top] hello from the console; done') === 1, 'the model receives the message');
    expect(endpoint.mainRequests().filter((r) => r.seq > before && lastUserText(r) === '[operator:mosaic-top] hello from the console; done')).toHaveLength(1);
    await keys('Escape');
    await claude.waitForScreen(SCREEN.claude.prompt, 30_000);
  });

  it('with a permission prompt open: s "1" is REFUSED and c claims nothing; the prompt stays open, the tool never runs', async () => {
    const before = endpoint.lastSeq();
    const proto = path.join(claude.dirs.workdir, 'proto.txt');
    const call = endpoint.queue({ kind: 'tool', command: 'echo hi > proto.txt' });
    await claude.submit('write the file please');
    await call.started;
    const prompt = await claude.waitForScreen(SCREEN.claude.permission!, 30_000);

    await keys('s');
    await keys('-l', '1');
    await keys('Enter');
    const shown = await until((s) => /RECEIPT (SUBMITTED|QUEUED|TYPED_NOT_SUBMITTED|NO_EVIDENCE|REFUSED)/.test(s), 'receipt dialog');
    expect(shown).toMatch(/RECEIPT REFUSED/);
    expect(shown).toMatch(/permission prompt/);
    await keys('Escape');

    await keys('c');
    await until((s) => /Claim the next ready card/.test(s), 'confirm dialog');
    await keys('y');
    const result = await until((s) => /claimed by cc1|refused/.test(s), 'dispatch result');
    expect(result).toMatch(/dispatch to cc1 refused: .*permission prompt/);
    expect(await claimed()).toEqual([]);
    await keys('Escape');

    // The very same prompt, untouched; the tool did not run; nothing of ours reached the model.
    expect((await claude.capture()).replace(/\s+$/gm, '')).toBe(prompt.replace(/\s+$/gm, ''));
    expect(fs.existsSync(proto)).toBe(false);
    await claude.keys('Escape');
    await claude.waitForScreenGone(SCREEN.claude.permission!, 30_000);
    await claude.waitForScreen(SCREEN.claude.prompt, 30_000);
    expect(fs.existsSync(proto)).toBe(false);
    expect(reached(before, '[operator:mosaic-top]')).toBe(0);
  });

  it('c after the prompt is gone: claims K1 and hands it over, receipt submitted, the card reaches the model once', async () => {
    const before = endpoint.lastSeq();
    await keys('c');
    await until((s) => /Claim the next ready card \(next: K1/.test(s), 'confirm dialog');
    await keys('y');
    const result = await until((s) => /claimed by cc1|refused/.test(s), 'dispatch result', 60_000);
    expect(result).toMatch(/K1 claimed by cc1, receipt submitted/);
    expect(await claimed()).toEqual([['K1', 'cc1']]);
    await waitFor(() => reached(before, 'Card K1 is claimed for you (cc1') === 1, 'the card reaches the model', { timeoutMs: 30_000 });
    await claude.waitForScreen(SCREEN.claude.prompt, 30_000);
    expect(reached(before, 'Card K1 is claimed for you (cc1')).toBe(1);
    expect(endpoint.mainRequests().find((r) => r.seq > before && lastUserText(r).includes('Card K1'))!.body).toBeTruthy();
    expect(reached(before, 'do K1; then stop;')).toBe(1);
  });
});
