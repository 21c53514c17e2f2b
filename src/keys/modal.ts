/**
 * The open modal's keys: one handler per open-view kind (the editors, each confirmation, the
 * full views, the result dialogs). A key goes here first; a key the modal does not take goes on
 * to the panels (src/keys/panel.ts). Every binding and precondition comes from the keymap data.
 * Pure of React.
 */
import {
  actsOverDialogs,
  answerChoiceOf,
  bindingFor,
  isNamedKey,
  isNamedMoveKey,
  type ConsoleCommand,
  type KeyBinding,
  type KeyScope,
} from '../view/keymap.js';
import { hasControlCharacters, sanitizeLine } from '../../lib/sanitize.js';
import type { ConsoleState, ConsoleStore } from '../store/index.js';
import { selectedClaimedCard } from '../store/selectors.js';
import { openPending } from '../store/ui-slice.js';
import type { OpenView } from '../store/state.js';
import { modalLineCount } from '../view/rows.js';
import { withAgent } from './panel.js';
import { refuseUnmet } from './refusals.js';
import type { ConsoleActions, KeyPress, ViewSize } from './types.js';

/** The kinds of what can be open over the panels. */
type ModalKind = Exclude<OpenView['kind'], 'none'>;

/** What a modal handler runs with: the key, its command, and what is open (narrowed to the handler's kind). */
interface ModalContext<K extends ModalKind> {
  command: ConsoleCommand;
  press: KeyPress;
  store: ConsoleStore;
  s: ConsoleState;
  open: Extract<OpenView, { kind: K }>;
  actions: ConsoleActions;
  view: ViewSize;
}

/** One open-view kind's keys: the scopes it reads them from (most specific first) and what its commands do. */
interface ModalHandler<K extends ModalKind> {
  scopes: readonly KeyScope[];
  run: (c: ModalContext<K>) => void;
}

/** True for a press that types text: printable input, not a named key (arrows, enter, esc …). */
function isText(press: KeyPress): boolean {
  return press.input.length > 0 && !hasControlCharacters(press.input) && !isNamedKey(press.name);
}

/** A confirmation's y / n / esc / enter: `yes` runs on y; n and esc close it and say `cancelled` (`enter` closes it silently). */
function confirmation<K extends ModalKind>(cancelled: (open: Extract<OpenView, { kind: K }>) => string, yes: (c: ModalContext<K>) => void): ModalHandler<K> {
  return {
    scopes: ['modal'],
    run: (c) => {
      if (c.command === 'confirm-yes') return yes(c);
      if (c.command === 'confirm-no' || c.command === 'cancel') {
        c.s.closeModal();
        c.s.pushNotice(cancelled(c.open));
      } else if (c.command === 'submit') c.s.closeModal();
    },
  };
}

/** Closes the confirmation with a warning: the agent it named is gone, or the console cannot act. */
function refuseInDialog(s: ConsoleState, text: string): void {
  s.closeModal();
  s.pushNotice(sanitizeLine(text), 'warn');
}

/** A full view (help, details, events, transitions, spend): the movement keys scroll it, its closing keys close it. */
function fullView<K extends ModalKind>(own: KeyScope | null): ModalHandler<K> {
  return {
    scopes: own ? [own, 'view'] : ['view'],
    run: ({ command, s, actions, view }) => {
      const page = Math.max(1, view.viewLines - 1);
      const scroll = (delta: number | 'top') => s.scrollModal(delta, modalLineCount(s), view.viewLines);
      const moves: Partial<Record<ConsoleCommand, number | 'top'>> = {
        'move-up': -1,
        'move-down': 1,
        'page-up': -page,
        'page-down': page,
        'move-top': 'top',
        'move-bottom': 10_000,
      };
      const move = moves[command];
      if (move !== undefined) scroll(move);
      else if (command === 'reload-events' && actions.loadEvents) void actions.loadEvents();
      else if (command === 'close-view' || command === 'close-own-view') s.closeModal();
    },
  };
}

/** A receipt or message dialog: any key closes it once the result is in. */
function resultDialog<K extends ModalKind>(): ModalHandler<K> {
  return { scopes: ['result'], run: ({ command, s }) => (command === 'dismiss' ? s.closeModal() : undefined) };
}

/** The answer dialog's y / n / esc / enter (its own keys, a and d, answer). */
const ANSWER_DIALOG_KEYS = confirmation<'confirm-answer'>(
  () => 'answer cancelled: nothing typed',
  () => {},
);

/** The keys of each open-view kind. */
const MODAL_HANDLERS: { [K in ModalKind]: ModalHandler<K> } = {
  filter: {
    scopes: ['modal', 'text'],
    run: ({ command, press, s }) => {
      if (command === 'type-text' && isText(press)) s.setFilter(s.ui.filter + press.input);
      else if (command === 'delete-char') s.setFilter(s.ui.filter.slice(0, -1));
      else if (command === 'cancel') s.setFilter('');
      if (command === 'submit' || command === 'cancel') s.closeModal();
    },
  },
  'send-editor': {
    scopes: ['modal', 'text'],
    run: ({ command, press, store, s, open, actions }) => {
      if (command === 'type-text' && isText(press)) s.setDraft(open.draft + press.input);
      else if (command === 'delete-char') s.setDraft(open.draft.slice(0, -1));
      else if (command === 'cancel') s.closeModal();
      else if (command === 'submit' && !open.draft.trim()) refuseInDialog(s, 'send: empty message, nothing sent');
      else if (command === 'submit') withAgent(store, 'send', (agent) => void actions.send(agent, open.draft));
    },
  },
  'confirm-pause': confirmation(
    () => 'pause/resume cancelled',
    ({ actions }) => void actions.pauseOrResume(),
  ),
  'confirm-dispatch': confirmation(
    () => 'claim cancelled',
    ({ store, actions }) => withAgent(store, 'claim', (agent) => void actions.dispatch(agent)),
  ),
  'confirm-release': confirmation(
    () => 'release cancelled',
    ({ s, actions }) => {
      const card = selectedClaimedCard(s);
      if (card) void actions.release(card);
      else refuseInDialog(s, 'release: select a claimed card (C) in the backlog panel');
    },
  ),
  'confirm-unit': confirmation(
    (open) => `${open.verb} cancelled`,
    ({ s, open, actions }) => {
      const agent = s.fleet.snapshot?.agents.find((a) => a.name === open.agent);
      if (!agent) refuseInDialog(s, `${open.verb}: ${open.agent} is no longer in the roster`);
      else if (!actions.unitAction) refuseInDialog(s, `${open.verb}: not available in this console`);
      else void actions.unitAction(agent, open.verb);
    },
  ),
  'confirm-answer': {
    scopes: ['modal'],
    run: (c) => {
      if (c.command !== 'answer-choice') return ANSWER_DIALOG_KEYS.run(c);
      const { press, s, open, actions } = c;
      const choice = answerChoiceOf(press.name);
      const agent = s.fleet.snapshot?.agents.find((a) => a.name === open.agent);
      if (!agent) refuseInDialog(s, `answer: ${open.agent} is no longer in the roster`);
      else if (!actions.answer) refuseInDialog(s, 'answer: not available in this console');
      else if (choice) void actions.answer(agent, choice, open.prompt.id);
    },
  },
  help: fullView('help'),
  events: fullView('events'),
  transitions: fullView('transitions'),
  spend: fullView('spend'),
  details: fullView(null),
  receipt: resultDialog(),
  message: resultDialog(),
};

/**
 * The binding `press` has in what is open, or undefined. In the editors only their own keys
 * (the `inEditor` bindings: enter, esc, backspace) are commands: every other key is text.
 */
function modalBinding(press: KeyPress, open: Exclude<OpenView, { kind: 'none' }>): KeyBinding | undefined {
  const isEditor = open.kind === 'filter' || open.kind === 'send-editor';
  for (const scope of MODAL_HANDLERS[open.kind].scopes) {
    const binding = bindingFor(press.name, scope);
    if (binding && !(isEditor && binding.scope.includes('modal') && !binding.inEditor)) return binding;
  }
  return undefined;
}

/**
 * Runs the modal binding for what is open; false when the key is not the modal's (it goes on
 * to the panels): nothing is open, the key acts over dialogs (ctrl-c), an action is in flight
 * (its dialog shows only a label: `q` still quits, `?` still helps), or a named movement key
 * while the filter line is open (the panel moves while filtering). Keys with no binding in a
 * modal are swallowed (true): they never reach the panels behind it. `refuseUnmet` checks the
 * binding's precondition (src/keys/refusals.ts).
 */
export function handleModal(press: KeyPress, store: ConsoleStore, actions: ConsoleActions, view: ViewSize): boolean {
  const s = store.getState();
  const open = s.ui.open;
  if (open.kind === 'none' || actsOverDialogs(press.name) || openPending(open)) return false;
  if (open.kind === 'filter' && isNamedMoveKey(press.name)) return false;
  const binding = modalBinding(press, open);
  if (!binding || refuseUnmet(store, binding)) return true;
  const handler = MODAL_HANDLERS[open.kind] as ModalHandler<typeof open.kind>;
  handler.run({ command: binding.command, press, store, s, open, actions, view });
  return true;
}
