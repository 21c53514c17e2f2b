/**
 * The demo shows every readiness: a real `demoUp` on an isolated socket, read
 * by collectSnapshot with the shipped screen rules — coder2 waits at Claude Code's real Bash
 * permission prompt (waiting, tool and command in the evidence from the screen), coder3's last
 * turn hit a rate limit (stuck + LIMITED, from the screen and its stuck beat); answering
 * coder2's prompt with the real `answerPrompt` (allow: the key `1` alone, as Claude Code reads
 * it) gives an `answered` receipt and takes it out of waiting; a line typed to coder3 starts a
 * good turn that clears stuck.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { answerPrompt } from '../../src/actions/answer.js';
import { runTmux } from '../../fleet/exec.js';
import { ScreenReader } from '../../fleet/screen-probe.js';
import { demoDown, demoUp, type DemoFleet } from '../../src/demo/fleet.js';
import { collectSnapshot } from '../../src/snapshot/collect.js';
import type { Snapshot } from '../../src/snapshot/types.js';
import { agentRow as row } from '../fixtures/snapshots.js';
import { isolatedSocketName, tmuxSocketPath, waitFor } from '../helpers/tmux.js';

describe('demo fleet ⇒ waiting and stuck', () => {
  let fleet: DemoFleet | null = null;
  afterEach(async () => {
    if (fleet) await demoDown(fleet);
    if (fleet) fs.rmSync(tmuxSocketPath(fleet.socket), { force: true });
    fleet = null;
  });

  it('coder2 waiting at the permission prompt, coder3 stuck + LIMITED; answered / a new turn takes them out', { timeout: 120_000 }, async () => {
    fleet = await demoUp({ socket: isolatedSocketName('demo-states'), backlog: false });
    const { socket, paths } = fleet;
    const screenReader = new ScreenReader();
    let s: Snapshot | null = null;
    const tick = async () => (s = await collectSnapshot({ paths, includeBacklog: false, screenReader }));
    await waitFor(
      async () => {
        await tick();
        // The sim prints the 429 before it writes the stuck beat, and the snapshot lists the run
        // dir before it captures screens: a tick can see stuck from the screen alone.
        const coder3 = row(s!, 'coder3');
        return row(s!, 'coder2').readiness === 'waiting' && coder3.readiness === 'stuck' && /state=stuck/.test(coder3.evidence[1] ?? '');
      },
      'coder2 waiting and coder3 stuck with its stuck beat',
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const snap = s!;
    expect(row(snap, 'coder2').evidence[0]).toMatch(/^screen: permission prompt Bash echo hi > proto\.txt \[claude@[^\]]+\]$/);
    expect(row(snap, 'coder2').screen?.prompt).toMatchObject({ tool: 'Bash', detail: 'echo hi > proto.txt' });
    expect(row(snap, 'coder3').flags).toContain('LIMITED');
    expect(row(snap, 'coder3').evidence[0]).toMatch(/^screen: rate limited: API Error: Request rejected \(429\)/);
    expect(row(snap, 'coder3').evidence[1]).toMatch(/^heartbeat \d+s old, state=stuck \(rate limited \(429\)\)$/);
    expect(snap.fleet.counts.waiting).toBe(1);
    expect(snap.fleet.counts.stuck).toBe(1);
    // The other demo agents keep their states: the floor holds.
    expect(snap.fleet.floor.ok).toBe(true);

    // Answer coder2's prompt as the operator does (`mosaic-top answer coder2 allow --prompt-id …`):
    // the sim reads `1` alone as Claude Code does. And type a line to coder3.
    const receipt = await answerPrompt({
      agent: 'coder2',
      runtime: 'claude',
      answer: 'allow',
      promptId: row(snap, 'coder2').screen!.prompt!.id,
      socket,
      runDir: paths.runDir,
      paths,
    });
    expect(receipt, JSON.stringify(receipt)).toMatchObject({ status: 'answered', key: '1', promptBefore: row(snap, 'coder2').screen!.prompt!.id });
    expect(receipt.evidence.join(' | ')).toMatch(/the prompt closed \| then the runtime is busy/);
    expect((await runTmux(socket, ['send-keys', '-t', '=coder3:0.0', '-l', 'try again'])).ok).toBe(true);
    expect((await runTmux(socket, ['send-keys', '-t', '=coder3:0.0', 'Enter'])).ok).toBe(true);
    await waitFor(
      async () => {
        await tick();
        return row(s!, 'coder2').readiness === 'working' && row(s!, 'coder3').readiness === 'working';
      },
      'both working on a new turn',
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(row(s!, 'coder3').flags).not.toContain('LIMITED');
  });
});
