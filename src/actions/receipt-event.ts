/**
 * Recording operator actions in the backlog's append-only events table (every dispatch and send leaves a receipt event).
 * Owner: actions. The backlog client is imported lazily so a plain send loads no database code.
 */
import fs from 'node:fs';
import type { BacklogClient } from '../../backlog/verbs.js';
import type { MosaicPaths } from '../../lib/paths.js';
import { operatorName } from './pause.js';
import type { SendReceipt } from '../../fleet/receipt.js';
import { messageOf } from '../../lib/errors.js';

/**
 * True when a backlog store exists for `paths`: `DATABASE_URL` is set, or the embedded data
 * dir exists. A send never creates a store just to record its receipt.
 */
export function backlogExists(paths: MosaicPaths): boolean {
  return !!paths.databaseUrl || fs.existsSync(paths.backlogDataDir);
}

/** The `detail` object of a `receipt` event: status, evidence, timing and source of a send. */
export function receiptEventDetail(receipt: SendReceipt): Record<string, unknown> {
  return {
    agent: receipt.agent,
    status: receipt.status,
    evidence: receipt.evidence,
    elapsedMs: receipt.elapsedMs,
    source: receipt.source,
    reason: receipt.reason,
  };
}

/**
 * True when a receipt belongs in the events table: something was typed into a pane (any status
 * but `refused`), or a card is involved (a dispatch — its refusals included, e.g. a pane that
 * died between the claim and the send). A plain send refused before anything was sent (empty
 * message, control characters, bad source label, dead or missing pane) is not an event.
 */
export function isReceiptWorthRecording(receipt: SendReceipt, cardId?: string | null): boolean {
  return receipt.status !== 'refused' || !!cardId;
}

/**
 * Records `receipt` as a `receipt` event (actor: the operator, `$USER@host`), optionally tied to
 * `cardId` — only when {@link isReceiptWorthRecording}; otherwise nothing is attempted and the
 * result is undefined (`receipt.recorded` stays absent). Uses `client` when given (left open),
 * else opens the backlog without creating it and closes it again. Never throws: returns
 * "backlog event #<id>" or why it was not recorded ("no backlog store …", "not recorded: <error>").
 */
export async function recordReceiptEvent(
  paths: MosaicPaths,
  receipt: SendReceipt,
  opts: { client?: BacklogClient; cardId?: string | null; actor?: string } = {},
): Promise<string | undefined> {
  if (!isReceiptWorthRecording(receipt, opts.cardId)) return undefined;
  let client = opts.client ?? null;
  let opened = false;
  try {
    if (!client) {
      if (!backlogExists(paths)) return 'no backlog store: receipt not recorded (a send does not create one)';
      const { openBacklog } = await import('../../backlog/client.js');
      client = await openBacklog(paths, { create: false, onProgress: () => {} });
      opened = true;
    }
    const event = await client.recordEvent({
      actor: opts.actor ?? operatorName(),
      verb: 'receipt',
      cardId: opts.cardId ?? null,
      detail: receiptEventDetail(receipt),
    });
    return `backlog event #${event.id}`;
  } catch (error) {
    return `not recorded: ${messageOf(error)}`;
  } finally {
    if (opened && client) await client.close().catch(() => {});
  }
}

/**
 * Records one operator action (a unit start/stop/restart, a restart --all) as an event with
 * `verb` (e.g. `unit-restart`) and `detail` (who is `actor`, default the operator `$USER@host`;
 * what and the result go in `detail`). Like receipts, only into an existing backlog store (never
 * created for this); `client` is reused when given (left open). Never throws: returns
 * "backlog event #<id>" or why it was not recorded.
 */
export async function recordOperatorEvent(
  paths: MosaicPaths,
  verb: string,
  detail: Record<string, unknown>,
  opts: { client?: BacklogClient; actor?: string } = {},
): Promise<string> {
  let client = opts.client ?? null;
  let opened = false;
  try {
    if (!client) {
      if (!backlogExists(paths)) return `no backlog store: ${verb} not recorded (an action does not create one)`;
      const { openBacklog } = await import('../../backlog/client.js');
      client = await openBacklog(paths, { create: false, onProgress: () => {} });
      opened = true;
    }
    const event = await client.recordEvent({ actor: opts.actor ?? operatorName(), verb, cardId: null, detail });
    return `backlog event #${event.id}`;
  } catch (error) {
    return `not recorded: ${messageOf(error)}`;
  } finally {
    if (opened && client) await client.close().catch(() => {});
  }
}
