/**
 * Claim and dispatch: claim a card for an agent through the backlog, then hand
 * it over with a verified send. Owner: actions.
 *
 * Upstream NS-8: the PAUSE kill-switch is honoured before every dispatch — here it is checked
 * before anything is claimed, and the backlog refuses the claim itself too (race-safe).
 */
import { describePause, readPausedFlag } from '../../fleet/paused.js';
import { acceptanceLines, BacklogError, type Card } from '../../backlog/types.js';
import type { BacklogClient } from '../../backlog/verbs.js';
import type { MosaicPaths } from '../../lib/paths.js';
import { sanitizeLine, sanitizeLines } from '../../lib/sanitize.js';
import { isDelivered, type SendReceipt } from '../../fleet/receipt.js';
import { operatorName } from './pause.js';
import { recordReceiptEvent } from './receipt-event.js';
import { checkSendTarget, DEFAULT_SOURCE, sendToAgent } from './send.js';
import type { TmuxServer } from '../../fleet/exec.js';
import type { ResetResult } from './reset.js';
import { messageOf } from '../../lib/errors.js';

/** How a dispatch ended; each has its own exit code ({@link DISPATCH_EXIT_CODES}). */
export type DispatchOutcome = 'dispatched' | 'refused' | 'nothing_ready' | 'not_delivered';

/**
 * Exit codes of `mosaic-top dispatch`: 0 dispatched (receipt submitted or queued); 3 refused
 * before anything was claimed (PAUSED, unknown agent, dead/missing pane, backlog unavailable,
 * card not claimable); 4 claimed but not delivered (the claim is left for the operator);
 * 5 nothing ready to claim. (1 = unexpected error, 2 = usage.)
 */
export const DISPATCH_EXIT_CODES: Record<DispatchOutcome, number> = {
  dispatched: 0,
  refused: 3,
  not_delivered: 4,
  nothing_ready: 5,
};

/** Outcome of claim-and-dispatch: the card, the send receipt, or why it was refused. */
export interface DispatchResult {
  ok: boolean;
  outcome: DispatchOutcome;
  card: { id: string; title: string; claimToken?: number | null; ttlSeconds?: number | null } | null;
  receipt: SendReceipt | null;
  /** Why nothing was claimed (PAUSED since … by …, nothing ready, dead pane, …). */
  refused: string | null;
  /** One line for the operator, e.g. "A3 claimed by coder0, receipt submitted (812 ms)". Sanitized. */
  message: string;
  /** With `reset`: the reset sent before the claim (its receipt); absent otherwise. */
  reset?: ResetResult;
}

/**
 * The text an agent receives for a claimed card: one multi-line paste with the card id, title,
 * TTL and claim token, the body, the acceptance criteria and the commands to renew/complete.
 * Card text is untrusted: every line is sanitized (control characters shown in caret
 * notation, tabs expanded), so the paste never carries an escape sequence.
 */
export function formatCardMessage(card: Card, agent: string): string {
  const lines: string[] = [];
  const ttl = card.claimTtlSeconds ?? null;
  lines.push(
    `Card ${sanitizeLine(card.id)} is claimed for you (${agent}${ttl ? `, TTL ${ttl} s` : ''}${card.claimToken != null ? `, claim token ${card.claimToken}` : ''}): ${sanitizeLine(card.title)}`,
  );
  if (card.phase) lines.push(`Phase: ${sanitizeLine(card.phase)}`);
  if (card.body && card.body.trim()) {
    lines.push('', ...sanitizeLines(card.body.trim()));
  }
  const acceptance = acceptanceLines(card.acceptance);
  if (acceptance.length) {
    lines.push('', 'Acceptance:', ...acceptance.flatMap((l) => sanitizeLines(l.trim())));
  }
  lines.push(
    '',
    `Renew before the TTL runs out: mosaic-top backlog renew --id ${sanitizeLine(card.id)} --owner ${agent}`,
    `When done: mosaic-top backlog complete --id ${sanitizeLine(card.id)} --owner ${agent}`,
  );
  return lines.map((l) => l.trimEnd()).join('\n');
}

/**
 * The owner-guarded release of a claim that was not delivered:
 * `mosaic-top backlog reclaim --id <card> --owner <agent>` (sanitized; leaves a card that
 * changed hands alone). Words that a shell would split or expand are single-quoted.
 */
export function reclaimCommand(cardId: string, agent: string): string {
  const word = (w: string) => (/^[A-Za-z0-9._:@/-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);
  return sanitizeLine(`mosaic-top backlog reclaim --id ${word(cardId)} --owner ${word(agent)}`);
}

/**
 * Claims a card for `agent` (the next ready one, or `cardId`) with `ttlSeconds` (backlog default
 * 900 s) and verified-sends it (`timeoutMs`, default 5000 ms). Order: refused while the fleet is
 * PAUSED (`describePause`), then refused when the agent's pane may not be typed into (checkSendTarget: dead, missing, copy mode, a dialog, text in its input box, no input line, a waiting beat) — all BEFORE
 * anything is claimed; then claim (owner = agent), then send. A receipt other than submitted or
 * queued leaves the claim in place for the operator to keep or release
 * ({@link reclaimCommand}: `mosaic-top backlog reclaim --id X --owner <agent>`). The claim is recorded by the backlog (`claim` event),
 * the receipt here (`receipt` event with the card id). `client` lets the console reuse its
 * backlog client (left open); otherwise one is opened and closed. Never throws.
 */
export async function dispatchCard(opts: DispatchOptions): Promise<DispatchResult> {
  const paused = readPausedFlag(opts.paths.runDir);
  if (paused) return refusal(opts.agent, 'refused', describePause(paused));
  // The same check the send makes, BEFORE the claim (and before a reset): a card is never
  // claimed and then lost into a dialog, a dead pane or an input box that already holds text.
  const check = await checkSendTarget({
    agent: opts.agent,
    socket: opts.socket,
    runDir: opts.paths.runDir,
    runtime: opts.runtime,
    multiLine: true,
    signal: opts.signal,
  });
  if (check.refusal) return refusal(opts.agent, 'refused', `${check.refusal.replace(/; nothing (typed|sent)$/, '')}; nothing claimed`);
  let reset: ResetResult | undefined;
  if (opts.reset) {
    const { resetAgent } = await import('./reset.js');
    reset = await resetAgent({ paths: opts.paths, agent: opts.agent, timeoutMs: opts.timeoutMs, signal: opts.signal, client: opts.client });
    if (!reset.ok) {
      const why = reset.outcome === 'refused' ? reset.reason : `receipt ${reset.receipt?.status}`;
      return { ...refusal(opts.agent, 'refused', `reset before the card not confirmed (${why}); nothing claimed`), reset };
    }
  }
  // The claim and the card's send; the reset (if any) rides along in the result.
  const result = await claimAndSend(opts);
  return reset ? { ...result, reset } : result;
}

/** Options of {@link dispatchCard}. */
export interface DispatchOptions {
  paths: MosaicPaths;
  agent: string;
  /** The agent's runtime (roster `runtime:`): its screen rules and delivery (see sendToAgent). */
  runtime?: string | null;
  /** The agent's tmux server: a local socket, or its host's tmux over ssh (agent-target.ts agentTmuxServer). */
  socket: TmuxServer;
  cardId?: string;
  ttlSeconds?: number;
  timeoutMs?: number;
  source?: string;
  client?: BacklogClient;
  signal?: AbortSignal;
  /**
   * Reset the agent before the claim (upstream NS-6 `reset_between_tasks`): its runtime's
   * `reset_command`, verified (actions/reset.ts). A reset that is refused (no reset command,
   * the agent is working) or not confirmed refuses the dispatch: nothing is claimed.
   */
  reset?: boolean;
}

/** A dispatch that claimed nothing: `why` (raw; the message is sanitized). */
function refusal(agent: string, outcome: 'refused' | 'nothing_ready', why: string): DispatchResult {
  return {
    ok: false,
    outcome,
    card: null,
    receipt: null,
    refused: why,
    message: `dispatch to ${sanitizeLine(agent)} refused: ${sanitizeLine(why)}`,
  };
}

/** Claims the card and sends it, with `opts.client` or a backlog client opened (and closed) here. Never throws: a backlog failure is a refusal. */
async function claimAndSend(opts: DispatchOptions): Promise<DispatchResult> {
  let client = opts.client ?? null;
  let opened = false;
  try {
    if (!client) {
      const { openBacklog } = await import('../../backlog/client.js');
      client = await openBacklog(opts.paths, { signal: opts.signal });
      opened = true;
    }
    const card = await claimCard(client, opts);
    if (!('id' in card)) return card;
    const receipt = await sendToAgent({
      agent: opts.agent,
      runtime: opts.runtime,
      socket: opts.socket,
      runDir: opts.paths.runDir,
      message: formatCardMessage(card, opts.agent),
      verify: true,
      timeoutMs: opts.timeoutMs,
      source: opts.source ?? DEFAULT_SOURCE,
      signal: opts.signal,
    });
    receipt.recorded = await recordReceiptEvent(opts.paths, receipt, { client, cardId: card.id, actor: operatorName() });
    return await sentResult(client, opts.agent, card, receipt);
  } catch (error) {
    return refusal(opts.agent, 'refused', `backlog: ${messageOf(error)}`);
  } finally {
    if (opened && client) await client.close().catch(() => {});
  }
}

/** The claimed card, or the refusal when the backlog refuses (paused, unknown card) or has nothing claimable. Throws other backlog errors. */
async function claimCard(client: BacklogClient, opts: DispatchOptions): Promise<Card | DispatchResult> {
  let card: Card | null;
  try {
    ({ card } = await client.claim({ owner: opts.agent, ttlSeconds: opts.ttlSeconds, id: opts.cardId }));
  } catch (error) {
    if (error instanceof BacklogError && (error.code === 'paused' || error.code === 'not_found')) return refusal(opts.agent, 'refused', error.message);
    throw error;
  }
  if (card) return card;
  return refusal(
    opts.agent,
    'nothing_ready',
    opts.cardId ? `card ${opts.cardId} is not claimable (not ready, or its dependencies are not done)` : 'no ready card with its dependencies done',
  );
}

/**
 * The result of a claimed card's send: dispatched when delivered; refused (and the claim
 * released at once) when the send typed nothing; otherwise not delivered, the claim left for
 * the operator with the command that releases it.
 */
async function sentResult(client: BacklogClient, agent: string, card: Card, receipt: SendReceipt): Promise<DispatchResult> {
  const cardView = { id: card.id, title: card.title, claimToken: card.claimToken, ttlSeconds: card.claimTtlSeconds };
  const id = sanitizeLine(card.id);
  if (isDelivered(receipt.status)) {
    const message = `${id} claimed by ${sanitizeLine(agent)}, receipt ${receipt.status} (${receipt.elapsedMs} ms)`;
    return { ok: true, outcome: 'dispatched', card: cardView, receipt, refused: null, message };
  }
  if (receipt.status === 'refused') {
    // Nothing was typed (the pane changed between the check and the send): the claim goes
    // back at once (owner-guarded), so the card is never claimed-and-lost.
    const released = await releaseClaim(client, card.id, agent);
    const message = `${id} not dispatched to ${sanitizeLine(agent)}: send refused before anything was typed (${sanitizeLine(receipt.reason ?? '')})${released}`;
    return { ok: false, outcome: 'refused', card: cardView, receipt, refused: receipt.reason, message };
  }
  const why = `receipt ${receipt.status}`;
  // The card text may still sit, unsent, in the agent's input line: a re-dispatch would
  // append a second card to it.
  const leftover =
    receipt.status === 'typed_not_submitted' ? "; the card text is still in the agent's input line — clear it in the agent before re-dispatching" : '';
  const message =
    `${id} claimed by ${sanitizeLine(agent)} but not delivered (${sanitizeLine(why)}); the claim stays — keep it, or release it with: ` +
    `${reclaimCommand(card.id, agent)} (console: tab, select it, x)${leftover}`;
  return { ok: false, outcome: 'not_delivered', card: cardView, receipt, refused: null, message };
}

/** Releases `agent`'s claim on `cardId` (owner-guarded); the clause saying how it went, for the message. */
async function releaseClaim(client: BacklogClient, cardId: string, agent: string): Promise<string> {
  try {
    const r = await client.reclaim({ id: cardId, owner: agent, actor: operatorName() });
    return r.reclaimed.includes(cardId)
      ? '; the claim was released (card back to ready)'
      : `; the claim could not be released — ${reclaimCommand(cardId, agent)}`;
  } catch (error) {
    return `; releasing the claim failed (${messageOf(error)}) — ${reclaimCommand(cardId, agent)}`;
  }
}
