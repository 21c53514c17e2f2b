/**
 * The console's actions (pause, send, claim + dispatch, reclaim, release, details, events): key ⇒ keymap command ⇒ here ⇒ fleet/ or
 * backlog/ ⇒ next snapshot. Components never run these; the dispatcher does. Every result
 * lands in the store (notice, receipt or message dialog), every untrusted string sanitized.
 */
import { clearFleetPause, pauseFleet, recordFleetPause, resumeFleet, operatorName } from '../actions/pause.js';
import { sendToAgent as realSendToAgent } from '../actions/send.js';
import { dispatchCard as realDispatchCard, type DispatchResult } from '../actions/dispatch.js';
import type { SendReceipt } from '../../fleet/receipt.js';
import { readPausedFlag, describePause } from '../../fleet/paused.js';
import type { MosaicPaths } from '../../lib/paths.js';
import { sanitizeLine, sanitizeLines } from '../../lib/sanitize.js';
import type { AgentRow } from '../snapshot/types.js';
import type { ConsoleStore } from '../store/index.js';
import { openDetailsOf } from '../store/ui-slice.js';
import type { Poller } from '../poller.js';
import type { BacklogClient } from '../../backlog/verbs.js';
import type { ConsoleActions } from './types.js';
import { acceptanceLines, BacklogError } from '../../backlog/types.js';
import { RECENT_EVENTS_LIMIT, eventView } from '../view/event-rows.js';
import { agentTmuxServer } from '../actions/agent-target.js';
import { agentUnitName } from '../../fleet/systemd.js';
import type { LifecycleResult, UnitActionOptions } from '../actions/lifecycle.js';
import type { AnswerOptions, AnswerReceipt } from '../actions/answer.js';

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

/** Timeout of a verified send from the console, milliseconds. */
export const CONSOLE_SEND_TIMEOUT_MS = 8000;

async function defaultOpenBacklog(paths: MosaicPaths): Promise<BacklogClient> {
  const { openBacklog } = await import('../../backlog/client.js');
  return openBacklog(paths, { create: false, onProgress: () => {} });
}

/** Lines of a send receipt for the receipt dialog: status, elapsed ms, evidence, reason. Sanitized. */
export function receiptLines(receipt: SendReceipt): string[] {
  const lines = [`${receipt.status} — ${receipt.agent} in ${Math.round(receipt.elapsedMs)} ms (source ${receipt.source})`];
  if (receipt.reason) lines.push(`reason: ${receipt.reason}`);
  for (const e of receipt.evidence) lines.push(`evidence: ${e}`);
  return lines.flatMap((l) => sanitizeLines(l));
}

/** Lines of a dispatch result for the message dialog. Sanitized. */
export function dispatchLines(result: DispatchResult): string[] {
  const lines = [result.message];
  // The message usually quotes the refusal already: do not say it twice.
  if (result.refused && !result.message.includes(result.refused)) lines.push(`refused: ${result.refused}`);
  if (result.card) lines.push(`card ${result.card.id}: ${result.card.title}`);
  if (result.receipt) lines.push(...receiptLines(result.receipt));
  return lines.flatMap((l) => sanitizeLines(l));
}

/** Lines of a unit action's result for the message dialog: the outcome line, evidence, where recorded. Sanitized. */
export function lifecycleLines(result: LifecycleResult): string[] {
  const lines = [result.message, ...result.evidence.map((e) => `evidence: ${e}`)];
  if (result.recorded) lines.push(`recorded: ${result.recorded}`);
  return lines.flatMap((l) => sanitizeLines(l));
}

/** Lines of an answer receipt for the message dialog: status line, reason, prompt, evidence, where recorded. Sanitized. */
export function answerLines(r: AnswerReceipt): string[] {
  const lines = [
    `${r.status} — ${r.answer === 'allow' ? 'allow once' : 'deny'} to ${r.agent}${r.key ? ` (key ${r.key})` : ''} in ${Math.round(r.elapsedMs)} ms`,
  ];
  if (r.reason) lines.push(`reason: ${r.reason}`);
  if (r.prompt) lines.push(`prompt: ${[r.prompt.tool, r.prompt.detail].filter(Boolean).join(' ')} [id ${r.prompt.id}]`);
  for (const e of r.evidence) lines.push(`evidence: ${e}`);
  if (r.recorded) lines.push(`recorded: ${r.recorded}`);
  return lines.flatMap((l) => sanitizeLines(l));
}

/** Bound of the answer's wait for the prompt to close, from the console, ms. */
export const CONSOLE_ANSWER_TIMEOUT_MS = 10_000;

/** Bound of a unit action's wait from the console, ms (the dialog shows progress meanwhile). */
export const CONSOLE_UNIT_TIMEOUT_MS = 60_000;

/** Builds the {@link ConsoleActions} the dispatcher calls. Never throws: failures become notices. */
export function createConsoleActions(deps: ConsoleActionDeps): ConsoleActions {
  const { store, paths, poller } = deps;
  const send = deps.sendToAgent ?? realSendToAgent;
  const dispatch = deps.dispatchCard ?? realDispatchCard;
  const open = deps.openBacklog ?? defaultOpenBacklog;
  const operator = deps.operator ?? operatorName;
  const notice = (text: string, level: 'info' | 'warn' | 'error' = 'info') => store.getState().pushNotice(sanitizeLine(text), level);

  async function withBacklog<T>(what: string, run: (client: BacklogClient) => Promise<T>): Promise<T | null> {
    let client: BacklogClient | null = null;
    try {
      client = await open(paths);
      return await run(client);
    } catch (error) {
      notice(`${what}: ${(error as Error).message}`, 'error');
      return null;
    } finally {
      await client?.close().catch(() => {});
    }
  }

  return {
    quit: deps.quit,
    refresh: () => poller.refresh(),
    togglePreview: () => {
      store.getState().togglePreview();
      if (store.getState().ui.previewOn) void poller.capturePreview();
    },
    watch: (agent) => {
      if (!agent.pane || agent.pane.dead) return notice(`watch: ${agent.name} has no live pane`, 'warn');
      deps.watch(agent);
    },
    async pauseOrResume() {
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
          const store = await recordFleetPause(paths, flag);
          s.closeModal();
          notice(`fleet PAUSED by ${flag.by}${store.recorded || store.existing ? ' (fleet-wide)' : ''}`, 'warn');
        }
      } catch (error) {
        s.closeModal();
        notice(`pause/resume failed: ${(error as Error).message}`, 'error');
      }
      poller.refresh();
    },
    async send(agent, message) {
      const s = store.getState();
      s.startPending('receipt', `sending to ${agent.name}…`);
      let receipt: SendReceipt;
      try {
        receipt = await send({
          agent: agent.name,
          runtime: agent.runtime,
          socket: agentTmuxServer(agent, paths),
          runDir: paths.runDir,
          message,
          timeoutMs: CONSOLE_SEND_TIMEOUT_MS,
          paths,
        });
      } catch (error) {
        receipt = { status: 'refused', agent: agent.name, evidence: [], elapsedMs: 0, source: 'operator:mosaic-top', reason: (error as Error).message };
      }
      store.getState().showReceipt(receipt);
      poller.refresh();
    },
    async dispatch(agent) {
      const s = store.getState();
      s.startPending('message', `claiming a card for ${agent.name}…`);
      let result: DispatchResult;
      try {
        result = await dispatch({
          paths,
          agent: agent.name,
          runtime: agent.runtime,
          socket: agentTmuxServer(agent, paths),
          timeoutMs: CONSOLE_SEND_TIMEOUT_MS,
        });
      } catch (error) {
        result = { ok: false, outcome: 'refused', card: null, receipt: null, refused: (error as Error).message, message: 'claim + dispatch failed' };
      }
      store.getState().showMessage(result.ok ? 'claim + dispatch' : 'claim + dispatch refused', dispatchLines(result));
      poller.refresh();
    },
    async unitAction(agent, verb) {
      const s = store.getState();
      const doing = { start: 'starting', stop: 'stopping', restart: 'restarting' }[verb];
      s.startPending('message', sanitizeLine(`${doing} ${agent.name} (systemctl --user ${verb} ${agentUnitName(agent.name)}), waiting for the outcome…`));
      let result: LifecycleResult;
      try {
        const run = deps.unitAction ?? (await import('../actions/lifecycle.js')).unitAction;
        // The operator confirmed in a dialog that named what a working agent would lose: force.
        result = await run({ paths, agent: agent.name, verb, force: true, timeoutMs: CONSOLE_UNIT_TIMEOUT_MS });
      } catch (error) {
        const message = sanitizeLine(`${verb} ${agent.name}: failed: ${(error as Error).message}`);
        result = {
          ok: false,
          verb,
          agent: agent.name,
          unit: agentUnitName(agent.name),
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
    },
    async answer(agent, choice, promptId) {
      const s = store.getState();
      s.startPending('message', sanitizeLine(`${choice === 'allow' ? 'allowing once' : 'denying'} ${agent.name}'s prompt [id ${promptId}]…`));
      let receipt: AnswerReceipt;
      try {
        const run = deps.answerPrompt ?? (await import('../actions/answer.js')).answerPrompt;
        receipt = await run({
          agent: agent.name,
          runtime: agent.runtime,
          answer: choice,
          promptId,
          socket: agentTmuxServer(agent, paths),
          runDir: paths.runDir,
          readonly: s.ui.readonly,
          timeoutMs: CONSOLE_ANSWER_TIMEOUT_MS,
          paths,
          by: operator(),
        });
      } catch (error) {
        receipt = {
          status: 'refused',
          agent: agent.name,
          answer: choice,
          key: null,
          prompt: null,
          reason: (error as Error).message,
          evidence: [],
          elapsedMs: 0,
          by: operator(),
        };
      }
      store.getState().showMessage(`ANSWER ${receipt.status.toUpperCase()}: ${agent.name}`, answerLines(receipt));
      poller.refresh();
    },
    async reclaim() {
      notice('reclaiming expired claims…');
      const result = await withBacklog('reclaim', (c) => c.reclaim({ actor: `operator:${operator()}` }));
      if (result) notice(result.reclaimed.length ? `reclaimed ${result.reclaimed.length}: ${result.reclaimed.join(', ')}` : 'reclaim: no expired claims');
      poller.refresh();
    },
    async release(card) {
      store.getState().closeModal();
      notice(`releasing ${card.id} (claimed by ${card.owner})…`);
      const result = await withBacklog('release', (c) => c.reclaim({ id: card.id, owner: card.owner, actor: `operator:${operator()}` }));
      if (result) {
        if (result.reclaimed.includes(card.id)) notice(`released ${card.id}: back to ready (was ${card.owner}'s)`);
        else notice(`release: ${card.id} is no longer claimed by ${card.owner}; nothing changed`, 'warn');
      }
      poller.refresh();
    },
    async loadCardDetails(cardId) {
      const found = await withBacklog('card details', async (c) => ({ card: await c.get(cardId), events: await c.events({ cardId, limit: 10 }) }));
      const s = store.getState();
      if (!found || openDetailsOf(s.ui.open)?.key !== cardId) return;
      const { card, events } = found;
      const lines = [
        `status ${card.status}, priority ${card.priority}${card.phase ? `, phase ${card.phase}` : ''}, attempts ${card.attempts}`,
        `depends on: ${card.dependsOn.join(', ') || 'none'}`,
        ...(card.claimOwner ? [`claim: ${card.claimOwner}, token ${card.claimToken ?? '-'}, expires ${card.expiresAt ?? '-'}`] : []),
        'body:',
        ...(card.body ?? '(none)').split('\n').map((l) => `  ${l}`),
        'acceptance:',
        ...(acceptanceLines(card.acceptance).length ? acceptanceLines(card.acceptance) : ['(none)']).map((l) => `  ${l}`),
        'events (newest first):',
        ...(events.length
          ? events.map((e) => `  ${e.at}  ${e.actor}  ${e.verb}${Object.keys(e.detail).length ? `  ${JSON.stringify(e.detail)}` : ''}`)
          : ['  (none)']),
      ];
      s.showCardDetails(
        cardId,
        lines.flatMap((l) => sanitizeLines(l)),
      );
    },
    async loadEvents() {
      // Opens the backlog with create: false (defaultOpenBacklog): with no store yet the client
      // throws BacklogError('absent') and nothing is created; the view says "backlog: none yet".
      store.getState().setBacklogEventsState('loading');
      let client: BacklogClient | null = null;
      try {
        client = await open(paths);
        const events = await client.events({ limit: RECENT_EVENTS_LIMIT });
        store.getState().setBacklogEvents(events.map(eventView), Date.now());
      } catch (error) {
        const absent = error instanceof BacklogError ? error.code === 'absent' : (error as { code?: unknown }).code === 'absent';
        store.getState().setBacklogEventsState(absent ? 'absent' : 'error', sanitizeLine((error as Error).message ?? String(error)));
      } finally {
        await client?.close().catch(() => {});
      }
    },
  };
}
