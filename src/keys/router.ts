/**
 * The ONE input dispatcher (style guide §8): a key press goes to the open modal first, then
 * to the focused panel (fleet or backlog), then to the global bindings; the first layer that
 * consumes it wins. Every binding comes from the keymap data (src/keys/keymap.ts). `--readonly`
 * refuses mutating commands here, and says so. Pure of React: hooks/useKeymapDispatcher
 * only adapts Ink's useInput to {@link dispatchKey}.
 */
import { bindingFor, displayKey, type KeyBinding } from './keymap.js';
import { describePause } from '../../fleet/paused.js';
import { hasControlCharacters, sanitizeLine } from '../../lib/sanitize.js';
import type { AgentRow } from '../snapshot/types.js';
import type { ConsoleState, ConsoleStore } from '../store/index.js';
import type { ClaimedCardView } from '../../backlog/snapshot.js';
import { selectedAgentRow, selectedClaimedCard } from '../store/selectors.js';

export { selectedAgentRow, selectedClaimedCard } from '../store/selectors.js';
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
}

/** One key press: its name (see keyNameOf) and the raw text Ink gave (for text entry). */
export interface KeyPress {
  name: string;
  input: string;
}

/** Which layer consumed a key, or null when none did. */
export type DispatchLayer = 'modal' | 'fleet' | 'backlog' | 'global' | null;

function isText(press: KeyPress): boolean {
  return press.input.length > 0 && !hasControlCharacters(press.input) && !['up', 'down', 'pageup', 'pagedown', 'enter', 'escape', 'tab', 'backspace'].includes(press.name);
}

function refuseReadonly(store: ConsoleStore, binding: KeyBinding, press: KeyPress): boolean {
  if (!binding.mutates || !store.getState().ui.readonly) return false;
  store.getState().pushNotice(`read-only console: ${displayKey(press.name)} disabled (${binding.command})`, 'warn');
  return true;
}

function withAgent(store: ConsoleStore, what: string, run: (agent: AgentRow) => void): void {
  const agent = selectedAgentRow(store.getState());
  if (!agent) store.getState().pushNotice(`${what}: no agent selected`, 'warn');
  else run(agent);
}

/**
 * Why an action on `agent` would be refused before anything is asked or typed, or null: no
 * live pane (send, claim; remote agents too — their rows carry the pane seen over ssh), or —
 * for a claim — the fleet is PAUSED (since when, by whom). The action itself checks again;
 * this spares the operator a dialog that can only end in a refusal.
 */
export function refusalBeforeAsking(s: ConsoleState, agent: AgentRow, what: 'send' | 'claim'): string | null {
  if (what === 'claim' && s.fleet.snapshot?.fleet.paused) return `claim refused: ${describePause(s.fleet.snapshot.fleet.paused)}`;
  if (!agent.pane || agent.pane.dead) return `${what} refused: ${agent.name} has no live pane (${agent.readiness})`;
  return null;
}

/** Runs `run` for the selected agent unless {@link refusalBeforeAsking} refuses (then says why). */
function withLiveAgent(store: ConsoleStore, what: 'send' | 'claim', run: (agent: AgentRow) => void): void {
  withAgent(store, what, (agent) => {
    const refusal = refusalBeforeAsking(store.getState(), agent, what);
    if (refusal) store.getState().pushNotice(sanitizeLine(refusal), 'warn');
    else run(agent);
  });
}

/** Runs `run` with the selected claimed card, or closes any dialog and says what to select. */
function withClaimedCard(store: ConsoleStore, run: (card: ClaimedCardView) => void): void {
  const card = selectedClaimedCard(store.getState());
  if (card) return run(card);
  store.getState().closeModal();
  store.getState().pushNotice('release: select a claimed card (C) in the backlog panel', 'warn');
}

function handleModal(press: KeyPress, store: ConsoleStore, actions: ConsoleActions): boolean {
  const s = store.getState();
  const modal = s.ui.modal;
  if (modal === 'none' || press.name === 'ctrl+c') return false;
  const command = bindingFor(press.name, 'modal')?.command;
  switch (modal) {
    case 'filter':
      if (['up', 'down', 'pageup', 'pagedown'].includes(press.name)) return false; // move while filtering
      if (command === 'cancel') { s.setFilter(''); s.closeModal(); }
      else if (command === 'submit') s.closeModal();
      else if (command === 'delete-char') s.setFilter(s.ui.filter.slice(0, -1));
      else if (isText(press)) s.setFilter(s.ui.filter + press.input);
      return true;
    case 'send-editor':
      if (command === 'cancel') { s.setDraft(''); s.closeModal(); }
      else if (command === 'submit') {
        const text = s.ui.draft;
        if (!text.trim()) { s.closeModal(); s.pushNotice('send: empty message, nothing sent', 'warn'); }
        else withAgent(store, 'send', (agent) => { void actions.send(agent, text); });
      } else if (command === 'delete-char') s.setDraft(s.ui.draft.slice(0, -1));
      else if (isText(press)) s.setDraft(s.ui.draft + press.input);
      return true;
    case 'confirm-unit': {
      if (s.ui.pending) return true;
      const ask = s.ui.unitAction;
      if (command === 'confirm-yes' && ask) {
        const agent = s.fleet.snapshot?.agents.find((a) => a.name === ask.agent);
        if (!agent) { s.closeModal(); s.pushNotice(sanitizeLine(`${ask.verb}: ${ask.agent} is no longer in the roster`), 'warn'); }
        else if (!actions.unitAction) { s.closeModal(); s.pushNotice(`${ask.verb}: not available in this console`, 'warn'); }
        else void actions.unitAction(agent, ask.verb);
      } else if (command === 'confirm-no' || command === 'cancel' || press.name === 'q') {
        s.closeModal();
        s.pushNotice(`${ask?.verb ?? 'unit action'} cancelled`);
      }
      return true;
    }
    case 'confirm-pause':
    case 'confirm-dispatch':
    case 'confirm-release':
      if (s.ui.pending) return true;
      if (command === 'confirm-yes') {
        if (modal === 'confirm-pause') void actions.pauseOrResume();
        else if (modal === 'confirm-dispatch') withAgent(store, 'claim', (agent) => { void actions.dispatch(agent); });
        else withClaimedCard(store, (card) => { void actions.release(card); });
      } else if (command === 'confirm-no' || command === 'cancel' || press.name === 'q') {
        s.closeModal();
        s.pushNotice({ 'confirm-pause': 'pause/resume cancelled', 'confirm-dispatch': 'claim cancelled', 'confirm-release': 'release cancelled' }[modal]);
      }
      return true;
    case 'help':
    case 'details':
    case 'events':
    case 'transitions': {
      const page = Math.max(1, s.ui.modalView - 1);
      const scroll: Record<string, number | 'top'> = { up: -1, k: -1, down: 1, j: 1, pageup: -page, pagedown: page, g: 'top', G: 10_000 };
      if (press.name in scroll) { s.scrollModal(scroll[press.name], modalLineCount(s)); return true; }
      if (modal === 'events' && press.name === 'r') { if (actions.loadEvents) void actions.loadEvents(); return true; }
      if (command === 'cancel' || press.name === 'q' || press.name === 'enter' || (modal === 'help' && press.name === '?') || (modal === 'events' && press.name === 'e') || (modal === 'transitions' && press.name === 't')) s.closeModal();
      return true;
    }
    case 'receipt':
    case 'message':
      if (!s.ui.pending) s.closeModal();
      return true;
    default:
      return false;
  }
}

/**
 * Why a unit action on `agent` would be refused before asking, or null: systemd is unavailable
 * on the agent's host (the snapshot's reason). The action itself checks again.
 */
export function unitRefusalBeforeAsking(s: ConsoleState, agent: AgentRow, verb: string): string | null {
  const probes = s.fleet.snapshot?.probes ?? {};
  const probe = agent.ssh ? probes[`ssh:${agent.ssh}`]?.ok === false ? probes[`ssh:${agent.ssh}`] : probes[`systemd:${agent.ssh}`] : probes.systemd;
  if (probe && !probe.ok) return `${verb} refused: ${probe.error ?? 'systemd unavailable'}`;
  return null;
}

function runPanelOrGlobal(binding: KeyBinding, press: KeyPress, store: ConsoleStore, actions: ConsoleActions): void {
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
    case 'move-up': return s.moveSelection(-1);
    case 'move-down': return s.moveSelection(1);
    case 'page-up': return s.moveSelection('page-up');
    case 'page-down': return s.moveSelection('page-down');
    case 'move-top': return s.moveSelection('top');
    case 'move-bottom': return s.moveSelection('bottom');
    case 'details': {
      s.openDetails();
      const d = store.getState().ui.detailsOf;
      if (d?.kind === 'card' && actions.loadCardDetails) void actions.loadCardDetails(d.key);
      return;
    }
    case 'preview': return actions.togglePreview();
    case 'watch': return withAgent(store, 'watch', (agent) => actions.watch(agent));
    case 'send': return withLiveAgent(store, 'send', () => { s.setDraft(''); s.openModal('send-editor'); });
    case 'dispatch': return withLiveAgent(store, 'claim', () => s.openModal('confirm-dispatch'));
    case 'switch-focus': return s.switchFocus();
    case 'filter': return s.openModal('filter');
    case 'clear-filter': {
      if (s.ui.filter) { s.setFilter(''); s.pushNotice('filter cleared'); }
      return;
    }
    case 'help': return s.openModal('help');
    case 'transitions': return s.openModal('transitions');
    case 'mute': return withAgent(store, 'mute', (agent) => {
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
    case 'pause': return s.openModal('confirm-pause');
    case 'reclaim': { void actions.reclaim(); return; }
    case 'release': return withClaimedCard(store, () => s.openModal('confirm-release'));
    case 'refresh': s.pushNotice('refreshing…', 'progress'); return actions.refresh();
    case 'quit': return actions.quit();
    default: void press;
  }
}

/**
 * Routes one key press: modal ⇒ focused panel ⇒ global. Returns the layer that consumed it
 * (null: no binding). Mutating commands in `--readonly` are consumed with a notice.
 */
export function dispatchKey(press: KeyPress, store: ConsoleStore, actions: ConsoleActions): DispatchLayer {
  if (handleModal(press, store, actions)) return 'modal';
  const focus = store.getState().ui.focus;
  for (const layer of [focus, 'global'] as const) {
    const binding = bindingFor(press.name, layer);
    if (!binding) continue;
    if (!refuseReadonly(store, binding, press)) runPanelOrGlobal(binding, press, store, actions);
    return layer;
  }
  return null;
}
