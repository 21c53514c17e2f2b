/**
 * The page's Send form in REAL headless Chromium against the real `mosaic-top serve`, over sim
 * agents in tmux panes drawing Claude Code's input box (src/demo/sim-agent.ts): a message sent
 * from the page is the verified send — it arrives in the agent's pane byte for byte as one
 * paste and is taken (receipt `submitted` shown on the page, recorded in the backlog event log
 * by `web:127.0.0.1`); an agent that leaves the text typed gets `typed_not_submitted`, shown as
 * such; an unknown agent is refused with nothing typed anywhere.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopEmbeddedServer } from '../../backlog/client.js';
import { resolvePaths } from '../../lib/paths.js';
import { copyTemplateDataDir } from '../backlog/tiers.js';
import { runCliInProcess } from '../helpers/cli.js';
import { writeHomeRoster } from '../helpers/roster.js';
import { launchChromium, serveEnv, startServe, type ServeProcess } from '../helpers/serve.js';
import { startIsolatedTmux, waitFor, type IsolatedTmux } from '../helpers/tmux.js';

/** What the page-side wait reads of the browser's globals (the DOM is not in this program's lib). */
interface BrowserGlobals {
  document: { querySelectorAll(selector: string): { length: number } };
}

const simAgent = path.resolve(__dirname, '..', '..', 'dist', 'src', 'demo', 'sim-agent.js');
const MESSAGE = 'from the phone: run `ls -la` & <b>report</b> "now"';

/** Sim agents drawing Claude Code's input box: `taker` takes a message (accept), `typer` leaves it typed; waits for their empty boxes. */
async function startSims(tmux: IsolatedTmux, home: string): Promise<void> {
  const run = path.join(home, 'fleet', 'run');
  for (const [name, mode] of [
    ['taker', 'accept'],
    ['typer', 'typed'],
  ] as const) {
    await tmux.newSession(
      name,
      ['node', simAgent, '--agent', name, '--run-dir', run, '--input-mode', mode, '--screen', 'claude', '--busy', '1', '--idle', '600'],
      {
        width: 120,
        height: 30,
      },
    );
    await waitFor(async () => (await tmux.capture(name)).split('\n').some((l) => l.trimEnd() === '❯'), `${name} shows its empty input box`);
  }
}

describe('serve: Send from the page is the verified send, into the pane', () => {
  let tmux: IsolatedTmux;
  let home: string;
  let serve: ServeProcess;

  beforeAll(async () => {
    tmux = await startIsolatedTmux('serve-send');
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-serve-send-'));
    writeHomeRoster(home, tmux.socket, [
      { name: 'taker', runtime: 'claude' },
      { name: 'typer', runtime: 'claude' },
    ]);
    // A backlog, so the sends are recorded in its event log (the run's template store: no initdb).
    // Its setup and read-back run in this process (test/helpers/cli.ts); the server is the real one.
    copyTemplateDataDir(path.join(home, 'fleet', 'backlog'));
    const created = await runCliInProcess(
      ['--mosaic-home', home, 'backlog', 'create', '--id', 'S1', '--title', 'a card'],
      serveEnv({ MOSAIC_BACKLOG_IDLE_EXIT: '20' }),
    );
    expect(created.code, created.stderr).toBe(0);
    await startSims(tmux, home);
    serve = await startServe(home, [], { env: { MOSAIC_BACKLOG_IDLE_EXIT: '20' } });
    await waitFor(async () => (await serve.request('/api/snapshot')).status === 200, 'first snapshot', { timeoutMs: 30_000 });
  });
  afterAll(async () => {
    await serve?.stop();
    await tmux?.stop();
    if (home) {
      await stopEmbeddedServer(resolvePaths({ mosaicHome: home }, serveEnv()), 20_000).catch(() => {});
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('the page sends into the pane: submitted for an agent that takes it, typed_not_submitted for one that does not, refused for an unknown one', async () => {
    const browser = await launchChromium({ width: 390, height: 844 });
    try {
      const page = await browser.context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${serve.url}/?token=${serve.token}`);
      await page.locator('summary', { hasText: 'Send' }).click();
      const sendFrom = async (agent: string, message: string): Promise<string> => {
        const before = await page.locator('.receipt').count();
        await page.fill('#send input[name=agent]', agent);
        await page.fill('#send input[name=message]', message);
        await page.click('#send button[type=submit]');
        await page.waitForFunction((n) => (globalThis as unknown as BrowserGlobals).document.querySelectorAll('.receipt').length > n, before, {
          timeout: 30_000,
        });
        return page.locator('.receipt').first().innerText();
      };

      const taken = await sendFrom('taker', MESSAGE);
      expect(taken).toMatch(/^SEND SUBMITTED: taker/);
      expect(await page.locator('.receipt').first().getAttribute('class')).toContain('ok');
      expect(await page.inputValue('#send input[name=message]')).toBe('');
      const screen = await tmux.capture('taker');
      // The agent echoes what it took (with the send's source label) and how it arrived: one
      // paste, nothing lost or added; then it takes it.
      const sent = `[operator:mosaic-top] ${MESSAGE}`;
      expect(screen).toContain(`❯ ${sent}\ninput: 1 paste block(s), 1 line(s), ${sent.length} chars\nack: ${sent}`);

      const typed = await sendFrom('typer', 'left in the box');
      expect(typed).toMatch(/^SEND TYPED_NOT_SUBMITTED: typer/);
      expect(await tmux.capture('typer')).toContain('left in the box');

      const unknown = await sendFrom('nobody', 'to no one');
      expect(unknown).toMatch(/^send failed \(HTTP 404\)/);
      expect(await page.locator('.receipt').first().getAttribute('class')).toContain('bad');
      expect(await tmux.capture('taker')).not.toContain('to no one');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }

    // Each delivered send is in the event log, by the web client's address.
    const events = await runCliInProcess(['--mosaic-home', home, 'backlog', 'events', '--json'], serveEnv({ MOSAIC_BACKLOG_IDLE_EXIT: '20' }));
    expect(events.code, events.stderr).toBe(0);
    const receipts = (JSON.parse(events.stdout) as { verb: string; actor: string; detail: Record<string, unknown> }[]).filter((e) => e.verb === 'receipt');
    expect(receipts.map((e) => [e.actor, e.detail.agent, e.detail.status]).sort()).toEqual([
      ['web:127.0.0.1', 'taker', 'submitted'],
      ['web:127.0.0.1', 'typer', 'typed_not_submitted'],
    ]);
  });
});
