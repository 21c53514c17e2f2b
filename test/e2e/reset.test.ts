/**
 * `mosaic-top reset <agent>` and `dispatch --reset` end-to-end: the roster's
 * `runtimes.<runtime>.reset_command` typed into a simulated agent's pane (src/demo/sim-agent.ts,
 * `--input-mode accept`) on an isolated tmux socket, unframed, with a verified receipt recorded
 * in a real embedded backlog; refusals (working agent, no reset command). The real program
 * (`node bin/mosaic-top`, built with `npx tsc -p .`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopEmbeddedServer } from '../../backlog/client.js';
import { writeHeartbeat } from '../../fleet/heartbeat.js';
import { resolvePaths } from '../../lib/paths.js';
import type { DispatchResult } from '../../src/actions/dispatch.js';
import type { ResetResult } from '../../src/actions/reset.js';
import { copyTemplateDataDir } from '../backlog/tiers.js';
import { runBin, type BinResult } from '../helpers/bin.js';
import { runCliInProcess } from '../helpers/cli.js';
import { writeHomeRoster } from '../helpers/roster.js';
import { FIXTURE_BIN } from '../helpers/systemd.js';
import { startIsolatedTmux, waitFor, type IsolatedTmux } from '../helpers/tmux.js';

const repo = path.resolve(import.meta.dirname, '..', '..');
const simAgent = path.join(repo, 'dist', 'src', 'demo', 'sim-agent.js');

describe('reset an agent (real program, simulated agent pane)', () => {
  let tmux: IsolatedTmux;
  let home: string;
  let env: NodeJS.ProcessEnv;
  const cli = (args: string[]): Promise<BinResult> => runBin([...args, '--mosaic-home', home], env);
  /** Refusals and the card's setup in this process (test/helpers/cli.ts): their verdict, not the process, is the point. */
  const cliIn = (args: string[]): Promise<BinResult> => runCliInProcess([...args, '--mosaic-home', home], env);

  beforeAll(async () => {
    tmux = await startIsolatedTmux('reset');
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-reset-'));
    env = {
      ...process.env,
      PATH: `${FIXTURE_BIN}:${process.env.PATH}`,
      MT_SYSTEMCTL_MODE: 'nobus',
      XDG_CACHE_HOME: path.join(home, 'cache'),
      MOSAIC_BACKLOG_IDLE_EXIT: '30',
    };
    delete env.DATABASE_URL;
    delete env.PGLITE_DATA_DIR;
    writeHomeRoster(home, tmux.socket, [
      // The sim draws Claude Code's input box (`--screen claude`) and is sent to as claude: its
      // receipt rests on the box emptying, and the card (several lines) needs a runtime
      // known to take a bracketed paste.
      { name: 'cx', runtime: 'claude', class: 'enhancer' },
      { name: 'plain', runtime: 'sleep' },
      // A pane that writes no beats of its own: the test's busy beat stays as written.
      { name: 'busy1', runtime: 'claude' },
    ]);
    const roster = path.join(home, 'fleet', 'roster.yaml');
    fs.appendFileSync(roster, 'runtimes:\n  claude:\n    reset_command: /clear\n  sleep: {}\n');
    copyTemplateDataDir(path.join(home, 'fleet', 'backlog'));
    const runDir = path.join(home, 'fleet', 'run');
    await tmux.newSession(
      'cx',
      ['node', simAgent, '--agent', 'cx', '--run-dir', runDir, '--input-mode', 'accept', '--busy', '0', '--idle', '600', '--screen', 'claude'],
      { width: 100, height: 30 },
    );
    await tmux.newSession('plain', ['sleep', '600']);
    await tmux.newSession('busy1', ['sleep', '600']);
    await waitFor(async () => (await tmux.capture('cx')).includes('? for shortcuts'), 'cx shows its idle input box');
  });

  afterAll(async () => {
    await tmux?.stop();
    if (home) {
      await stopEmbeddedServer(resolvePaths({ mosaicHome: home }, env), 20_000);
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('sends the roster reset_command as the whole input line and returns a submitted receipt, recorded', async () => {
    writeHeartbeat(path.join(home, 'fleet', 'run'), 'cx', { state: 'idle' });
    const r = await cli(['reset', 'cx', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as ResetResult;
    expect(result).toMatchObject({
      ok: true,
      outcome: 'reset',
      runtime: 'claude',
      command: '/clear',
      receipt: { status: 'submitted', source: 'operator:mosaic-top' },
    });
    expect(result.receipt!.recorded).toMatch(/^backlog event #\d+$/);
    const screen = await tmux.capture('cx');
    expect(screen).toMatch(/^❯ \/clear$/m);
    expect(screen).not.toContain('[operator:mosaic-top] /clear');
  });

  it('refuses while the agent is working unless --force, and when the runtime has no reset_command', async () => {
    const runDir = path.join(home, 'fleet', 'run');
    writeHeartbeat(runDir, 'busy1', { state: 'busy', card: 'R1' });
    const before = await tmux.capture('busy1');
    const refused = await cliIn(['reset', 'busy1']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/reset busy1 refused: busy1 is working \(card R1; heartbeat state=busy.*--force/);
    expect(await tmux.capture('busy1')).toBe(before);
    // --force: sent whatever the readiness (the sim agent writes its own beats, so it is
    // whatever it last said; the flag is what is checked).
    const forced = JSON.parse((await cli(['reset', 'cx', '--force', '--json'])).stdout) as ResetResult;
    expect(forced).toMatchObject({ outcome: 'reset', forced: true, receipt: { status: 'submitted' } });
    // A runtime waiting for a human is never typed into, even with --force.
    writeHeartbeat(runDir, 'busy1', { state: 'waiting', reason: 'permission: Bash rm -rf build' });
    const waiting = await cliIn(['reset', 'busy1', '--force']);
    expect(waiting.code).toBe(3);
    expect(waiting.stderr).toMatch(/reset busy1 refused: busy1 is waiting \(.*permission: Bash rm -rf build.*\): the runtime is not at its input line/);
    expect(await tmux.capture('busy1')).toBe(before);
    const none = await cliIn(['reset', 'plain']);
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/no runtimes\.sleep\.reset_command for runtime "sleep": nothing to send/);
  });

  it('dispatch --reset resets before handing over the card; without a reset command nothing is claimed', async () => {
    expect((await cliIn(['backlog', 'create', '--id', 'R2', '--title', 'Reset then do R2'])).code).toBe(0);
    const none = await cliIn(['dispatch', 'plain', '--reset', '--json']);
    expect(none.code).toBe(3);
    // Refused before any claim: the send check (a sleep pane, runtime without delivery rules,
    // takes no card of several lines) comes first, else the missing reset command.
    expect((JSON.parse(none.stdout) as DispatchResult).refused).toMatch(/(reset before the card not confirmed|no delivery rules).*nothing claimed/);
    const r = await cli(['dispatch', 'cx', '--reset', '--card', 'R2', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as DispatchResult;
    expect(d).toMatchObject({ outcome: 'dispatched', card: { id: 'R2' }, reset: { outcome: 'reset', command: '/clear' } });
    const screen = await tmux.capture('cx');
    expect(screen.lastIndexOf('/clear')).toBeLessThan(screen.lastIndexOf('Card R2'));
  });
});
