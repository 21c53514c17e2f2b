/**
 * Answering a permission prompt on the REAL Claude Code and Codex: a scripted Bash
 * tool call (`echo hi > proto.txt` in the workdir) opens the runtime's permission prompt, and
 * the real `answerPrompt` (src/actions/answer.ts, the code behind `mosaic-top answer`) answers it:
 * - allow ⇒ the command ran (the file exists), receipt `answered`;
 * - deny ⇒ it did not run, receipt `answered`;
 * - a stale prompt id (the first prompt denied, a second tool call with another command open)
 *   ⇒ `refused`, nothing typed: the second prompt is still open, exactly as it was;
 * - an agent that is not waiting ⇒ `refused`, nothing typed: the screen and the endpoint unchanged;
 * - the pane's process is verified as the runtime, the key waits for the screen to settle and
 *   goes in only while tmux shows the prompt (`promptBefore` is its id).
 * Claude Code on both version sets where a prompt opens (test/runtimes/variants.ts): the pinned
 * 2.1.197 and the newest 2.1.332 in manual mode (its 4-option prompt: allow once is still `1`,
 * deny Esc); in auto mode these commands run unasked.
 * One runtime pane alive at a time; run under `flock /tmp/mosaic-runtime.lock`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerPrompt, type AnswerChoice } from '../../src/actions/answer.js';
import { classifyScreen } from '../../fleet/screen.js';
import type { RuntimeName } from './install.js';
import { claudeVariants, type ClaudeVariant } from './variants.js';
import { launchRuntime, SCREEN, type RuntimePane } from './launch.js';
import { startModelEndpoint, type ModelEndpoint } from './model-endpoint.js';
import { waitFor } from '../helpers/tmux.js';

/** Trailing blanks and Claude Code 2.1.332's blinking tool-status dot (`●` at a line start) dropped: two captures of an unchanged screen compare equal. */
const norm = (s: string) => s.replace(/^●/gm, ' ').replace(/\s+$/gm, '').trimEnd();

const PANES: { runtime: RuntimeName; variant: ClaudeVariant | null; label: string }[] = [
  ...claudeVariants(['default', 'manual']).map((variant) => ({ runtime: 'claude' as const, variant, label: `claude ${variant.label}` })),
  { runtime: 'codex', variant: null, label: 'codex' },
];

describe.each(PANES.map((p) => [p.label, p] as const))('answer a permission prompt: real %s', (_label, { runtime, variant }) => {
  let endpoint: ModelEndpoint;
  let pane: RuntimePane;
  let runDir: string;
  const agent = `ans${runtime.slice(0, 2)}`;
  const permission = () => SCREEN[runtime].permission!;
  const reading = async () => classifyScreen(runtime, null, await pane.capture());
  const answer = (choice: AnswerChoice, promptId?: string) =>
    answerPrompt({ agent, runtime, answer: choice, promptId, socket: pane.tmux.socket, runDir, timeoutMs: 30_000 });
  const settleIdle = () =>
    waitFor(async () => (await reading()).state === 'idle' && !SCREEN[runtime].busy.test(await pane.capture()), `${runtime} back at its idle input line`, {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
  /** Queues a tool call running `command`, submits a message, waits for the prompt; returns its classification. */
  const openPrompt = async (command: string) => {
    await settleIdle();
    const call = endpoint.queue({ kind: 'tool', command });
    await pane.submit(`please run ${command.split(' ')[1]}`);
    await call.started;
    await pane.waitForScreen(permission(), 30_000);
    return waitFor(
      async () => {
        const c = await reading();
        return c.state === 'waiting' && c.prompt?.detail?.includes(command) ? c.prompt : null;
      },
      `${runtime} waiting on the prompt for ${command}`,
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  };

  beforeAll(async () => {
    endpoint = await startModelEndpoint();
    runDir = fs.mkdtempSync(path.join(os.tmpdir(), `answer-${runtime}-`));
    pane = await launchRuntime(runtime, { endpoint, session: agent, startBoundMs: 90_000, version: variant?.version, args: variant?.args });
  });
  afterAll(async () => {
    await pane?.stop();
    await endpoint?.close();
    if (runDir) fs.rmSync(runDir, { recursive: true, force: true });
  });

  it('an agent that is not waiting: refused, nothing typed', async () => {
    await settleIdle();
    const before = await pane.capture();
    const seq = endpoint.lastSeq();
    for (const choice of ['allow', 'deny'] as const) {
      const r = await answer(choice);
      expect(r.status, JSON.stringify(r)).toBe('refused');
      expect(r.key).toBeNull();
      expect(r.reason).toMatch(/not waiting on a prompt.*idle.*nothing typed/);
    }
    // Nothing typed: the input box is still empty (a `1` or `y` would sit in it) and nothing
    // reached the model. (The screen as a whole is not compared: Codex's banner settles on its
    // own after start, Claude's footer hints come and go.)
    expect(classifyScreen(runtime, null, before)).toMatchObject({ state: 'idle', inputText: '' });
    expect(classifyScreen(runtime, null, await pane.capture())).toMatchObject({ state: 'idle', inputText: '' });
    expect(endpoint.lastSeq()).toBe(seq);
  });

  it('allow: the command runs (its file exists), receipt answered with the prompt named', async () => {
    const proto = path.join(pane.dirs.workdir, 'proto.txt');
    fs.rmSync(proto, { force: true });
    const prompt = await openPrompt('echo hi > proto.txt');
    expect(fs.existsSync(proto)).toBe(false);
    const r = await answer('allow', prompt.id);
    expect(r.status, JSON.stringify(r)).toBe('answered');
    expect(r.key).toBe(runtime === 'claude' ? '1' : 'y');
    expect(r.prompt?.id).toBe(prompt.id);
    expect(r.prompt?.detail).toContain('echo hi > proto.txt');
    expect(r.evidence.join(' | ')).toMatch(/the prompt closed/);
    // The pane's process is the runtime, and tmux showed exactly that prompt as the key went in.
    expect(r.process?.expected).toBe(runtime);
    expect(r.process?.seen).toContain(runtime);
    expect(r.promptBefore).toBe(prompt.id);
    // Right after the key the runtime may not have redrawn yet: that prompt, or none — never another.
    expect([prompt.id, null]).toContain(r.promptAfter);
    // The shell creates the file (empty) before it writes: wait for its content, then check it.
    await waitFor(() => fs.existsSync(proto) && fs.statSync(proto).size > 0, `${runtime}: proto.txt written after allow`, {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    expect(fs.readFileSync(proto, 'utf8').trim()).toBe('hi');
    await settleIdle();
  });

  it('deny (without --prompt-id: the prompt on screen now): the command does not run, receipt answered', async () => {
    const proto = path.join(pane.dirs.workdir, 'proto.txt');
    fs.rmSync(proto, { force: true });
    const prompt = await openPrompt('echo hi > proto.txt');
    const r = await answer('deny');
    expect(r.status, JSON.stringify(r)).toBe('answered');
    expect(r.key).toBe('Escape');
    expect(r.prompt?.id).toBe(prompt.id);
    expect(r.evidence.join(' | ')).toMatch(/the prompt closed/);
    await settleIdle();
    expect(fs.existsSync(proto)).toBe(false);
  });

  it('a stale prompt id after the prompt changed: refused, nothing typed, the new prompt still open', async () => {
    const one = await openPrompt('echo one > one.txt');
    expect((await answer('deny', one.id)).status).toBe('answered');
    const two = await openPrompt('echo two > two.txt');
    expect(two.id).not.toBe(one.id);
    const screen = await pane.capture();
    const seq = endpoint.lastSeq();
    for (const choice of ['allow', 'deny'] as const) {
      const r = await answer(choice, one.id);
      expect(r.status, JSON.stringify(r)).toBe('refused');
      expect(r.key).toBeNull();
      expect(r.reason).toMatch(/another prompt is on screen now/);
      expect(r.prompt?.id).toBe(two.id);
      expect(r.prompt?.detail).toContain('echo two > two.txt');
    }
    expect(norm(await pane.capture())).toBe(norm(screen));
    expect((await reading()).prompt?.id).toBe(two.id);
    expect(endpoint.lastSeq()).toBe(seq);
    expect(fs.existsSync(path.join(pane.dirs.workdir, 'two.txt'))).toBe(false);
    expect(fs.existsSync(path.join(pane.dirs.workdir, 'one.txt'))).toBe(false);
    expect((await answer('deny', two.id)).status).toBe('answered');
    await settleIdle();
    expect(fs.existsSync(path.join(pane.dirs.workdir, 'two.txt'))).toBe(false);
  });
});
