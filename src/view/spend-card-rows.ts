/**
 * The spend view's per-card lines (docs/spend.md): one line per claimed card, its current
 * claim's cost and tokens (the snapshot's `fleet.spend.cards`, src/snapshot/spend.ts), with
 * how long ago it was claimed. Every claim of a card, and done cards: `mosaic-top spend --by
 * card`. Output is display text; the caller sanitizes it.
 */
import type { Snapshot } from '../snapshot/types.js';

/** `12m`, `3h05m`, `2d`: how long ago `sinceIso` was, relative to `nowMs` (`?` when unreadable). */
function ago(sinceIso: string, nowMs: number): string {
  const t = Date.parse(sinceIso);
  if (!Number.isFinite(t)) return '?';
  const m = Math.max(0, Math.floor((nowMs - t) / 60_000));
  if (m >= 2880) return `${Math.floor(m / 1440)}d`;
  if (m >= 60) return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
  return `${m}m`;
}

/**
 * Lines for the claimed cards: a blank line and a header, then `C7  coder-1  claimed 12m ago
 * $0.42  12.3k (in / out / cache read / cache write)  3 requests`; `[]` when the snapshot has
 * no card spend (meter off, backlog not read, no card claimed by a local agent). `fmt`: the spend
 * view's token count and dollar formatters (src/view/spend-rows.ts).
 */
export function spendCardLines(snapshot: Snapshot | null, nowMs: number, fmt: { tokens: (n: number) => string; usd: (usd: number) => string }): string[] {
  const cards = snapshot?.fleet.spend?.cards ?? [];
  if (!cards.length) return [];
  const lines = ['', 'CARD  AGENT  THIS CLAIM  COST  TOKENS (in / out / cache read / cache write)  (every claim: mosaic-top spend --by card)'];
  for (const c of cards) {
    const t = c.tokens;
    const cost = c.costUsd === null ? (t.total ? 'unpriced' : '-') : fmt.usd(c.costUsd);
    const split = [t.input, t.output, t.cacheRead, t.cacheWrite].map(fmt.tokens).join(' / ');
    lines.push(
      `${c.card}  ${c.agent}  claimed ${ago(c.since, nowMs)} ago  ${cost}  ${fmt.tokens(t.total)} (${split})  ${c.requests} request${c.requests === 1 ? '' : 's'}`,
    );
  }
  return lines;
}
