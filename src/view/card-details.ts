/**
 * THE card-detail renderer, for the console's details view and `mosaic-top backlog show`: a
 * card from the snapshot (its summary while the full card loads) or the full card from the
 * backlog (status, dependencies, claim, body, acceptance, and its events when given). Every
 * line leaves sanitized. Pure.
 */
import { sanitizeLine, sanitizeLines } from '../../lib/sanitize.js';
import { acceptanceLines, type BacklogEvent, type Card } from '../../backlog/types.js';
import type { BacklogRow } from '../store/selectors.js';
import { formatAge, formatTtl } from './format.js';

/** The first line of a card's details: `card <id>: <title>`. */
function cardHeading(id: string, title: string): string {
  return `card ${id}: ${title}`;
}

/**
 * Lines of a card as the last snapshot saw it (a panel row, before the full card is loaded):
 * heading, then the claim and its TTL (`EXPIRED … ago` once past) or the ready card's priority.
 */
export function cardRowLines(row: BacklogRow): string[] {
  const lines: string[] = [cardHeading(row.id, row.card.title)];
  if (row.kind === 'claimed') {
    const left = row.card.secondsLeft;
    const state = left > 0 ? `${formatAge(left)} left` : `EXPIRED ${formatAge(-left)} ago`;
    lines.push(`claimed by ${row.card.owner} at ${row.card.claimedAt}, ttl ${row.card.ttlSeconds}s: ${state} (last snapshot)`);
  } else {
    lines.push(`ready, priority ${row.card.priority}${row.card.phase ? `, phase ${row.card.phase}` : ''}`);
  }
  return lines.map((l) => sanitizeLine(l.replace(/\t/g, '    ')));
}

/** The claim's lines of a full card: owner, token, since when, TTL; when it expires and the time left (`expired …` once past). */
function claimLines(card: Card): string[] {
  if (!card.claimOwner) return [];
  const ttl = typeof card.claimTtlSeconds !== 'number' ? '' : `, ttl ${card.claimTtlSeconds} s`;
  const lines = [`claim: ${card.claimOwner}, token ${card.claimToken ?? '-'}${card.claimedAt ? `, claimed at ${card.claimedAt}` : ''}${ttl}`];
  if (card.expiresAt) {
    const left = card.secondsLeft ?? 0;
    lines.push(`expires ${card.expiresAt} (${left >= 0 ? `${formatTtl(left)} left` : formatTtl(left)})`);
  }
  return lines;
}

/** `label:` then the text's lines indented by two, or `  (none)`. */
function block(label: string, lines: readonly string[]): string[] {
  return [`${label}:`, ...(lines.length ? lines : ['(none)']).map((l) => `  ${l}`)];
}

/** One event line: `  <at>  <actor>  <verb>  <detail as JSON>`. */
function eventLine(e: BacklogEvent): string {
  return `  ${e.at}  ${e.actor}  ${e.verb}${Object.keys(e.detail).length ? `  ${JSON.stringify(e.detail)}` : ''}`;
}

/**
 * Lines of the full card: heading, status/priority/phase/attempts, dependencies, the claim and
 * when it expires, idempotency key and token figures when set, created/updated, body,
 * acceptance, and — when `events` is given — its events newest first. Sanitized, one line each.
 */
export function cardDetailLines(card: Card, events?: readonly BacklogEvent[]): string[] {
  const tokens = typeof card.projectedTokens === 'number' || typeof card.actualTokens === 'number';
  const lines = [
    cardHeading(card.id, card.title),
    `status ${card.status}, priority ${card.priority}${card.phase ? `, phase ${card.phase}` : ''}, attempts ${card.attempts}`,
    `depends on: ${card.dependsOn.join(', ') || 'none'}`,
    ...claimLines(card),
    ...(card.idempotencyKey ? [`idempotency key: ${card.idempotencyKey}`] : []),
    ...(tokens ? [`tokens: projected ${card.projectedTokens ?? '-'}, actual ${card.actualTokens ?? '-'}`] : []),
    ...(card.createdAt ? [`created ${card.createdAt}, updated ${card.updatedAt}`] : []),
    ...block('body', card.body ? card.body.split('\n') : []),
    ...block('acceptance', acceptanceLines(card.acceptance)),
    ...(events ? ['events (newest first):', ...(events.length ? events.map(eventLine) : ['  (none)'])] : []),
  ];
  return lines.flatMap((l) => sanitizeLines(l));
}
