/**
 * The REAL Codex wired by `mosaic-top hooks install`: hooks.json merged, and its trust written
 * into config.toml with the hashes Codex itself reports (`codex app-server` → `hooks/list`), so
 * Codex starts straight at its prompt — no "Hooks need review" screen — and its hooks beat:
 * busy during a turn, idle after it, waiting with the command while its approval prompt is open.
 *
 * Run: `npx tsc -p tsconfig.json && flock /tmp/mosaic-runtime.lock npx vitest run test/runtimes/hooks-codex.test.ts`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBin } from '../helpers/bin.js';
import { waitFor } from '../helpers/tmux.js';
import { ensureRuntime } from './install.js';
import { launchRuntime, SCREEN, type RuntimePane } from './launch.js';
import { startModelEndpoint, type ModelEndpoint } from './model-endpoint.js';
import { readBeatFields } from '../helpers/beat.js';

const readBeat = readBeatFields;

describe('real Codex with hooks installed (and trusted) by `mosaic-top hooks install`', () => {
  let endpoint: ModelEndpoint;
  let pane: RuntimePane;
  let mosaicHome: string;
  let hb: string;
  let installOut = '';
  const beat = () => readBeat(hb);
  const waitForBeat = (what: string, pred: (b: Record<string, string>) => boolean, timeoutMs = 60_000) =>
    waitFor(() => pred(beat()), `${what} (last beat: ${JSON.stringify(beat())})`, { timeoutMs, intervalMs: 100 });

  beforeAll(async () => {
    const codex = await ensureRuntime('codex');
    endpoint = await startModelEndpoint();
    mosaicHome = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-rt-cxhooks-'));
    hb = path.join(mosaicHome, 'fleet', 'run', 'cx1.hb');
    pane = await launchRuntime('codex', {
      endpoint,
      session: 'cx1',
      prepare: async (dirs) => {
        fs.mkdirSync(path.join(mosaicHome, 'fleet', 'agents'), { recursive: true });
        fs.writeFileSync(path.join(mosaicHome, 'fleet', 'roster.yaml'), 'agents:\n  - name: cx1\n    runtime: codex\n');
        fs.writeFileSync(path.join(mosaicHome, 'fleet', 'agents', 'cx1.env'), `CODEX_HOME=${dirs.codexHome}\n`);
        const { MOSAIC_AGENT_NAME: _n, ...env } = process.env;
        const r = await runBin(['hooks', 'install'], { ...env, HOME: dirs.home, MOSAIC_HOME: mosaicHome, MOSAIC_CODEX_BIN: codex.binPath });
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

  it('install merged hooks.json and trusted every hook; Codex starts at its prompt with no review screen', async () => {
    expect(installOut).toContain(`cx1 (codex): ${path.join(pane.dirs.codexHome, 'hooks.json')}: added SessionStart`);
    expect(installOut).toMatch(/codex trust: .*config\.toml: trusted pre_tool_use, .*trusted stop/);
    const config = fs.readFileSync(path.join(pane.dirs.codexHome, 'config.toml'), 'utf8');
    expect(config.match(/trusted_hash = "sha256:[0-9a-f]{64}"/g)).toHaveLength(6);
    // The recipe's settings are still there.
    expect(config).toContain('daemon_auto_start = false');
    const screen = await pane.capture();
    expect(screen).toMatch(SCREEN.codex.prompt);
    expect(screen).not.toContain('Hooks need review');
    const { MOSAIC_AGENT_NAME: _n, ...env } = process.env;
    const status = await runBin(['hooks', 'status'], { ...env, HOME: pane.dirs.home, MOSAIC_HOME: mosaicHome });
    expect(status.stdout).toContain(`cx1 (codex): wired: ${path.join(pane.dirs.codexHome, 'hooks.json')} (6 events; trusted in config.toml)`);
  });

  it('busy during a turn, idle after it', async () => {
    const reply = endpoint.queue({ kind: 'text', text: 'codex answer', hold: 'before-first-token' });
    await pane.submit('a question for codex');
    await reply.started;
    await waitForBeat('busy beat (UserPromptSubmit)', (b) => b.state === 'busy');
    reply.release();
    await reply.finished;
    await waitForBeat('idle beat (Stop)', (b) => b.state === 'idle');
  });

  it('waiting with the command while the approval prompt is open', async () => {
    endpoint.queue({ kind: 'tool', command: 'echo hi > proto.txt' });
    await pane.submit('write the proto file');
    await pane.waitForScreen(SCREEN.codex.permission!, 30_000);
    await waitForBeat('waiting beat (PermissionRequest)', (b) => b.state === 'waiting');
    // Codex's PermissionRequest names the tool `Bash` with `tool_input.command`, like Claude's.
    expect(beat().reason).toBe('permission: Bash echo hi > proto.txt');
    expect(fs.existsSync(path.join(pane.dirs.workdir, 'proto.txt'))).toBe(false);
    await pane.keys('Escape');
    await pane.waitForScreenGone(SCREEN.codex.permission!, 30_000);
  });
});
