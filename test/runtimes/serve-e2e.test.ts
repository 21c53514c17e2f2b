/**
 * `mosaic-top serve` over a fleet with the REAL Claude Code (the test bed's pane on an isolated
 * tmux socket, pointed at our model endpoint; a real embedded backlog records the answers): a
 * scripted Bash tool call opens Claude's permission prompt, and
 * - `/api/snapshot` equals `--once --json` (same agents, readiness, evidence, prompt id);
 * - an answer without the token is 401 and answers nothing (the prompt still open);
 * - the page in REAL headless Chromium (Debian's, through playwright-core) at phone width shows
 *   the waiting agent with its prompt (screenshot kept in test-artifacts/); Deny answers it —
 *   the tool did not run, the receipt shown, recorded with actor `web:<address>` — and a later
 *   Allow once runs it, without a reload;
 * - a killed pane turns the row `dead` on the open page within 2 snapshots, without a reload.
 * Needs `npx tsc -p .` first. Run under `flock /tmp/mosaic-runtime.lock`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { stopEmbeddedServer } from '../../backlog/client.js';
import { resolvePaths } from '../../lib/paths.js';
import type { Snapshot } from '../../src/snapshot/types.js';
import { copyTemplateDataDir } from '../backlog/tiers.js';
import { runBin } from '../helpers/bin.js';
import { writeHomeRoster } from '../helpers/roster.js';
import { artifactDir, launchChromium, serveEnv, startServe, type ServeProcess } from '../helpers/serve.js';
import { startIsolatedTmux, waitFor, type IsolatedTmux } from '../helpers/tmux.js';
import { launchRuntime, SCREEN, type RuntimePane } from './launch.js';
import { startModelEndpoint, type ModelEndpoint } from './model-endpoint.js';
import { at } from '../helpers/must.js';

interface El {
  textContent: string | null;
  getAttribute(name: string): string | null;
}
type Dom = { document: { querySelector(s: string): El | null } };
const sameEvidence = (lines: string[]) => lines.map((l) => l.replace(/ \(read \d+s ago\)/, '').replace(/\d+(\.\d+)?/g, 'N'));

describe('serve on a real Claude Code: the page answers its permission prompt', () => {
  let fleet: IsolatedTmux;
  let endpoint: ModelEndpoint;
  let claude: RuntimePane;
  let home: string;
  let serve: ServeProcess;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  const env = serveEnv({ MOSAIC_BACKLOG_IDLE_EXIT: '60' });
  const proto = () => path.join(claude.dirs.workdir, 'proto.txt');
  const snapshot = async () => (await (await serve.request('/api/snapshot')).json()) as Snapshot;
  const row = async () => (await snapshot()).agents.find((a) => a.name === 'cc1')!;
  const openPrompt = async () => {
    await claude.waitForScreen(SCREEN.claude.prompt, 60_000);
    const call = endpoint.queue({ kind: 'tool', command: 'echo hi > proto.txt' });
    await claude.submit('write the file please');
    await call.started;
    await claude.waitForScreen(SCREEN.claude.permission!, 30_000);
    return waitFor(
      async () => {
        const a = await row();
        return a.readiness === 'waiting' && a.screen?.prompt?.detail?.includes('echo hi > proto.txt') ? a.screen.prompt : null;
      },
      'the server sees cc1 waiting on the prompt',
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  };
  const receiptText = () => page.locator('#receipts .receipt').first().innerText();

  beforeAll(async () => {
    if (!fs.existsSync(path.join(path.dirname(import.meta.dirname), '..', 'dist', 'src', 'serve', 'run.js')))
      throw new Error('dist/ missing or stale: run `npx tsc -p .` first');
    endpoint = await startModelEndpoint();
    fleet = await startIsolatedTmux('serve-e2e-fleet');
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-serve-e2e-'));
    writeHomeRoster(home, fleet.socket, [{ name: 'cc1', runtime: 'claude', class: 'coder' }]);
    copyTemplateDataDir(path.join(home, 'fleet', 'backlog'));
    claude = await launchRuntime('claude', { endpoint, tmux: fleet, session: 'cc1' });
    serve = await startServe(home, [], { env });
    await waitFor(async () => (await serve.request('/api/snapshot')).status === 200 && (await row()).readiness === 'available', 'cc1 available', {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    browser = await launchChromium({ width: 390, height: 844 });
    page = await browser.context.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await serve?.stop();
    await claude?.stop();
    await fleet?.stop();
    await endpoint?.close();
    if (home) {
      await stopEmbeddedServer(resolvePaths({ mosaicHome: home }, env), 20_000);
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('waiting: /api/snapshot equals --once --json; an answer without the token is 401 and answers nothing', async () => {
    const prompt = await openPrompt();
    const once = await runBin(['--mosaic-home', home, '--once', '--json'], env);
    expect(once.code, once.stderr).toBe(0);
    const fromOnce = JSON.parse(once.stdout) as Snapshot;
    const fromServe = await snapshot();
    const view = (s: Snapshot) =>
      s.agents.map((a) => ({ name: a.name, readiness: a.readiness, evidence: sameEvidence(a.evidence), prompt: a.screen?.prompt?.id ?? null }));
    expect(view(fromServe)).toEqual(view(fromOnce));
    expect(view(fromServe)[0]).toMatchObject({ name: 'cc1', readiness: 'waiting', prompt: prompt.id });

    const r = await serve.request('/api/agents/cc1/answer', {
      auth: false,
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ answer: 'allow', promptId: prompt.id }),
    });
    expect(r.status).toBe(401);
    expect(await claude.capture()).toMatch(SCREEN.claude.permission!);
    expect((await row()).screen?.prompt?.id).toBe(prompt.id);
    expect(fs.existsSync(proto())).toBe(false);
  });

  it('the page at phone width shows the waiting agent and its prompt; Deny answers it: the tool did not run, the receipt shown and recorded', async () => {
    await page.goto(`${serve.url}/?token=${serve.token}`);
    const card = page.locator('#waiting-cc1');
    await card.waitFor({ timeout: 30_000 });
    expect(await card.locator('.what').innerText()).toContain('Bash echo hi > proto.txt');
    expect(await card.locator('.prompt').innerText()).toMatch(/Do you want to proceed\?/);
    expect(await page.locator('#agent-cc1 .readiness').innerText()).toBe('waiting');
    fs.writeFileSync(path.join(artifactDir(), 'serve-phone-waiting.png'), await page.screenshot({ fullPage: true }));

    await card.locator('button.deny').click();
    await page.locator('#receipts .receipt').first().waitFor({ timeout: 60_000 });
    const receipt = await receiptText();
    expect(receipt).toMatch(/ANSWER ANSWERED: cc1 deny/);
    expect(receipt).toMatch(/the prompt closed/);
    expect(receipt).toMatch(/recorded: backlog event #\d+/);
    await page.locator('#waiting-cc1').waitFor({ state: 'detached', timeout: 30_000 });
    await claude.waitForScreen(SCREEN.claude.prompt, 60_000);
    await waitFor(async () => (await row()).readiness !== 'waiting', 'cc1 no longer waiting', { timeoutMs: 30_000, intervalMs: 200 });
    expect(fs.existsSync(proto())).toBe(false);
    const events = await runBin(['--mosaic-home', home, 'backlog', 'events', '--json'], env);
    const answers = (JSON.parse(events.stdout) as { actor: string; verb: string; detail: { answer: string; status: string } }[]).filter(
      (e) => e.verb === 'answer',
    );
    expect(answers).toHaveLength(1);
    expect(at(answers, 0).actor).toMatch(/^web:(::ffff:)?127\.0\.0\.1$/);
    expect(at(answers, 0).detail).toMatchObject({ answer: 'deny', status: 'answered' });
  });

  it('a later prompt on the same open page: Allow once runs the tool', async () => {
    await openPrompt();
    const card = page.locator('#waiting-cc1');
    await card.waitFor({ timeout: 30_000 });
    await card.locator('button.allow').click();
    await waitFor(async () => /ANSWER ANSWERED: cc1 allow once/.test(await receiptText()), 'the allow receipt', { timeoutMs: 60_000, intervalMs: 200 });
    await waitFor(() => fs.existsSync(proto()), 'proto.txt written after Allow once', { timeoutMs: 30_000 });
    expect(fs.readFileSync(proto(), 'utf8').trim()).toBe('hi');
  });

  it('a killed pane turns the row dead on the open page within 2 snapshots, no reload', async () => {
    const seq = () => page.locator('.fleet').getAttribute('data-seq');
    const before = Number(await seq());
    expect(await page.locator('#agent-cc1').getAttribute('data-readiness')).not.toBe('dead');
    await fleet.killSession('cc1');
    const dead = await page.waitForFunction(
      () => {
        const d = (globalThis as unknown as Dom).document;
        return d.querySelector('#agent-cc1')?.getAttribute('data-readiness') === 'dead' ? Number(d.querySelector('.fleet')?.getAttribute('data-seq')) : null;
      },
      undefined,
      { timeout: 30_000 },
    );
    expect(Number(await dead.jsonValue()) - before).toBeLessThanOrEqual(2);
  });
});
