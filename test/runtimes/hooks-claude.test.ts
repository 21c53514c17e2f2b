/**
 * The REAL Claude Code wired by `mosaic-top hooks install` (no hand-written JSON): its hooks
 * write the agent's heartbeat through `mosaic-top heartbeat-hook` — idle at start, busy during
 * a slow turn, idle after it, waiting with the Bash command while the permission prompt is open
 * (PermissionRequest), stuck `rate limited (429)` after a 429 turn (StopFailure), and busy/idle
 * again on the next good turn. The agent's name comes from the tmux session the hook runs in
 * (no MOSAIC_AGENT_NAME in the pane).
 *
 * Run: `npx tsc -p tsconfig.json && flock /tmp/mosaic-runtime.lock npx vitest run test/runtimes/hooks-claude.test.ts`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBin } from '../helpers/bin.js';
import { waitFor } from '../helpers/tmux.js';
import { ERROR_ATTEMPTS, launchRuntime, SCREEN, type RuntimePane } from './launch.js';
import { startModelEndpoint, type ModelEndpoint } from './model-endpoint.js';
import { readBeatFields } from '../helpers/beat.js';

const readBeat = readBeatFields;

describe('real Claude Code with hooks installed by `mosaic-top hooks install`', () => {
  let endpoint: ModelEndpoint;
  let pane: RuntimePane;
  let mosaicHome: string;
  let hb: string;
  let installOut = '';
  const beat = () => readBeat(hb);
  const waitForBeat = (what: string, pred: (b: Record<string, string>) => boolean, timeoutMs = 60_000) =>
    waitFor(() => pred(beat()), `${what} (last beat: ${JSON.stringify(beat())})`, { timeoutMs, intervalMs: 100 });

  beforeAll(async () => {
    endpoint = await startModelEndpoint();
    mosaicHome = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-rt-hooks-'));
    hb = path.join(mosaicHome, 'fleet', 'run', 'cc1.hb');
    pane = await launchRuntime('claude', {
      endpoint,
      session: 'cc1',
      prepare: async (dirs) => {
        fs.mkdirSync(path.join(mosaicHome, 'fleet'), { recursive: true });
        fs.writeFileSync(
          path.join(mosaicHome, 'fleet', 'roster.yaml'),
          `agents:\n  - name: cc1\n    runtime: claude\n    working_directory: ${dirs.workdir}\n`,
        );
        const { MOSAIC_AGENT_NAME: _n, ...env } = process.env;
        const r = await runBin(['hooks', 'install', 'cc1'], { ...env, HOME: dirs.home, MOSAIC_HOME: mosaicHome });
        installOut = r.stdout + r.stderr;
        if (r.code !== 0) throw new Error(`hooks install failed: ${installOut}`);
      },
    });
  }, 700_000); // may wait for a free runtime-pane slot (slots.ts: acquirePaneSlot)
  afterAll(async () => {
    await pane?.stop();
    await endpoint?.close();
    if (mosaicHome) fs.rmSync(mosaicHome, { recursive: true, force: true });
  });

  it('install wrote the working directory settings; SessionStart beats idle', async () => {
    expect(installOut).toContain(`cc1 (claude): ${path.join(pane.dirs.workdir, '.claude', 'settings.json')}: added SessionStart`);
    await waitForBeat('idle beat after SessionStart', (b) => b.state === 'idle');
    expect(beat().v).toBe('1');
    expect(Number(beat().pid)).toBeGreaterThan(1);
  });

  it('busy during a slow turn, idle after it', async () => {
    const reply = endpoint.queue({ kind: 'text', text: 'a slow answer', paceSeconds: 1, hold: 'before-end' });
    await pane.submit('a slow question');
    await reply.started;
    await waitForBeat('busy beat (UserPromptSubmit)', (b) => b.state === 'busy');
    await pane.waitForScreen(SCREEN.claude.busy, 30_000);
    expect(beat().state).toBe('busy');
    reply.release();
    await waitForBeat('idle beat (Stop)', (b) => b.state === 'idle');
  });

  it('waiting with the Bash command while the permission prompt is open; busy then idle once approved', async () => {
    endpoint.queue({ kind: 'tool', command: 'echo hi > proto.txt' });
    await pane.submit('write the proto file');
    await pane.waitForScreen(SCREEN.claude.permission!, 30_000);
    await waitForBeat('waiting beat (PermissionRequest)', (b) => b.state === 'waiting');
    expect(beat().reason).toBe('permission: Bash echo hi > proto.txt');
    // The prompt is still open and the tool has not run.
    expect(await pane.capture()).toMatch(SCREEN.claude.permission!);
    expect(fs.existsSync(path.join(pane.dirs.workdir, 'proto.txt'))).toBe(false);
    // Approve (option 1 is selected): PostToolUse ⇒ busy, then the closing reply ⇒ Stop ⇒ idle.
    await pane.keys('Enter');
    await waitForBeat('idle beat after the approved tool ran', (b) => b.state === 'idle');
    expect(fs.readFileSync(path.join(pane.dirs.workdir, 'proto.txt'), 'utf8')).toBe('hi\n');
  });

  it('stuck "rate limited (429)" after a 429 turn; the next good turn clears it', async () => {
    endpoint.queue({ kind: 'error', status: 429, times: ERROR_ATTEMPTS.claude });
    await pane.waitForScreen(SCREEN.claude.prompt, 30_000);
    await pane.submit('this turn is rate limited');
    await waitForBeat('stuck beat (StopFailure)', (b) => b.state === 'stuck');
    expect(beat().reason).toBe('rate limited (429)');
    expect(beat().note).toContain('429');
    await pane.waitForScreen(SCREEN.claude.rateLimited, 30_000);

    const reply = endpoint.queue({ kind: 'text', text: 'fine again', hold: 'before-end' });
    await pane.submit('and now a good turn');
    await reply.started;
    await waitForBeat('busy beat after the limit', (b) => b.state === 'busy');
    expect(beat().reason).toBeUndefined();
    reply.release();
    await waitForBeat('idle beat after the good turn', (b) => b.state === 'idle');
  });
});
