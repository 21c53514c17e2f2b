import type { SendReceipt } from './receipt.js';

/** Options of a verified send (spec §9). */
export interface SendOptions {
  agent: string;
  socket: string | null;
  runDir: string;
  message: string;
  /** Verify and wait for a receipt (default true). */
  verify?: boolean;
  /** How long verification may watch the pane, milliseconds. */
  timeoutMs?: number;
  /** Source label carried by the message (default `operator:mosaic-top`). */
  source?: string;
  signal?: AbortSignal;
}

/**
 * Sends `message` to the agent's pane literally (bracketed paste for multi-line), then Enter,
 * and returns a receipt from a baseline capture, later captures and the heartbeat. Never
 * throws for refusals (they are receipts). Stub until the actions issue lands.
 */
export async function sendToAgent(opts: SendOptions): Promise<SendReceipt> {
  return {
    status: 'refused',
    agent: opts.agent,
    evidence: [],
    elapsedMs: 0,
    source: opts.source ?? 'operator:mosaic-top',
    reason: 'send not built yet',
  };
}
