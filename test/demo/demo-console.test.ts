/**
 * Bare `mosaic-top demo`: up, the console on it, down on exit. Driven through a
 * real terminal: an isolated tmux pane runs the program; `q` quits the console.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { startIsolatedTmux, tmuxSocketPath, waitFor, type IsolatedTmux } from '../helpers/tmux.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const execFileAsync = promisify(execFile);

describe('mosaic-top demo (bare: up ⇒ console ⇒ down)', () => {
  let outer: IsolatedTmux | null = null;
  let demoSocket = '';
  let tmpDir: string | null = null;
  afterEach(async () => {
    await outer?.stop();
    outer = null;
    if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
    tmpDir = null;
    // Belt and braces: if the program died mid-way, end the demo server it started.
    await execFileAsync('tmux', ['-L', demoSocket, 'kill-server']).catch(() => {});
    fs.rmSync(tmuxSocketPath(demoSocket), { force: true });
  });

  it('opens the console on the demo fleet and tears the demo down when the console quits', { timeout: 120_000 }, async () => {
    outer = await startIsolatedTmux('fleet-ui');
    demoSocket = `${outer.socket}-demo`;
    tmpDir = fs.mkdtempSync(path.join('/tmp', 'mt-fleet-ui-'));
    const log = path.join(tmpDir, 'stderr.log');
    await outer.newSession('ui', ['sh', '-c', `node ${ROOT}/bin/mosaic-top demo --socket ${demoSocket} 2>${log}; echo "EXIT=$?"; sleep 600`], {
      width: 120,
      height: 40,
      env: { XDG_CACHE_HOME: path.join(path.dirname(log), 'cache') },
    });
    const screen = await waitFor(
      async () => {
        const text = await outer!.capture('ui');
        return text.includes('canary-pi') && text.includes('research') ? text : null;
      },
      'console shows the demo agents',
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(screen).toContain('orchestrator');
    expect(
      await execFileAsync('tmux', ['-L', demoSocket, 'has-session', '-t', '=_holder']).then(
        () => true,
        () => false,
      ),
    ).toBe(true);
    const home = /home (\S+), tmux socket/.exec(fs.readFileSync(log, 'utf8'))?.[1];
    expect(home).toBeTruthy();
    expect(fs.existsSync(path.join(home!, 'demo.json'))).toBe(true);

    await outer.ok(['send-keys', '-t', '=ui:0.0', 'q']);
    const after = await waitFor(
      async () => {
        const text = await outer!.capture('ui');
        return /EXIT=\d+/.test(text) ? text : null;
      },
      'program exits after q',
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(after).toContain('EXIT=0');
    expect(
      await execFileAsync('tmux', ['-L', demoSocket, 'list-sessions']).then(
        () => 'alive',
        () => 'gone',
      ),
    ).toBe('gone');
    expect(fs.existsSync(home!)).toBe(false);
  });
});
