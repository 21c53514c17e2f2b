/**
 * The console's actions on one agent and on the fleet: pause/resume, verified send, claim +
 * dispatch, unit start/stop/restart, answering a permission prompt. Each shows its progress and
 * result in place (receipt or message dialog), never throws, and asks the poller for a fresh
 * snapshot after.
 */
import { clearFleetPause, pauseFleet, recordFleetPause, resumeFleet } from '../actions/pause.js';
import type { DispatchResult } from '../actions/dispatch.js';
import type { LifecycleResult } from '../actions/lifecycle.js';
import type { AnswerReceipt } from '../actions/answer.js';
import { agentTmuxServer } from '../actions/agent-target.js';
import type { SendReceipt } from '../../fleet/receipt.js';
import { readPausedFlag, describePause } from '../../fleet/paused.js';
import { agentUnitName } from '../../fleet/systemd.js';
import { messageOf } from '../../lib/errors.js';
import { sanitizeLine } from '../../lib/sanitize.js';
import { answerLines, dispatchLines, lifecycleLines, unitProgressLine } from '../view/result-lines.js';
import type { ActionContext } from './action-context.js';
import type { ConsoleActions } from './types.js';

/** Timeout of a verified send from the console, milliseconds. */
export const CONSOLE_SEND_TIMEOUT_MS = 8000;

/** Bound of the answer's wait for the prompt to close, from the console, ms. */
export const CONSOLE_ANSWER_TIMEOUT_MS = 10_000;

/** Bound of a unit action's wait from the console, ms (the dialog shows progress meanwhile). */
export const CONSOLE_UNIT_TIMEOUT_MS = 60_000;

/** Pauses a running fleet or resumes a paused one: this host's <run>/PAUSED and the shared store's record. */
function pauseOrResume({ store, paths, poller, operator, notice }: ActionContext): ConsoleActions['pauseOrResume'] {
  return async () => {
    const s = store.getState();
    try {
      // The pause in force: this host's <run>/PAUSED, else the shared store's (last snapshot).
      const shown = s.fleet.snapshot?.fleet.paused ?? null;
      const current = readPausedFlag(paths.runDir) ?? (shown && shown.source !== 'run-dir' ? shown : null);
      if (current) {
        resumeFleet(paths.runDir);
        await clearFleetPause(paths);
        s.closeModal();
        notice(`fleet resumed (was ${describePause(current)})`);
      } else {
        const flag = pauseFleet(paths.runDir, { by: operator(), reason: 'paused from the mosaic-top console' });
        const recorded = await recordFleetPause(paths, flag);
        s.closeModal();
        notice(`fleet PAUSED by ${flag.by}${recorded.recorded || recorded.existing ? ' (fleet-wide)' : ''}`, 'warn');
      }
    } catch (error) {
      s.closeModal();
      notice(`pause/resume failed: ${messageOf(error)}`, 'error');
    }
    poller.refresh();
  };
}

/** A verified send; the receipt dialog shows the outcome (a thrown error becomes a `refused` receipt). */
function send({ store, paths, poller, sendToAgent }: ActionContext): ConsoleActions['send'] {
  return async (agent, message) => {
    store.getState().startPending('receipt', `sending to ${agent.name}…`);
    let receipt: SendReceipt;
    try {
      const socket = agentTmuxServer(agent, paths);
      receipt = await sendToAgent({
        agent: agent.name,
        runtime: agent.runtime,
        socket,
        runDir: paths.runDir,
        message,
        timeoutMs: CONSOLE_SEND_TIMEOUT_MS,
        paths,
      });
    } catch (error) {
      receipt = { status: 'refused', agent: agent.name, evidence: [], elapsedMs: 0, source: 'operator:mosaic-top', reason: messageOf(error) };
    }
    store.getState().showReceipt(receipt);
    poller.refresh();
  };
}

/** Claims the next ready card for the agent and dispatches it; the message dialog shows the result. */
function dispatch({ store, paths, poller, dispatchCard }: ActionContext): ConsoleActions['dispatch'] {
  return async (agent) => {
    store.getState().startPending('message', `claiming a card for ${agent.name}…`);
    let result: DispatchResult;
    try {
      result = await dispatchCard({
        paths,
        agent: agent.name,
        runtime: agent.runtime,
        socket: agentTmuxServer(agent, paths),
        timeoutMs: CONSOLE_SEND_TIMEOUT_MS,
      });
    } catch (error) {
      result = { ok: false, outcome: 'refused', card: null, receipt: null, refused: messageOf(error), message: 'claim + dispatch failed' };
    }
    store.getState().showMessage(result.ok ? 'claim + dispatch' : 'claim + dispatch refused', dispatchLines(result));
    poller.refresh();
  };
}

/** Starts, stops or restarts the agent's unit (forced: the operator confirmed); the message dialog shows the outcome. */
function unitAction(ctx: ActionContext): NonNullable<ConsoleActions['unitAction']> {
  const { store, paths, poller } = ctx;
  return async (agent, verb) => {
    store.getState().startPending('message', sanitizeLine(unitProgressLine(agent.name, agentUnitName(agent.name), verb)));
    let result: LifecycleResult;
    try {
      const run = ctx.unitAction ?? (await import('../actions/lifecycle.js')).unitAction;
      // The operator confirmed in a dialog that named what a working agent would lose: force.
      result = await run({ paths, agent: agent.name, verb, force: true, timeoutMs: CONSOLE_UNIT_TIMEOUT_MS });
    } catch (error) {
      const message = sanitizeLine(`${verb} ${agent.name}: failed: ${messageOf(error)}`);
      const unit = agentUnitName(agent.name);
      result = {
        ok: false,
        verb,
        agent: agent.name,
        unit,
        host: agent.host,
        outcome: 'failed',
        reason: message,
        forced: true,
        before: null,
        after: null,
        evidence: [],
        elapsedMs: 0,
        message,
      };
    }
    store.getState().showMessage(`${verb} ${agent.name}: ${result.outcome.replace('_', ' ')}`, lifecycleLines(result));
    poller.refresh();
  };
}

/** Answers the agent's permission prompt `promptId` (allow once / deny); the message dialog shows the receipt. */
function answer(ctx: ActionContext): NonNullable<ConsoleActions['answer']> {
  const { store, paths, poller, operator } = ctx;
  return async (agent, choice, promptId) => {
    const s = store.getState();
    s.startPending('message', sanitizeLine(`${choice === 'allow' ? 'allowing once' : 'denying'} ${agent.name}'s prompt [id ${promptId}]…`));
    let receipt: AnswerReceipt;
    try {
      const run = ctx.answerPrompt ?? (await import('../actions/answer.js')).answerPrompt;
      const socket = agentTmuxServer(agent, paths);
      const readonly = s.ui.readonly;
      const common = { runDir: paths.runDir, readonly, timeoutMs: CONSOLE_ANSWER_TIMEOUT_MS, paths, by: operator() };
      receipt = await run({ agent: agent.name, runtime: agent.runtime, answer: choice, promptId, socket, ...common });
    } catch (error) {
      receipt = {
        status: 'refused',
        agent: agent.name,
        answer: choice,
        key: null,
        prompt: null,
        reason: messageOf(error),
        evidence: [],
        elapsedMs: 0,
        by: operator(),
      };
    }
    store.getState().showMessage(`ANSWER ${receipt.status.toUpperCase()}: ${agent.name}`, answerLines(receipt));
    poller.refresh();
  };
}

/** The agent and fleet actions of {@link ConsoleActions}. */
export function agentActions(ctx: ActionContext): Pick<Required<ConsoleActions>, 'pauseOrResume' | 'send' | 'dispatch' | 'unitAction' | 'answer'> {
  return { pauseOrResume: pauseOrResume(ctx), send: send(ctx), dispatch: dispatch(ctx), unitAction: unitAction(ctx), answer: answer(ctx) };
}
