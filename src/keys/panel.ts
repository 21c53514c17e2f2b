/**
 * The panel and global commands: what a key bound in the focused panel (fleet or backlog) or
 * globally does, one handler per keymap command. The dispatcher (src/keys/router.ts) has already
 * checked read-only, the action in flight and the binding's precondition. Pure of React.
 */
import type { ConsoleCommand, KeyBinding } from '../view/keymap.js';
import { sanitizeLine } from '../../lib/sanitize.js';
import type { AgentRow } from '../snapshot/types.js';
import type { ConsoleState, ConsoleStore } from '../store/index.js';
import { selectedAgentRow } from '../store/selectors.js';
import type { ConsoleActions, ViewSize } from './types.js';

/** Runs `run` on the selected agent, or says `<what>: no agent selected`. */
export function withAgent(store: ConsoleStore, what: string, run: (agent: AgentRow) => void): void {
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
  const sshProbe = agent.ssh ? probes[`ssh:${agent.ssh}`] : undefined;
  const probe = agent.ssh ? (sshProbe?.ok === false ? sshProbe : probes[`systemd:${agent.ssh}`]) : probes.systemd;
  if (probe && !probe.ok) return `${verb} refused: ${probe.error ?? 'systemd unavailable'}`;
  return null;
}

/** What a panel or global command runs with. */
interface PanelContext {
  store: ConsoleStore;
  s: ConsoleState;
  actions: ConsoleActions;
  view: ViewSize;
}

type PanelHandler = (c: PanelContext) => void;

/** Movement of the focused panel's selection. */
const MOVE_HANDLERS: Partial<Record<ConsoleCommand, PanelHandler>> = {
  'move-up': ({ s }) => s.moveSelection(-1),
  'move-down': ({ s }) => s.moveSelection(1),
  'page-up': ({ s, view }) => s.moveSelection('page-up', view.pageRows),
  'page-down': ({ s, view }) => s.moveSelection('page-down', view.pageRows),
  'move-top': ({ s }) => s.moveSelection('top'),
  'move-bottom': ({ s }) => s.moveSelection('bottom'),
  'switch-focus': ({ s }) => s.switchFocus(),
};

/** Views and dialogs a key opens (the action runs from the dialog, once confirmed). */
const OPEN_HANDLERS: Partial<Record<ConsoleCommand, PanelHandler>> = {
  details: ({ store, s, actions }) => {
    s.openDetails();
    const open = store.getState().ui.open;
    if (open.kind === 'details' && open.of.kind === 'card' && actions.loadCardDetails) void actions.loadCardDetails(open.of.key);
  },
  send: ({ s }) => s.openModal('send-editor'),
  dispatch: ({ s }) => s.openModal('confirm-dispatch'),
  answer: ({ store, s }) =>
    withAgent(store, 'answer', (agent) => {
      if (agent.screen?.prompt) s.askAnswer(agent.name, agent.screen.prompt);
    }),
  filter: ({ s }) => s.openModal('filter'),
  help: ({ s }) => s.openModal('help'),
  transitions: ({ s }) => s.openModal('transitions'),
  spend: ({ s }) => s.openModal('spend'),
  events: ({ s, actions }) => {
    s.openModal('events');
    if (actions.loadEvents) void actions.loadEvents();
    else s.setBacklogEventsState('error', 'no backlog client in this console');
  },
  pause: ({ s }) => s.openModal('confirm-pause'),
  release: ({ s }) => s.openModal('confirm-release'),
};

/** Commands that act at once. */
const RUN_HANDLERS: Partial<Record<ConsoleCommand, PanelHandler>> = {
  preview: ({ actions }) => actions.togglePreview(),
  watch: ({ store, actions }) => withAgent(store, 'watch', (agent) => actions.watch(agent)),
  'clear-filter': ({ s }) => {
    s.setFilter('');
    s.pushNotice('filter cleared');
  },
  mute: ({ store, s }) =>
    withAgent(store, 'mute', (agent) => {
      s.toggleMute(agent.name);
      const muted = store.getState().transitions.muted.includes(agent.name);
      s.pushNotice(sanitizeLine(muted ? `${agent.name} muted: its transitions give no notice or bell (m unmutes)` : `${agent.name} unmuted`));
    }),
  reclaim: ({ actions }) => void actions.reclaim(),
  refresh: ({ s, actions }) => {
    s.pushNotice('refreshing…', 'progress');
    actions.refresh();
  },
  quit: ({ actions }) => actions.quit(),
};

const PANEL_HANDLERS: Partial<Record<ConsoleCommand, PanelHandler>> = { ...MOVE_HANDLERS, ...OPEN_HANDLERS, ...RUN_HANDLERS };

/** Asks to confirm a lifecycle key's unit verb on the selected agent (or says why it cannot). */
function askUnitVerb(store: ConsoleStore, verb: 'start' | 'stop' | 'restart'): void {
  const s = store.getState();
  withAgent(store, verb, (agent) => {
    const refusal = unitRefusalBeforeAsking(s, agent, verb);
    if (refusal) s.pushNotice(sanitizeLine(refusal), 'warn');
    else s.askUnitAction(agent.name, verb);
  });
}

/** Runs a panel or global binding (its checks already passed); a command with no handler here does nothing. */
export function runPanelOrGlobal(binding: KeyBinding, store: ConsoleStore, actions: ConsoleActions, view: ViewSize): void {
  if (binding.unitVerb) return askUnitVerb(store, binding.unitVerb);
  PANEL_HANDLERS[binding.command]?.({ store, s: store.getState(), actions, view });
}
