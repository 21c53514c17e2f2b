/**
 * Lines of the console's result dialogs: a send receipt, a claim + dispatch result, a unit
 * action's result, an answer receipt. Every line leaves sanitized. Pure.
 */
import { sanitizeLines } from '../../lib/sanitize.js';
import type { SendReceipt } from '../../fleet/receipt.js';
import type { DispatchResult } from '../actions/dispatch.js';
import type { LifecycleResult } from '../actions/lifecycle.js';
import type { AnswerReceipt } from '../actions/answer.js';

/** Lines of a send receipt for the receipt dialog: status, elapsed ms, evidence, reason. Sanitized. */
export function receiptLines(receipt: SendReceipt): string[] {
  const lines = [`${receipt.status} — ${receipt.agent} in ${Math.round(receipt.elapsedMs)} ms (source ${receipt.source})`];
  if (receipt.reason) lines.push(`reason: ${receipt.reason}`);
  for (const e of receipt.evidence) lines.push(`evidence: ${e}`);
  return lines.flatMap((l) => sanitizeLines(l));
}

/** Lines of a dispatch result for the message dialog. Sanitized. */
export function dispatchLines(result: DispatchResult): string[] {
  const lines = [result.message];
  // The message usually quotes the refusal already: do not say it twice.
  if (result.refused && !result.message.includes(result.refused)) lines.push(`refused: ${result.refused}`);
  if (result.card) lines.push(`card ${result.card.id}: ${result.card.title}`);
  if (result.receipt) lines.push(...receiptLines(result.receipt));
  return lines.flatMap((l) => sanitizeLines(l));
}

/** Lines of a unit action's result for the message dialog: the outcome line, evidence, where recorded. Sanitized. */
export function lifecycleLines(result: LifecycleResult): string[] {
  const lines = [result.message, ...result.evidence.map((e) => `evidence: ${e}`)];
  if (result.recorded) lines.push(`recorded: ${result.recorded}`);
  return lines.flatMap((l) => sanitizeLines(l));
}

/** Lines of an answer receipt for the message dialog: status line, reason, prompt, evidence, where recorded. Sanitized. */
export function answerLines(r: AnswerReceipt): string[] {
  const lines = [
    `${r.status} — ${r.answer === 'allow' ? 'allow once' : 'deny'} to ${r.agent}${r.key ? ` (key ${r.key})` : ''} in ${Math.round(r.elapsedMs)} ms`,
  ];
  if (r.reason) lines.push(`reason: ${r.reason}`);
  if (r.prompt) lines.push(`prompt: ${[r.prompt.tool, r.prompt.detail].filter(Boolean).join(' ')} [id ${r.prompt.id}]`);
  for (const e of r.evidence) lines.push(`evidence: ${e}`);
  if (r.recorded) lines.push(`recorded: ${r.recorded}`);
  return lines.flatMap((l) => sanitizeLines(l));
}

/** The progress line of a unit action: `restarting coder1 (systemctl --user restart <unit>), waiting for the outcome…`. */
export function unitProgressLine(agent: string, unit: string, verb: 'start' | 'stop' | 'restart'): string {
  const doing = { start: 'starting', stop: 'stopping', restart: 'restarting' }[verb];
  return `${doing} ${agent} (systemctl --user ${verb} ${unit}), waiting for the outcome…`;
}
