/**
 * The demo fleet exercises every send receipt (its simulated agents have a behaviour for each
 * receipt): a real `demoUp` on an isolated socket, then one verified send per demo agent
 * through the real `sendToAgent`.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { demoDown, demoUp, type DemoFleet } from '../../src/demo/fleet.js';
import { checkSendTarget, sendToAgent } from '../../src/actions/send.js';
import { readHeartbeat } from '../../fleet/heartbeat.js';
import { isolatedSocketName, tmuxSocketPath, waitFor } from '../helpers/tmux.js';
import { runTmux } from '../../fleet/exec.js';
import { loadRoster } from '../../fleet/roster.js';

describe('demo fleet ⇒ every receipt', () => {
  let fleet: DemoFleet | null = null;
  afterEach(async () => {
    if (fleet) await demoDown(fleet);
    if (fleet) fs.rmSync(tmuxSocketPath(fleet.socket), { force: true });
    fleet = null;
  });

  it('accept ⇒ submitted, queue ⇒ queued (while busy), typed ⇒ typed_not_submitted, ignore ⇒ no_evidence, dead ⇒ refused', { timeout: 120_000 }, async () => {
    fleet = await demoUp({ socket: isolatedSocketName('demo-rcpt'), backlog: false });
    const { socket, paths } = fleet;
    // Research's pane has died (its sim exits after 2 s).
    await waitFor(
      async () => {
        const dead = await runTmux(socket, ['display-message', '-p', '-t', '=research:0.0', '#{pane_dead}']);
        return dead.stdout.trim() === '1' ? true : null;
      },
      'research pane dead',
      { timeoutMs: 20_000 },
    );
    // Each agent is sent to as its roster runtime: the sims draw that runtime's input area.
    const loaded = loadRoster(paths.roster);
    if (!loaded.ok) throw new Error('demo roster does not load');
    // The reviewer is silent and draws no runtime's screen (a plain `> ` line): it is sent to
    // without screen rules, where only a busy beat is uptake — it takes nothing: no_evidence.
    const runtimeOf = (agent: string) => (agent === 'reviewer' ? null : (loaded.roster.agents.find((a) => a.name === agent)?.runtime ?? null));
    // Every agent sent to shows a screen a send may type into (its sim has drawn its input area).
    const receivers = ['orchestrator', 'enhancer', 'canary-pi', 'reviewer'];
    await waitFor(
      async () => {
        const checks = await Promise.all(receivers.map((agent) => checkSendTarget({ agent, runtime: runtimeOf(agent), socket, runDir: paths.runDir })));
        return checks.every((c) => c.refusal === null) ? true : null;
      },
      'every receiving sim agent ready for a send',
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    // The enhancer queues input only while busy, and a busy phase lasts 8 s. Seeing "busy" is
    // not enough: a phase nearly over when the sends land ends under them, and a send that
    // lands after it is taken at once (submitted — CI saw that). So a busy phase must START
    // (an idle beat, then a busy one) right before the sends. Rather than wait out the timed
    // phases, each phase seen is ended by SIGUSR1 (the sim ends it at its next 250 ms tick) —
    // ONE signal per phase seen, so no signal is ever pending when the fresh busy phase shows.
    let seenIdle = false;
    let signalledIn: string | null = null;
    await waitFor(
      () => {
        const hb = readHeartbeat(paths.runDir, 'enhancer', Date.now() / 1000).heartbeat;
        const state = hb?.state ?? null;
        if (state === 'idle') seenIdle = true;
        if (seenIdle && state === 'busy') return true;
        if (hb?.pid && (state === 'busy' || state === 'idle') && signalledIn !== state) {
          signalledIn = state;
          process.kill(hb.pid, 'SIGUSR1');
        }
        return null;
      },
      'enhancer turns busy again',
      { timeoutMs: 40_000, intervalMs: 50 },
    );
    const send = (agent: string) =>
      sendToAgent({ agent, runtime: runtimeOf(agent), socket, runDir: paths.runDir, message: `hello ${agent}`, verify: true, timeoutMs: 3000 });
    const [orchestrator, enhancer, canary, reviewer, research] = await Promise.all([
      send('orchestrator'),
      send('enhancer'),
      send('canary-pi'),
      send('reviewer'),
      send('research'),
    ]);
    expect(orchestrator.status).toBe('submitted');
    expect(enhancer.status).toBe('queued');
    expect(canary.status).toBe('typed_not_submitted');
    expect(reviewer.status).toBe('no_evidence');
    expect(research.status).toBe('refused');
    expect(research.reason).toMatch(/dead/);
    for (const r of [orchestrator, enhancer, canary, reviewer]) expect(r.evidence.length).toBeGreaterThan(0);
    // The evidence is the runtime's (its input box, its queued marker), never the echo alone.
    expect(orchestrator.evidence.join(' ')).toMatch(/input box held the text and emptied|busy marker turned on/);
    expect(enhancer.evidence.join(' ')).toMatch(/the runtime queued it/);
    expect(canary.evidence.join(' ')).toMatch(/text sits in the input box/);
  });
});
