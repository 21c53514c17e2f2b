/**
 * The console's keymap as data (k9s/htop conventions): every key that works anywhere, with its
 * scope, description and precondition. ONE table drives the input dispatcher, the status-bar
 * hints (dimmed when the precondition is unmet) and the help screen, so they can never disagree.
 * Pure: no React, no I/O.
 */
import { isControlCharacter } from '../../lib/sanitize.js';

/** Every command a key can trigger. */
export type ConsoleCommand =
  | 'move-up'
  | 'move-down'
  | 'page-up'
  | 'page-down'
  | 'move-top'
  | 'move-bottom'
  | 'switch-focus'
  | 'details'
  | 'filter'
  | 'clear-filter'
  | 'help'
  | 'preview'
  | 'watch'
  | 'send'
  | 'dispatch'
  | 'answer'
  | 'answer-choice'
  | 'unit-restart'
  | 'unit-stop'
  | 'unit-start'
  | 'pause'
  | 'reclaim'
  | 'release'
  | 'refresh'
  | 'events'
  | 'transitions'
  | 'spend'
  | 'mute'
  | 'quit'
  | 'confirm-yes'
  | 'confirm-no'
  | 'submit'
  | 'cancel'
  | 'delete-char'
  | 'type-text'
  | 'close-view'
  | 'reload-events'
  | 'close-own-view'
  | 'dismiss';

/**
 * Where a binding applies. Panels: `fleet` / `backlog` (when that panel has focus), then
 * `global`. Over the panels, the open modal takes keys first: `modal` (the dialogs at the
 * bottom: confirmations, the filter line, the send editor), `text` (printable keys typed into
 * the filter line or the send editor), `view` (the full views: help, details, events,
 * transitions, spend), `help` / `events` / `transitions` / `spend` (that view only, before `view`), `result`
 * (the receipt and message dialogs).
 */
export type KeyScope = 'global' | 'fleet' | 'backlog' | 'modal' | 'text' | 'view' | 'help' | 'events' | 'transitions' | 'spend' | 'result';

/**
 * What a binding needs before it runs; the dispatcher checks it (a refusal is a notice, or
 * silence where nothing would happen anyway), the hint bar dims a key whose need is unmet,
 * and the help lists it (src/keys/requirements.ts says how each is checked).
 */
export type Requirement =
  /** An agent row is selected. */
  | 'agent'
  /** The selected agent has a live pane (sending to a dead one can only end in a refusal). */
  | 'live-agent'
  /** A live agent is selected and the fleet is not PAUSED (claims are refused while paused). */
  | 'claimable-agent'
  /** The selected agent is `waiting` on a permission prompt read off its screen (the answer key). */
  | 'waiting-agent'
  /** The selected backlog row is a claimed card. */
  | 'claimed-card'
  /** The focused panel has a selected row. */
  | 'selection'
  /** A filter is in use. */
  | 'filter-set'
  /** No action is in flight in the dialog (its result is not in yet). */
  | 'idle';

/** What the help says each requirement needs. */
export const REQUIREMENT_WORDS: Record<Requirement, string> = {
  agent: 'an agent selected',
  'live-agent': 'a selected agent with a live pane',
  'claimable-agent': 'a selected agent with a live pane, fleet not PAUSED',
  'waiting-agent': 'a selected agent waiting on a permission prompt',
  'claimed-card': 'a claimed card selected',
  selection: 'a selected row',
  'filter-set': 'a filter in use',
  idle: 'no action in flight',
};

/**
 * What the keymap says about one command's keys. Key names are those produced by
 * {@link keyNameOf}; `any` matches every key. Only `keys`, `description` and `scope` are
 * required: an optional field is written only on the bindings it applies to.
 */
export interface KeySpec {
  /** The keys, at least one. */
  keys: readonly [string, ...string[]];
  /** What the key does, as the help says it. */
  description: string;
  /** Scopes where the binding applies (several for movement: fleet, backlog and the views). */
  scope: readonly [KeyScope, ...KeyScope[]];
  /** Short label for the status bar, e.g. "pause"; absent = not in the status bar. */
  hint?: string;
  /** How the hint shows its keys when not just the first key (e.g. `↑↓ jk g G` for moving). */
  hintKeys?: string;
  /** The hint goes after the others (the least read ones, e.g. moving). */
  hintLast?: true;
  /** The hint while the fleet is PAUSED (e.g. `resume` for `p`). */
  pausedHint?: string;
  /** Left out of the help screen (every binding is listed unless it says so). */
  showInHelp?: false;
  /** Changes something outside the console (disabled by `--readonly`). */
  mutates?: true;
  /** What must hold for the binding to run (checked by the dispatcher, dimmed in the hints). */
  requires?: Requirement;
  /**
   * For the lifecycle keys: the systemd verb applied to the selected agent's unit
   * (`mosaic-agent@<agent>.service`) after a y/n confirmation. The dispatcher handles
   * every binding that carries one the same way.
   */
  unitVerb?: 'start' | 'stop' | 'restart';
  /**
   * A modal binding that stays a command inside the filter line and the send editor (enter,
   * esc, backspace); every other key is typed there as text.
   */
  inEditor?: true;
  /** Keys of this binding that act even over an open dialog or view (ctrl-c always quits). */
  overDialogs?: readonly string[];
}

/** One binding of the keymap as the dispatcher, the hints and the help read it: its spec with its command, defaults filled in. */
export interface KeyBinding extends Omit<KeySpec, 'hint' | 'showInHelp' | 'mutates'> {
  command: ConsoleCommand;
  /** Short label for the status bar; null = not in the status bar. */
  hint: string | null;
  showInHelp: boolean;
  mutates: boolean;
}

const PANELS = ['fleet', 'backlog'] as const;
/** Movement: the panels' selection, or the open full view's scroll. */
const MOVES = ['fleet', 'backlog', 'view'] as const;

/** The keymap's source type: every command, each with one spec or several (one per scope of different keys). */
export type KeySpecTable = Readonly<Record<ConsoleCommand, KeySpec | readonly [KeySpec, ...KeySpec[]]>>;

/** The answer dialog's keys and the answer each gives. */
const ANSWER_CHOICES = { a: 'allow', d: 'deny' } as const;

/**
 * The keymap's source: every command with its keys (a command with two scopes of different keys
 * carries two specs). Typed over {@link ConsoleCommand}, so a command without keys or a
 * description does not compile. Order is the order of the help screen and the status-bar hints.
 * Conventions after k9s/htop: j/k and arrows move, g/G top/bottom, / filters, ? helps, esc backs
 * out, q quits (closing a dialog first), ctrl-c always quits.
 */
const KEY_SPECS: KeySpecTable = {
  'move-up': { keys: ['up', 'k'], description: 'move the selection up (scroll a view)', scope: MOVES },
  'move-down': {
    keys: ['down', 'j'],
    hint: 'move',
    hintKeys: '↑↓ jk g G',
    hintLast: true,
    description: 'move the selection down (scroll a view)',
    scope: MOVES,
  },
  'page-up': { keys: ['pageup'], description: 'move up one page', scope: MOVES },
  'page-down': { keys: ['pagedown'], description: 'move down one page', scope: MOVES },
  'move-top': { keys: ['g'], description: 'go to the first row (top of a view)', scope: MOVES },
  'move-bottom': { keys: ['G'], description: 'go to the last row (end of a view)', scope: MOVES },
  'switch-focus': { keys: ['tab'], hint: 'focus', description: 'switch focus fleet ⇄ backlog', scope: ['global'] },
  details: { keys: ['enter'], hint: 'details', description: 'details of the selected agent or card', scope: PANELS, requires: 'selection' },
  filter: { keys: ['/'], hint: 'filter', description: 'filter rows by name, class, readiness or flag (esc clears)', scope: ['global'] },
  'clear-filter': { keys: ['escape'], description: 'clear the filter in use', scope: ['global'], requires: 'filter-set' },
  help: { keys: ['?'], hint: 'help', description: 'this help: every binding', scope: ['global'] },
  preview: { keys: ['v'], hint: 'preview', description: "toggle the read-only preview of the selected agent's pane", scope: ['fleet'] },
  watch: {
    keys: ['w'],
    hint: 'watch',
    description: 'watch the agent read-only in tmux (detach to come back)',
    mutates: true,
    scope: ['fleet'],
    requires: 'live-agent',
  },
  send: {
    keys: ['s'],
    hint: 'send',
    description: 'send a message to the agent, verified; shows the receipt',
    mutates: true,
    scope: ['fleet'],
    requires: 'live-agent',
  },
  dispatch: {
    keys: ['c'],
    hint: 'claim',
    description: 'claim the next ready card for the agent and dispatch it',
    mutates: true,
    scope: ['fleet'],
    requires: 'claimable-agent',
  },
  answer: {
    keys: ['a'],
    hint: 'answer',
    description: "answer the agent's permission prompt: shows it, then allow ONCE / deny / cancel; shows the receipt",
    mutates: true,
    scope: ['fleet'],
    requires: 'waiting-agent',
  },
  'unit-restart': {
    keys: ['B'],
    hint: 'restart',
    description: "bounce: restart the agent's unit and wait for a new pane (asks to confirm)",
    mutates: true,
    scope: ['fleet'],
    unitVerb: 'restart',
    requires: 'agent',
  },
  'unit-stop': {
    keys: ['D'],
    hint: 'stop',
    description: "stop the agent's unit: its session goes down (asks to confirm)",
    mutates: true,
    scope: ['fleet'],
    unitVerb: 'stop',
    requires: 'agent',
  },
  'unit-start': {
    keys: ['U'],
    hint: 'start',
    description: "start the agent's unit and wait for its pane (asks to confirm)",
    mutates: true,
    scope: ['fleet'],
    unitVerb: 'start',
    requires: 'agent',
  },
  pause: {
    keys: ['p'],
    hint: 'pause',
    pausedHint: 'resume',
    description: 'pause / resume the whole fleet (asks to confirm)',
    mutates: true,
    scope: ['global'],
  },
  reclaim: { keys: ['R'], hint: 'reclaim', description: 'reclaim expired claims (back to ready)', mutates: true, scope: ['global'] },
  release: {
    keys: ['x'],
    hint: 'release',
    description: 'release the selected claim back to ready, expired or not (asks to confirm)',
    mutates: true,
    scope: ['backlog'],
    requires: 'claimed-card',
  },
  refresh: { keys: ['r'], hint: 'refresh', description: 'refresh now', scope: ['global'] },
  events: { keys: ['e'], hint: 'events', description: 'recent backlog events (claims, receipts, reclaims…)', scope: ['global'] },
  transitions: {
    keys: ['t'],
    hint: 'transitions',
    description: 'fleet transitions, newest first: readiness changes and flags raised/cleared (kept 24 h)',
    scope: ['global'],
  },
  spend: { keys: ['$'], description: "today's spend: agents, windows, pace", scope: ['global'] },
  mute: {
    keys: ['m'],
    description: "mute / unmute the agent's transitions: no notice, bell or desktop notification (still recorded)",
    scope: ['fleet'],
    requires: 'agent',
  },
  quit: { keys: ['q', 'ctrl+c'], overDialogs: ['ctrl+c'], hint: 'quit', description: 'quit (q closes a dialog first; ctrl-c always quits)', scope: ['global'] },
  // Dialogs at the bottom: confirmations and the two one-line editors.
  'confirm-yes': { keys: ['y'], description: 'confirm (pause/resume, claim+dispatch, release, restart/stop/start)', scope: ['modal'], requires: 'idle' },
  'confirm-no': { keys: ['n', 'q'], description: 'decline', scope: ['modal'], requires: 'idle' },
  'answer-choice': {
    keys: Object.keys(ANSWER_CHOICES) as [keyof typeof ANSWER_CHOICES, ...(keyof typeof ANSWER_CHOICES)[]],
    description: 'answer dialog: a allows the tool call ONCE, d denies it',
    scope: ['modal'],
    requires: 'idle',
  },
  submit: { keys: ['enter'], description: 'send the message / apply the filter', scope: ['modal'], inEditor: true },
  cancel: { keys: ['escape'], description: 'close the dialog (clears the filter)', scope: ['modal'], inEditor: true },
  'delete-char': { keys: ['backspace'], description: 'delete the last character', scope: ['modal'], inEditor: true },
  'type-text': { keys: ['any'], description: 'printable keys type into the filter line or the message (q and j too)', scope: ['text'] },
  // Full views (help, details, events, transitions, spend): the movement keys above scroll them.
  'close-view': { keys: ['escape', 'q', 'enter'], description: 'close the view', scope: ['view'] },
  'reload-events': { keys: ['r'], description: 'reload the recent events', scope: ['events'] },
  'close-own-view': [
    { keys: ['?', 'e'], description: 'close the help (?) or the recent events (e) with the key that opened it', scope: ['help', 'events'] },
    { keys: ['t', '$'], description: 'close the transitions (t) or the spend view ($) with the key that opened it', scope: ['transitions', 'spend'] },
  ],
  // The send receipt and result messages.
  dismiss: { keys: ['any'], description: 'any key closes a receipt or result (once it is in)', scope: ['result'], requires: 'idle' },
};

/** A spec with its command and the defaults of its optional fields. */
function bindingOf(command: ConsoleCommand, spec: KeySpec): KeyBinding {
  return { ...spec, command, hint: spec.hint ?? null, showInHelp: spec.showInHelp ?? true, mutates: spec.mutates ?? false };
}

/**
 * The keymap: every key that works anywhere, one binding per spec of {@link KEY_SPECS}, in its
 * order (the help screen's and the status-bar hints').
 */
export const KEYMAP: readonly KeyBinding[] = (Object.entries(KEY_SPECS) as [ConsoleCommand, KeySpec | readonly KeySpec[]][]).flatMap(([command, spec]) =>
  (Array.isArray(spec) ? (spec as readonly KeySpec[]) : [spec as KeySpec]).map((one) => bindingOf(command, one)),
);

/** The answer a key of the answer dialog gives (`a` allow once, `d` deny), or null for another key. */
export function answerChoiceOf(keyName: string): 'allow' | 'deny' | null {
  return Object.hasOwn(ANSWER_CHOICES, keyName) ? ANSWER_CHOICES[keyName as keyof typeof ANSWER_CHOICES] : null;
}

/** True for a key that acts even over an open dialog or view (a binding's `overDialogs`: ctrl-c quits). */
export function actsOverDialogs(keyName: string): boolean {
  return KEYMAP.some((b) => b.overDialogs?.includes(keyName));
}

/** The movement commands: they move the panels' selection, or scroll the open full view. */
const MOVE_COMMANDS: ReadonlySet<ConsoleCommand> = new Set(['move-up', 'move-down', 'page-up', 'page-down', 'move-top', 'move-bottom']);

/**
 * True for a named (non-printable) movement key (arrows, PgUp/PgDn): it moves the panel even
 * while the filter line is open, where the printable ones (j, k, g, G) are typed.
 */
export function isNamedMoveKey(keyName: string): boolean {
  const binding = bindingFor(keyName, 'fleet');
  return isNamedKey(keyName) && binding !== undefined && MOVE_COMMANDS.has(binding.command);
}

/** Names {@link keyNameOf} gives the keys that are not text (arrows, enter, esc, tab, backspace). */
const NAMED_KEYS: ReadonlySet<string> = new Set(['up', 'down', 'pageup', 'pagedown', 'enter', 'escape', 'tab', 'backspace']);

/** True for a key name of a non-printable key (`up`, `enter`, `escape` …): never typed as text. */
export function isNamedKey(keyName: string): boolean {
  return NAMED_KEYS.has(keyName);
}

/** Key name that matches every key in a binding's `keys`. */
export const ANY_KEY = 'any';

/** How a key name is shown to the operator: `up` ⇒ `↑`, `ctrl+c` ⇒ `ctrl-c`. */
export function displayKey(name: string): string {
  const names: Record<string, string> = {
    up: '↑',
    down: '↓',
    pageup: 'PgUp',
    pagedown: 'PgDn',
    enter: 'enter',
    escape: 'esc',
    tab: 'tab',
    backspace: 'bksp',
    'ctrl+c': 'ctrl-c',
    any: 'any key',
  };
  return names[name] ?? name;
}

/** The binding of `keyName` in `scope` (a binding of its own key first, then one of `any`), or undefined. */
export function bindingFor(keyName: string, scope: KeyScope, keymap: readonly KeyBinding[] = KEYMAP): KeyBinding | undefined {
  return keymap.find((b) => b.scope.includes(scope) && b.keys.includes(keyName)) ?? keymap.find((b) => b.scope.includes(scope) && b.keys.includes(ANY_KEY));
}

/** The subset of Ink's `Key` object the dispatcher reads. */
export interface InkKeyFlags {
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  return?: boolean;
  escape?: boolean;
  ctrl?: boolean;
  shift?: boolean;
  tab?: boolean;
  backspace?: boolean;
  delete?: boolean;
  meta?: boolean;
}

/**
 * Names one key press from Ink's `useInput(input, key)`: `up`, `down`, `pageup`, `pagedown`,
 * `enter`, `escape`, `tab`, `backspace`, `ctrl+<letter>`, or the printable character itself
 * (case kept: `G` ≠ `g`). Returns null for presses the console ignores.
 */
export function keyNameOf(input: string, key: InkKeyFlags): string | null {
  if (key.upArrow) return 'up';
  if (key.downArrow) return 'down';
  if (key.pageUp) return 'pageup';
  if (key.pageDown) return 'pagedown';
  if (key.return) return 'enter';
  if (key.escape) return 'escape';
  if (key.tab && !key.shift) return 'tab';
  if (key.backspace || key.delete) return 'backspace';
  if (key.leftArrow || key.rightArrow) return null;
  if (key.ctrl && input.length === 1) return `ctrl+${input.toLowerCase()}`;
  if (key.meta) return null;
  if (input.length >= 1) return input;
  return null;
}

/**
 * Splits a chunk of typed input that arrived in one read ("jj", "/a2\rw" — fast typing or
 * tmux send-keys) into single key presses: printable characters stay as they are, CR/LF ⇒
 * `enter`, TAB ⇒ `tab`, DEL/BS ⇒ `backspace`, ETX ⇒ `ctrl+c`; other control characters
 * (including a stray ESC) are dropped.
 */
export function splitKeyChunk(chunk: string): { name: string; input: string }[] {
  const out: { name: string; input: string }[] = [];
  for (const ch of Array.from(chunk)) {
    if (ch === '\r' || ch === '\n') out.push({ name: 'enter', input: ch });
    else if (ch === '\t') out.push({ name: 'tab', input: ch });
    else if (ch === '\u007f' || ch === '\b') out.push({ name: 'backspace', input: '' });
    else if (ch === '\u0003') out.push({ name: 'ctrl+c', input: 'c' });
    else if (isControlCharacter(ch)) continue;
    else out.push({ name: ch, input: ch });
  }
  return out;
}

/**
 * The key presses in one Ink `useInput` call, in order. Usually one; more when keys arrived
 * in one chunk: "jj" ⇒ j, j; an ESC glued to the next key (Ink reports meta+j) ⇒ escape, j;
 * a bare control character Ink did not name ("\u0003" after an ESC) ⇒ ctrl+c.
 */
export function keyPressesOf(input: string, key: InkKeyFlags): { name: string; input: string }[] {
  if (key.meta && !key.escape && !key.ctrl && input.length > 0) {
    return [{ name: 'escape', input: '' }, ...splitKeyChunk(input)];
  }
  const name = keyNameOf(input, key);
  if (!name) return [];
  if (name === input && (input.length > 1 || isControlCharacter(input, false))) return splitKeyChunk(input);
  return [{ name, input }];
}
