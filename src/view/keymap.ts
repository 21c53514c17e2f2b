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

/** One binding of the keymap. Key names are those produced by {@link keyNameOf}; `any` matches every key. */
export interface KeyBinding {
  command: ConsoleCommand;
  keys: readonly string[];
  /** Short label for the status bar, e.g. "pause"; null = not in the status bar. */
  hint: string | null;
  /** How the hint shows its keys when not just the first key (e.g. `↑↓ jk g G` for moving). */
  hintKeys?: string;
  /** The hint goes after the others (the least read ones, e.g. moving). */
  hintLast?: boolean;
  /** The hint while the fleet is PAUSED (e.g. `resume` for `p`). */
  pausedHint?: string;
  description: string;
  showInHelp: boolean;
  /** Changes something outside the console (disabled by `--readonly`). */
  mutates: boolean;
  /** Scopes where the binding applies (several for movement: fleet and backlog). */
  scope: readonly KeyScope[];
  /** What must hold for the binding to run (checked by the dispatcher, dimmed in the hints). */
  requires?: Requirement;
  /**
   * For the lifecycle keys: the systemd verb applied to the selected agent's unit
   * (`mosaic-agent@<agent>.service`) after a y/n confirmation. The dispatcher handles
   * every binding that carries one the same way.
   */
  unitVerb?: 'start' | 'stop' | 'restart';
}

const PANELS: readonly KeyScope[] = ['fleet', 'backlog'];
/** Movement: the panels' selection, or the open full view's scroll. */
const MOVES: readonly KeyScope[] = ['fleet', 'backlog', 'view'];

/**
 * The keymap: every key that works anywhere. Order is the order of the help screen and the
 * status-bar hints. Conventions after k9s/htop: j/k and arrows move, g/G top/bottom, / filters,
 * ? helps, esc backs out, q quits (closing a dialog first), ctrl-c always quits.
 */
export const KEYMAP: readonly KeyBinding[] = [
  { command: 'move-up', keys: ['up', 'k'], hint: null, description: 'move the selection up (scroll a view)', showInHelp: true, mutates: false, scope: MOVES },
  {
    command: 'move-down',
    keys: ['down', 'j'],
    hint: 'move',
    hintKeys: '↑↓ jk g G',
    hintLast: true,
    description: 'move the selection down (scroll a view)',
    showInHelp: true,
    mutates: false,
    scope: MOVES,
  },
  { command: 'page-up', keys: ['pageup'], hint: null, description: 'move up one page', showInHelp: true, mutates: false, scope: MOVES },
  { command: 'page-down', keys: ['pagedown'], hint: null, description: 'move down one page', showInHelp: true, mutates: false, scope: MOVES },
  { command: 'move-top', keys: ['g'], hint: null, description: 'go to the first row (top of a view)', showInHelp: true, mutates: false, scope: MOVES },
  { command: 'move-bottom', keys: ['G'], hint: null, description: 'go to the last row (end of a view)', showInHelp: true, mutates: false, scope: MOVES },
  { command: 'switch-focus', keys: ['tab'], hint: 'focus', description: 'switch focus fleet ⇄ backlog', showInHelp: true, mutates: false, scope: ['global'] },
  {
    command: 'details',
    keys: ['enter'],
    hint: 'details',
    description: 'details of the selected agent or card',
    showInHelp: true,
    mutates: false,
    scope: PANELS,
    requires: 'selection',
  },
  {
    command: 'filter',
    keys: ['/'],
    hint: 'filter',
    description: 'filter rows by name, class, readiness or flag (esc clears)',
    showInHelp: true,
    mutates: false,
    scope: ['global'],
  },
  {
    command: 'clear-filter',
    keys: ['escape'],
    hint: null,
    description: 'clear the filter in use',
    showInHelp: true,
    mutates: false,
    scope: ['global'],
    requires: 'filter-set',
  },
  { command: 'help', keys: ['?'], hint: 'help', description: 'this help: every binding', showInHelp: true, mutates: false, scope: ['global'] },
  {
    command: 'preview',
    keys: ['v'],
    hint: 'preview',
    description: "toggle the read-only preview of the selected agent's pane",
    showInHelp: true,
    mutates: false,
    scope: ['fleet'],
  },
  {
    command: 'watch',
    keys: ['w'],
    hint: 'watch',
    description: 'watch the agent read-only in tmux (detach to come back)',
    showInHelp: true,
    mutates: true,
    scope: ['fleet'],
    requires: 'live-agent',
  },
  {
    command: 'send',
    keys: ['s'],
    hint: 'send',
    description: 'send a message to the agent, verified; shows the receipt',
    showInHelp: true,
    mutates: true,
    scope: ['fleet'],
    requires: 'live-agent',
  },
  {
    command: 'dispatch',
    keys: ['c'],
    hint: 'claim',
    description: 'claim the next ready card for the agent and dispatch it',
    showInHelp: true,
    mutates: true,
    scope: ['fleet'],
    requires: 'claimable-agent',
  },
  {
    command: 'answer',
    keys: ['a'],
    hint: 'answer',
    description: "answer the agent's permission prompt: shows it, then allow ONCE / deny / cancel; shows the receipt",
    showInHelp: true,
    mutates: true,
    scope: ['fleet'],
    requires: 'waiting-agent',
  },
  {
    command: 'unit-restart',
    keys: ['B'],
    hint: 'restart',
    description: "bounce: restart the agent's unit and wait for a new pane (asks to confirm)",
    showInHelp: true,
    mutates: true,
    scope: ['fleet'],
    unitVerb: 'restart',
    requires: 'agent',
  },
  {
    command: 'unit-stop',
    keys: ['D'],
    hint: 'stop',
    description: "stop the agent's unit: its session goes down (asks to confirm)",
    showInHelp: true,
    mutates: true,
    scope: ['fleet'],
    unitVerb: 'stop',
    requires: 'agent',
  },
  {
    command: 'unit-start',
    keys: ['U'],
    hint: 'start',
    description: "start the agent's unit and wait for its pane (asks to confirm)",
    showInHelp: true,
    mutates: true,
    scope: ['fleet'],
    unitVerb: 'start',
    requires: 'agent',
  },
  {
    command: 'pause',
    keys: ['p'],
    hint: 'pause',
    pausedHint: 'resume',
    description: 'pause / resume the whole fleet (asks to confirm)',
    showInHelp: true,
    mutates: true,
    scope: ['global'],
  },
  {
    command: 'reclaim',
    keys: ['R'],
    hint: 'reclaim',
    description: 'reclaim expired claims (back to ready)',
    showInHelp: true,
    mutates: true,
    scope: ['global'],
  },
  {
    command: 'release',
    keys: ['x'],
    hint: 'release',
    description: 'release the selected claim back to ready, expired or not (asks to confirm)',
    showInHelp: true,
    mutates: true,
    scope: ['backlog'],
    requires: 'claimed-card',
  },
  { command: 'refresh', keys: ['r'], hint: 'refresh', description: 'refresh now', showInHelp: true, mutates: false, scope: ['global'] },
  {
    command: 'events',
    keys: ['e'],
    hint: 'events',
    description: 'recent backlog events (claims, receipts, reclaims…)',
    showInHelp: true,
    mutates: false,
    scope: ['global'],
  },
  {
    command: 'transitions',
    keys: ['t'],
    hint: 'transitions',
    description: 'fleet transitions, newest first: readiness changes and flags raised/cleared (kept 24 h)',
    showInHelp: true,
    mutates: false,
    scope: ['global'],
  },
  { command: 'spend', keys: ['$'], hint: null, description: "today's spend: agents, windows, pace", showInHelp: true, mutates: false, scope: ['global'] },
  {
    command: 'mute',
    keys: ['m'],
    hint: null,
    description: "mute / unmute the agent's transitions: no notice, bell or desktop notification (still recorded)",
    showInHelp: true,
    mutates: false,
    scope: ['fleet'],
    requires: 'agent',
  },
  {
    command: 'quit',
    keys: ['q', 'ctrl+c'],
    hint: 'quit',
    description: 'quit (q closes a dialog first; ctrl-c always quits)',
    showInHelp: true,
    mutates: false,
    scope: ['global'],
  },
  // Dialogs at the bottom: confirmations and the two one-line editors.
  {
    command: 'confirm-yes',
    keys: ['y'],
    hint: null,
    description: 'confirm (pause/resume, claim+dispatch, release, restart/stop/start)',
    showInHelp: true,
    mutates: false,
    scope: ['modal'],
    requires: 'idle',
  },
  { command: 'confirm-no', keys: ['n', 'q'], hint: null, description: 'decline', showInHelp: true, mutates: false, scope: ['modal'], requires: 'idle' },
  {
    command: 'answer-choice',
    keys: ['a', 'd'],
    hint: null,
    description: 'answer dialog: a allows the tool call ONCE, d denies it',
    showInHelp: true,
    mutates: false,
    scope: ['modal'],
    requires: 'idle',
  },
  { command: 'submit', keys: ['enter'], hint: null, description: 'send the message / apply the filter', showInHelp: true, mutates: false, scope: ['modal'] },
  { command: 'cancel', keys: ['escape'], hint: null, description: 'close the dialog (clears the filter)', showInHelp: true, mutates: false, scope: ['modal'] },
  { command: 'delete-char', keys: ['backspace'], hint: null, description: 'delete the last character', showInHelp: true, mutates: false, scope: ['modal'] },
  {
    command: 'type-text',
    keys: ['any'],
    hint: null,
    description: 'printable keys type into the filter line or the message (q and j too)',
    showInHelp: true,
    mutates: false,
    scope: ['text'],
  },
  // Full views (help, details, events, transitions, spend): the movement keys above scroll them.
  { command: 'close-view', keys: ['escape', 'q', 'enter'], hint: null, description: 'close the view', showInHelp: true, mutates: false, scope: ['view'] },
  { command: 'reload-events', keys: ['r'], hint: null, description: 'reload the recent events', showInHelp: true, mutates: false, scope: ['events'] },
  {
    command: 'close-own-view',
    keys: ['?', 'e'],
    hint: null,
    description: 'close the help (?) or the recent events (e) with the key that opened it',
    showInHelp: true,
    mutates: false,
    scope: ['help', 'events'],
  },
  {
    command: 'close-own-view',
    keys: ['t', '$'],
    hint: null,
    description: 'close the transitions (t) or the spend view ($) with the key that opened it',
    showInHelp: true,
    mutates: false,
    scope: ['transitions', 'spend'],
  },
  // The send receipt and result messages.
  {
    command: 'dismiss',
    keys: ['any'],
    hint: null,
    description: 'any key closes a receipt or result (once it is in)',
    showInHelp: true,
    mutates: false,
    scope: ['result'],
    requires: 'idle',
  },
];

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
