/**
 * How `mosaic-top backlog` prints cards: one line per card (`backlog list` and every verb's
 * answer) and the details of `backlog show` (the console's renderer). `formatTtl` and
 * `cardDetailLines` (src/view/) are loaded by {@link loadCardFormat} before anything prints: a
 * static import would load string-width on every command.
 */
import { sanitizeLine } from '../../../lib/sanitize.js';
import type { Card } from '../../../backlog/types.js';

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

/** `cardDetailLines` of src/view/card-details.ts (the console's renderer too), loaded with formatTtl by {@link loadCardFormat}. */
let cardDetailLines: (card: Card) => string[] = () => {
  throw new Error('cardDetailLines used before loadCardFormat loaded it');
};

/** `backlog show`: the card's details as the console shows them (src/view/card-details.ts), one line each. */
export function cardDetails(card: Card): string {
  return cardDetailLines(card).join('\n');
}

/** Loads `formatTtl` (src/view/format.ts) and `cardDetailLines` (src/view/card-details.ts); call before {@link cardLine} or {@link cardDetails}. */
export async function loadCardFormat(): Promise<void> {
  ({ formatTtl } = await import('../../view/format.js'));
  ({ cardDetailLines } = await import('../../view/card-details.js'));
}
