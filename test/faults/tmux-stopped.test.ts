/**
 * Faults: the tmux server of the fleet's socket is SIGSTOPped (own `-L`
 * socket; resumed and killed by pid after). `--once` returns with the agents `unknown` and the
 * probe's timeout as evidence; `send` and `dispatch` return with a clear refusal; the console
 * shows `unknown` (never the last readiness) and quits on q and ctrl-c; many failing snapshot
 * ticks leak no file descriptor. Needs a build (`npx tsc -p tsconfig.json`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePaths } from '../../lib/paths.js';
import { RosterCache } from '../../fleet/roster.js';
import { collectSnapshot } from '../../src/snapshot/collect.js';
import { writeHeartbeat } from '../../fleet/heartbeat.js';
import { startIsolatedTmux, type IsolatedTmux } from '../helpers/tmux.js';
import { writeHomeRoster } from '../helpers/roster.js';
import { expectQuitsOn, freshHome, openFds, releaseStopped, runBounded, startConsole, stopProcess, tmuxServerPid, untilScreen } from './harness.js';
import type { Snapshot } from '../../src/snapshot/types.js';
import { readJson } from '../helpers/json.js';

describe('faults: a SIGSTOPped tmux server (real program)', () => {
  let fleet: IsolatedTmux;
  let ui: IsolatedTmux;
  let home: string;
  let env: NodeJS.ProcessEnv;
  let serverPid: number;

  beforeAll(async () => {
    fleet = await startIsolatedTmux('fault-tmux');
    ui = await startIsolatedTmux('fault-tmux-ui');
    ({ home, env } = freshHome());
    writeHomeRoster(home, fleet.socket, [
      { name: 'coder1', runtime: 'sleep', class: 'coder' },
      { name: 'coder2', runtime: 'sleep', class: 'coder' },
    ]);
    for (const n of ['coder1', 'coder2']) await fleet.newSession(n, ['sleep', '3600']);
    writeHeartbeat(path.join(home, 'fleet', 'run'), 'coder1', { state: 'busy', interval: 30 });
    writeHeartbeat(path.join(home, 'fleet', 'run'), 'coder2', { state: 'idle', interval: 30 });
    serverPid = await tmuxServerPid(fleet);
  });

  afterAll(async () => {
    releaseStopped();
    await ui?.stop();
    await fleet?.stop();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it('the console shows live rows, then unknown with the timeout once the server stops, and still quits on q', async () => {
    await startConsole(ui, 'q', home);
    await untilScreen(ui, 'q', (s) => /coder1\s+working/.test(s) && /coder2\s+available/.test(s), 'live rows');
    stopProcess(serverPid);
    const screen = await untilScreen(ui, 'q', (s) => /coder1\s+unknown/.test(s) && /coder2\s+unknown/.test(s), 'rows unknown after the stop');
    expect(screen).toMatch(/timed out/);
    await expectQuitsOn(ui, 'q', 'q');
  });

  it('the console started while the server is stopped quits on ctrl-c', async () => {
    stopProcess(serverPid);
    await startConsole(ui, 'cc', home);
    await untilScreen(ui, 'cc', (s) => /coder1\s+unknown/.test(s), 'rows unknown');
    await expectQuitsOn(ui, 'cc', 'C-c');
  });

  it('--once returns; the agents are unknown with the probe timeout as evidence', async () => {
    stopProcess(serverPid);
    const r = await runBounded(['--mosaic-home', home, '--once', '--json'], env);
    expect(r.killed, r.stderr).toBe(false);
    expect(r.code).toBe(0);
    const snap = readJson<Snapshot>(r.stdout);
    for (const a of snap.agents) {
      expect(a.readiness).toBe('unknown');
      expect(a.evidence.join('\n')).toMatch(/tmux: timed out after \d+ ms/);
    }
  });

  it('send and dispatch return with a refusal naming the timeout', async () => {
    stopProcess(serverPid);
    const send = await runBounded(['--mosaic-home', home, 'send', 'coder1', 'hello'], env);
    expect(send.killed, send.stderr).toBe(false);
    expect(send.code).toBe(3);
    expect(send.stdout + send.stderr).toMatch(/timed out/);
    expect(send.stderr).not.toMatch(/^\s+at /m);
    const dispatch = await runBounded(['--mosaic-home', home, 'dispatch', 'coder1'], env);
    expect(dispatch.killed, dispatch.stderr).toBe(false);
    expect(dispatch.code).toBe(3);
    expect(dispatch.stdout + dispatch.stderr).toMatch(/timed out/);
    // Refused before any claim: no backlog was even created.
    expect(fs.existsSync(path.join(home, 'fleet', 'backlog'))).toBe(false);
  });

  it('many failing ticks leak no file descriptor', async () => {
    stopProcess(serverPid);
    const paths = resolvePaths({ mosaicHome: home });
    const rosterCache = new RosterCache(paths.roster, { cacheDir: null });
    const tick = () => collectSnapshot({ paths, rosterCache, includeBacklog: false, probeTimeoutMs: 200 });
    const first = await tick();
    expect(first.agents.every((a) => a.readiness === 'unknown')).toBe(true);
    const before = openFds();
    // Each tick waits out its probe timeout: 12 ticks make a leak (2 fds per tick, 24 here)
    // four times the noise allowed below.
    for (let i = 0; i < 12; i++) {
      const s = await tick();
      expect(s.probes[`tmux:${fleet.socket}`]?.error).toMatch(/timed out/);
    }
    // A leak is 2 fds per tick (24 here); allow a little noise from the runtime itself.
    expect(openFds() - before).toBeLessThan(6);
  });
});
