/**
 * Answering a waiting agent's permission prompt (issue 15): allow ONCE or deny, one key, only
 * the prompt the operator saw, with a receipt. Owner: actions.
 *
 * The keys are data beside the screen rules (fleet/screen-rules.ts `answer`): Claude Code's
 * `❯ 1. Yes` / `Esc to cancel`, Codex's `Yes, proceed (y)` / `(esc)`. Never "always allow",
 * never a mode change, never Enter guessing. The prompt's identity is fleet/screen.ts
 * `promptId` (runtime, tool, normalized block), read again from a capture taken immediately
 * before the key; another prompt or none ⇒ refused, nothing typed.
 */
import { agentPaneTarget, capturePaneWithCursor, readPaneState } from '../../fleet/capture.js';
import { isRemoteTmux, type TmuxServer } from '../../fleet/exec.js';
import { classifyScreen, answerRejectedFor, answerRuleFor, shippedScreenRules, type ScreenClassification } from '../../fleet/screen.js';
import { screenRulesForHome } from '../../fleet/screen-override.js';
import { pressKey } from '../../fleet/send-keys.js';
import type { ScreenPrompt } from '../../fleet/types.js';
import type { MosaicPaths } from '../../lib/paths.js';
import { sanitizeLine, sanitizeLines } from '../../lib/sanitize.js';
import { readHeartbeatMark, lockAgentInput } from './send.js';
import { recordOperatorEvent } from './receipt-event.js';
import { operatorName } from './pause.js';
import { delay } from '../../lib/delay.js';

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
  /** Where the receipt was recorded ("backlog event #12", or why not); absent when not attempted. */
  recorded?: string;
}

/** Default bound for the prompt to close after the key, milliseconds. */
export const DEFAULT_ANSWER_TIMEOUT_MS = 10_000;
const POLL_MS = 100;

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
  /** Record the receipt as an `answer` event when a backlog store exists; also whose screen-rules override reads the prompt and gives its keys. */
  paths?: MosaicPaths;
  /** Who answers (default `$USER@host`). */
  by?: string;
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

/**
 * Answers the permission prompt on `agent`'s pane `=<agent>:0.0` (a local socket, or its host's
 * tmux over ssh) with ONE key from the runtime's screen rules (`answer.allow` / `answer.deny`):
 * 1. refused, nothing typed: `readonly`; the runtime has no answer keys; the pane is missing,
 *    dead, unreachable (ssh) or in copy mode; its screen is not `waiting` on a permission prompt;
 *    `promptId` given and the prompt on screen has another id;
 * 2. under the per-agent input lock (shared with sends), the screen is captured AGAIN just
 *    before the key and the prompt's id compared with the first reading (or `promptId`);
 * 3. the key goes in; captures every 100 ms until that prompt is gone (the screen no longer shows
 *    a prompt with its id) or `timeoutMs`: `answered` with what followed (busy marker, a busy
 *    beat, the tool's rejection text, the idle input line, another prompt), else `no_evidence`.
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
        elapsedMs: receipt.elapsedMs,
        by: receipt.by,
      },
      { actor: receipt.by },
    );
  }
  return receipt;
}

async function answer(opts: AnswerOptions): Promise<AnswerReceipt> {
  const started = performance.now();
  const by = opts.by ?? operatorName();
  const target = agentPaneTarget(opts.agent);
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
    ...fields,
  });
  const refuse = (reason: string, prompt: AnsweredPrompt | null = null) => result('refused', { reason: sanitizeLine(reason), prompt });

  if (opts.answer !== 'allow' && opts.answer !== 'deny') return refuse(`unknown answer "${String(opts.answer)}" (allow or deny)`);
  if (opts.readonly) return refuse('read-only mode: answering is disabled; nothing typed');
  if (!opts.runtime) return refuse('the roster names no runtime for this agent: its prompts cannot be read; nothing typed');
  // The snapshot's rules (override over shipped): the prompt id and keys the operator saw.
  const rules = opts.paths ? screenRulesForHome(opts.paths.mosaicHome) : shippedScreenRules();
  const keys = answerRuleFor(opts.runtime, rules);
  if (!keys) return refuse(`no answer keys for runtime "${opts.runtime}" in the screen rules; nothing typed`);
  const key = opts.answer === 'allow' ? keys.allow : keys.deny;
  const runtime = opts.runtime;

  const pane = await readPaneState(opts.socket, target);
  if (!pane.exists || pane.dead) return refuse(`${pane.problem ?? `pane ${target} unusable`}; nothing typed`);
  if (pane.inMode) return refuse(`pane ${target} is in copy mode: a key would drive the mode, not the prompt; nothing typed`);
  const read = async (): Promise<ScreenClassification> =>
    classifyScreen(runtime, null, (await capturePaneWithCursor(opts.socket, target)).rows.join('\n'), rules);
  let first: ScreenClassification;
  try {
    first = await read();
  } catch (error) {
    return refuse(`cannot read the screen of ${target}: ${(error as Error).message}; nothing typed`);
  }
  if (first.state !== 'waiting' || !first.prompt) return refuse(`${opts.agent} is not waiting on a prompt (${describeScreen(first)}); nothing typed`);
  if (first.prompt.kind !== 'permission')
    return refuse(`the prompt on screen is a question, not a permission prompt (${describeScreen(first)}); nothing typed`);
  const wanted = opts.promptId ?? first.prompt.id;
  if (first.prompt.id !== wanted)
    return refuse(`another prompt is on screen now: ${describeScreen(first)} (expected id ${wanted}); nothing typed`, shownPrompt(first.prompt));

  let release: () => Promise<void>;
  try {
    release = await lockAgentInput(opts.runDir, opts.agent);
  } catch (error) {
    return refuse(`another send or answer to ${opts.agent} is typing (${(error as Error).message}); nothing typed`);
  }
  let prompt: AnsweredPrompt;
  const beatBefore = isRemoteTmux(opts.socket) ? null : readHeartbeatMark(opts.runDir, opts.agent);
  try {
    // The last look, immediately before the key: exactly the prompt the operator saw.
    let now: ScreenClassification;
    try {
      now = await read();
    } catch (error) {
      return refuse(`cannot read the screen of ${target} before the key: ${(error as Error).message}; nothing typed`);
    }
    if (now.state !== 'waiting' || !now.prompt) return refuse(`the prompt closed before the answer (${describeScreen(now)}); nothing typed`);
    if (now.prompt.id !== wanted)
      return refuse(`another prompt is on screen now: ${describeScreen(now)} (expected id ${wanted}); nothing typed`, shownPrompt(now.prompt));
    prompt = shownPrompt(now.prompt);
    try {
      await pressKey(opts.socket, target, key);
    } catch (error) {
      return refuse(`tmux refused the key ${key}: ${(error as Error).message}`, prompt);
    }
  } finally {
    await release().catch(() => {});
  }

  const evidence = [`key ${key} (${opts.answer === 'allow' ? 'allow once' : 'deny'}) sent to ${describeAnsweredPrompt(prompt)}`];
  const rejected = answerRejectedFor(runtime, rules);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS;
  const deadline = performance.now() + timeoutMs;
  let closed = false;
  for (;;) {
    let c: ScreenClassification;
    let text: string;
    try {
      text = (await capturePaneWithCursor(opts.socket, target)).rows.join('\n');
      c = classifyScreen(runtime, null, text, rules);
    } catch (error) {
      const state = await readPaneState(opts.socket, target);
      evidence.push(`pane could not be captured after the key: ${state.problem ?? (error as Error).message}`);
      return result('no_evidence', { key, prompt, evidence });
    }
    const stillOpen = c.state === 'waiting' && c.prompt?.id === prompt.id;
    if (!stillOpen) {
      if (!closed) evidence.push('the prompt closed');
      closed = true;
      const beat = isRemoteTmux(opts.socket) ? null : readHeartbeatMark(opts.runDir, opts.agent);
      const freshBeat = beat && (!beatBefore || beat.ts > beatBefore.ts || beat.state !== beatBefore.state) ? beat : null;
      const rejectLine = text
        .split('\n')
        .reverse()
        .find((l) => rejected.some((re) => re.test(l)));
      if (c.state === 'waiting' && c.prompt) {
        evidence.push(`then another prompt: ${describeScreen(c)}`);
        break;
      }
      if (opts.answer === 'deny' && rejectLine) {
        evidence.push(`then rejected: '${sanitizeLine(rejectLine.trim()).slice(0, 160)}'`);
        break;
      }
      if (c.state === 'busy' || c.state === 'queued') {
        evidence.push(`then the runtime is busy (screen rules ${c.rules})`);
        break;
      }
      if (freshBeat && freshBeat.state === 'busy') {
        evidence.push('then a busy heartbeat (hook)');
        break;
      }
      if (c.state === 'idle' || c.state === 'error') {
        evidence.push(
          `then the ${c.state === 'idle' ? 'idle input line' : `error '${c.error?.text ?? ''}'`}${rejectLine ? ` after '${sanitizeLine(rejectLine.trim()).slice(0, 160)}'` : ''}`,
        );
        break;
      }
    }
    if (performance.now() >= deadline) {
      if (!closed) {
        evidence.push(`the prompt was still open ${timeoutMs} ms after the key`);
        return result('no_evidence', { key, prompt, evidence });
      }
      evidence.push(`closed; nothing recognisable followed within ${timeoutMs} ms`);
      break;
    }
    await delay(POLL_MS);
  }
  return result('answered', { key, prompt, evidence });
}
