/**
 * The console's keymap as data (spec §8; k9s/htop conventions). ONE table drives the input
 * dispatcher, the status-bar hints and the help screen, so they can never disagree.
 * Pure: no React, no I/O.
 */

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
  | 'unit-restart'
  | 'unit-stop'
  | 'unit-start'
  | 'pause'
  | 'reclaim'
  | 'release'
  | 'refresh'
  | 'events'
  | 'transitions'
  | 'mute'
  | 'quit'
  | 'confirm-yes'
  | 'confirm-no'
  | 'submit'
  | 'cancel'
  | 'delete-char';

/**
 * Where a binding applies: `global` (always, after modal and panel), `fleet` / `backlog`
 * (when that panel has focus), `modal` (inside dialogs: confirm, editor, help, details, events).
 */
export type KeyScope = 'global' | 'fleet' | 'backlog' | 'modal';

/** One binding of the keymap. Key names are those produced by {@link keyNameOf}. */
export interface KeyBinding {
  command: ConsoleCommand;
  keys: readonly string[];
  /** Short label for the status bar, e.g. "pause"; null = not in the status bar. */
  hint: string | null;
  description: string;
  showInHelp: boolean;
  /** Changes something outside the console (disabled by `--readonly`). */
  mutates: boolean;
  /** Scopes where the binding applies (several for movement: fleet and backlog). */
  scope: readonly KeyScope[];
  /**
   * For the lifecycle keys: the systemd verb applied to the selected agent's unit
   * (`mosaic-agent@<agent>.service`) after a y/n confirmation (spec §13). The dispatcher handles
   * every binding that carries one the same way.
   */
  unitVerb?: 'start' | 'stop' | 'restart';
}

const PANELS: readonly KeyScope[] = ['fleet', 'backlog'];

/** The keymap (spec §8). Order is the order of the help screen and the status-bar hints. */
export const KEYMAP: readonly KeyBinding[] = [
  { command: 'move-up', keys: ['up', 'k'], hint: null, description: 'move the selection up', showInHelp: true, mutates: false, scope: PANELS },
  { command: 'move-down', keys: ['down', 'j'], hint: null, description: 'move the selection down', showInHelp: true, mutates: false, scope: PANELS },
  { command: 'page-up', keys: ['pageup'], hint: null, description: 'move up one page', showInHelp: true, mutates: false, scope: PANELS },
  { command: 'page-down', keys: ['pagedown'], hint: null, description: 'move down one page', showInHelp: true, mutates: false, scope: PANELS },
  { command: 'move-top', keys: ['g'], hint: null, description: 'go to the first row', showInHelp: true, mutates: false, scope: PANELS },
  { command: 'move-bottom', keys: ['G'], hint: null, description: 'go to the last row', showInHelp: true, mutates: false, scope: PANELS },
  { command: 'switch-focus', keys: ['tab'], hint: 'focus', description: 'switch focus fleet ⇄ backlog', showInHelp: true, mutates: false, scope: ['global'] },
  { command: 'details', keys: ['enter'], hint: 'details', description: 'details of the selected agent or card', showInHelp: true, mutates: false, scope: PANELS },
  { command: 'filter', keys: ['/'], hint: 'filter', description: 'filter rows by name, class, readiness or flag (esc clears)', showInHelp: true, mutates: false, scope: ['global'] },
  { command: 'clear-filter', keys: ['escape'], hint: null, description: 'clear the filter in use', showInHelp: true, mutates: false, scope: ['global'] },
  { command: 'help', keys: ['?'], hint: 'help', description: 'this help: every binding', showInHelp: true, mutates: false, scope: ['global'] },
  { command: 'preview', keys: ['v'], hint: 'preview', description: "toggle the read-only preview of the selected agent's pane", showInHelp: true, mutates: false, scope: ['fleet'] },
  { command: 'watch', keys: ['w'], hint: 'watch', description: 'watch the agent read-only in tmux (detach to come back)', showInHelp: true, mutates: true, scope: ['fleet'] },
  { command: 'send', keys: ['s'], hint: 'send', description: 'send a message to the agent, verified; shows the receipt', showInHelp: true, mutates: true, scope: ['fleet'] },
  { command: 'dispatch', keys: ['c'], hint: 'claim', description: 'claim the next ready card for the agent and dispatch it', showInHelp: true, mutates: true, scope: ['fleet'] },
  { command: 'unit-restart', keys: ['B'], hint: 'restart', description: "bounce: restart the agent's unit and wait for a new pane (asks to confirm)", showInHelp: true, mutates: true, scope: ['fleet'], unitVerb: 'restart' },
  { command: 'unit-stop', keys: ['D'], hint: 'stop', description: "stop the agent's unit: its session goes down (asks to confirm)", showInHelp: true, mutates: true, scope: ['fleet'], unitVerb: 'stop' },
  { command: 'unit-start', keys: ['U'], hint: 'start', description: "start the agent's unit and wait for its pane (asks to confirm)", showInHelp: true, mutates: true, scope: ['fleet'], unitVerb: 'start' },
  { command: 'pause', keys: ['p'], hint: 'pause', description: 'pause / resume the whole fleet (asks to confirm)', showInHelp: true, mutates: true, scope: ['global'] },
  { command: 'reclaim', keys: ['R'], hint: 'reclaim', description: 'reclaim expired claims (back to ready)', showInHelp: true, mutates: true, scope: ['global'] },
  { command: 'release', keys: ['x'], hint: 'release', description: 'release the selected claim back to ready, expired or not (asks to confirm)', showInHelp: true, mutates: true, scope: ['backlog'] },
  { command: 'refresh', keys: ['r'], hint: 'refresh', description: 'refresh now', showInHelp: true, mutates: false, scope: ['global'] },
  { command: 'events', keys: ['e'], hint: 'events', description: 'recent backlog events (claims, receipts, reclaims…)', showInHelp: true, mutates: false, scope: ['global'] },
  { command: 'transitions', keys: ['t'], hint: 'transitions', description: 'fleet transitions, newest first: readiness changes and flags raised/cleared (kept 24 h)', showInHelp: true, mutates: false, scope: ['global'] },
  { command: 'mute', keys: ['m'], hint: null, description: "mute / unmute the agent's transitions: no notice, bell or desktop notification (still recorded)", showInHelp: true, mutates: false, scope: ['fleet'] },
  { command: 'quit', keys: ['q', 'ctrl+c'], hint: 'quit', description: 'quit (q closes a dialog first; ctrl-c always quits)', showInHelp: true, mutates: false, scope: ['global'] },
  { command: 'confirm-yes', keys: ['y'], hint: null, description: 'confirm (pause/resume, claim+dispatch, release, restart/stop/start)', showInHelp: true, mutates: false, scope: ['modal'] },
  { command: 'confirm-no', keys: ['n'], hint: null, description: 'decline', showInHelp: true, mutates: false, scope: ['modal'] },
  { command: 'submit', keys: ['enter'], hint: null, description: 'send the message / apply the filter', showInHelp: true, mutates: false, scope: ['modal'] },
  { command: 'cancel', keys: ['escape'], hint: null, description: 'close the dialog (clears the filter)', showInHelp: true, mutates: false, scope: ['modal'] },
  { command: 'delete-char', keys: ['backspace'], hint: null, description: 'delete the last character', showInHelp: true, mutates: false, scope: ['modal'] },
];

/** How a key name is shown to the operator: `up` ⇒ `↑`, `ctrl+c` ⇒ `ctrl-c`. */
export function displayKey(name: string): string {
  const names: Record<string, string> = {
    up: '↑', down: '↓', pageup: 'PgUp', pagedown: 'PgDn', enter: 'enter', escape: 'esc',
    tab: 'tab', backspace: 'bksp', 'ctrl+c': 'ctrl-c',
  };
  return names[name] ?? name;
}

/** The binding of `keyName` in `scope`, or undefined. */
export function bindingFor(keyName: string, scope: KeyScope, keymap: readonly KeyBinding[] = KEYMAP): KeyBinding | undefined {
  return keymap.find((b) => b.scope.includes(scope) && b.keys.includes(keyName));
}

/** The subset of Ink's `Key` object the dispatcher reads. */
export interface InkKeyFlags {
  upArrow?: boolean; downArrow?: boolean; leftArrow?: boolean; rightArrow?: boolean;
  pageUp?: boolean; pageDown?: boolean; return?: boolean; escape?: boolean; ctrl?: boolean;
  shift?: boolean; tab?: boolean; backspace?: boolean; delete?: boolean; meta?: boolean;
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
    else if (/[\u0000-\u001f\u007f-\u009f]/.test(ch)) continue;
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
  if (name === input && (input.length > 1 || /[\u0000-\u001f\u007f]/.test(input))) return splitKeyChunk(input);
  return [{ name, input }];
}
