/**
 * Smoke tests of the real-runtime test bed: the REAL Claude Code, Codex, pi (and one serial
 * opencode case) in tmux panes against our model endpoint. Per runtime, one pane for the whole
 * describe (one pane alive at a time in this file):
 * start to the prompt; a prompt reaches the endpoint verbatim; a held reply shows the busy
 * marker; a shell tool call shows the permission prompt (and does not run); a 429 turn shows
 * the error and the next turn works again.
 *
 * Run: `flock /tmp/mosaic-runtime.lock npx vitest run test/runtimes/testbed.test.ts`.
 * `MOSAIC_TEST_SCREENS_DIR=<dir>` saves every asserted screen there (source of SCREENS.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntimeName } from './install.js';
import { ERROR_ATTEMPTS, launchRuntime, SCREEN, type RuntimePane } from './launch.js';
import { lastUserText, startModelEndpoint, type ModelEndpoint } from './model-endpoint.js';
import { waitFor } from '../helpers/tmux.js';

function keepScreen(runtime: RuntimeName, label: string, screen: string): void {
  const dir = process.env.MOSAIC_TEST_SCREENS_DIR;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${runtime}-${label}.txt`), screen.replace(/\s+$/gm, '') + '\n');
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const RUNTIMES: RuntimeName[] = ['claude', 'codex', 'pi'];

describe.each(RUNTIMES)('real %s in a tmux pane', (runtime) => {
  let endpoint: ModelEndpoint;
  let pane: RuntimePane;
  const screens = SCREEN[runtime];

  beforeAll(async () => {
    endpoint = await startModelEndpoint();
    pane = await launchRuntime(runtime, { endpoint });
  }, 700_000); // may wait for a free runtime-pane slot (slots.ts: acquirePaneSlot)
  afterAll(async () => {
    const pids = pane ? [pane.panePid] : [];
    await pane?.stop();
    await endpoint?.close();
    // Everything the runtime spawned is gone, and its throwaway dirs too.
    // The pane's process may take a moment to be reaped after the kill: poll, bounded.
    await waitFor(() => pids.every((pid) => !processAlive(pid)) || null, 'the runtime pane process ended', { timeoutMs: 15_000 }).catch(() => undefined);
    for (const pid of pids) expect(processAlive(pid)).toBe(false);
    if (pane) {
      expect(pane.pids()).toEqual([]);
      expect(fs.existsSync(pane.dirs.root)).toBe(false);
    }
  });

  it('starts to its input prompt with no dialog', async () => {
    const screen = await pane.waitForScreen(screens.prompt, 60_000);
    keepScreen(runtime, 'idle', screen);
    expect(screen).not.toMatch(screens.busy);
    if (screens.permission) expect(screen).not.toMatch(screens.permission);
  });

  it('a submitted prompt reaches the model endpoint verbatim', async () => {
    const reply = endpoint.queue({ kind: 'text', text: 'Reply number one arrived.' });
    await pane.submit('first prompt: say hello; then stop');
    const req = await reply.started;
    expect(lastUserText(req)).toBe('first prompt: say hello; then stop');
    expect(req.side).toBe(false);
    await reply.finished;
    keepScreen(runtime, 'reply', await pane.waitForScreen(/Reply number one arrived\./, 30_000));
  });

  it('a reply held mid-stream shows the busy marker until it ends', async () => {
    // Codex shows its busy marker only until the first token: hold before it there.
    const reply = endpoint.queue({
      kind: 'text',
      text: 'slow words arriving one by one',
      // Streamed in pieces; the hold (not the pace) keeps the turn open until the release.
      paceSeconds: 0.5,
      hold: runtime === 'codex' ? 'before-first-token' : 'before-end',
    });
    await pane.submit('second prompt, answer slowly');
    await reply.started;
    keepScreen(runtime, 'busy', await pane.waitForScreen(screens.busy, 30_000));
    reply.release();
    await reply.finished;
    await pane.waitForScreen(/slow words arriving one by one/, 30_000);
    keepScreen(runtime, 'after-turn', await pane.waitForScreenGone(screens.busy, 30_000));
  });

  it(
    runtime === 'pi'
      ? 'a shell tool call runs without a permission prompt (pi has none)'
      : 'a shell tool call that needs permission shows the permission prompt',
    async () => {
      const proto = path.join(pane.dirs.workdir, 'proto.txt');
      const call = endpoint.queue({ kind: 'tool', command: 'echo hi > proto.txt' });
      await pane.submit('third prompt, write the file');
      await call.started;
      if (!screens.permission) {
        await pane.waitForScreen(/echo hi > proto\.txt/, 30_000);
        await expect.poll(() => fs.existsSync(proto), { timeout: 30_000 }).toBe(true);
        keepScreen(runtime, 'tool-ran', await pane.waitForScreenGone(screens.busy, 30_000));
        return;
      }
      const screen = await pane.waitForScreen(screens.permission, 30_000);
      keepScreen(runtime, 'permission', screen);
      expect(screen).toContain('echo hi > proto.txt');
      expect(fs.existsSync(proto)).toBe(false);
      // Decline: Esc closes the prompt; the tool never ran.
      await pane.keys('Escape');
      keepScreen(runtime, 'permission-declined', await pane.waitForScreenGone(screens.permission, 30_000));
      await pane.waitForScreen(screens.prompt, 30_000);
      expect(fs.existsSync(proto)).toBe(false);
    },
  );

  it('a 429 turn shows the rate-limit error, and the next turn works again', async () => {
    const before = endpoint.lastSeq();
    endpoint.queue({ kind: 'error', status: 429, times: ERROR_ATTEMPTS[runtime] });
    await pane.waitForScreen(screens.prompt, 30_000);
    await pane.submit('fourth prompt, this one is rate limited');
    const screen = await pane.waitForScreen(screens.rateLimited, 60_000);
    keepScreen(runtime, 'rate-limited', screen);
    // pi shows the error before its retry (`Retrying (1/1) in 1s...`): count once the turn is over.
    const errors = () => endpoint.requests().filter((r) => r.seq > before && r.served === 'error 429').length;
    await expect.poll(errors, { timeout: 60_000 }).toBe(ERROR_ATTEMPTS[runtime]);
    expect(endpoint.pending()).toBe(0);
    await pane.waitForScreenGone(/Retrying \(/, 60_000);
    keepScreen(runtime, 'rate-limited-final', await pane.waitForScreenGone(screens.busy, 60_000));
    expect(await pane.capture()).toMatch(screens.rateLimited);
    expect(errors()).toBe(ERROR_ATTEMPTS[runtime]);

    const reply = endpoint.queue({ kind: 'text', text: 'Back in business.' });
    await pane.submit('fifth prompt after the limit');
    const req = await reply.started;
    // Claude merges a prompt after a failed turn into the same user message: contain, not equal.
    expect(lastUserText(req)).toContain('fifth prompt after the limit');
    await pane.waitForScreen(/Back in business\./, 30_000);
  });
});

describe('real opencode in a tmux pane (serial smoke)', () => {
  it('starts to its prompt, a prompt reaches the endpoint, busy shows while held, the permission prompt shows', async () => {
    const endpoint = await startModelEndpoint();
    const pane = await launchRuntime('opencode', { endpoint, startBoundMs: 180_000 });
    try {
      keepScreen('opencode', 'idle', await pane.capture());
      const reply = endpoint.queue({ kind: 'text', text: 'Opencode reply arrived.', hold: 'before-end' });
      await pane.submit('opencode prompt one');
      const req = await reply.started;
      expect(lastUserText(req)).toBe('opencode prompt one');
      keepScreen('opencode', 'busy', await pane.waitForScreen(SCREEN.opencode.busy, 30_000));
      reply.release();
      await pane.waitForScreen(/Opencode reply arrived\./, 30_000);
      keepScreen('opencode', 'after-turn', await pane.waitForScreenGone(SCREEN.opencode.busy, 30_000));

      const call = endpoint.queue({ kind: 'tool', command: 'echo hi > proto.txt' });
      await pane.submit('opencode prompt two');
      await call.started;
      const screen = await pane.waitForScreen(SCREEN.opencode.permission!, 30_000);
      keepScreen('opencode', 'permission', screen);
      expect(screen).toContain('echo hi > proto.txt');
      expect(fs.existsSync(path.join(pane.dirs.workdir, 'proto.txt'))).toBe(false);
    } finally {
      await pane.stop();
      await endpoint.close();
    }
    expect(pane.pids()).toEqual([]);
  }, 900_000);
});
