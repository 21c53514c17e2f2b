/**
 * Library-level tests of the send path: refusal rules, framing, card formatting (pure), and the
 * tmux calls against a real isolated tmux server with the simulated agent.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { capturePane, readPaneState } from '../../fleet/capture.js';
import { pasteBracketed, typeLiteral } from '../../fleet/send-keys.js';
import { formatCardMessage } from '../../src/actions/dispatch.js';
import { backlogExists, recordReceiptEvent } from '../../src/actions/receipt-event.js';
import { describeReceipt, isDelivered } from '../../fleet/receipt.js';
import { frameMessage, messageRefusal, sendToAgent } from '../../src/actions/send.js';
import { resolvePaths } from '../../lib/paths.js';
import type { Card } from '../../backlog/types.js';
import { startIsolatedTmux, waitFor, type IsolatedTmux } from '../helpers/tmux.js';

const repo = path.resolve(import.meta.dirname, '..', '..');
const simAgent = path.join(repo, 'dist', 'src', 'demo', 'sim-agent.js');

describe('messageRefusal and framing', () => {
  it('allows text and newlines (LF, CRLF), refuses every other control character by name and position', () => {
    expect(messageRefusal('hello', 'operator:mosaic-top')).toBeNull();
    expect(messageRefusal('a\nb\r\nc', 'operator:mosaic-top')).toBeNull();
    expect(messageRefusal('a\tb', 'operator:mosaic-top')).toMatch(/U\+0009 \(tab\) at position 2/);
    expect(messageRefusal('a\rb', 'operator:mosaic-top')).toMatch(/U\+000D \(carriage return\)/);
    expect(messageRefusal('\u001b[2J', 'operator:mosaic-top')).toMatch(/U\+001B \(escape\) at position 1/);
    expect(messageRefusal('x\u009by', 'operator:mosaic-top')).toMatch(/U\+009B/);
    expect(messageRefusal('x\u007f', 'operator:mosaic-top')).toMatch(/U\+007F/);
    expect(messageRefusal('   \n ', 'operator:mosaic-top')).toBe('empty message');
  });

  it('refuses a source label that could break the framing', () => {
    expect(messageRefusal('hi', 'operator:ci-bot')).toBeNull();
    expect(messageRefusal('hi', 'op] fake [operator')).toMatch(/source label/);
    expect(messageRefusal('hi', '')).toMatch(/source label/);
    expect(messageRefusal('hi', 'x'.repeat(65))).toMatch(/source label/);
  });

  it('frames with the source label in brackets at the start of the first line', () => {
    expect(frameMessage('one\ntwo', 'operator:mosaic-top')).toBe('[operator:mosaic-top] one\ntwo');
  });

  it('describes receipts in one line; delivered = submitted or queued', () => {
    const base = {
      agent: 'c1',
      evidence: ['sent as literal keys, then Enter', 'queued hint appeared'],
      elapsedMs: 12,
      source: 'operator:mosaic-top',
      reason: null,
    };
    expect(describeReceipt({ ...base, status: 'queued' })).toBe('queued to c1 in 12 ms (operator:mosaic-top): queued hint appeared');
    expect(describeReceipt({ ...base, status: 'refused', reason: 'pane is dead' })).toBe('refused for c1: pane is dead');
    expect(
      describeReceipt({ ...base, status: 'no_evidence', evidence: ['sent as literal keys, then Enter', 'not verified (verification not requested)'] }),
    ).toMatch(/^sent to c1 .*not verified/);
    expect(['submitted', 'queued', 'typed_not_submitted', 'no_evidence', 'refused'].map((s) => isDelivered(s as never))).toEqual([
      true,
      true,
      false,
      false,
      false,
    ]);
  });
});

describe('formatCardMessage', () => {
  const card: Card = {
    id: 'A3a',
    title: 'Title \u001b[31mred',
    body: 'line 1\n\tindented\u0007\r\nline 3',
    phase: 'P1',
    priority: 5,
    status: 'claimed',
    dependsOn: [],
    claimOwner: 'coder1',
    claimTtlSeconds: 900,
    claimedAt: null,
    claimToken: 17,
    expiresAt: null,
    secondsLeft: 900,
    attempts: 1,
    idempotencyKey: null,
    acceptance: 'tests pass',
    projectedTokens: null,
    actualTokens: null,
    createdAt: '',
    updatedAt: '',
  };

  it('carries id, title, TTL, token, body, acceptance and the renew/complete commands, free of control characters', () => {
    const text = formatCardMessage(card, 'coder1');
    expect(text).toMatch(/^Card A3a is claimed for you \(coder1, TTL 900 s, claim token 17\): Title \^\[\[31mred/);
    expect(text).toContain('Acceptance:\ntests pass');
    expect(text).toContain('mosaic-top backlog complete --id A3a --owner coder1');
    expect(text).toContain('    indented^G');
    expect(messageRefusal(text, 'operator:mosaic-top')).toBeNull();
  });
});

describe('receipt events without a backlog store', () => {
  it('does not create a store just to record a receipt', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-actions-nostore-'));
    try {
      const paths = resolvePaths({ mosaicHome: home }, {});
      expect(backlogExists(paths)).toBe(false);
      const where = await recordReceiptEvent(paths, {
        status: 'submitted',
        agent: 'a',
        evidence: [],
        elapsedMs: 1,
        source: 'operator:mosaic-top',
        reason: null,
      });
      expect(where).toMatch(/no backlog store/);
      expect(fs.existsSync(paths.backlogDataDir)).toBe(false);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('tmux send path (real isolated tmux + sim agent)', () => {
  let tmux: IsolatedTmux;
  let runDir: string;

  beforeEach(async () => {
    tmux = await startIsolatedTmux('actions-send');
    runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-actions-run-'));
  });
  afterEach(async () => {
    await tmux.stop();
    fs.rmSync(runDir, { recursive: true, force: true });
  });

  /** A sim agent; `screen: 'claude'` draws Claude Code's input area (send with `runtime: 'claude'`). */
  async function sim(name: string, mode: string, screen: 'plain' | 'claude' = 'claude'): Promise<void> {
    await tmux.newSession(name, ['node', simAgent, '--agent', name, '--run-dir', runDir, '--input-mode', mode, '--busy', '600', '--screen', screen]);
    if (screen === 'plain') await waitFor(async () => (await tmux.capture(name)).trimEnd().endsWith('>'), `${name} prompt`);
    else await waitFor(async () => (await tmux.capture(name)).split('\n').some((l) => l.trimEnd() === '❯'), `${name} input box`);
  }

  it('literal typing keeps key names as text; a paste leaves no buffer behind', async () => {
    await sim('t1', 'typed', 'plain');
    await typeLiteral(tmux.socket, '=t1:0.0', 'Enter C-c Escape');
    await waitFor(async () => (await tmux.capture('t1')).includes('> Enter C-c Escape'), 'key names typed as text');
    await pasteBracketed(tmux.socket, '=t1:0.0', 'x\ny');
    await waitFor(async () => (await tmux.capture('t1')).includes('Escapex ⏎ y'), 'paste arrives in the input line');
    expect((await tmux.run(['list-buffers'])).stdout.trim()).toBe('');
  });

  it('a failed paste throws with the reason and removes its buffer', async () => {
    await expect(pasteBracketed(tmux.socket, '=nope:0.0', 'a\nb')).rejects.toThrow(/paste-buffer =nope:0\.0: can't find/);
    expect((await tmux.run(['list-buffers'])).stdout.trim()).toBe('');
  });

  it('pane state: live, missing, dead', async () => {
    await tmux.newSession('live', ['sleep', '600']);
    expect((await readPaneState(tmux.socket, '=live:0.0')).exists).toBe(true);
    const missing = await readPaneState(tmux.socket, '=ghost:0.0');
    expect(missing.exists).toBe(false);
    expect(missing.problem).toMatch(/can't find session: ghost/);
    await tmux.newSession('gone', ['sh', '-c', 'exit 4'], { remainOnExit: true });
    await waitFor(async () => (await readPaneState(tmux.socket, '=gone:0.0')).dead, 'pane dead');
    expect((await readPaneState(tmux.socket, '=gone:0.0')).problem).toMatch(/pane =gone:0\.0 on socket .* is dead/);
    await expect(capturePane(tmux.socket, '=ghost:0.0')).rejects.toThrow(/can't find session/);
  });

  it('an aborted verification returns at once with what it saw; an abort before sending sends nothing', async () => {
    await sim('t2', 'typed');
    const controller = new AbortController();
    const pending = sendToAgent({
      agent: 't2',
      runtime: 'claude',
      socket: tmux.socket,
      runDir,
      message: 'hello',
      timeoutMs: 60_000,
      signal: controller.signal,
    });
    await waitFor(async () => (await tmux.capture('t2')).includes('❯ [operator:mosaic-top] hello'), 'text typed');
    controller.abort();
    const receipt = await pending;
    expect(receipt.status).toBe('typed_not_submitted');
    expect(receipt.evidence).toContain('verification aborted');

    const before = await tmux.capture('t2');
    const early = await sendToAgent({ agent: 't2', runtime: 'claude', socket: tmux.socket, runDir, message: 'again', signal: AbortSignal.abort() });
    expect(early.status).toBe('refused');
    expect(early.reason).toBe('aborted before anything was sent');
    expect(await tmux.capture('t2')).toBe(before);
  });

  it('a pane in copy mode is refused and nothing reaches it', async () => {
    await sim('t4', 'typed');
    await tmux.ok(['copy-mode', '-t', '=t4:0.0']);
    const receipt = await sendToAgent({ agent: 't4', socket: tmux.socket, runDir, message: 'hello' });
    expect(receipt.status).toBe('refused');
    expect(receipt.reason).toMatch(/copy mode/);
    await tmux.ok(['send-keys', '-t', '=t4:0.0', '-X', 'cancel']);
    expect(await tmux.capture('t4')).not.toContain('hello');
  });

  it('concurrent sends to one agent never mix their keys (per-agent input lock)', async () => {
    await sim('t5', 'accept');
    const messages = ['first sender text', 'second sender text', 'third sender text'];
    const receipts = await Promise.all(messages.map((message) => sendToAgent({ agent: 't5', runtime: 'claude', socket: tmux.socket, runDir, message })));
    expect(receipts.map((r) => r.status)).toEqual(['submitted', 'submitted', 'submitted']);
    const pane = await tmux.capture('t5');
    for (const m of messages) expect(pane).toContain(`ack: [operator:mosaic-top] ${m}\n`);
    expect(fs.readdirSync(path.join(runDir, 'locks')).filter((f) => f.endsWith('.lock'))).toEqual([]);
  });

  it('CRLF in a message is one line break; the sim agent gets one paste of 2 lines', async () => {
    await sim('t3', 'accept');
    const receipt = await sendToAgent({ agent: 't3', runtime: 'claude', socket: tmux.socket, runDir, message: 'one\r\ntwo' });
    expect(receipt.status).toBe('submitted');
    expect(await tmux.capture('t3')).toContain('input: 1 paste block(s), 2 line(s)');
  });
});
