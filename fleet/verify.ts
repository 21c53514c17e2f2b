/**
 * The pure receipt classifier of a verified send (submitted, queued, refused, unverified — from what the pane showed). Owner: actions.
 *
 * Technique (agent-deck's, see field notes): capture the pane BEFORE sending (the baseline)
 * and count only what changed relative to it, so old output, an old prompt or an earlier copy
 * of the same message never count as evidence. Added here: the queued state (Claude Code shows
 * "Press up to edit queued messages" when a message arrives mid-turn — agent-deck reported
 * those as not delivered) and the heartbeat (a beat that turned busy after the send).
 *
 * No I/O: the caller captures, reads heartbeats and polls; this module only decides.
 */
import type { ReceiptStatus } from './receipt.js';
import { sanitizeLine } from '../lib/sanitize.js';

/**
 * Lines a runtime shows when it queued a message instead of taking it now. Matched
 * case-insensitively as substrings of a pane line. Data, so new runtimes are one line away.
 */
export const QUEUED_MARKERS: readonly string[] = [
  'Press up to edit queued messages', // Claude Code, message sent mid-turn
  'queued message', // generic: "1 queued message", "queued messages"
  'message queued',
  '(queued)',
];

/**
 * First characters of a line that mark a prompt / input line (after any box border `│`).
 * Claude Code `>`/`❯`, codex `›`, shells `$ # %`, others `»`.
 */
export const PROMPT_GLYPHS: readonly string[] = ['>', '❯', '›', '»', '$', '#', '%'];

/**
 * What a runtime shows instead of a long multi-line paste (Claude Code: "[Pasted text #1 +12
 * lines]"). For a multi-line message these count as its fingerprint too. Data.
 */
export const PASTE_PLACEHOLDERS: readonly string[] = ['[Pasted text'];

/** How many non-empty lines from the bottom are searched for the input line. */
const INPUT_SEARCH_DEPTH = 6;
/** Characters of the message used as its fingerprint on screen (head of first line, tail of last). */
const FINGERPRINT_CHARS = 24;

/** The part of a heartbeat the classifier needs. */
export interface HeartbeatMark {
  /** Unix seconds of the beat. */
  ts: number;
  state: 'busy' | 'idle' | null;
}

/** What {@link classifySendEvidence} decides from: captures before/after, the text sent, heartbeats. */
export interface VerifyInput {
  /** Capture taken before anything was sent (with the cursor when known). */
  baseline: string | PaneText;
  /** The latest capture after the send. */
  current: string | PaneText;
  /** Exactly the text put into the pane (source label included), before Enter. */
  sentText: string;
  /** True when an earlier poll of this send saw the text sitting in the input line. */
  seenInInputEarlier: boolean;
  heartbeatBefore: HeartbeatMark | null;
  heartbeatNow: HeartbeatMark | null;
  /** Defaults to {@link QUEUED_MARKERS}. */
  queuedMarkers?: readonly string[];
}

/** One poll's verdict: status, evidence, and whether polling can stop. */
export interface VerifyVerdict {
  status: Exclude<ReceiptStatus, 'refused'>;
  /** Signals that decided the status; pane text in them is sanitized and shortened. */
  evidence: string[];
  /** The message's fingerprint sits in the current input line (feeds `seenInInputEarlier`). */
  textInInput: boolean;
  /** True for submitted/queued: polling can stop. */
  final: boolean;
}

function nonEmptyLines(capture: string | PaneText): string[] {
  return logicalLines(capture).lines.filter((l) => l.trim().length > 0);
}

function quote(line: string): string {
  const clean = sanitizeLine(line.trim());
  return `'${clean.length > 60 ? `${clean.slice(0, 59)}…` : clean}'`;
}

/**
 * Fingerprints of a sent message as it may appear on screen: the head of its first line and
 * the tail of its last line (up to 24 characters each, trimmed); for a multi-line message also
 * the runtimes' paste placeholders ({@link PASTE_PLACEHOLDERS}). Empty strings are dropped.
 */
export function messageFingerprints(sentText: string): string[] {
  const lines = sentText.split('\n').map((l) => l.trim()).filter(Boolean);
  if (!lines.length) return [];
  const head = lines[0].slice(0, FINGERPRINT_CHARS).trim();
  const last = lines[lines.length - 1];
  const tail = last.slice(Math.max(0, last.length - FINGERPRINT_CHARS)).trim();
  const placeholders = sentText.includes('\n') ? PASTE_PLACEHOLDERS : [];
  return [...new Set([head, tail, ...placeholders].filter(Boolean))];
}

function startsWithPrompt(line: string): boolean {
  const stripped = line.replace(/^[\s│┃|]+/, '');
  return PROMPT_GLYPHS.some((g) => stripped.startsWith(g));
}

/**
 * A pane capture as verification sees it: the screen rows (`capture-pane -p`, not joined),
 * the cursor row (`#{cursor_y}`) and the pane width, so wrapped rows can be joined back into
 * logical lines and the line the cursor sits on can be found. A plain string is a capture
 * without cursor information (lines already logical).
 */
export interface PaneText {
  rows: string[];
  /** Row of the cursor (0 = top), null when unknown. */
  cursorRow: number | null;
  /** Pane width in cells, null when unknown (then no rows are joined). */
  width: number | null;
}

/** Logical lines of a capture (wrapped rows joined when the width is known) and the cursor's line. */
function logicalLines(capture: string | PaneText): { lines: string[]; cursorLine: number | null } {
  if (typeof capture === 'string') return { lines: capture.split('\n').map((l) => l.replace(/\r$/, '').trimEnd()), cursorLine: null };
  const lines: string[] = [];
  let cursorLine: number | null = null;
  let continuing = false;
  capture.rows.forEach((raw, row) => {
    const text = raw.replace(/\r$/, '');
    if (continuing) lines[lines.length - 1] += text;
    else lines.push(text);
    if (row === capture.cursorRow) cursorLine = lines.length - 1;
    // A row filled to the last column is taken as wrapped onto the next row (capture-pane -p
    // drops trailing blanks, so only a full row has the pane's width).
    continuing = capture.width !== null && text.length >= capture.width;
  });
  return { lines: lines.map((l) => l.trimEnd()), cursorLine };
}

/**
 * Splits a capture into the input region and the lines above it (both trimmed-right,
 * non-empty, logical lines). The input region starts at the lowest prompt line among the last
 * 6 non-empty lines; without one, at the cursor's line (an agent without a prompt glyph, e.g.
 * one that reads cooked lines: the tty echo sits where the cursor is); without a cursor, it is
 * the last non-empty line. It runs down to the bottom.
 */
export function splitInputRegion(capture: string | PaneText): { above: string[]; input: string[] } {
  const { lines: all, cursorLine } = logicalLines(capture);
  const indexed = all.map((text, index) => ({ text, index })).filter((l) => l.text.trim().length > 0);
  const lines = indexed.map((l) => l.text);
  const lowest = Math.max(0, lines.length - INPUT_SEARCH_DEPTH);
  for (let i = lines.length - 1; i >= lowest; i--) {
    if (startsWithPrompt(lines[i])) return { above: lines.slice(0, i), input: lines.slice(i) };
  }
  if (cursorLine !== null) {
    return {
      above: indexed.filter((l) => l.index < cursorLine).map((l) => l.text),
      input: indexed.filter((l) => l.index >= cursorLine).map((l) => l.text),
    };
  }
  if (!lines.length) return { above: [], input: [] };
  return { above: lines.slice(0, -1), input: lines.slice(-1) };
}

function countContaining(lines: readonly string[], needles: readonly string[]): number {
  return lines.filter((l) => needles.some((n) => l.includes(n))).length;
}

/** Lines of `current` that are not in `baseline`, as a multiset difference (a repeated line counts once per extra copy). */
export function newLinesSince(baseline: readonly string[], current: readonly string[]): string[] {
  const seen = new Map<string, number>();
  for (const l of baseline) seen.set(l.trim(), (seen.get(l.trim()) ?? 0) + 1);
  const fresh: string[] = [];
  for (const l of current) {
    const key = l.trim();
    const n = seen.get(key) ?? 0;
    if (n > 0) seen.set(key, n - 1);
    else fresh.push(l);
  }
  return fresh;
}

/**
 * Classifies one poll of a verified send, relative to the baseline:
 * 1. **queued** — a queued-message marker line appeared (more marker lines than in the
 *    baseline, ignoring lines that contain the message itself);
 * 2. **typed_not_submitted** — the message's fingerprint sits in the input line (more often
 *    than in the baseline's input line);
 * 3. **submitted** — the text left the input line after being seen there, or a new line
 *    outside the input line carries the message (the runtime's transcript echo), or the
 *    heartbeat turned busy (from idle/no state, `ts` not older);
 * 4. **no_evidence** — none of that (new output without any trace of the message is named in
 *    the evidence but does not count).
 * Pure; never throws. Behaviour after agent-deck's baseline-capture verification.
 */
export function classifySendEvidence(input: VerifyInput): VerifyVerdict {
  const markers = (input.queuedMarkers ?? QUEUED_MARKERS).map((m) => m.toLowerCase());
  const prints = messageFingerprints(input.sentText);
  const before = splitInputRegion(input.baseline);
  const now = splitInputRegion(input.current);
  const evidence: string[] = [];

  const isMarker = (l: string) => {
    const lower = l.toLowerCase();
    return markers.some((m) => lower.includes(m)) && !prints.some((p) => l.includes(p));
  };
  const markersBefore = nonEmptyLines(input.baseline).filter(isMarker);
  const markersNow = nonEmptyLines(input.current).filter(isMarker);
  const freshMarkers = newLinesSince(markersBefore, markersNow);

  const inInputBefore = countContaining(before.input, prints);
  const inInputNow = countContaining(now.input, prints);
  const textInInput = prints.length > 0 && inInputNow > inInputBefore;

  const freshAbove = newLinesSince([...before.above, ...before.input], now.above);
  const echoes = freshAbove.filter((l) => prints.some((p) => l.includes(p)));

  const hbBefore = input.heartbeatBefore;
  const hbNow = input.heartbeatNow;
  // ts has one-second resolution: an idle beat and the busy beat the message caused can share
  // a second, so a state change with ts not older counts.
  const wentBusy = !!hbNow && hbNow.state === 'busy' && (!hbBefore || (hbBefore.state !== 'busy' && hbNow.ts >= hbBefore.ts));

  if (freshMarkers.length) {
    evidence.push(`queued hint appeared: ${quote(freshMarkers[0])}`);
    if (echoes.length) evidence.push(`message shown: ${quote(echoes[0])}`);
    return { status: 'queued', evidence, textInInput, final: true };
  }
  if (textInInput) {
    evidence.push(`text sits in the input line: ${quote(now.input.find((l) => prints.some((p) => l.includes(p))) ?? '')}`);
    if (wentBusy) evidence.push(`heartbeat went busy (ts=${hbNow!.ts}) but the text was not taken`);
    return { status: 'typed_not_submitted', evidence, textInInput, final: false };
  }
  if (input.seenInInputEarlier) evidence.push('text left the input line after Enter');
  if (echoes.length) evidence.push(`pane shows the message as a new line: ${quote(echoes[0])}`);
  if (wentBusy) evidence.push(`heartbeat went busy after the send (ts=${hbNow!.ts}${hbBefore ? `, was ${hbBefore.state ?? 'no state'} at ts=${hbBefore.ts}` : ''})`);
  if (evidence.length) {
    const others = freshAbove.filter((l) => !echoes.includes(l));
    if (others.length) evidence.push(`${others.length} new line(s) of output, last: ${quote(others[others.length - 1])}`);
    return { status: 'submitted', evidence, textInInput, final: true };
  }
  if (freshAbove.length) evidence.push(`pane changed (${freshAbove.length} new line(s)) but shows no trace of the message`);
  else evidence.push('pane unchanged since the baseline capture');
  if (hbNow) evidence.push(`heartbeat ${hbNow.state ?? 'without state'} at ts=${hbNow.ts}, not turned busy by the send`);
  else evidence.push('no heartbeat');
  return { status: 'no_evidence', evidence, textInInput, final: false };
}
