/**
 * The console's backlog actions: reclaim expired claims, release one claim, load a card's
 * details and the recent events. Each opens a backlog client for the one call and closes it;
 * failures become notices (or the events view's error state), never throws.
 */
import type { BacklogClient } from '../../backlog/verbs.js';
import { BacklogError } from '../../backlog/types.js';
import { messageOf } from '../../lib/errors.js';
import { sanitizeLine } from '../../lib/sanitize.js';
import { openDetailsOf } from '../store/ui-slice.js';
import { RECENT_EVENTS_LIMIT, eventView } from '../view/event-rows.js';
import { cardDetailLines } from '../view/card-details.js';
import type { ActionContext } from './action-context.js';
import type { ConsoleActions } from './types.js';

/** Runs `run` on a backlog client opened for it (closed after); a failure is an error notice `<what>: <cause>` and null. */
async function withBacklog<T>(ctx: ActionContext, what: string, run: (client: BacklogClient) => Promise<T>): Promise<T | null> {
  let client: BacklogClient | null = null;
  try {
    client = await ctx.openBacklog(ctx.paths);
    return await run(client);
  } catch (error) {
    ctx.notice(`${what}: ${messageOf(error)}`, 'error');
    return null;
  } finally {
    await client?.close().catch(() => {});
  }
}

/** Reclaims every expired claim (back to ready) and says which. */
function reclaim(ctx: ActionContext): ConsoleActions['reclaim'] {
  return async () => {
    ctx.notice('reclaiming expired claims…');
    const result = await withBacklog(ctx, 'reclaim', (c) => c.reclaim({ actor: `operator:${ctx.operator()}` }));
    if (result) ctx.notice(result.reclaimed.length ? `reclaimed ${result.reclaimed.length}: ${result.reclaimed.join(', ')}` : 'reclaim: no expired claims');
    ctx.poller.refresh();
  };
}

/** Releases one claim back to ready, only while `card.owner` still holds it. */
function release(ctx: ActionContext): ConsoleActions['release'] {
  return async (card) => {
    ctx.store.getState().closeModal();
    ctx.notice(`releasing ${card.id} (claimed by ${card.owner})…`);
    const result = await withBacklog(ctx, 'release', (c) => c.reclaim({ id: card.id, owner: card.owner, actor: `operator:${ctx.operator()}` }));
    if (result) {
      if (result.reclaimed.includes(card.id)) ctx.notice(`released ${card.id}: back to ready (was ${card.owner}'s)`);
      else ctx.notice(`release: ${card.id} is no longer claimed by ${card.owner}; nothing changed`, 'warn');
    }
    ctx.poller.refresh();
  };
}

/** Loads the full card and its last 10 events into the details view (when it still shows that card). */
function loadCardDetails(ctx: ActionContext): NonNullable<ConsoleActions['loadCardDetails']> {
  return async (cardId) => {
    const found = await withBacklog(ctx, 'card details', async (c) => ({ card: await c.get(cardId), events: await c.events({ cardId, limit: 10 }) }));
    const s = ctx.store.getState();
    if (!found || openDetailsOf(s.ui.open)?.key !== cardId) return;
    s.showCardDetails(cardId, cardDetailLines(found.card, found.events));
  };
}

/**
 * Loads the most recent backlog events for the events view. Opens the backlog with
 * create: false (defaultOpenBacklog): with no store yet the client throws
 * BacklogError('absent') and nothing is created; the view says "backlog: none yet".
 */
function loadEvents(ctx: ActionContext): NonNullable<ConsoleActions['loadEvents']> {
  return async () => {
    const s = ctx.store.getState();
    s.setBacklogEventsState('loading');
    let client: BacklogClient | null = null;
    try {
      client = await ctx.openBacklog(ctx.paths);
      const events = await client.events({ limit: RECENT_EVENTS_LIMIT });
      ctx.store.getState().setBacklogEvents(events.map(eventView), Date.now());
    } catch (error) {
      const absent = error instanceof BacklogError ? error.code === 'absent' : (error as { code?: unknown } | null)?.code === 'absent';
      ctx.store.getState().setBacklogEventsState(absent ? 'absent' : 'error', sanitizeLine(messageOf(error)));
    } finally {
      await client?.close().catch(() => {});
    }
  };
}

/** The backlog actions of {@link ConsoleActions}. */
export function backlogActions(ctx: ActionContext): Pick<Required<ConsoleActions>, 'reclaim' | 'release' | 'loadCardDetails' | 'loadEvents'> {
  return { reclaim: reclaim(ctx), release: release(ctx), loadCardDetails: loadCardDetails(ctx), loadEvents: loadEvents(ctx) };
}
