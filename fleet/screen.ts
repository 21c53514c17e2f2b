/**
 * Reading a runtime's screen: the pure classifier {@link classifyScreen} over the
 * screen rules (fleet/screen-rules.ts, shipped; `<home>/fleet/screen-rules.yaml`, the
 * operator's override, loaded by ScreenRulesCache in fleet/screen-rules-file.ts), and the prompt identity
 * {@link promptId} that answering a prompt checks again before it presses a key.
 *
 * What the screen says is evidence for readiness (fleet/readiness.ts) when hooks are missing or
 * late, and for verified send (the input box, never a `❯` anywhere on screen: Claude Code echoes
 * every submitted message with the same glyph in its transcript).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
// semver's functions one by one (its documented per-function modules): the package's index loads
// every function and range helper (~95 KB bundled) into each snapshot's start.
import coerce from 'semver/functions/coerce.js';
import gt from 'semver/functions/gt.js';
import satisfies from 'semver/functions/satisfies.js';
import type { ScreenError, ScreenPrompt, ScreenState } from './types.js';
import { SHIPPED_SCREEN_RULES, type PromptRule, type ScreenRuleSet, type ScreenRulesFile } from './screen-rules.js';
import { messageOf } from '../lib/errors.js';
import { compileScreenPattern as compilePattern, type ScreenPattern } from './screen-pattern.js';

/** What {@link classifyScreen} read off one screen. */
export interface ScreenClassification {
  state: ScreenState;
  /** Which rules read it: `claude@>=2.0.0`, `claude@>=2.0.0 (override)`; `none` when the runtime has no rules. */
  rules: string;
  prompt?: ScreenPrompt;
  error?: ScreenError;
  /** Text left in the input box ('' when empty or showing its placeholder); absent when no input box was found. */
  inputText?: string;
  /** The rules say an idle-looking screen may be a reply still streaming (Codex). */
  idleMayStream?: boolean;
  /** The runtime's version the rules were chosen for (read from its process); absent when unknown. */
  version?: string;
  /** Why the rules may not know this runtime's screens (RULES-STALE), see {@link rulesStaleness}; absent when they do. */
  stale?: string;
  /** For an `unknown` screen: its last non-blank line (one line, ≤ 80 characters) — what the rules did not recognise. */
  unrecognised?: string;
}

/** A rule set with its patterns compiled. */
interface CompiledRuleSet {
  set: ScreenRuleSet;
  label: string;
  names: string[];
  border: ScreenPattern | null;
  prompt: ScreenPattern | null;
  placeholder: ScreenPattern | null;
  idle: ScreenPattern[];
  busy: ScreenPattern[];
  queued: ScreenPattern[];
  retrying: ScreenPattern[];
  prompts: {
    rule: PromptRule;
    anchor: ScreenPattern;
    start: ScreenPattern | null;
    end: ScreenPattern | null;
    detail: ScreenPattern | null;
    detailAfter: ScreenPattern | null;
    skip: ScreenPattern | null;
  }[];
  errors: { kind: ScreenError['kind']; re: ScreenPattern }[];
  turnStart: ScreenPattern | null;
  versionPath: ScreenPattern | null;
  /** `answer.rejected`: transcript texts of a rejected tool call. */
  rejected: ScreenPattern[];
}

/** Compiled screen rules: the operator's entries (if any) first, then the shipped ones. */
export interface CompiledScreenRules {
  sets: CompiledRuleSet[];
}

/**
 * Compiles a rules file. Shipped rules are JavaScript regular expression sources; an
 * override's (`origin: 'override'`) are compiled by RE2 (see ./screen-pattern.ts). Throws an
 * Error naming the entry and field (`runtimes[0].busy[1]: Invalid regular expression: …`) on a
 * pattern that does not compile; shape is checked by {@link parseScreenRulesYaml} for files.
 */
export function compileScreenRules(file: ScreenRulesFile, origin: 'shipped' | 'override' = 'shipped'): CompiledScreenRules {
  const sets = file.runtimes.map((set, i) => {
    const re = (src: string | undefined, where: string): ScreenPattern | null => {
      if (src === undefined) return null;
      try {
        return compilePattern(src, origin);
      } catch (error) {
        throw new Error(`runtimes[${i}].${where}: ${messageOf(error)}`, { cause: error });
      }
    };
    const list = (srcs: string[] | undefined, where: string) => (srcs ?? []).map((s, j) => re(s, `${where}[${j}]`) as ScreenPattern);
    const errors: CompiledRuleSet['errors'] = [];
    for (const kind of ['rate_limit', 'auth', 'api'] as const) {
      for (const r of list(set.errors?.[kind], `errors.${kind}`)) errors.push({ kind, re: r });
    }
    return {
      set,
      label: `${set.runtime}${set.versions ? `@${set.versions}` : ''}${origin === 'override' ? ' (override)' : ''}`,
      names: [set.runtime, ...(set.aliases ?? [])].map((n) => n.toLowerCase()),
      border: re(set.inputBox?.border, 'inputBox.border'),
      prompt: re(set.inputBox?.prompt, 'inputBox.prompt'),
      placeholder: re(set.inputBox?.placeholder, 'inputBox.placeholder'),
      idle: list(set.idle, 'idle'),
      busy: list(set.busy, 'busy'),
      queued: list(set.queued, 'queued'),
      retrying: list(set.retrying, 'retrying'),
      prompts: (set.prompts ?? []).map((rule, j) => ({
        rule,
        anchor: re(rule.anchor, `prompts[${j}].anchor`) as ScreenPattern,
        start: re(rule.start, `prompts[${j}].start`),
        end: re(rule.end, `prompts[${j}].end`),
        detail: re(rule.detail, `prompts[${j}].detail`),
        detailAfter: re(rule.detailAfter, `prompts[${j}].detailAfter`),
        skip: re(rule.skip, `prompts[${j}].skip`),
      })),
      errors,
      turnStart: re(set.turnStart, 'turnStart'),
      versionPath: re(set.versionPath, 'versionPath'),
      rejected: list(set.answer?.rejected, 'answer.rejected'),
    };
  });
  return { sets };
}

let shippedCompiled: CompiledScreenRules | null = null;

/** The shipped rules, compiled once per process. */
export function shippedScreenRules(): CompiledScreenRules {
  shippedCompiled ??= compileScreenRules(SHIPPED_SCREEN_RULES);
  return shippedCompiled;
}

/** A roster `runtime:` value as the rules name it: basename, lower case (`/opt/bin/Claude` ⇒ `claude`). */
function runtimeKey(runtime: string): string {
  return path.basename(runtime.trim()).toLowerCase();
}

/**
 * The rule set for `runtime` (roster name or alias) and `version` (any semver-ish string, or
 * null when unknown): the first set whose names match and whose `versions` range holds the
 * version; with no version (or none in range), the first set for the runtime. Null when the
 * runtime has no rules.
 */
export function ruleSetFor(rules: CompiledScreenRules, runtime: string, version?: string | null): CompiledRuleSet | null {
  // The first set for the runtime is its newest (shipped order): an unknown version reads with it.
  const key = runtimeKey(runtime);
  const candidates = rules.sets.filter((s) => s.names.includes(key));
  const newest = candidates[0];
  if (!newest) return null;
  const v = version ? coerce(version) : null;
  if (v) {
    const inRange = candidates.find((s) => !s.set.versions || satisfies(v, s.set.versions));
    if (inRange) return inRange;
  }
  return newest;
}

/**
 * Why the rules `set` may not know the screens of `version` (the RULES-STALE evidence), or
 * null: the version is newer than the newest the set was `proven` on (`claude 9.9.9 is newer
 * than 2.1.332, the newest the rules claude@>=2.1.198 were proven on`), or lies outside its
 * `versions` range (no set of the runtime holds it). Null when the version is unknown. Pure.
 */
export function rulesStaleness(set: CompiledRuleSet, version: string | null | undefined): string | null {
  const v = version ? coerce(version) : null;
  if (!v) return null;
  const { runtime, versions, proven } = set.set;
  if (versions && !satisfies(v, versions)) return `${runtime} ${version} is outside every rules range (read with ${set.label})`;
  const p = proven ? coerce(proven) : null;
  if (p && gt(v, p)) return `${runtime} ${version} is newer than ${proven}, the newest the rules ${set.label} were proven on`;
  return null;
}

/** How a runtime's version is found (fleet/runtime-version.ts): every rule set's `packages` and `versionPath` for it. */
export function versionSourceFor(rules: CompiledScreenRules, runtime: string): { packages: string[]; versionPath: ScreenPattern | null } {
  const key = runtimeKey(runtime);
  const sets = rules.sets.filter((s) => s.names.includes(key));
  return { packages: [...new Set(sets.flatMap((s) => s.set.packages ?? []))], versionPath: sets.find((s) => s.versionPath)?.versionPath ?? null };
}

/**
 * The rules that read `runtime` at `version` (null: unknown ⇒ its newest): their label
 * (`claude@>=2.1.198`), the newest version they were proven on, and why they may be stale
 * ({@link rulesStaleness}); null when the runtime has no rules. Pure.
 */
export function ruleSetSummary(
  rules: CompiledScreenRules,
  runtime: string,
  version: string | null | undefined,
): { label: string; proven: string | null; stale: string | null } | null {
  const set = ruleSetFor(rules, runtime, version);
  return set ? { label: set.label, proven: set.set.proven ?? null, stale: rulesStaleness(set, version) } : null;
}

/** True when the runtime has screen rules. */
export function hasScreenRules(runtime: string, rules: CompiledScreenRules = shippedScreenRules()): boolean {
  return ruleSetFor(rules, runtime) !== null;
}

/** Characters that frame prompt blocks (box drawing) or mark the selected option: not part of a prompt's identity. */
const FRAME = /[│┃║╭╮╰╯┌┐└┘├┤─━═▌▐]/g;

/** A prompt block as its identity sees it: frames and the moving selection glyph dropped, blanks collapsed, empty lines out. */
export function normalizePromptBlock(block: string): string {
  return block
    .split('\n')
    .map((l) =>
      l
        .replace(FRAME, ' ')
        .replace(/^\s*[❯›>]\s+/, '')
        .replace(/\s+/g, ' ')
        .trim(),
    )
    .filter(Boolean)
    .join('\n');
}

/**
 * The identity of a prompt: sha256 of runtime, tool and the normalized block (frames, the
 * selection cursor and spacing removed, so moving the cursor or a resize keeps it), first 16
 * hex characters. The answer-prompt issue checks it again just before pressing a key. Pure.
 */
export function promptId(runtime: string, tool: string | null, block: string): string {
  return createHash('sha256')
    .update(`${runtimeKey(runtime)}\n${tool ?? ''}\n${normalizePromptBlock(block)}`)
    .digest('hex')
    .slice(0, 16);
}

/** Index of the last line in `indices` (scanning from the end) matching `re`, or -1. */
function lastMatch(lines: readonly string[], indices: readonly number[], re: ScreenPattern): number {
  for (let k = indices.length - 1; k >= 0; k--) {
    const i = indices[k];
    if (i !== undefined && re.test(lineAt(lines, i))) return i;
  }
  return -1;
}

/** Non-blank lines a prompt block may have below it and still be open (opencode's frame, hints). */
const PROMPT_TAIL_LINES = 3;

/** Reads the prompt block around `anchorIdx` (tool, detail, block, id) and the index of its last line. */
function readPrompt(
  runtime: string,
  lines: readonly string[],
  anchorIdx: number,
  p: CompiledRuleSet['prompts'][number],
): { prompt: ScreenPrompt; endIdx: number } {
  const { rule } = p;
  let startIdx = anchorIdx;
  let tool: string | null = rule.tool ?? null;
  if (p.start) {
    for (let i = anchorIdx - 1; i >= Math.max(0, anchorIdx - (rule.above ?? 12)); i--) {
      const m = p.start.exec(lineAt(lines, i));
      if (m) {
        startIdx = i;
        const raw = m.groups?.tool?.trim();
        if (raw) tool = rule.toolNames?.[raw] ?? raw.replace(/\s+(command|tool)$/, '');
        break;
      }
    }
  }
  let endIdx = -1;
  const lastLine = Math.min(lines.length - 1, anchorIdx + (rule.below ?? 8));
  if (p.end) {
    for (let i = anchorIdx; i <= lastLine; i++)
      if (p.end.test(lineAt(lines, i))) {
        endIdx = i;
        break;
      }
  }
  if (endIdx < 0) {
    endIdx = anchorIdx;
    for (let i = anchorIdx; i <= lastLine; i++) if (lineAt(lines, i).trim()) endIdx = i;
  }
  const blockLines = lines.slice(startIdx, endIdx + 1);
  let detail: string | null = null;
  if (p.detail) {
    for (const l of blockLines) {
      const m = p.detail.exec(l);
      if (m?.groups?.detail) {
        detail = m.groups.detail.trim();
        break;
      }
    }
  }
  // The line after a marker (2.1.332's command between `╌╌╌` rules), else the first line after the start that is no hint.
  const firstFrom = (from: number): string | null => {
    for (let i = from; i < anchorIdx; i++) {
      const line = lineAt(lines, i);
      const t = line.replace(FRAME, ' ').trim();
      if (t && !p.skip?.test(line) && !p.detailAfter?.test(line)) return t;
    }
    return null;
  };
  if (detail === null && p.detailAfter) {
    for (let i = startIdx; i < anchorIdx; i++)
      if (p.detailAfter.test(lineAt(lines, i))) {
        detail = firstFrom(i + 1);
        break;
      }
  }
  if (detail === null && startIdx < anchorIdx) detail = firstFrom(startIdx + 1);
  const block = blockLines.join('\n').replace(/\s+$/, '');
  return { prompt: { kind: rule.kind, tool, detail, block, id: promptId(runtime, tool, block) }, endIdx };
}

/**
 * Classifies a pane's visible screen (`capture-pane -p` text) with the rules of `runtime`
 * (and `version`, null when unknown). Pure, never throws. In this order:
 * - `waiting` — a prompt rule's anchor within the last `promptLines` non-blank lines, its block
 *   the last thing on screen (at most 3 non-blank lines below it): the prompt's kind, tool,
 *   command/file (`detail`), block and {@link promptId};
 * - `queued` / `busy` — a queued or busy marker within the last `bottomLines` non-blank lines;
 * - `error` — an idle marker there, and the LAST turn (after the last `turnStart` line above
 *   the input box) ended on an error text: `rate_limit` (LIMITED), `auth` (AUTH) or `api`;
 * - `idle` — an idle marker there;
 * - `unknown` — none of these (or no rules for the runtime: `rules` is `none`).
 * `inputText` is what the input box holds (between the last two `border` lines, or on the last
 * `prompt` line near the bottom), '' when empty or a placeholder.
 */
export function classifyScreen(
  runtime: string,
  version: string | null | undefined,
  screenText: string,
  rules: CompiledScreenRules = shippedScreenRules(),
): ScreenClassification {
  const set = ruleSetFor(rules, runtime, version);
  if (!set) return { state: 'unknown', rules: 'none' };
  const lines = screenText.split('\n').map((l) => l.replace(/\s+$/, ''));
  const nonBlank: number[] = [];
  lines.forEach((l, i) => {
    if (l.trim()) nonBlank.push(i);
  });
  const stale = rulesStaleness(set, version);
  const out: ScreenClassification = {
    state: 'unknown',
    rules: set.label,
    ...(set.set.idleMayStream ? { idleMayStream: true } : {}),
    ...(version ? { version } : {}),
    ...(stale ? { stale } : {}),
  };

  // Prompts first: a dialog replaces the input line, and answering it is not typing a message.
  const prompt = openPrompt(set, lines, nonBlank);
  if (prompt) return { ...out, state: 'waiting', prompt };

  const box = readInputBox(set, lines, nonBlank);
  if (box.inputText !== undefined) out.inputText = box.inputText;
  const bottom = nonBlank.slice(-(set.set.bottomLines ?? 8));
  const has = (res: ScreenPattern[]) => bottom.some((i) => res.some((re) => re.test(lineAt(lines, i))));
  const errorAt = (indices: readonly number[]): ScreenClassification | null => {
    const error = lastError(set, lines, indices);
    return error ? { ...out, state: 'error', error } : null;
  };
  if (has(set.queued)) return { ...out, state: 'queued' };
  if (has(set.busy)) return (has(set.retrying) ? errorAt(bottom) : null) ?? { ...out, state: 'busy' };
  // The box by its structure (the rules around the cursor line, only a footer below) is the idle input line, whatever the footer says.
  const boxRule = set.set.inputBox;
  const boxIdle = !!boxRule?.marksIdle && box.bottom >= 0 && nonBlank.filter((i) => i > box.bottom).length <= (boxRule.footerLines ?? 3);
  if (!has(set.idle) && !boxIdle) {
    const lastIdx = nonBlank[nonBlank.length - 1];
    const last = lastIdx === undefined ? '' : errorText(lineAt(lines, lastIdx)).slice(0, 80);
    return { ...out, unrecognised: last || '(blank screen)' };
  }

  // Idle: did the last turn end on an error? Only the transcript after the last turn start counts.
  return errorAt(lastTurnLines(set, lines, nonBlank, box.top >= 0 ? box.top : (bottom[0] ?? lines.length))) ?? { ...out, state: 'idle' };
}

/** Line `i` of the screen, '' outside it. */
function lineAt(lines: readonly string[], i: number): string {
  return lines[i] ?? '';
}

/**
 * The open prompt: the prompt rule whose anchor is lowest within the last `promptLines`
 * non-blank lines, read with {@link readPrompt}; null when none matches or its block has more
 * than {@link PROMPT_TAIL_LINES} non-blank lines below it (an answered prompt is history).
 */
function openPrompt(set: CompiledRuleSet, lines: readonly string[], nonBlank: readonly number[]): ScreenPrompt | null {
  const promptWindow = nonBlank.slice(-(set.set.promptLines ?? 30));
  let best: { idx: number; p: CompiledRuleSet['prompts'][number] } | null = null;
  for (const p of set.prompts) {
    const idx = lastMatch(lines, promptWindow, p.anchor);
    if (idx >= 0 && (!best || idx > best.idx)) best = { idx, p };
  }
  if (!best) return null;
  const { prompt, endIdx } = readPrompt(set.set.runtime, lines, best.idx, best.p);
  // An open dialog is the last thing on screen: a prompt block with more below it (a later
  // turn's output, the input box back) was answered and is history.
  return nonBlank.filter((i) => i > endIdx).length <= PROMPT_TAIL_LINES ? prompt : null;
}

/**
 * The input box: its top and bottom line indices (-1 when not found; `bottom` only for a box
 * drawn between `border` lines) and the text it holds ('' when empty or a placeholder;
 * undefined when no box was found).
 */
function readInputBox(set: CompiledRuleSet, lines: readonly string[], nonBlank: readonly number[]): { top: number; bottom: number; inputText?: string } {
  const none = { top: -1, bottom: -1 };
  const promptRe = set.prompt;
  if (!promptRe) return none;
  const visible = (text: string): string => (set.placeholder?.test(text) ? '' : text);
  if (!set.border) {
    const idx = lastMatch(lines, nonBlank.slice(-(set.set.bottomLines ?? 8)), promptRe);
    if (idx < 0) return none;
    return { top: idx, bottom: -1, inputText: visible((promptRe.exec(lineAt(lines, idx))?.groups?.text ?? '').trim()) };
  }
  const border = set.border;
  const borders = nonBlank.filter((i) => border.test(lineAt(lines, i)));
  const top = borders[borders.length - 2];
  const bottom = borders[borders.length - 1];
  if (top === undefined || bottom === undefined) return none;
  const inside = lines.slice(top + 1, bottom);
  // An empty box (pi draws its editor as two rules with nothing between) holds no text.
  const first = inside[0];
  const m = first === undefined ? { groups: {} as Record<string, string | undefined> } : promptRe.exec(first);
  if (!m) return none;
  const text = [m.groups?.text ?? '', ...inside.slice(1)]
    .map((l) => l.trim())
    .join('\n')
    .trim();
  return { top, bottom, inputText: visible(text) };
}

/** The last error line among `indices` (scanning from the end) as evidence, or null. */
function lastError(set: CompiledRuleSet, lines: readonly string[], indices: readonly number[]): NonNullable<ScreenClassification['error']> | null {
  for (let k = indices.length - 1; k >= 0; k--) {
    const line = lineAt(lines, indices[k] ?? -1);
    const hit = set.errors.find((e) => e.re.test(line));
    if (hit) return { kind: hit.kind, text: errorText(line) };
  }
  return null;
}

/** Non-blank lines of the last turn above line `end`: after the last `turnStart` line, else the last `errorLines` of them. */
function lastTurnLines(set: CompiledRuleSet, lines: readonly string[], nonBlank: readonly number[], end: number): number[] {
  let from = -1;
  if (set.turnStart) {
    for (let i = end - 1; i >= 0; i--)
      if (set.turnStart.test(lineAt(lines, i))) {
        from = i;
        break;
      }
  }
  const above = nonBlank.filter((i) => i < end);
  return from >= 0 ? above.filter((i) => i > from) : above.slice(-(set.set.errorLines ?? 6));
}

/** An error line as evidence: frames, bullets and spinners dropped, one line, at most 200 characters. */
function errorText(line: string): string {
  return line
    .replace(FRAME, ' ')
    .replace(/[■⬝]+/g, ' ')
    .replace(/^\s*[●⎿✗]\s*/u, '')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 200);
}

/**
 * The answer keys of `runtime`'s permission prompts (screen rules `answer`: allow once, deny),
 * or null when its rules have none (the answer is refused) or it has no rules. Pure.
 */
export function answerRuleFor(runtime: string, rules: CompiledScreenRules = shippedScreenRules()): import('./screen-rules.js').AnswerRule | null {
  return ruleSetFor(rules, runtime)?.set.answer ?? null;
}

/** The compiled `answer.rejected` patterns of `runtime`'s rules (RE2 for an override), [] when none. Pure. */
export function answerRejectedFor(runtime: string, rules: CompiledScreenRules = shippedScreenRules()): ScreenPattern[] {
  return ruleSetFor(rules, runtime)?.rejected ?? [];
}
