/**
 * The REAL pi and opencode wired by `mosaic-top hooks install` (pi: an extension in
 * `~/.pi/agent/extensions/`; opencode: a plugin in `~/.config/opencode/plugin/`): their events
 * reach `mosaic-top heartbeat-hook` and the agent's beat follows the turn. One pane at a time.
 *
 * Run: `npx tsc -p tsconfig.json && flock /tmp/mosaic-runtime.lock npx vitest run test/runtimes/hooks-pi-opencode.test.ts`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBin } from '../helpers/bin.js';
import { waitFor } from '../helpers/tmux.js';
import type { RuntimeName } from './install.js';
import { ERROR_ATTEMPTS, launchRuntime, SCREEN, type RuntimeDirs } from './launch.js';
import { startModelEndpoint } from './model-endpoint.js';
import { readBeatFields } from '../helpers/beat.js';

const readBeat = readBeatFields;

/** Writes a roster with `agent` and runs `hooks install` with HOME = the pane's home. */
async function install(mosaicHome: string, agent: string, runtime: RuntimeName, dirs: RuntimeDirs): Promise<string> {
  fs.mkdirSync(path.join(mosaicHome, 'fleet'), { recursive: true });
  fs.writeFileSync(path.join(mosaicHome, 'fleet', 'roster.yaml'), `agents:\n  - name: ${agent}\n    runtime: ${runtime}\n`);
  const { MOSAIC_AGENT_NAME: _n, ...env } = process.env;
  const r = await runBin(['hooks', 'install'], { ...env, HOME: dirs.home, MOSAIC_HOME: mosaicHome });
  if (r.code !== 0) throw new Error(`hooks install failed: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

describe('real pi and opencode with hooks installed by `mosaic-top hooks install`', () => {
  it('pi: idle at start, busy during a held turn, idle after it, stuck after a 429 turn', async () => {
    const endpoint = await startModelEndpoint();
    const mosaicHome = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-rt-pihooks-'));
    const hb = path.join(mosaicHome, 'fleet', 'run', 'pi1.hb');
    const beat = () => readBeat(hb);
    const waitForBeat = (what: string, pred: (b: Record<string, string>) => boolean) =>
      waitFor(() => pred(beat()), `${what} (last beat: ${JSON.stringify(beat())})`, { timeoutMs: 60_000, intervalMs: 100 });
    let out = '';
    const pane = await launchRuntime('pi', { endpoint, session: 'pi1', prepare: async (dirs) => void (out = await install(mosaicHome, 'pi1', 'pi', dirs)) });
    try {
      expect(out).toContain(`pi1 (pi): ${path.join(pane.dirs.home, '.pi', 'agent', 'extensions', 'mosaic-top-heartbeat.ts')}: created`);
      await waitForBeat('idle beat (session_start)', (b) => b.state === 'idle');
      const reply = endpoint.queue({ kind: 'text', text: 'pi answer', hold: 'before-end' });
      await pane.submit('a question for pi');
      await reply.started;
      await waitForBeat('busy beat (agent_start)', (b) => b.state === 'busy');
      reply.release();
      await waitForBeat('idle beat (agent_end)', (b) => b.state === 'idle');

      endpoint.queue({ kind: 'error', status: 429, times: ERROR_ATTEMPTS.pi });
      await pane.submit('this one is rate limited');
      await waitForBeat('stuck beat (agent_end with an error)', (b) => b.state === 'stuck');
      expect(beat().reason).toBe('rate limited (429)');
      await pane.waitForScreen(SCREEN.pi.rateLimited, 30_000);
    } finally {
      await pane.stop();
      await endpoint.close();
      fs.rmSync(mosaicHome, { recursive: true, force: true });
    }
  }, 900_000);

  it('opencode: busy during a held turn, idle after it, waiting at its permission prompt', async () => {
    const endpoint = await startModelEndpoint();
    const mosaicHome = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-rt-ochooks-'));
    const hb = path.join(mosaicHome, 'fleet', 'run', 'oc1.hb');
    const beat = () => readBeat(hb);
    const waitForBeat = (what: string, pred: (b: Record<string, string>) => boolean) =>
      waitFor(() => pred(beat()), `${what} (last beat: ${JSON.stringify(beat())})`, { timeoutMs: 60_000, intervalMs: 100 });
    let out = '';
    const pane = await launchRuntime('opencode', {
      endpoint,
      session: 'oc1',
      startBoundMs: 180_000,
      prepare: async (dirs) => void (out = await install(mosaicHome, 'oc1', 'opencode', dirs)),
    });
    try {
      expect(out).toContain(`oc1 (opencode): ${path.join(pane.dirs.home, '.config', 'opencode', 'plugin', 'mosaic-top-heartbeat.js')}: created`);
      const reply = endpoint.queue({ kind: 'text', text: 'opencode answer', hold: 'before-end' });
      await pane.submit('a question for opencode');
      await reply.started;
      await waitForBeat('busy beat (session.status busy)', (b) => b.state === 'busy');
      reply.release();
      await waitForBeat('idle beat (session.status idle)', (b) => b.state === 'idle');

      endpoint.queue({ kind: 'tool', command: 'echo hi > proto.txt' });
      await pane.submit('write the proto file');
      await pane.waitForScreen(SCREEN.opencode.permission!, 30_000);
      await waitForBeat('waiting beat (permission.asked)', (b) => b.state === 'waiting');
      expect(beat().reason).toContain('echo hi > proto.txt');
    } finally {
      await pane.stop();
      await endpoint.close();
      fs.rmSync(mosaicHome, { recursive: true, force: true });
    }
  }, 900_000); // opencode's first start with a plugin dir installs @opencode-ai/plugin (~60 s here)
});
