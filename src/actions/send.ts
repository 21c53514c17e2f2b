/**
 * Verified send: operator text into an agent's pane, with a receipt. Owner: actions.
 *
 * Upstream: `mosaic agent send --verify` (seed 002/003) sends operator-origin traffic with the
 * source label `operator:mosaic-cli` and checks the pane afterwards; here the label is
 * `operator:mosaic-top` and the check is agent-deck's baseline technique plus the heartbeat
 * and the queued state (fleet/verify.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { agentPaneTarget, capturePaneWithCursor, readPaneState } from '../../fleet/capture.js';
import { isRemoteTmux, type TmuxServer } from '../../fleet/exec.js';
import { readHeartbeat } from '../../fleet/heartbeat.js';
import { insertText, pressEnter } from '../../fleet/send-keys.js';
import { classifySendEvidence, messageFingerprints, splitInputRegion, type HeartbeatMark, type PaneText, type VerifyVerdict } from '../../fleet/verify.js';
import { hasControlCharacters } from '../../lib/sanitize.js';
import type { MosaicPaths } from '../../lib/paths.js';
import type { SendReceipt } from '../../fleet/receipt.js';
import { recordReceiptEvent } from './receipt-event.js';

/** Source label of operator traffic from this tool (upstream's CLI uses `operator:mosaic-cli`). */
export const DEFAULT_SOURCE = 'operator:mosaic-top';
/** Default verification window, milliseconds. */
export const DEFAULT_SEND_TIMEOUT_MS = 5000;
/** Interval between verification captures, milliseconds. */
const POLL_MS = 100;
/** How long to wait for typed text to show in the input line before pressing Enter, milliseconds. */
const TYPED_WAIT_MS = 1500;
/** Allowed characters of a source label. */
const SOURCE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9:._@/-]{0,63}$/;

/** Options of a verified send. */
export interface SendOptions {
  agent: string;
  /** The agent's tmux server: a local socket (null = default), or its host's tmux over ssh (agent-target.ts agentTmuxServer). */
  socket: TmuxServer;
  runDir: string;
  message: string;
  /** Verify and wait for a receipt (default true). */
  verify?: boolean;
  /** How long verification may watch the pane after Enter, milliseconds (default 5000). */
  timeoutMs?: number;
  /** Source label carried by the message (default `operator:mosaic-top`). */
  source?: string;
  signal?: AbortSignal;
  /**
   * When given, the receipt is recorded as a `receipt` event in the backlog's events table if
   * a backlog store exists (never created for this); `receipt.recorded` says where or why not.
   */
  paths?: MosaicPaths;
}

/**
 * How a message is framed in the pane: `[<source>] <message>` — the label in square brackets
 * at the very start of the first line, so an agent can tell operator traffic
 * (`[operator:…]`) from a peer hand-off. Later lines of a multi-line message follow unchanged.
 */
export function frameMessage(message: string, source: string): string {
  return `[${source}] ${message}`;
}

function describeControl(text: string): string | null {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x0a) continue;
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) {
      const name = code === 0x09 ? ' (tab)' : code === 0x1b ? ' (escape)' : code === 0x0d ? ' (carriage return)' : '';
      return `control character U+${code.toString(16).padStart(4, '0').toUpperCase()}${name} at position ${i + 1}`;
    }
  }
  return null;
}

/**
 * Checks a message and a source label before anything is sent. Returns the reason to refuse,
 * or null when they may be sent. CRLF counts as a newline; every other control character
 * (tab, escape, CR, C1, …) is refused, newlines only as a multi-line message.
 */
export function messageRefusal(message: string, source: string): string | null {
  if (!SOURCE_PATTERN.test(source)) return `source label "${source.replace(/[^\x20-\x7e]/g, '?')}" must be 1–64 of A-Z a-z 0-9 : . _ @ / -`;
  const text = message.replace(/\r\n/g, '\n');
  if (!text.trim()) return 'empty message';
  if (hasControlCharacters(text, true)) return `message refused: ${describeControl(text) ?? 'control character'}; only newlines are allowed (sent as one paste)`;
  return null;
}

/**
 * The heartbeat of `agent` for verification: `ts` (unix seconds; clamped when in the future,
 * the file's mtime when missing) and `state`, read with the fleet's protocol-v1 reader
 * (fleet/heartbeat.ts). Returns null when there is no readable heartbeat. Never throws.
 */
export function readHeartbeatMark(runDir: string, agent: string): HeartbeatMark | null {
  const { heartbeat } = readHeartbeat(runDir, agent, Date.now() / 1000);
  return heartbeat ? { ts: heartbeat.ts, state: heartbeat.state } : null;
}

/**
 * Serializes the typing part of sends to one agent across processes (console, CLI, scripts):
 * two senders interleaving text and Enter would submit one mixed message. A proper-lockfile
 * lock on `<runDir>/locks/send-<agent>` (stale after 10 s, so a killed sender never blocks the
 * pane for long), waited for up to ~8 s. Returns the release function, or throws when the lock
 * stays taken.
 */
async function lockAgentInput(runDir: string, agent: string): Promise<() => Promise<void>> {
  const dir = path.join(runDir, 'locks');
  fs.mkdirSync(dir, { recursive: true });
  const { default: lockfile } = await import('proper-lockfile');
  return lockfile.lock(path.join(dir, `send-${agent}`), {
    realpath: false,
    stale: 10_000,
    retries: { retries: 40, factor: 1.2, minTimeout: 40, maxTimeout: 250 },
  });
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Sends `message` to the agent's pane `=<agent>:0.0` on `socket` (for an agent on another
 * host, its tmux over ssh: every tmux step below runs there, and the receipt rests on the
 * captures, without the heartbeat): framed with its source
 * label, typed literally (`send-keys -l`) or, for several lines, as ONE bracketed paste, then
 * Enter. With `verify` (default) it captures the pane before sending and polls captures plus
 * the heartbeat every 100 ms until a final verdict (submitted, queued) or `timeoutMs` after
 * Enter (default 5000 ms), and returns the receipt with its evidence and elapsed ms (from the
 * call, lock wait and typing included).
 * Refused (nothing sent): bad source label, empty message, control characters, missing or
 * dead pane, pane in copy mode. Works while the fleet is PAUSED (operator traffic is not a dispatch).
 * `signal` aborts before typing (refused, nothing sent) or cuts the waits short; once typing
 * has started the text and its Enter are always completed.
 * Never throws: tmux failures come back as receipts (refused before sending, no_evidence after).
 * With `paths`, the receipt is recorded in the backlog events table when a backlog store
 * exists and something was typed into the pane or a card is involved (refusals of bad input
 * that sent nothing are not: see `isReceiptWorthRecording` in ./receipt-event.ts).
 */
export async function sendToAgent(opts: SendOptions): Promise<SendReceipt> {
  const receipt = await deliver(opts);
  if (opts.paths) receipt.recorded = await recordReceiptEvent(opts.paths, receipt);
  return receipt;
}

async function deliver(opts: SendOptions): Promise<SendReceipt> {
  const started = performance.now();
  /** When Enter went to the pane (verification watches `timeoutMs` from here). */
  let enteredAt: number;
  const source = opts.source ?? DEFAULT_SOURCE;
  const verify = opts.verify ?? true;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
  const target = agentPaneTarget(opts.agent);
  // A remote agent's heartbeat file is on its host: its receipts rest on the captures alone.
  const beat = (): HeartbeatMark | null => (isRemoteTmux(opts.socket) ? null : readHeartbeatMark(opts.runDir, opts.agent));
  const receipt = (status: SendReceipt['status'], evidence: string[], reason: string | null = null): SendReceipt => ({
    status,
    agent: opts.agent,
    evidence,
    elapsedMs: Math.round(performance.now() - started),
    source,
    reason,
  });
  const abortedBeforeSending = () => receipt('refused', [], 'aborted before anything was sent');

  const refusal = messageRefusal(opts.message, source);
  if (refusal) return receipt('refused', [], refusal);
  const pane = await readPaneState(opts.socket, target, { signal: opts.signal });
  if (opts.signal?.aborted) return abortedBeforeSending();
  if (!pane.exists || pane.dead) return receipt('refused', [], pane.problem);
  if (pane.inMode) return receipt('refused', [], `pane ${target} is in copy mode (someone is scrolling it): keys would drive the mode, not the agent; nothing sent`);

  const text = frameMessage(opts.message.replace(/\r\n/g, '\n'), source);
  const prints = messageFingerprints(text);
  const inInput = (capture: PaneText) => splitInputRegion(capture).input.some((l) => prints.some((p) => l.includes(p)));

  // Baseline, text and Enter under the per-agent lock: another sender's keys can neither land
  // between our text and our Enter nor in our baseline.
  let release: () => Promise<void>;
  try {
    release = await lockAgentInput(opts.runDir, opts.agent);
  } catch (error) {
    return receipt('refused', [], `another send to ${opts.agent} is still typing (${(error as Error).message}); nothing sent`);
  }
  let baseline: PaneText;
  let heartbeatBefore: HeartbeatMark | null;
  let evidenceHead: string[];
  let seenInInput = false;
  try {
    try {
      baseline = await capturePaneWithCursor(opts.socket, target, { signal: opts.signal });
    } catch (error) {
      return receipt('refused', [], `cannot capture ${target} before sending: ${(error as Error).message}`);
    }
    if (opts.signal?.aborted) return abortedBeforeSending();
    heartbeatBefore = beat();
    const baselineHadText = inInput(baseline);

    let how: 'literal' | 'bracketed-paste';
    try {
      // Once typing starts the send completes (text and Enter): an abort only cuts the waits
      // short, so it never leaves half a message in the agent's input line.
      how = await insertText(opts.socket, target, text);
    } catch (error) {
      return receipt('refused', [], `tmux refused the text: ${(error as Error).message}`);
    }
    evidenceHead = [`sent as ${how === 'literal' ? 'literal keys' : 'one bracketed paste'}${text.includes('\n') ? ` (${text.split('\n').length} lines)` : ''}, then Enter`];

    // Let the runtime take the text before Enter (a paste and its Enter in one read can be
    // taken as a newline inside the paste); stop waiting as soon as the text shows.
    const typedDeadline = performance.now() + Math.min(TYPED_WAIT_MS, timeoutMs / 3);
    while (!opts.signal?.aborted && performance.now() < typedDeadline) {
      try {
        const capture = await capturePaneWithCursor(opts.socket, target);
        if (!baselineHadText && inInput(capture)) {
          seenInInput = true;
          break;
        }
      } catch {
        break;
      }
      await delay(POLL_MS / 2, opts.signal);
    }
    try {
      await pressEnter(opts.socket, target);
      enteredAt = performance.now();
    } catch (error) {
      return receipt('typed_not_submitted', [...evidenceHead, `Enter could not be sent: ${(error as Error).message}`]);
    }
  } finally {
    await release().catch(() => {});
  }
  if (!verify) return receipt('no_evidence', [...evidenceHead, 'not verified (verification not requested)']);

  // The window starts at Enter: waiting for the send lock or a slow machine's typing must not
  // eat the time the runtime gets to show what it did with the message.
  const deadline = enteredAt + timeoutMs;
  let verdict: VerifyVerdict | null;
  for (;;) {
    let current: PaneText;
    try {
      // Not tied to the signal: after an abort one last capture still gives the verdict.
      current = await capturePaneWithCursor(opts.socket, target);
    } catch (error) {
      const state = await readPaneState(opts.socket, target);
      return receipt('no_evidence', [...evidenceHead, `pane could not be captured after the send: ${state.problem ?? (error as Error).message}`]);
    }
    verdict = classifySendEvidence({
      baseline,
      current,
      sentText: text,
      seenInInputEarlier: seenInInput,
      heartbeatBefore,
      heartbeatNow: beat(),
    });
    if (verdict.textInInput) seenInInput = true;
    if (verdict.final) break;
    if (opts.signal?.aborted) {
      verdict.evidence.push('verification aborted');
      break;
    }
    if (performance.now() >= deadline) {
      verdict.evidence.push(`no final evidence within ${timeoutMs} ms`);
      break;
    }
    await delay(POLL_MS, opts.signal);
  }
  return receipt(verdict.status, [...evidenceHead, ...verdict.evidence]);
}
