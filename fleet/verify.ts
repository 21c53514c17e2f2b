/**
 * The pure receipt classifier of a verified send (submitted, queued, refused, unverified — from what the pane showed). Owner: actions.
 *
 * Technique (agent-deck's, see field notes): capture the pane BEFORE sending (the baseline)
 * and count only what changed relative to it, so old output, an old prompt or an earlier copy
 * of the same message never count as evidence. Added here: the queued state (Claude Code shows
 * "Press up to edit queued messages" when a message arrives mid-turn — agent-deck reported
 * those as not delivered) and the heartbeat (a beat that turned busy after the send).
 *
 * Every capture is READ with the runtime's screen rules (fleet/screen.ts
 * classifyScreen: state, permission prompt, the text in its input box), and uptake counts only
 * as the runtime's delivery rule says (fleet/delivery.ts): its busy marker turning on, a busy
 * beat, or its input box emptied after holding the text — never the text merely appearing on
 * screen (Claude Code echoes a submitted message with the same `❯` as its input box; a pane
 * that reads nothing shows the terminal's echo). A runtime without rules is read generically:
 * the cursor's line is its input line, and only a busy beat is uptake.
 *
 * No I/O: the caller captures, reads heartbeats and polls; this module only decides.
 */
import type { ReceiptStatus } from './receipt.js';
import type { HeartbeatState, ScreenPrompt, ScreenState } from './types.js';
import type { DeliveryRule } from './delivery.js';
import { classifyScreen, ruleSetFor, shippedScreenRules, type CompiledScreenRules } from './screen.js';
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
  state: HeartbeatState | null;
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
  const lines = sentText
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const first = lines[0];
  const last = lines[lines.length - 1];
  if (first === undefined || last === undefined) return [];
  const head = first.slice(0, FINGERPRINT_CHARS).trim();
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
    if (startsWithPrompt(lines[i] ?? '')) return { above: lines.slice(0, i), input: lines.slice(i) };
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
 * One capture as a send reads it: the runtime's screen state, the text in its input box, an
 * open prompt, and the screen's logical lines. For a runtime without screen rules (`rules` =
 * `none`) the input line is the cursor's line: `idle` when it is blank or starts with a prompt
 * glyph and nothing is below it, `queued` when a generic queued marker is on screen, else
 * `unknown` (not an input line).
 */
export interface InputReading {
  state: ScreenState;
  /** The rules that read it (`claude@>=2.0.0`), or `none`. */
  rules: string;
  /** Text in the input box: '' when empty (or a placeholder), undefined when no box was found. */
  box?: string;
  prompt?: ScreenPrompt;
  /** The runtime may stream with an idle-looking screen (Codex). */
  idleMayStream?: boolean;
  /** The runtime's version read from its process (picked the rules' range), absent when unknown. */
  version?: string;
  /** For an unknown screen: its last line, what the rules did not recognise. */
  unrecognised?: string;
  /** Why the rules may not know this version (RULES-STALE evidence). */
  stale?: string;
  /** Non-empty logical lines of the screen (trimmed right). */
  lines: string[];
}

/**
 * Reads a capture with the screen rules of `runtime` (null: none) for its `version` (read from
 * its process; null when unknown: the runtime's newest rules), generically when it has none. The
 * same classifier the snapshot's readiness uses (fleet/screen.ts). Pure.
 */
export function readInput(
  runtime: string | null | undefined,
  capture: string | PaneText,
  rules: CompiledScreenRules = shippedScreenRules(),
  version: string | null = null,
): InputReading {
  const { lines: all, cursorLine } = logicalLines(capture);
  const lines = all.filter((l) => l.trim().length > 0);
  if (runtime && ruleSetFor(rules, runtime)) {
    const text = typeof capture === 'string' ? capture : capture.rows.join('\n');
    const c = classifyScreen(runtime, version, text, rules);
    return {
      state: c.state,
      rules: c.rules,
      ...(c.version ? { version: c.version } : {}),
      ...(c.unrecognised ? { unrecognised: c.unrecognised } : {}),
      ...(c.stale ? { stale: c.stale } : {}),
      ...(c.inputText !== undefined ? { box: c.inputText } : {}),
      ...(c.prompt ? { prompt: c.prompt } : {}),
      ...(c.idleMayStream ? { idleMayStream: true } : {}),
      lines,
    };
  }
  const queued = lines.some((l) => QUEUED_MARKERS.some((m) => l.toLowerCase().includes(m.toLowerCase())));
  // Without a cursor, the last non-empty line stands for it.
  const at =
    cursorLine ??
    (() => {
      for (let i = all.length - 1; i >= 0; i--) if (all[i]?.trim()) return i;
      return 0;
    })();
  const line = (all[at] ?? '').replace(/^[\s│┃|]+/, '');
  const below = all.slice(at + 1).some((l) => l.trim());
  const glyph = PROMPT_GLYPHS.find((g) => line.startsWith(g));
  const box = glyph ? line.slice(glyph.length).trim() : line.trim();
  const inputLine = !below && (glyph !== undefined || line.trim() === '');
  return { state: queued ? 'queued' : inputLine ? 'idle' : 'unknown', rules: 'none', box, lines };
}

/** A prompt as one line: `permission prompt (Bash: echo hi > x)`. */
export function describePrompt(prompt: ScreenPrompt | undefined): string {
  if (!prompt) return 'a dialog';
  const what = [prompt.tool, prompt.detail].filter(Boolean).join(': ');
  const kind = prompt.kind === 'permission' ? 'permission prompt' : prompt.kind === 'dialog' ? 'dialog' : 'question';
  return `a ${kind}${what ? ` (${sanitizeLine(what).slice(0, 80)})` : ''}`;
}

/**
 * Why nothing may be typed into a pane read as `reading` (runtime `runtime`, heartbeat `beat`),
 * or null when it is at its input line. Refused: a permission prompt, question or other dialog
 * on screen; text already in the input box (Enter would submit it with the message); a runtime
 * with rules whose screen they do not recognise (starting, a dialog they do not know, another
 * program); a runtime without rules whose cursor is not on an input line; a heartbeat that says
 * `waiting` unless the screen shows the idle input line (read now, after the beat: the prompt
 * was dismissed); several lines for a runtime that takes no bracketed paste. Pure.
 */
export function sendRefusal(input: {
  runtime: string | null | undefined;
  reading: InputReading;
  heartbeat: HeartbeatMark | null;
  rule: DeliveryRule;
  multiLine: boolean;
}): string | null {
  const { reading: r, heartbeat: hb } = input;
  const who = input.runtime ? `${sanitizeLine(input.runtime)}` : 'the pane';
  if (r.state === 'waiting') {
    return `${who} shows ${describePrompt(r.prompt)} [screen rules ${r.rules}]: an operator message must never answer it; nothing typed`;
  }
  if (r.state === 'unknown' && r.rules === 'none') {
    return `runtime ${input.runtime ? `"${sanitizeLine(input.runtime)}"` : '(none in the roster)'} has no screen rules and the pane's cursor is not on an input line (${quote(r.lines[r.lines.length - 1] ?? '')}): not guessing; nothing typed`;
  }
  if (r.box) {
    return `${who}'s input box already holds text (${quote(r.box)}): Enter would submit it with the message; nothing typed — clear it first`;
  }
  if (r.state === 'unknown') {
    const on = r.version ? ` on ${who} ${r.version}` : ` (${who} version unknown)`;
    const last = r.unrecognised ? `, last line ${quote(r.unrecognised)}` : '';
    const stale = r.stale ? `; ${r.stale}` : '';
    return `${who}'s input line is not on screen [screen rules ${r.rules} read nothing they know${on}${last}: starting, an unknown dialog, or another program${stale}]: nothing typed`;
  }
  if (hb?.state === 'waiting' && r.state !== 'idle' && r.state !== 'error') {
    return `the heartbeat says waiting (ts=${hb.ts}) and the screen does not show the idle input line: nothing typed into what may be a dialog`;
  }
  if (input.multiLine && !input.rule.bracketedPaste) {
    return `${who} ${r.rules === 'none' ? 'has no delivery rules' : 'takes no bracketed paste'}: a message of several lines could be taken line by line; send one line`;
  }
  return null;
}

/** What {@link classifyReceipt} decides from. */
export interface ReceiptInput {
  rule: DeliveryRule;
  /** Reading of the capture taken before anything was typed. */
  before: InputReading;
  /** Reading of the latest capture. */
  now: InputReading;
  /** Exactly the text pasted (source label included). */
  sentText: string;
  /** The text was seen in the input box (before Enter, or by an earlier poll). */
  seenInBox: boolean;
  /** Enter was pressed (false: it was held back, e.g. a dialog opened while typing). */
  entered: boolean;
  /** The runtime ran a turn when the send began (busy screen or busy beat). */
  wasBusy: boolean;
  heartbeatBefore: HeartbeatMark | null;
  heartbeatNow: HeartbeatMark | null;
}

/** One poll's verdict: status, evidence, and whether polling can stop. */
export interface VerifyVerdict {
  status: Exclude<ReceiptStatus, 'refused'>;
  /** Signals that decided the status; pane text in them is sanitized and shortened. */
  evidence: string[];
  /** The text sits in the input box now (feeds `seenInBox`). */
  textInBox: boolean;
  /** True for submitted/queued: polling can stop. */
  final: boolean;
}

/**
 * True when a permission prompt opened after Enter on a runtime that was idle with our text in
 * its box: a turn that asks for a tool at once is the runtime taking the message (the prompt
 * hides the box and the busy marker, so neither can show it). Not for a busy runtime (its
 * running turn may ask on its own), a prompt already open before, or a screen without rules.
 */
function promptOpenedBySend(input: ReceiptInput): boolean {
  const { before, now } = input;
  return (
    input.entered &&
    input.seenInBox &&
    !input.wasBusy &&
    now.rules !== 'none' &&
    before.state === 'idle' &&
    now.state === 'waiting' &&
    now.prompt?.kind === 'permission'
  );
}

/**
 * Classifies one poll of a verified send against its baseline, as the runtime's delivery rule
 * says (fleet/delivery.ts):
 * 1. **typed_not_submitted** (not final: the runtime may still take it) — the text sits in the
 *    runtime's input box (its box as the screen rules find it; the cursor line without rules);
 * 2. **queued** — the screen reads `queued` (Claude `Press up to edit queued messages`, pi
 *    `Steering:`, opencode `QUEUED`) after the box held the text and emptied, or where the
 *    baseline was not queued;
 * 3. **submitted** — an uptake signal of the rule: busy marker turned on, heartbeat turned
 *    busy, the box emptied after holding the text, a permission prompt opened on an idle
 *    runtime after the box held the text; a steering runtime (Codex) that was busy
 *    took it into the running turn (said so in the evidence);
 * 4. **no_evidence** — none of that; the terminal's echo or new output is named, not counted.
 * Pure; never throws.
 */
export function classifyReceipt(input: ReceiptInput): VerifyVerdict {
  const { rule, before, now } = input;
  const evidence: string[] = [];
  const prints = messageFingerprints(input.sentText);
  const boxHasText = now.box !== undefined && now.box !== '';
  const boxIsOurs = boxHasText && (before.box === '' || before.box === undefined || prints.some((p) => now.box!.includes(p)));
  const textInBox = boxIsOurs;
  const hbBefore = input.heartbeatBefore;
  const hbNow = input.heartbeatNow;
  // ts has one-second resolution: an idle beat and the busy beat the message caused can share
  // a second, so a state change with ts not older counts.
  const wentBusy = !!hbNow && hbNow.state === 'busy' && (!hbBefore || (hbBefore.state !== 'busy' && hbNow.ts >= hbBefore.ts));

  if (!input.entered) {
    if (textInBox) return { status: 'typed_not_submitted', evidence: [`text sits in the input box: ${quote(now.box!)}`], textInBox, final: true };
    return { status: 'no_evidence', evidence: ['the text never showed in the input box'], textInBox, final: true };
  }
  if (textInBox) {
    evidence.push(`text sits in ${now.rules === 'none' ? 'the input line' : 'the input box'}: ${quote(now.box!)}`);
    if (wentBusy && rule.uptake.includes('hook-busy')) evidence.push(`heartbeat went busy (ts=${hbNow!.ts}) but the text was not taken`);
    return { status: 'typed_not_submitted', evidence, textInBox, final: false };
  }
  const emptied = input.seenInBox && now.box === '';
  if (now.state === 'queued' && (emptied || before.state !== 'queued') && now.rules !== 'none') {
    evidence.push(`the runtime queued it: screen reads queued [${now.rules}]${emptied ? ', input box emptied' : ''}`);
    const hint = newLinesSince(before.lines, now.lines).find((l) => prints.some((p) => l.includes(p)));
    if (hint) evidence.push(`shown as ${quote(hint)}`);
    return { status: 'queued', evidence, textInBox, final: true };
  }
  if (now.state === 'queued' && now.rules === 'none' && before.state !== 'queued') {
    evidence.push(`queued hint appeared: ${quote(now.lines.find((l) => QUEUED_MARKERS.some((m) => l.toLowerCase().includes(m.toLowerCase()))) ?? '')}`);
    return { status: 'queued', evidence, textInBox, final: true };
  }
  const uptake: string[] = [];
  if (rule.uptake.includes('busy-marker') && now.state === 'busy' && before.state !== 'busy' && before.state !== 'queued')
    uptake.push(`busy marker turned on [${now.rules}]`);
  if (rule.uptake.includes('hook-busy') && wentBusy)
    uptake.push(`heartbeat went busy after the send (ts=${hbNow!.ts}${hbBefore ? `, was ${hbBefore.state ?? 'no state'} at ts=${hbBefore.ts}` : ''})`);
  if (rule.uptake.includes('box-emptied') && emptied) uptake.push(`the input box held the text and emptied after Enter [${now.rules}]`);
  if (promptOpenedBySend(input))
    uptake.push(
      `the input box held the text, then ${describePrompt(now.prompt)} opened after Enter: the runtime took the message and asks before running a tool [${now.rules}]`,
    );
  if (uptake.length) {
    if (rule.whileBusy === 'steers' && (input.wasBusy || (before.idleMayStream && before.state === 'idle'))) {
      uptake.push(input.wasBusy ? 'steered into the running turn (Enter while busy)' : 'taken as a new turn, or steered into a turn still streaming');
    }
    return { status: 'submitted', evidence: uptake, textInBox, final: true };
  }
  if (now.state === 'waiting') evidence.push(`${describePrompt(now.prompt)} is on screen now`);
  if (input.seenInBox && !boxHasText)
    evidence.push(
      now.rules === 'none'
        ? 'the text left the input line (a terminal echo moving on is not uptake: the runtime has no rules)'
        : 'the text left the input box, but the box is not on screen',
    );
  const fresh = newLinesSince(before.lines, now.lines);
  const echoes = fresh.filter((l) => prints.some((p) => l.includes(p)));
  const echo = echoes[0];
  if (echo !== undefined) evidence.push(`the text shows on screen (${quote(echo)}), which is not uptake by itself`);
  else if (fresh.length) evidence.push(`pane changed (${fresh.length} new line(s)) but shows no trace of the message`);
  else evidence.push('pane unchanged since the baseline capture');
  if (hbNow) evidence.push(`heartbeat ${hbNow.state ?? 'without state'} at ts=${hbNow.ts}, not turned busy by the send`);
  else evidence.push('no heartbeat');
  return { status: 'no_evidence', evidence, textInBox, final: false };
}
