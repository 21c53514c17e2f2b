/**
 * The console's actions (pause, send, claim + dispatch, unit start/stop/restart, answer,
 * reclaim, release, details, events): key ⇒ keymap command ⇒ here ⇒ fleet/ or backlog/ ⇒ next
 * snapshot. Components never run these; the dispatcher does. Every result lands in the store
 * (notice, receipt or message dialog), every untrusted string sanitized. The agent and fleet
 * actions live in src/keys/agent-actions.ts, the backlog ones in src/keys/backlog-actions.ts.
 */
import { operatorName } from '../actions/pause.js';
import { sendToAgent as realSendToAgent } from '../actions/send.js';
import { dispatchCard as realDispatchCard } from '../actions/dispatch.js';
import type { MosaicPaths } from '../../lib/paths.js';
import { sanitizeLine } from '../../lib/sanitize.js';
import type { AgentRow } from '../snapshot/types.js';
import type { ConsoleStore } from '../store/index.js';
import type { Poller } from '../poller.js';
import type { BacklogClient } from '../../backlog/verbs.js';
import type { LifecycleResult, UnitActionOptions } from '../actions/lifecycle.js';
import type { AnswerOptions, AnswerReceipt } from '../actions/answer.js';
import type { ConsoleActions } from './types.js';
import type { ActionContext } from './action-context.js';
import { agentActions } from './agent-actions.js';
import { backlogActions } from './backlog-actions.js';

/** What the actions need; the I/O functions default to the real ones (tests may inject). */
export interface ConsoleActionDeps {
  store: ConsoleStore;
  paths: MosaicPaths;
  poller: Pick<Poller, 'refresh' | 'capturePreview'>;
  /** Ends the console (run.ts unmounts Ink and restores the terminal). */
  quit: () => void;
  /** Suspends the console, hands the terminal to `watchAgent`, restores the console after. */
  watch: (agent: AgentRow) => void;
  sendToAgent?: typeof realSendToAgent;
  dispatchCard?: typeof realDispatchCard;
  /** Opens a backlog client (default: backlog/client.ts openBacklog, loaded lazily). */
  openBacklog?: (paths: MosaicPaths) => Promise<BacklogClient>;
  /** Who acts, for `by=` (default operatorName()). */
  operator?: () => string;
  /** Answers a permission prompt (default: src/actions/answer.ts answerPrompt, loaded lazily). */
  answerPrompt?: (opts: AnswerOptions) => Promise<AnswerReceipt>;
  /** Starts/stops/restarts a unit (default: src/actions/lifecycle.ts unitAction, loaded lazily). */
  unitAction?: (opts: UnitActionOptions) => Promise<LifecycleResult>;
}

async function defaultOpenBacklog(paths: MosaicPaths): Promise<BacklogClient> {
  const { openBacklog } = await import('../../backlog/client.js');
  return openBacklog(paths, { create: false, onProgress: () => {} });
}

/** The deps with their defaults filled in, and the notice helper. */
function actionContext(deps: ConsoleActionDeps): ActionContext {
  const { store } = deps;
  return {
    store,
    paths: deps.paths,
    poller: deps.poller,
    operator: deps.operator ?? operatorName,
    sendToAgent: deps.sendToAgent ?? realSendToAgent,
    dispatchCard: deps.dispatchCard ?? realDispatchCard,
    openBacklog: deps.openBacklog ?? defaultOpenBacklog,
    answerPrompt: deps.answerPrompt,
    unitAction: deps.unitAction,
    watch: deps.watch,
    notice: (text, level = 'info') => store.getState().pushNotice(sanitizeLine(text), level),
  };
}

/** Builds the {@link ConsoleActions} the dispatcher calls. Never throws: failures become notices. */
export function createConsoleActions(deps: ConsoleActionDeps): ConsoleActions {
  const ctx = actionContext(deps);
  const { store, poller } = ctx;
  return {
    quit: deps.quit,
    refresh: () => poller.refresh(),
    togglePreview: () => {
      store.getState().togglePreview();
      if (store.getState().ui.previewOn) void poller.capturePreview();
    },
    watch: (agent) => {
      if (!agent.pane || agent.pane.dead) return ctx.notice(`watch: ${agent.name} has no live pane`, 'warn');
      deps.watch(agent);
    },
    ...agentActions(ctx),
    ...backlogActions(ctx),
  };
}
