/**
 * The ONE input dispatcher: a key press goes to the open modal first, then
 * to the focused panel (fleet or backlog), then to the global bindings; the first layer that
 * consumes it wins. Every binding comes from the keymap data (src/view/keymap.ts), and so does
 * every precondition (checked here through src/keys/requirements.ts). `--readonly` refuses
 * mutating commands here, and says so. Pure of React: hooks/useKeymapDispatcher
 * only adapts Ink's useInput to {@link dispatchKey}.
 */
import { bindingFor, displayKey, type KeyBinding, type KeyScope } from '../view/keymap.js';
import { unmetRequirement } from './requirements.js';
import { hasControlCharacters, sanitizeLine } from '../../lib/sanitize.js';
import type { AgentRow } from '../snapshot/types.js';
import type { ConsoleState, ConsoleStore } from '../store/index.js';
import type { ClaimedCardView } from '../../backlog/snapshot.js';
import { selectedAgentRow, selectedClaimedCard } from '../store/selectors.js';
import { DEFAULT_PAGE_ROWS, openPending } from '../store/ui-slice.js';
import type { OpenView } from '../store/state.js';
import { modalLineCount } from '../view/rows.js';

/** Side effects the dispatcher can ask for; implemented in src/keys/commands.ts. */
export interface ConsoleActions {
  quit: () => void;
  refresh: () => void;
  togglePreview: () => void;
  watch: (agent: AgentRow) => void;
  /** Pauses a running fleet or resumes a paused one (after the operator confirmed). */
  pauseOrResume: () => Promise<void>;
  send: (agent: AgentRow, message: string) => Promise<void>;
  dispatch: (agent: AgentRow) => Promise<void>;
  reclaim: () => Promise<void>;
  /** Releases one claim back to ready (backlog reclaim by id), after the operator confirmed. */
  release: (card: ClaimedCardView) => Promise<void>;
  /** Loads the full card (body, acceptance, deps) for the details view, when a backlog client exists. */
  loadCardDetails?: (cardId: string) => Promise<void>;
  /** Loads the most recent backlog events (newest first) into the store for the events view. */
  loadEvents?: () => Promise<void>;
  /**
   * Starts, stops or restarts `agent`'s unit (after the operator confirmed) and shows the
   * result in place; absent where the console cannot act on units (then the keys say so).
   */
  unitAction?: (agent: AgentRow, verb: 'start' | 'stop' | 'restart') => Promise<void>;
  /**
   * Answers `agent`'s permission prompt (allow once / deny) — only the prompt with `promptId`,
   * the one the dialog showed — and shows the receipt in place (src/actions/answer.ts).
   */
  answer?: (agent: AgentRow, choice: 'allow' | 'deny', promptId: string) => Promise<void>;
}

/** One key press: its name (see keyNameOf) and the raw text Ink gave (for text entry). */
export interface KeyPress {
  name: string;
  input: string;
}

/** Which layer consumed a key, or null when none did. */
export type DispatchLayer = 'modal' | 'fleet' | 'backlog' | 'global' | null;

function isText(press: KeyPress): boolean {
  return (
    press.input.length > 0 &&
    !hasControlCharacters(press.input) &&
    !['up', 'down', 'pageup', 'pagedown', 'enter', 'escape', 'tab', 'backspace'].includes(press.name)
  );
}

/** Layout values the moves need (computed by the layout each frame, never stored). */
export interface ViewSize {
  /** Rows per PgUp/PgDn in the panels. */
  pageRows: number;
  /** Body lines a full view (help, details, events, transitions) shows at once. */
  viewLines: number;
}

const DEFAULT_VIEW: ViewSize = { pageRows: DEFAULT_PAGE_ROWS, viewLines: DEFAULT_PAGE_ROWS };

function refuseReadonly(store: ConsoleStore, binding: KeyBinding, press: KeyPress): boolean {
  if (!binding.mutates || !store.getState().ui.readonly) return false;
  store.getState().pushNotice(`read-only console: ${displayKey(press.name)} disabled (${binding.command})`, 'warn');
  return true;
}

/** True (and said in a notice) for a mutating key while an action is in flight: one action at a time. */
function refuseBusy(store: ConsoleStore, binding: KeyBinding, press: KeyPress): boolean {
  const pending = openPending(store.getState().ui.open);
  if (!binding.mutates || !pending) return false;
  store.getState().pushNotice(sanitizeLine(`${displayKey(press.name)}: wait for the running action (${pending})`), 'warn');
  return true;
}

/** True (and the refusal said, when there is one to say) when the binding's precondition is unmet. */
function refuseUnmet(store: ConsoleStore, binding: KeyBinding): boolean {
  if (!binding.requires) return false;
  const unmet = unmetRequirement(store.getState(), binding.requires, binding.hint ?? binding.command);
  if (!unmet) return false;
  if (unmet.notice) store.getState().pushNotice(sanitizeLine(unmet.notice), 'warn');
  return true;
}

/** The scopes the open modal reads keys from, most specific first. */
function modalScopes(open: OpenView): KeyScope[] {
  switch (open.kind) {
    case 'none':
      return [];
    case 'filter':
    case 'send-editor':
      return ['modal', 'text'];
    case 'confirm-pause':
    case 'confirm-dispatch':
    case 'confirm-release':
    case 'confirm-unit':
    case 'confirm-answer':
      return ['modal'];
    case 'help':
      return ['help', 'view'];
    case 'events':
      return ['events', 'view'];
    case 'transitions':
      return ['transitions', 'view'];
    case 'spend':
      return ['spend', 'view'];
    case 'details':
      return ['view'];
    case 'receipt':
    case 'message':
      return ['result'];
  }
}

const CANCELLED: Record<string, string> = {
  'confirm-pause': 'pause/resume cancelled',
  'confirm-dispatch': 'claim cancelled',
  'confirm-release': 'release cancelled',
  'confirm-answer': 'answer cancelled: nothing typed',
};

/** Runs the modal binding for what is open; false when the key is not the modal's (it goes on to the panels). */
function handleModal(press: KeyPress, store: ConsoleStore, actions: ConsoleActions, view: ViewSize): boolean {
  const s = store.getState();
  const open = s.ui.open;
  if (open.kind === 'none' || press.name === 'ctrl+c') return false;
  // An action in flight (a claim waiting on a locked backlog) shows only its label: its keys go
  // on to the panels, so `q` still quits and `?` still helps while it runs.
  if (openPending(open)) return false;
  const isTextEntry = open.kind === 'filter' || open.kind === 'send-editor';
  // Movement passes through the filter line: the panel moves while filtering.
  if (open.kind === 'filter' && ['up', 'down', 'pageup', 'pagedown'].includes(press.name)) return false;
  let binding: KeyBinding | undefined;
  for (const scope of modalScopes(open)) {
    binding = bindingFor(press.name, scope);
    // In the editors only their own keys (enter, esc, backspace) are commands: the rest is text.
    if (binding && isTextEntry && binding.scope.includes('modal') && !['submit', 'cancel', 'delete-char'].includes(binding.command)) binding = undefined;
    if (binding) break;
  }
  // Keys with no binding in a modal are swallowed: they never reach the panels behind it.
  if (!binding || refuseUnmet(store, binding)) return true;
  const page = Math.max(1, view.viewLines - 1);
  const scroll = (delta: number | 'top') => s.scrollModal(delta, modalLineCount(s), view.viewLines);
  switch (binding.command) {
    case 'type-text':
      if (!isText(press)) return true;
      if (open.kind === 'filter') s.setFilter(s.ui.filter + press.input);
      else if (open.kind === 'send-editor') s.setDraft(open.draft + press.input);
      return true;
    case 'delete-char':
      if (open.kind === 'filter') s.setFilter(s.ui.filter.slice(0, -1));
      else if (open.kind === 'send-editor') s.setDraft(open.draft.slice(0, -1));
      return true;
    case 'submit':
      if (open.kind === 'send-editor') {
        const text = open.draft;
        if (!text.trim()) {
          s.closeModal();
          s.pushNotice('send: empty message, nothing sent', 'warn');
        } else
          withAgent(store, 'send', (agent) => {
            void actions.send(agent, text);
          });
      } else s.closeModal();
      return true;
    case 'cancel':
      if (open.kind === 'filter') s.setFilter('');
      if (open.kind in CANCELLED) s.pushNotice(CANCELLED[open.kind]);
      else if (open.kind === 'confirm-unit') s.pushNotice(`${open.verb} cancelled`);
      s.closeModal();
      return true;
    case 'confirm-no':
      s.closeModal();
      s.pushNotice(open.kind === 'confirm-unit' ? `${open.verb} cancelled` : (CANCELLED[open.kind] ?? 'cancelled'));
      return true;
    case 'answer-choice': {
      if (open.kind !== 'confirm-answer') return true;
      const agent = s.fleet.snapshot?.agents.find((a) => a.name === open.agent);
      if (!agent) {
        s.closeModal();
        s.pushNotice(sanitizeLine(`answer: ${open.agent} is no longer in the roster`), 'warn');
      } else if (!actions.answer) {
        s.closeModal();
        s.pushNotice('answer: not available in this console', 'warn');
      } else void actions.answer(agent, press.name === 'a' ? 'allow' : 'deny', open.prompt.id);
      return true;
    }
    case 'confirm-yes':
      if (open.kind === 'confirm-pause') void actions.pauseOrResume();
      else if (open.kind === 'confirm-dispatch')
        withAgent(store, 'claim', (agent) => {
          void actions.dispatch(agent);
        });
      else if (open.kind === 'confirm-unit') {
        const agent = s.fleet.snapshot?.agents.find((a) => a.name === open.agent);
        if (!agent) {
          s.closeModal();
          s.pushNotice(sanitizeLine(`${open.verb}: ${open.agent} is no longer in the roster`), 'warn');
        } else if (!actions.unitAction) {
          s.closeModal();
          s.pushNotice(`${open.verb}: not available in this console`, 'warn');
        } else void actions.unitAction(agent, open.verb);
      } else if (open.kind === 'confirm-release') {
        const card = selectedClaimedCard(store.getState());
        if (card) void actions.release(card);
        else {
          s.closeModal();
          s.pushNotice('release: select a claimed card (C) in the backlog panel', 'warn');
        }
      }
      return true;
    // In a full view the movement keys scroll it.
    case 'move-up':
      scroll(-1);
      return true;
    case 'move-down':
      scroll(1);
      return true;
    case 'page-up':
      scroll(-page);
      return true;
    case 'page-down':
      scroll(page);
      return true;
    case 'move-top':
      scroll('top');
      return true;
    case 'move-bottom':
      scroll(10_000);
      return true;
    case 'reload-events':
      if (actions.loadEvents) void actions.loadEvents();
      return true;
    case 'close-view':
    case 'close-own-view':
    case 'dismiss':
      s.closeModal();
      return true;
    default:
      return true;
  }
}

function withAgent(store: ConsoleStore, what: string, run: (agent: AgentRow) => void): void {
  const agent = selectedAgentRow(store.getState());
  if (!agent) store.getState().pushNotice(`${what}: no agent selected`, 'warn');
  else run(agent);
}

/**
 * Why a unit action on `agent` would be refused before asking, or null: systemd is unavailable
 * on the agent's host (the snapshot's reason). The action itself checks again.
 */
export function unitRefusalBeforeAsking(s: ConsoleState, agent: AgentRow, verb: string): string | null {
  const probes = s.fleet.snapshot?.probes ?? {};
  const probe = agent.ssh ? (probes[`ssh:${agent.ssh}`]?.ok === false ? probes[`ssh:${agent.ssh}`] : probes[`systemd:${agent.ssh}`]) : probes.systemd;
  if (probe && !probe.ok) return `${verb} refused: ${probe.error ?? 'systemd unavailable'}`;
  return null;
}

function runPanelOrGlobal(binding: KeyBinding, store: ConsoleStore, actions: ConsoleActions, view: ViewSize): void {
  const s = store.getState();
  const verb = binding.unitVerb;
  if (verb) {
    return withAgent(store, verb, (agent) => {
      const refusal = unitRefusalBeforeAsking(s, agent, verb);
      if (refusal) s.pushNotice(sanitizeLine(refusal), 'warn');
      else s.askUnitAction(agent.name, verb);
    });
  }
  switch (binding.command) {
    case 'move-up':
      return s.moveSelection(-1);
    case 'move-down':
      return s.moveSelection(1);
    case 'page-up':
      return s.moveSelection('page-up', view.pageRows);
    case 'page-down':
      return s.moveSelection('page-down', view.pageRows);
    case 'move-top':
      return s.moveSelection('top');
    case 'move-bottom':
      return s.moveSelection('bottom');
    case 'details': {
      s.openDetails();
      const open = store.getState().ui.open;
      if (open.kind === 'details' && open.of.kind === 'card' && actions.loadCardDetails) void actions.loadCardDetails(open.of.key);
      return;
    }
    case 'preview':
      return actions.togglePreview();
    case 'watch':
      return withAgent(store, 'watch', (agent) => actions.watch(agent));
    case 'send':
      return s.openModal('send-editor');
    case 'dispatch':
      return s.openModal('confirm-dispatch');
    case 'answer':
      return withAgent(store, 'answer', (agent) => {
        if (agent.screen?.prompt) s.askAnswer(agent.name, agent.screen.prompt);
      });
    case 'switch-focus':
      return s.switchFocus();
    case 'filter':
      return s.openModal('filter');
    case 'clear-filter': {
      s.setFilter('');
      s.pushNotice('filter cleared');
      return;
    }
    case 'help':
      return s.openModal('help');
    case 'transitions':
      return s.openModal('transitions');
    case 'spend':
      return s.openModal('spend');
    case 'mute':
      return withAgent(store, 'mute', (agent) => {
        s.toggleMute(agent.name);
        const muted = store.getState().transitions.muted.includes(agent.name);
        s.pushNotice(sanitizeLine(muted ? `${agent.name} muted: its transitions give no notice or bell (m unmutes)` : `${agent.name} unmuted`));
      });
    case 'events': {
      s.openModal('events');
      if (actions.loadEvents) void actions.loadEvents();
      else s.setBacklogEventsState('error', 'no backlog client in this console');
      return;
    }
    case 'pause':
      return s.openModal('confirm-pause');
    case 'reclaim': {
      void actions.reclaim();
      return;
    }
    case 'release':
      return s.openModal('confirm-release');
    case 'refresh':
      s.pushNotice('refreshing…', 'progress');
      return actions.refresh();
    case 'quit':
      return actions.quit();
    default:
      return;
  }
}

/**
 * Routes one key press: modal ⇒ focused panel ⇒ global. Returns the layer that consumed it
 * (null: no binding). Mutating commands in `--readonly` are consumed with a notice; a binding
 * whose precondition is unmet is consumed with its refusal (or silently). While an action is in
 * flight (its result dialog shows only a label) keys go on to the panels, so none is dropped; a
 * mutating one is consumed with a notice to wait. `view`: the layout's page sizes (default 10 rows).
 */
export function dispatchKey(press: KeyPress, store: ConsoleStore, actions: ConsoleActions, view: ViewSize = DEFAULT_VIEW): DispatchLayer {
  if (handleModal(press, store, actions, view)) return 'modal';
  const focus = store.getState().ui.focus;
  for (const layer of [focus, 'global'] as const) {
    const binding = bindingFor(press.name, layer);
    if (!binding) continue;
    if (!refuseReadonly(store, binding, press) && !refuseBusy(store, binding, press) && !refuseUnmet(store, binding))
      runPanelOrGlobal(binding, store, actions, view);
    return layer;
  }
  return null;
}
