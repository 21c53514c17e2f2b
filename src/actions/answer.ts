/**
 * Answering a waiting agent's permission prompt: allow ONCE or deny, one key, only into the
 * agent's runtime and only onto the prompt the operator saw, with a receipt. Owner: actions.
 *
 * The keys are data beside the screen rules (fleet/screen-rules.ts `answer`): Claude Code's
 * `❯ 1. Yes` / `Esc to cancel`, Codex's `Yes, proceed (y)` / `(esc)`. Never "always allow",
 * never a mode change, never Enter guessing. The pane must run the runtime (the process
 * evidence of DRIFT, ./runtime-process.ts); the prompt's identity is fleet/screen.ts `promptId`
 * (runtime, tool, normalized block); the screen must hold still for a settle time; and the key
 * is sent by tmux only if the pane still shows those rows (fleet/prompt-guard.ts).
 */
import { agentPaneTarget, readPaneState } from '../../fleet/capture.js';
import { isRemoteTmux, tmuxServerLabel, type TmuxServer } from '../../fleet/exec.js';
import { capturePaneScreen, sameScreen, screenGuard, sendKeyIfScreen, type PaneScreen } from '../../fleet/prompt-guard.js';
import {
  classifyScreen,
  answerRejectedFor,
  answerRuleFor,
  shippedScreenRules,
  type CompiledScreenRules,
  type ScreenClassification,
} from '../../fleet/screen.js';
import type { ScreenPattern } from '../../fleet/screen-pattern.js';
import { screenRulesForHome } from '../../fleet/screen-rules-file.js';
import { checkRuntimeProcess } from './runtime-process.js';
import type { ScreenPrompt } from '../../fleet/types.js';
import type { MosaicPaths } from '../../lib/paths.js';
import { sanitizeLine, sanitizeLines } from '../../lib/sanitize.js';
import { readHeartbeatMark, lockAgentInput } from './send.js';
import { recordOperatorEvent } from './receipt-event.js';
import { operatorName } from './pause.js';
import { delay } from '../../lib/delay.js';
import { messageOf } from '../../lib/errors.js';

/** The two answers: allow the tool call once, or deny it. */
export type AnswerChoice = 'allow' | 'deny';
/** Receipt statuses of an answer. */
export type AnswerStatus = 'answered' | 'refused' | 'no_evidence';

/** The prompt an answer was about (as shown, sanitized). */
export interface AnsweredPrompt {
  id: string;
  kind: ScreenPrompt['kind'];
  tool: string | null;
  /** Command or file as the runtime shows it, sanitized, one line. */
  detail: string | null;
  /** The prompt block as shown, sanitized lines. */
  text: string[];
}

/** The receipt of one answer. */
export interface AnswerReceipt {
  status: AnswerStatus;
  agent: string;
  answer: AnswerChoice;
  /** The tmux key sent (`1`, `y`, `Escape`); null when nothing was typed. */
  key: string | null;
  /** The prompt answered (or, for a refusal, the prompt on screen now; null when none). */
  prompt: AnsweredPrompt | null;
  /** Why refused (what the screen shows now). */
  reason: string | null;
  /** What decided the status: the prompt closed, what followed (busy, tool output, rejected). Sanitized. */
  evidence: string[];
  /** Milliseconds from start to verdict. */
  elapsedMs: number;
  /** Who answered (`$USER@host`). */
  by: string;
  /** Id of the prompt on screen in the same tmux command list as the key, just before it (null: none); absent when no key was tried. */
  promptBefore?: string | null;
  /** Id of the prompt on screen at the first capture after the key (null: none; the prompt closed); absent when no key was sent. */
  promptAfter?: string | null;
  /** The pane's process as checked: the program expected and the names seen; absent when not checked. */
  process?: { expected: string; seen: string[] };
  /** Where the receipt was recorded ("backlog event #12", or why not); absent when not attempted. */
  recorded?: string;
}

/** Default bound for the prompt to close after the key, milliseconds. */
export const DEFAULT_ANSWER_TIMEOUT_MS = 10_000;
const POLL_MS = 100;
/** Default time the screen must stay unchanged (same rows, cursor, program) before the key, ms. */
export const DEFAULT_SETTLE_MS = 300;
/** Default bound for the screen to settle, ms: a screen that keeps changing longer is refused. */
export const DEFAULT_SETTLE_BOUND_MS = 3000;

/** Options of {@link answerPrompt}. */
export interface AnswerOptions {
  agent: string;
  /** Roster `runtime:` (picks screen rules and answer keys). */
  runtime: string | null | undefined;
  answer: AnswerChoice;
  /** The id of the prompt the operator saw; absent: answer the prompt on screen now. */
  promptId?: string | null;
  socket: TmuxServer;
  runDir: string;
  /** Console/CLI `--readonly`: refused, nothing typed. */
  readonly?: boolean;
  /** How long to watch for the prompt to close after the key, ms (default 10000). */
  timeoutMs?: number;
  /** Record the receipt as an `answer` event when a backlog store exists. */
  paths?: MosaicPaths;
  /** Who answers (default `$USER@host`). */
  by?: string;
  /** Time the screen must stay unchanged before the key, ms (default {@link DEFAULT_SETTLE_MS}). */
  settleMs?: number;
  /** Bound for the screen to settle, ms (default {@link DEFAULT_SETTLE_BOUND_MS}). */
  settleBoundMs?: number;
  /** `/proc` root for the process check (tests). */
  procRoot?: string;
}

function shownPrompt(p: ScreenPrompt): AnsweredPrompt {
  return {
    id: p.id,
    kind: p.kind,
    tool: p.tool ? sanitizeLine(p.tool) : null,
    detail: p.detail ? sanitizeLine(p.detail).slice(0, 300) : null,
    text: sanitizeLines(p.block)
      .map((l) => l.trimEnd())
      .filter((l) => l.trim())
      .slice(0, 30),
  };
}

/** A prompt as one line: `Bash echo hi > proto.txt [id 1a2b…]`. Pure. */
export function describeAnsweredPrompt(p: AnsweredPrompt | null): string {
  if (!p) return 'no prompt';
  return `${p.kind === 'permission' ? 'permission prompt' : 'question'} ${[p.tool, p.detail].filter(Boolean).join(' ')} [id ${p.id}]`;
}

/** What a screen shows, for a refusal: `no prompt: the screen reads busy`. */
function describeScreen(c: ScreenClassification): string {
  if (c.state === 'waiting' && c.prompt) return describeAnsweredPrompt(shownPrompt(c.prompt));
  return `no prompt: the screen reads ${c.state}${c.rules === 'none' ? ' (no screen rules for this runtime)' : ''}`;
}

/** One line for the operator: `answered allow to cc1: permission prompt Bash echo hi > x [id …]: …`. Pure. */
export function describeAnswerReceipt(r: AnswerReceipt): string {
  if (r.status === 'refused') return `refused ${r.answer} for ${r.agent}: ${r.reason ?? 'no reason given'}`;
  const why = r.evidence.length ? `: ${r.evidence[r.evidence.length - 1]}` : '';
  return `${r.status} ${r.answer} (key ${r.key}) to ${r.agent} in ${r.elapsedMs} ms, ${describeAnsweredPrompt(r.prompt)}${why}`;
}

/** The screen rules the snapshot reads with (the home's override over the shipped rules): the prompt ids and keys the operator saw. */
function rulesOf(opts: AnswerOptions): CompiledScreenRules {
  return opts.paths ? screenRulesForHome(opts.paths.mosaicHome) : shippedScreenRules();
}

/**
 * Answers the permission prompt on `agent`'s pane `=<agent>:0.0` (a local socket, or its host's
 * tmux over ssh) with ONE key from the runtime's screen rules (`answer.allow` / `answer.deny`):
 * 1. refused, nothing typed: `readonly`; the runtime has no answer keys; the pane is missing,
 *    dead, unreachable (ssh) or in copy mode; the pane's process is not the agent's runtime
 *    (DRIFT evidence: `/proc` here, `ps` over ssh; not verifiable ⇒ refused); its screen is not
 *    `waiting` on a permission prompt; `promptId` given and the prompt on screen has another id;
 * 2. under the per-agent input lock (shared with sends), the screen must stay the same — same
 *    prompt id, same rows, cursor and program — for `settleMs` (within `settleBoundMs`); another
 *    prompt or none meanwhile ⇒ refused;
 * 3. the key goes in ONE tmux command list that captures the pane and sends the key only if the
 *    settled prompt's rows, cursor, pane pid and foreground command are still what was checked
 *    (fleet/prompt-guard.ts); `promptBefore` is the id on screen there, `promptAfter` the id at
 *    the first capture after;
 * 4. captures every 100 ms until that prompt is gone or `timeoutMs`: `answered` with what
 *    followed (busy marker, a busy beat, the tool's rejection text, the idle input line,
 *    another prompt), else `no_evidence`.
 * Never throws: tmux/ssh failures come back as `refused` (before the key) or `no_evidence`.
 * With `paths`, the receipt is recorded as an `answer` event (prompt text sanitized, who
 * answered) when a backlog store exists and a key was sent or an id check refused.
 */
export async function answerPrompt(opts: AnswerOptions): Promise<AnswerReceipt> {
  const receipt = await answer(opts);
  if (opts.paths && (receipt.status !== 'refused' || opts.promptId)) {
    receipt.recorded = await recordOperatorEvent(
      opts.paths,
      'answer',
      {
        agent: receipt.agent,
        answer: receipt.answer,
        status: receipt.status,
        key: receipt.key,
        prompt: receipt.prompt,
        reason: receipt.reason,
        evidence: receipt.evidence,
        promptBefore: receipt.promptBefore ?? null,
        promptAfter: receipt.promptAfter ?? null,
        elapsedMs: receipt.elapsedMs,
        by: receipt.by,
      },
      { actor: receipt.by },
    );
  }
  return receipt;
}

/** A capture and what the screen rules read on it. */
interface Reading {
  screen: PaneScreen;
  c: ScreenClassification;
}

/** The row where `block` (a prompt's lines, as classifyScreen cut them) starts on `rows`, searching from the bottom; -1 when not found. Pure. */
export function promptBlockRow(rows: readonly string[], block: string): number {
  const want = block.split('\n').map((l) => l.trimEnd());
  for (let i = rows.length - want.length; i >= 0; i--) if (want.every((l, k) => (rows[i + k] ?? '').trimEnd() === l)) return i;
  return -1;
}

/** The id of the prompt a reading shows (null: none). */
const shownId = (c: ScreenClassification): string | null => (c.state === 'waiting' && c.prompt ? c.prompt.id : null);

/**
 * Waits until the screen stayed the same (rows, cursor, history, foreground program: {@link
 * sameScreen}) for `settleMs`, polling every 8–24 ms (jittered, so a redraw cannot keep in step
 * with the polls), bounded by `boundMs`. Any capture that does not show the prompt `wanted`
 * ends it at once. Returns the last (settled) reading, or why not.
 */
async function settleOnPrompt(
  read: () => Promise<Reading>,
  first: Reading,
  wanted: string,
  settleMs: number,
  boundMs: number,
): Promise<{ ok: true; reading: Reading } | { ok: false; reason: string; prompt: ScreenPrompt | null }> {
  const started = performance.now();
  let ref = first;
  let since = started;
  let changes = 0;
  for (;;) {
    await delay(8 + Math.floor(Math.random() * 17));
    let now: Reading;
    try {
      now = await read();
    } catch (error) {
      return { ok: false, reason: `cannot read the screen before the key: ${messageOf(error)}`, prompt: null };
    }
    if (shownId(now.c) !== wanted) {
      const what =
        now.c.state === 'waiting' && now.c.prompt ? `another prompt came up: ${describeScreen(now.c)}` : `the prompt closed (${describeScreen(now.c)})`;
      return { ok: false, reason: `${what} while the screen settled (expected id ${wanted})`, prompt: now.c.prompt ?? null };
    }
    const t = performance.now();
    if (!sameScreen(ref.screen, now.screen)) {
      ref = now;
      since = t;
      changes++;
    } else if (t - since >= settleMs) return { ok: true, reading: now };
    if (t - started >= boundMs)
      return {
        ok: false,
        reason: `the screen did not hold still for ${settleMs} ms within ${boundMs} ms (${changes} change(s) seen): a key now could land on another screen`,
        prompt: now.c.prompt ?? null,
      };
  }
}

/**
 * Step 1 of {@link answerPrompt} up to the lock: ONE capture (screen, pane id, liveness, mode,
 * pid, foreground program), the process check (DRIFT evidence), the prompt and its id. Returns
 * the first reading, the pane, a reader and the wanted id, or the refusal. Never throws.
 */
async function checkPaneAndPrompt(
  opts: AnswerOptions,
  runtime: string,
  extra: Partial<AnswerReceipt>,
): Promise<{ refusal: string; prompt?: AnsweredPrompt } | { first: Reading; paneId: string; read: () => Promise<Reading>; wanted: string }> {
  const target = agentPaneTarget(opts.agent);
  const no = (refusal: string, prompt?: AnsweredPrompt) => ({ refusal, prompt });
  // One tmux call: the screen, and the pane's id, liveness, mode, pid and foreground program.
  let first: Reading;
  try {
    const screen = await capturePaneScreen(opts.socket, target);
    first = { screen, c: classifyScreen(runtime, null, screen.rows.join('\n'), rulesOf(opts)) };
  } catch (error) {
    const pane = await readPaneState(opts.socket, target);
    return no(`${pane.problem ?? `cannot read the screen of ${target}: ${messageOf(error)}`}; nothing typed`);
  }
  const paneId = first.screen.paneId;
  if (first.screen.dead) return no(`pane ${target} on ${tmuxServerLabel(opts.socket)} is dead; nothing typed`);
  if (first.screen.inMode) return no(`pane ${target} is in copy mode: a key would drive the mode, not the prompt; nothing typed`);
  // Keys only into the runtime: the process evidence of DRIFT, here or on the agent's host.
  const proc = await checkRuntimeProcess({
    agent: opts.agent,
    runtime,
    server: opts.socket,
    agentsDir: opts.paths?.agentsDir ?? null,
    procRoot: opts.procRoot,
    pane: { paneId, pid: first.screen.panePid, currentCommand: first.screen.currentCommand },
  });
  extra.process = { expected: proc.expected, seen: proc.seen };
  if (!proc.ok) return no(`${proc.reason ?? 'the pane does not run the runtime'}; nothing typed`);
  if (proc.paneId !== paneId) return no(`${target} is another pane now (${proc.paneId ?? 'none'} was checked, ${paneId} found); nothing typed`);
  const read = async (): Promise<Reading> => {
    const screen = await capturePaneScreen(opts.socket, paneId);
    return { screen, c: classifyScreen(runtime, null, screen.rows.join('\n'), rulesOf(opts)) };
  };
  if (first.screen.panePid !== proc.panePid) return no(`the process of ${target} changed after it was checked; nothing typed`);
  if (first.c.state !== 'waiting' || !first.c.prompt) return no(`${opts.agent} is not waiting on a prompt (${describeScreen(first.c)}); nothing typed`);
  if (first.c.prompt.kind !== 'permission')
    return no(`the prompt on screen is a question, not a permission prompt (${describeScreen(first.c)}); nothing typed`);
  const wanted = opts.promptId ?? first.c.prompt.id;
  if (first.c.prompt.id !== wanted)
    return no(`another prompt is on screen now: ${describeScreen(first.c)} (expected id ${wanted}); nothing typed`, shownPrompt(first.c.prompt));
  return { first, paneId, read, wanted };
}

async function answer(opts: AnswerOptions): Promise<AnswerReceipt> {
  const started = performance.now();
  const by = opts.by ?? operatorName();
  const extra: Partial<AnswerReceipt> = {};
  const result = (status: AnswerStatus, fields: Partial<AnswerReceipt>): AnswerReceipt => ({
    status,
    agent: opts.agent,
    answer: opts.answer,
    key: null,
    prompt: null,
    reason: null,
    evidence: [],
    elapsedMs: Math.round(performance.now() - started),
    by,
    ...extra,
    ...fields,
  });
  const refuse = (reason: string, prompt: AnsweredPrompt | null = null) => result('refused', { reason: sanitizeLine(reason), prompt });

  if (opts.answer !== 'allow' && opts.answer !== 'deny') return refuse(`unknown answer "${String(opts.answer)}" (allow or deny)`);
  if (opts.readonly) return refuse('read-only mode: answering is disabled; nothing typed');
  if (!opts.runtime) return refuse('the roster names no runtime for this agent: its prompts cannot be read; nothing typed');
  const keys = answerRuleFor(opts.runtime, rulesOf(opts));
  if (!keys) return refuse(`no answer keys for runtime "${opts.runtime}" in the screen rules; nothing typed`);
  const key = opts.answer === 'allow' ? keys.allow : keys.deny;
  const runtime = opts.runtime;

  const checked = await checkPaneAndPrompt(opts, runtime, extra);
  if ('refusal' in checked) return refuse(checked.refusal, checked.prompt ?? null);
  const { first, paneId, read, wanted } = checked;

  let release: () => Promise<void>;
  try {
    release = await lockAgentInput(opts.runDir, opts.agent);
  } catch (error) {
    return refuse(`another send or answer to ${opts.agent} is typing (${messageOf(error)}); nothing typed`);
  }
  let prompt: AnsweredPrompt;
  const beatBefore = isRemoteTmux(opts.socket) ? null : readHeartbeatMark(opts.runDir, opts.agent);
  try {
    const settled = await settleOnPrompt(read, first, wanted, opts.settleMs ?? DEFAULT_SETTLE_MS, opts.settleBoundMs ?? DEFAULT_SETTLE_BOUND_MS);
    if (!settled.ok) return refuse(`${settled.reason}; nothing typed`, settled.prompt ? shownPrompt(settled.prompt) : null);
    const { screen, c } = settled.reading;
    const shown = c.prompt!;
    const row = promptBlockRow(screen.rows, shown.block);
    const guard = screenGuard(screen, row >= 0 ? row : Math.max(0, screen.rows.length - 30));
    let sent: Awaited<ReturnType<typeof sendKeyIfScreen>>;
    try {
      sent = await sendKeyIfScreen(opts.socket, paneId, key, guard);
    } catch (error) {
      const message = messageOf(error);
      if (/may or may not/.test(message)) return result('no_evidence', { key, prompt: shownPrompt(shown), evidence: [`tmux: ${sanitizeLine(message)}`] });
      return refuse(`tmux refused the guarded key ${key}: ${message}`, shownPrompt(shown));
    }
    const before = classifyScreen(runtime, null, sent.before.rows.join('\n'), rulesOf(opts));
    extra.promptBefore = shownId(before);
    if (!sent.sent)
      return refuse(
        `the screen changed just before the key (tmux showed ${describeScreen(before)}; the guard did not hold); nothing typed`,
        shownPrompt(shown),
      );
    prompt = shownPrompt(shown);
  } finally {
    await release().catch(() => {});
  }
  return watchAfterKey(opts, { runtime, key, paneId, prompt, promptBefore: extra.promptBefore ?? null, beatBefore, keys }, result);
}

/** What {@link watchAfterKey} knows of the key's pane and prompt. */
interface KeySent {
  runtime: string;
  key: string;
  paneId: string;
  prompt: AnsweredPrompt;
  promptBefore: string | null;
  beatBefore: ReturnType<typeof readHeartbeatMark>;
  keys: NonNullable<ReturnType<typeof answerRuleFor>>;
}

/**
 * After the prompt closed: the evidence line for what followed on screen `c` (text `text`) —
 * another prompt, a rejection (deny), the runtime busy (screen or a fresh busy heartbeat), the
 * idle input line or an error — or null when nothing recognisable followed yet.
 */
function whatFollowed(opts: AnswerOptions, k: KeySent, c: ScreenClassification, text: string, rejected: readonly ScreenPattern[]): string | null {
  const beat = isRemoteTmux(opts.socket) ? null : readHeartbeatMark(opts.runDir, opts.agent);
  const freshBeat = beat && (!k.beatBefore || beat.ts > k.beatBefore.ts || beat.state !== k.beatBefore.state) ? beat : null;
  const rejectLine = text
    .split('\n')
    .reverse()
    .find((l) => rejected.some((re) => re.test(l)));
  if (c.state === 'waiting' && c.prompt) return `then another prompt: ${describeScreen(c)}`;
  if (opts.answer === 'deny' && rejectLine) return `then rejected: '${sanitizeLine(rejectLine.trim()).slice(0, 160)}'`;
  if (c.state === 'busy' || c.state === 'queued') return `then the runtime is busy (screen rules ${c.rules})`;
  if (freshBeat && freshBeat.state === 'busy') return 'then a busy heartbeat (hook)';
  if (c.state === 'idle' || c.state === 'error')
    return `then the ${c.state === 'idle' ? 'idle input line' : `error '${c.error?.text ?? ''}'`}${rejectLine ? ` after '${sanitizeLine(rejectLine.trim()).slice(0, 160)}'` : ''}`;
  return null;
}

/**
 * After the key: captures every 100 ms until the prompt `prompt` is gone or `timeoutMs`, and
 * says what followed (see {@link answerPrompt} step 4). The first capture gives `promptAfter`.
 */
async function watchAfterKey(
  opts: AnswerOptions,
  k: KeySent,
  result: (status: AnswerStatus, fields: Partial<AnswerReceipt>) => AnswerReceipt,
): Promise<AnswerReceipt> {
  const { key, prompt } = k;
  const evidence = [`key ${key} (${opts.answer === 'allow' ? 'allow once' : 'deny'}) sent to ${describeAnsweredPrompt(prompt)}`];
  const rejected = answerRejectedFor(k.runtime, rulesOf(opts));
  const timeoutMs = opts.timeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS;
  const deadline = performance.now() + timeoutMs;
  let closed = false;
  let promptAfter: string | null | undefined;
  const done = (status: AnswerStatus) => {
    // The first line says what was on screen at the key: tmux's view in the key's command list, and the first capture after.
    const after = promptAfter === undefined ? 'not read' : promptAfter === null ? 'no prompt' : `[id ${promptAfter}]`;
    evidence[0] += `; on screen just before: ${k.promptBefore ? `[id ${k.promptBefore}]` : 'no prompt'}, just after: ${after}`;
    return result(status, { key, prompt, evidence, promptAfter: promptAfter ?? null });
  };
  for (;;) {
    let c: ScreenClassification;
    let text: string;
    try {
      text = (await capturePaneScreen(opts.socket, k.paneId)).rows.join('\n');
      c = classifyScreen(k.runtime, null, text, rulesOf(opts));
    } catch (error) {
      const state = await readPaneState(opts.socket, agentPaneTarget(opts.agent));
      evidence.push(`pane could not be captured after the key: ${state.problem ?? messageOf(error)}`);
      return done('no_evidence');
    }
    if (promptAfter === undefined) promptAfter = shownId(c);
    const stillOpen = c.state === 'waiting' && c.prompt?.id === prompt.id;
    if (!stillOpen) {
      if (!closed) evidence.push('the prompt closed');
      closed = true;
      const followed = whatFollowed(opts, k, c, text, rejected);
      if (followed) {
        evidence.push(followed);
        break;
      }
    }
    if (performance.now() >= deadline) {
      if (!closed) {
        evidence.push(`the prompt was still open ${timeoutMs} ms after the key`);
        return done('no_evidence');
      }
      evidence.push(`closed; nothing recognisable followed within ${timeoutMs} ms`);
      break;
    }
    await delay(POLL_MS);
  }
  return done('answered');
}
