import type { MosaicPaths } from '../paths.js';
import type { SendReceipt } from './receipt.js';

/** Outcome of claim-and-dispatch (spec §9). */
export interface DispatchResult {
  ok: boolean;
  card: { id: string; title: string } | null;
  receipt: SendReceipt | null;
  /** Why nothing was claimed (PAUSED since … by …, nothing ready, dead pane, …). */
  refused: string | null;
  /** One line for the operator, e.g. "A3 claimed by coder0, receipt submitted (812 ms)". */
  message: string;
}

/**
 * Claims a card for `agent` (the next ready one, or `cardId`) and verified-sends it. Refused
 * while the fleet is PAUSED, before anything is claimed. Stub until the actions issue lands.
 */
export async function dispatchCard(opts: {
  paths: MosaicPaths;
  agent: string;
  socket: string | null;
  cardId?: string;
  ttlSeconds?: number;
  timeoutMs?: number;
}): Promise<DispatchResult> {
  void opts;
  return { ok: false, card: null, receipt: null, refused: 'dispatch not built yet', message: 'dispatch not built yet' };
}
