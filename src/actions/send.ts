/**
 * Verified send: operator text into an agent's pane, with a receipt. Owner: actions.
 *
 * Upstream: `mosaic agent send --verify` (seed 002/003) sends operator-origin traffic with the
 * source label `operator:mosaic-cli` and checks the pane afterwards; here the label is
 * `operator:mosaic-top` and the check is agent-deck's baseline technique plus the heartbeat
 * and the queued state (fleet/verify.ts).
 */
import path from 'node:path';
import { agentPaneTarget, capturePaneWithCursor, readPaneState } from '../../fleet/capture.js';
import { isRemoteTmux, type TmuxServer } from '../../fleet/exec.js';
import { readHeartbeat } from '../../fleet/heartbeat.js';
import { deliveryFor, type DeliveryRule } from '../../fleet/delivery.js';
import { insertText, pressKey } from '../../fleet/send-keys.js';
import { classifyReceipt, readInput, sendRefusal, type HeartbeatMark, type InputReading, type PaneText, type VerifyVerdict } from '../../fleet/verify.js';
import { readProcessTree } from '../../fleet/proc.js';
import { runtimeVersions } from '../../fleet/runtime-version.js';
import { shippedScreenRules, versionSourceFor } from '../../fleet/screen.js';
import { hasControlCharacters } from '../../lib/sanitize.js';
import type { MosaicPaths } from '../../lib/paths.js';
import type { SendReceipt } from '../../fleet/receipt.js';
import { recordReceiptEvent } from './receipt-event.js';
import { delay } from '../../lib/delay.js';
import { messageOf } from '../../lib/errors.js';
import { makeDirs } from '../../lib/owner-only.js';

/** Source label of operator traffic from this tool (upstream's CLI uses `operator:mosaic-cli`). */
export const DEFAULT_SOURCE = 'operator:mosaic-top';
/** Default verification window, milliseconds. */
export const DEFAULT_SEND_TIMEOUT_MS = 5000;
/** Interval between verification captures, milliseconds. */
const POLL_MS = 100;
/** Allowed characters of a source label. */
const SOURCE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9:._@/-]{0,63}$/;

/** Options of a verified send. */
export interface SendOptions {
  agent: string;
  /**
   * The agent's runtime (roster `runtime:`): picks its screen rules (fleet/screen-rules.ts) and
   * delivery (fleet/delivery.ts). Null/absent or a runtime without rules: read generically
   * (one line only; only a busy beat is uptake).
   */
  runtime?: string | null;
  /** Delivery rule to use instead of the runtime's (tests prove the classifier with a broken delivery). */
  delivery?: DeliveryRule;
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
  /**
   * Prefix the message with its source label (default true). False for a runtime command that
   * must be the whole input line (a reset's `/clear`): the label then stays in the receipt only.
   */
  frame?: boolean;
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
  if (hasControlCharacters(text, true))
    return `message refused: ${describeControl(text) ?? 'control character'}; only newlines are allowed (sent as one paste)`;
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
export async function lockAgentInput(runDir: string, agent: string): Promise<() => Promise<void>> {
  const dir = path.join(runDir, 'locks');
  makeDirs(dir);
  const { default: lockfile } = await import('proper-lockfile');
  return lockfile.lock(path.join(dir, `send-${agent}`), {
    realpath: false,
    stale: 10_000,
    retries: { retries: 40, factor: 1.2, minTimeout: 40, maxTimeout: 250 },
  });
}

/**
 * The version of `runtime` running under pane pid `pid` (fleet/runtime-version.ts: its
 * package.json, cached per executable), or null when unknown. Reads the local process table;
 * never throws.
 */
export function liveRuntimeVersion(pid: number | null, runtime: string | null | undefined): string | null {
  if (pid === null || !runtime) return null;
  try {
    return runtimeVersions.read(readProcessTree(), pid, versionSourceFor(shippedScreenRules(), runtime))?.version ?? null;
  } catch {
    return null;
  }
}

/** What the pane showed before anything was typed, and whether it may be typed into. */
export interface SendTargetCheck {
  /** Why nothing may be typed (refused), or null. */
  refusal: string | null;
  /** The capture the check read (the send's baseline), null when the pane could not be captured. */
  baseline: PaneText | null;
  reading: InputReading | null;
  heartbeat: HeartbeatMark | null;
}

/**
 * Checks that `agent`'s pane may be typed into, BEFORE anything is typed: the pane
 * exists, is alive and not in copy mode; its screen, read with the runtime's screen rules,
 * shows the input line — not a permission prompt, question or other dialog, not text already in
 * the input box, not an unrecognised screen (for a runtime without rules: the cursor on an input
 * line); the heartbeat does not say `waiting` (unless the screen shows the idle input line).
 * Dispatch calls it before claiming. Never throws.
 */
export async function checkSendTarget(opts: {
  agent: string;
  socket: TmuxServer;
  runDir: string;
  runtime?: string | null;
  multiLine?: boolean;
  delivery?: DeliveryRule;
  signal?: AbortSignal;
}): Promise<SendTargetCheck> {
  const target = agentPaneTarget(opts.agent);
  const none = (refusal: string): SendTargetCheck => ({ refusal, baseline: null, reading: null, heartbeat: null });
  const pane = await readPaneState(opts.socket, target, { signal: opts.signal });
  if (opts.signal?.aborted) return none('aborted before anything was sent');
  if (!pane.exists || pane.dead) return none(pane.problem ?? `pane ${target} unusable`);
  if (pane.inMode) return none(`pane ${target} is in copy mode (someone is scrolling it): keys would drive the mode, not the agent; nothing sent`);
  let baseline: PaneText;
  try {
    baseline = await capturePaneWithCursor(opts.socket, target, { signal: opts.signal });
  } catch (error) {
    return none(`cannot capture ${target} before sending: ${messageOf(error)}`);
  }
  const remote = isRemoteTmux(opts.socket);
  const heartbeat = remote ? null : readHeartbeatMark(opts.runDir, opts.agent);
  // The runtime's version from its live process picks the rules' range (a remote pane's files are not here: unknown).
  const version = remote ? null : liveRuntimeVersion(pane.pid ?? null, opts.runtime);
  const reading = readInput(opts.runtime, baseline, undefined, version);
  const rule = opts.delivery ?? deliveryFor(opts.runtime);
  const refusal = sendRefusal({ runtime: opts.runtime, reading, heartbeat, rule, multiLine: !!opts.multiLine });
  return { refusal, baseline, reading, heartbeat };
}

/**
 * Sends `message` to the agent's pane `=<agent>:0.0` on `socket` (for an agent on another
 * host, its tmux over ssh: every tmux step below runs there, and the receipt rests on the
 * captures, without the heartbeat), as its runtime's delivery rule says (fleet/delivery.ts):
 * 1. refused BEFORE anything is typed — bad source label, empty message, control characters,
 *    missing/dead pane, copy mode, and everything {@link checkSendTarget} refuses (a dialog on
 *    screen, text already in the input box, no input line, heartbeat `waiting`);
 * 2. the framed text goes in through a tmux paste buffer (byte for byte: `;`, `\;`, a leading
 *    `-`, unicode, several lines as one bracketed paste);
 * 3. once the text shows in the input box (bounded by the rule's `showBoundMs`) and the rule's
 *    pause, the screen is read again: a dialog that opened meanwhile gets NO Enter; else the
 *    rule's submit key;
 * 4. with `verify` (default) it polls captures plus the heartbeat every 100 ms until a final
 *    verdict (submitted, queued) or `timeoutMs` after Enter (default 5000 ms): see
 *    fleet/verify.ts classifyReceipt — uptake only from the runtime (busy marker, busy beat,
 *    input box emptied), never the text merely appearing on screen.
 * Nothing is ever pasted twice: there is no retry of the text. Works while the fleet is PAUSED
 * (operator traffic is not a dispatch). `signal` aborts before typing (refused, nothing sent)
 * or cuts the waits short; once typing has started the text and its Enter are completed.
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

/** What the steps of one send share: the options, the pane, the rule, the framed text and the receipt builder. */
interface Delivery {
  opts: SendOptions;
  target: string;
  rule: DeliveryRule;
  /** The text as pasted (framed unless `frame: false`). */
  text: string;
  multiLine: boolean;
  timeoutMs: number;
  /** A receipt with the elapsed time since the send started. */
  receipt: (status: SendReceipt['status'], evidence: string[], reason?: string | null) => SendReceipt;
  /** The input box of a capture, with the rules of the runtime's version read at the first check. */
  read: (capture: PaneText) => InputReading;
  /** The heartbeat now (null for a remote agent: its file is on its host). */
  beat: () => HeartbeatMark | null;
}

/** Where a send stands once its text and Enter went in: what verification compares against. */
interface Entered {
  /** When Enter went to the pane (verification watches `timeoutMs` from here). */
  enteredAt: number;
  before: InputReading;
  heartbeatBefore: HeartbeatMark | null;
  wasBusy: boolean;
  seenInBox: boolean;
  evidenceHead: string[];
}

async function deliver(opts: SendOptions): Promise<SendReceipt> {
  const started = performance.now();
  const source = opts.source ?? DEFAULT_SOURCE;
  const receipt = (status: SendReceipt['status'], evidence: string[], reason: string | null = null): SendReceipt => ({
    status,
    agent: opts.agent,
    evidence,
    elapsedMs: Math.round(performance.now() - started),
    source,
    reason,
  });
  const refusal = messageRefusal(opts.message, source);
  if (refusal) return receipt('refused', [], refusal);
  const plain = opts.message.replace(/\r\n/g, '\n');
  const text = opts.frame === false ? plain : frameMessage(plain, source);
  /** The runtime's version the first check read off its process: every later read uses the same rules. */
  let runtimeVersion: string | null = null;
  const d: Delivery = {
    opts,
    target: agentPaneTarget(opts.agent),
    rule: opts.delivery ?? deliveryFor(opts.runtime),
    text,
    multiLine: text.includes('\n'),
    timeoutMs: opts.timeoutMs ?? DEFAULT_SEND_TIMEOUT_MS,
    receipt,
    read: (capture) => readInput(opts.runtime, capture, undefined, runtimeVersion),
    // A remote agent's heartbeat file is on its host: its receipts rest on the captures alone.
    beat: () => (isRemoteTmux(opts.socket) ? null : readHeartbeatMark(opts.runDir, opts.agent)),
  };

  // Baseline check, text and Enter under the per-agent lock: another sender's keys can neither
  // land between our text and our Enter nor in our baseline.
  let release: () => Promise<void>;
  try {
    release = await lockAgentInput(opts.runDir, opts.agent);
  } catch (error) {
    // Only a lock another sender holds is "still typing"; EROFS, ENOSPC, EACCES are named as such.
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') return receipt('refused', [], `another send to ${opts.agent} is still typing; nothing sent`);
    return receipt('refused', [], `cannot take the send lock of ${opts.agent}: ${messageOf(error)}; nothing sent`);
  }
  let entered: Entered | SendReceipt;
  try {
    entered = await typeAndEnter(d, (version) => (runtimeVersion = version));
  } catch (error) {
    await release().catch(() => {});
    throw error;
  }
  if (!('enteredAt' in entered)) {
    await release().catch(() => {});
    return entered;
  }
  // The lock is held until the text left the input box (or verification ends): a second send
  // right behind this one must not read our text as someone's draft, nor paste behind it.
  let released = false;
  const letGo = async () => {
    if (released) return;
    released = true;
    await release().catch(() => {});
  };
  try {
    if (opts.verify ?? true) return await watchReceipt(d, entered, letGo);
    return receipt('no_evidence', [...entered.evidenceHead, 'not verified (verification not requested)']);
  } finally {
    await letGo();
  }
}

/**
 * Under the send lock: checks the pane ({@link checkSendTarget}), pastes the text, waits for it
 * in the input box, and presses the rule's submit key unless a dialog opened meanwhile. Returns
 * where the send stands after Enter, or the receipt when it ended before (refused, a dialog,
 * Enter not sent). `setVersion` receives the runtime's version the check read. On a throw the
 * caller releases the lock.
 */
async function typeAndEnter(d: Delivery, setVersion: (version: string | null) => void): Promise<Entered | SendReceipt> {
  const { opts, rule, text, target } = d;
  const check = await checkSendTarget({ ...opts, multiLine: d.multiLine, delivery: rule });
  if (opts.signal?.aborted) return d.receipt('refused', [], 'aborted before anything was sent');
  if (check.refusal || !check.reading) return d.receipt('refused', [], check.refusal ?? 'pane could not be read');
  const before = check.reading;
  setVersion(before.version ?? null);
  const heartbeatBefore = check.heartbeat;
  const wasBusy = before.state === 'busy' || before.state === 'queued' || heartbeatBefore?.state === 'busy';
  try {
    // Once typing starts the send completes (text and Enter): an abort only cuts the waits
    // short, so it never leaves half a message in the agent's input line.
    await insertText(opts.socket, target, text);
  } catch (error) {
    return d.receipt('refused', [], `tmux refused the text: ${messageOf(error)}`);
  }
  const evidenceHead = [
    `pasted through a tmux buffer${d.multiLine ? ` (${text.split('\n').length} lines, one bracketed paste)` : ''} into ${before.rules === 'none' ? 'a pane without screen rules' : `${opts.runtime} [${before.rules}]`} (${before.state === 'queued' ? 'busy, queue not empty' : before.state})`,
  ];
  const shown = await waitUntilShown(d);
  const seenInBox = shown.seenInBox;
  let last = shown.last;
  if (!seenInBox) evidenceHead.push(`the text did not show in the input box within ${rule.showBoundMs} ms`);
  if (rule.settleMs > 0) await delay(rule.settleMs);
  // Never press Enter into a dialog that opened while the text went in.
  try {
    last = d.read(await capturePaneWithCursor(opts.socket, target));
  } catch {
    /* keep the last reading */
  }
  const hb = d.beat();
  const dialog = dialogWhileTyping(last, hb, heartbeatBefore);
  if (dialog) {
    const now = last ?? before;
    const verdict = classifyReceipt({ rule, before, now, sentText: text, seenInBox, entered: false, wasBusy, heartbeatBefore, heartbeatNow: hb });
    return d.receipt(verdict.status, [...evidenceHead, `${dialog}: Enter NOT pressed`, ...verdict.evidence]);
  }
  try {
    await pressKey(opts.socket, target, rule.submitKey);
  } catch (error) {
    return d.receipt('typed_not_submitted', [...evidenceHead, `${rule.submitKey} could not be sent: ${messageOf(error)}`]);
  }
  const enteredAt = performance.now();
  evidenceHead[0] += `, then ${rule.submitKey}`;
  return { enteredAt, before, heartbeatBefore, wasBusy, seenInBox, evidenceHead };
}

/**
 * Lets the runtime show the pasted text in its input box before Enter (a paste and its Enter in
 * one read can be taken as a newline inside the paste): polls until it shows, a dialog opens,
 * a capture fails, the signal aborts or the rule's `showBoundMs` (at most half the timeout, at
 * least 500 ms) passes. Returns the last reading and whether the text showed.
 */
async function waitUntilShown(d: Delivery): Promise<{ last: InputReading | null; seenInBox: boolean }> {
  const { opts } = d;
  const shownDeadline = performance.now() + Math.min(d.rule.showBoundMs, Math.max(d.timeoutMs / 2, 500));
  let last: InputReading | null = null;
  while (!opts.signal?.aborted && performance.now() < shownDeadline) {
    try {
      last = d.read(await capturePaneWithCursor(opts.socket, d.target));
      if (last.box) return { last, seenInBox: true };
      if (last.state === 'waiting') break;
    } catch {
      break;
    }
    await delay(POLL_MS / 2, opts.signal);
  }
  return { last, seenInBox: false };
}

/** Why Enter must not be pressed: a dialog on screen, or a heartbeat that turned `waiting` since the check; null when none. Pure. */
function dialogWhileTyping(last: InputReading | null, hb: HeartbeatMark | null, heartbeatBefore: HeartbeatMark | null): string | null {
  if (last?.state === 'waiting')
    return `a dialog opened while the text went in: ${last.prompt ? `${last.prompt.kind} ${[last.prompt.tool, last.prompt.detail].filter(Boolean).join(' ')}` : 'unknown'}`;
  if (hb?.state === 'waiting' && (!heartbeatBefore || hb.ts >= heartbeatBefore.ts) && heartbeatBefore?.state !== 'waiting')
    return 'the heartbeat turned waiting while the text went in';
  return null;
}

/**
 * After Enter: polls captures and the heartbeat every {@link POLL_MS} until a final verdict,
 * the signal aborts or `timeoutMs` from Enter passes (waiting for the send lock or a slow
 * machine's typing does not eat the runtime's time). `letGo` releases the send lock once the
 * text left the input box.
 */
async function watchReceipt(d: Delivery, e: Entered, letGo: () => Promise<void>): Promise<SendReceipt> {
  const { opts, rule, text, target } = d;
  const deadline = e.enteredAt + d.timeoutMs;
  let seenInBox = e.seenInBox;
  let verdict: VerifyVerdict;
  for (;;) {
    let current: PaneText;
    try {
      // Not tied to the signal: after an abort one last capture still gives the verdict.
      current = await capturePaneWithCursor(opts.socket, target);
    } catch (error) {
      const state = await readPaneState(opts.socket, target);
      return d.receipt('no_evidence', [...e.evidenceHead, `pane could not be captured after the send: ${state.problem ?? messageOf(error)}`]);
    }
    const { before, wasBusy, heartbeatBefore } = e;
    verdict = classifyReceipt({
      rule,
      before,
      now: d.read(current),
      sentText: text,
      seenInBox,
      entered: true,
      wasBusy,
      heartbeatBefore,
      heartbeatNow: d.beat(),
    });
    if (verdict.textInBox) seenInBox = true;
    else await letGo();
    if (verdict.final) break;
    if (opts.signal?.aborted) {
      verdict.evidence.push('verification aborted');
      break;
    }
    if (performance.now() >= deadline) {
      verdict.evidence.push(`no final evidence within ${d.timeoutMs} ms`);
      break;
    }
    await delay(POLL_MS, opts.signal);
  }
  return d.receipt(verdict.status, [...e.evidenceHead, ...verdict.evidence]);
}
