/**
 * Pure formatters for transitions in the console (docs/transitions.md): the TRANSITIONS view (newest
 * first), an agent's recent transitions with ages (details), and the one-line timeline of its
 * last hour — glyphs coloured by readiness with a legend, or words under NO_COLOR. Every
 * string that leaves this module is sanitized.
 */
import { sanitizeLine } from '../../lib/sanitize.js';
import { transitionChange, transitionSubject, type Transition } from '../transitions/diff.js';
import { timelineRuns } from '../transitions/timeline.js';
import { displayWidth, formatAge } from './format.js';

/** Each agent's readiness transitions, chronological (the timeline's input). Pure. */
export function readinessByAgent(list: readonly Transition[]): Map<string, Transition[]> {
  const out = new Map<string, Transition[]>();
  for (const t of list) {
    if (t.scope !== 'agent' || t.kind !== 'readiness' || t.agent === null) continue;
    const own = out.get(t.agent);
    if (own) own.push(t);
    else out.set(t.agent, [t]);
  }
  return out;
}

/** Seconds of the timeline window (the last hour). */
export const TIMELINE_WINDOW_SECONDS = 3600;

/**
 * Cells of the timeline for a fleet table `columns` wide: 60 (a minute each) from 160 columns,
 * 30 (two minutes) from 120, 6 (ten minutes) from 100 — there the evidence column just fits
 * beside it —, else 12 (five minutes; no evidence column that narrow anyway).
 */
export function timelineCellCount(columns: number): number {
  if (columns >= 160) return 60;
  if (columns >= 120) return 30;
  if (columns >= 100) return 6;
  return 12;
}

/**
 * One glyph per readiness, coloured like the readiness word; the shape differs too, so it reads
 * without colour. Printable ASCII on purpose: a row of block elements sends every table line
 * through string-width's Unicode analysis in Ink's measuring, several times the cost of a frame
 * (bench:console). A word not listed shows its first letter.
 */
export const TIMELINE_GLYPHS: Readonly<Record<string, string>> = {
  working: '#',
  available: '=',
  waiting: '^',
  stuck: '!',
  stale: '~',
  unknown: '?',
  dead: 'X',
};

/** Glyph of a cell's state; `.` where nothing was observed. */
export function timelineGlyph(state: string | null): string {
  if (state === null) return '.';
  return TIMELINE_GLYPHS[state] ?? state[0] ?? '?';
}

/** The timeline as glyphs, one per cell, oldest first. */
export function timelineText(states: readonly (string | null)[]): string {
  return states.map(timelineGlyph).join('');
}

/** Compact duration for timeline words: `45s`, `12m`, `1h`. */
function shortDuration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)}s`;
  if (seconds < 3600 || seconds % 3600) return `${Math.round(seconds / 60)}m`;
  return `${seconds / 3600}h`;
}

/**
 * The timeline in words (NO_COLOR), newest last: `working 40m dead 5m working 15m`, cut to
 * `width` cells by dropping the OLDEST runs (marked `…`): the present matters most. Unobserved
 * runs read `unseen`.
 */
export function timelineWords(states: readonly (string | null)[], width: number, windowSeconds = TIMELINE_WINDOW_SECONDS): string {
  const step = windowSeconds / Math.max(1, states.length);
  const parts = timelineRuns(states).map((r) => `${r.state ?? 'unseen'} ${shortDuration(r.cells * step)}`);
  let out = '';
  for (const part of parts.reverse()) {
    const next = out ? `${part} ${out}` : part;
    if (displayWidth(next) > width) return sanitizeLine(displayWidth(`…${out}`) <= width ? `…${out}` : out);
    out = next;
  }
  return sanitizeLine(out);
}

/** Legend of the timeline: `LAST 1H (5m a cell, oldest left): # working = available … . unseen` (glyphs), or how to read the words. */
export function timelineLegend(cells: number, color: boolean, windowSeconds = TIMELINE_WINDOW_SECONDS): string {
  const step = shortDuration(windowSeconds / Math.max(1, cells));
  if (!color) return `LAST 1H: each agent's readiness over the last hour in words, oldest first (state and how long)`;
  const glyphs = Object.entries(TIMELINE_GLYPHS)
    .map(([state, g]) => `${g} ${state}`)
    .join('  ');
  return `LAST 1H (${step} a cell, oldest left): ${glyphs}  . unseen`;
}

/** `12s ago`, `3m04s ago` from an ISO time and the clock (ms). */
function ago(at: string, nowMs: number): string {
  const s = (nowMs - Date.parse(at)) / 1000;
  return Number.isFinite(s) ? `${formatAge(s)} ago` : '?';
}

/** One line of the TRANSITIONS view: `3m04s ago  coder1  working → dead  !  no pane …` (muted agents marked). Sanitized. */
export function transitionRowText(t: Transition, nowMs: number, muted: readonly string[] = []): string {
  const mute = t.agent !== null && muted.includes(t.agent) ? ' (muted)' : '';
  return sanitizeLine(
    `${ago(t.at, nowMs).padStart(12)}  ${transitionSubject(t)}${mute}  ${transitionChange(t)}${t.attention ? '  !' : ''}  ${t.evidence.join('; ')}`,
  );
}

/** Lines of the TRANSITIONS view: newest first, then where the history lives. Sanitized. */
export function transitionsViewLines(
  list: readonly Transition[],
  nowMs: number,
  opts: { muted?: readonly string[]; historyFile?: string | null; historyError?: string | null } = {},
): string[] {
  const lines: string[] = [];
  if (!list.length) lines.push('no transitions yet: the first snapshot is the baseline; changes of readiness and flags appear here');
  for (const t of list.slice().reverse()) lines.push(transitionRowText(t, nowMs, opts.muted));
  if (opts.historyError) lines.push(sanitizeLine(`history: ${opts.historyError}`));
  else if (opts.historyFile) lines.push(sanitizeLine(`(kept 24 h in ${opts.historyFile})`));
  else if (opts.historyFile === null) lines.push('(history off: MOSAIC_TOP_HISTORY=off)');
  return lines;
}

/**
 * The details view's transition lines for `agent`: `in dead since 4m12s (2026-…)` (or `since
 * unknown`), then its last `max` transitions with ages, newest first. Sanitized.
 */
export function agentTransitionLines(list: readonly Transition[], agent: string, readiness: string, nowMs: number, max = 8): string[] {
  const own: Transition[] = [];
  for (let i = list.length - 1; i >= 0 && own.length < max; i--) {
    const t = list[i];
    if (t?.scope === 'agent' && t.agent === agent) own.push(t);
  }
  const last = own.find((t) => t.kind === 'readiness');
  const since =
    last && last.to === readiness
      ? `${readiness} since ${ago(last.at, nowMs).replace(/ ago$/, '')} (${last.at})`
      : `${readiness} since: unknown (no recorded change into it)`;
  const lines = [since, own.length ? 'recent transitions:' : 'recent transitions: none recorded'];
  for (const t of own) lines.push(`  ${ago(t.at, nowMs).padStart(12)}  ${transitionChange(t)}${t.attention ? '  !' : ''}  ${t.evidence.join('; ')}`);
  return lines.map(sanitizeLine);
}
