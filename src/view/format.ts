/** Pure formatters for the console and the `--once` table (no I/O). Owner: console. */

import stringWidth from 'string-width';
import { formatAge } from '../../lib/age.js';

export { formatAge };

/** Formats a TTL countdown: `14m59s` left, or `expired 3m02s` once negative. */
export function formatTtl(secondsLeft: number): string {
  return secondsLeft >= 0 ? formatAge(secondsLeft) : `expired ${formatAge(-secondsLeft)}`;
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

// Printable ASCII is one cell per character, and so are the console's own narrow symbols
// (string-width agrees: test/view/format.test.ts) — skip string-width's costly analysis: the
// timeline glyphs (block elements U+2580–259F, ▲, ·, ×), arrows ← ↑ → ↓, the ellipsis, the en and
// em dashes and the box-drawing line ─.
const ONE_CELL_EACH = /^[\x20-\x7e\u00b7\u00d7\u2013\u2014\u2026\u2190-\u2193\u2500\u2580-\u259f\u25b2]*$/;

/** Display width of `text` in terminal cells (CJK and most emoji count 2), via `string-width`. */
export function displayWidth(text: string): number {
  return ONE_CELL_EACH.test(text) ? text.length : stringWidth(text);
}

/**
 * Cuts `text` to at most `width` terminal cells, ending with `…` when something was cut.
 * Works on grapheme clusters, so a wide character (CJK, emoji, ZWJ sequences) is never split:
 * a wide character that would straddle the edge is dropped and the line ends one cell short.
 * `width` ≤ 0 gives ''. Expects sanitized text (no control characters).
 */
export function truncateToWidth(text: string, width: number): string {
  if (width <= 0) return '';
  if (ONE_CELL_EACH.test(text)) return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
  if (stringWidth(text) <= width) return text;
  const budget = width - 1; // room for the ellipsis
  let out = '';
  let used = 0;
  for (const { segment } of graphemes.segment(text)) {
    const w = stringWidth(segment);
    if (used + w > budget) break;
    out += segment;
    used += w;
  }
  return `${out}…`;
}

/** Truncates (see {@link truncateToWidth}) then pads with spaces to exactly `width` cells. */
export function padToWidth(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const cut = truncateToWidth(text, width);
  const pad = ' '.repeat(Math.max(0, width - displayWidth(cut)));
  return align === 'right' ? pad + cut : cut + pad;
}

/**
 * Live TTL countdown: the seconds left at snapshot time minus the seconds elapsed since the
 * snapshot was taken (both clocks local, milliseconds). Rounded down; negative once expired.
 */
export function liveSecondsLeft(secondsLeftAtSnapshot: number, snapshotAtMs: number, nowMs: number): number {
  const elapsed = Math.max(0, (nowMs - snapshotAtMs) / 1000);
  return Math.floor(secondsLeftAtSnapshot - elapsed);
}

/** Seconds between an ISO time and `nowMs`, or null when the time does not parse. */
export function secondsSince(iso: string | null | undefined, nowMs: number): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? Math.max(0, (nowMs - t) / 1000) : null;
}

/** Formats elapsed milliseconds for receipts: `812 ms`, `2.4 s`. */
export function formatElapsedMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** `rows 3–10 of 40 ↑↓`: which rows a scrolled list shows (1-based), with arrows where more are. */
export function scrollPosition(offset: number, shown: number, total: number): string {
  const arrows = `${offset > 0 ? '↑' : ''}${offset + shown < total ? '↓' : ''}`;
  return `rows ${offset + 1}–${offset + shown} of ${total} ${arrows}`.trimEnd();
}
