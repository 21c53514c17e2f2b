/**
 * How `mosaic-top backlog` prints cards: one line per card (`backlog list` and every verb's
 * answer) and the details of `backlog show`. `formatTtl` (src/view/format.ts) is loaded by
 * {@link loadCardFormat} before anything prints: a static import would load string-width on
 * every command.
 */
import { sanitizeLine, sanitizeLines } from '../../../lib/sanitize.js';
import { acceptanceLines, type Card } from '../../../backlog/types.js';

/**
 * `formatTtl` of src/view/format.ts (`14m59s`, `expired 1m54s`), loaded by {@link loadCardFormat}
 * before anything prints: importing it here statically would load string-width on every command.
 */
let formatTtl: (secondsLeft: number) => string = () => {
  throw new Error('formatTtl used before loadCardFormat loaded it');
};

/** Header of {@link cardLine}'s columns (`backlog list`). */
export const CARD_HEADER = `${'ID'.padEnd(10)} ${'STATUS'.padEnd(8)} ${'PRIO'.padStart(5)} ${'PHASE'.padEnd(6)} TITLE [OWNER TIME-LEFT] [← DEPENDS-ON]`;

/** One card as a line under {@link CARD_HEADER}: id, status, priority, phase, title, owner and TTL of a claim, dependencies; sanitized. */
export function cardLine(card: Card): string {
  const owner = card.status === 'claimed' ? ` ${card.claimOwner} ${formatTtl(card.secondsLeft ?? 0)}` : '';
  const deps = card.dependsOn.length ? ` ← ${card.dependsOn.join(',')}` : '';
  return sanitizeLine(
    `${card.id.padEnd(10)} ${card.status.padEnd(8)} ${String(card.priority).padStart(5)} ${(card.phase ?? '-').padEnd(6)} ${card.title}${owner}${deps}`,
  );
}

/** `backlog show`: one `key  value` line per set field, then the acceptance criteria and the body; sanitized. */
export function cardDetails(card: Card): string {
  const rows: Array<[string, unknown]> = [
    ['id', card.id],
    ['title', card.title],
    ['status', card.status],
    ['priority', card.priority],
    ['phase', card.phase],
    ['depends on', card.dependsOn.join(', ') || '-'],
    ['owner', card.claimOwner],
    ['claimed at', card.claimedAt],
    ['ttl', card.claimTtlSeconds === null ? null : `${card.claimTtlSeconds} s`],
    [
      'expires',
      card.expiresAt === null
        ? null
        : `${card.expiresAt} (${(card.secondsLeft ?? 0) >= 0 ? `${formatTtl(card.secondsLeft ?? 0)} left` : formatTtl(card.secondsLeft ?? 0)})`,
    ],
    ['claim token', card.claimToken],
    ['attempts', card.attempts],
    ['idempotency key', card.idempotencyKey],
    ['projected tokens', card.projectedTokens],
    ['actual tokens', card.actualTokens],
    ['created', card.createdAt],
    ['updated', card.updatedAt],
  ];
  const out = rows.filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => `${k.padEnd(17)} ${sanitizeLine(String(v))}`);
  const acceptance = acceptanceLines(card.acceptance);
  if (acceptance.length) out.push('acceptance:', ...acceptance.flatMap((l) => sanitizeLines(l)).map((l) => `  ${l}`));
  if (card.body) out.push('body:', ...sanitizeLines(card.body).map((l) => `  ${l}`));
  return out.join('\n');
}

/** Loads `formatTtl` from src/view/format.ts; call before {@link cardLine} or {@link cardDetails}. */
export async function loadCardFormat(): Promise<void> {
  ({ formatTtl } = await import('../../view/format.js'));
}
