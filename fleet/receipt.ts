/** Receipt of a verified send: what the runtime showed after Enter, with evidence. Owner: actions. */
export type ReceiptStatus = 'submitted' | 'queued' | 'typed_not_submitted' | 'no_evidence' | 'refused';

/** Every receipt status, in the order an operator reads them (best first). */
export const RECEIPT_STATUSES: readonly ReceiptStatus[] = ['submitted', 'queued', 'typed_not_submitted', 'no_evidence', 'refused'];

/** The receipt of one send: status, evidence, timing, source; `reason` for refusals. */
export interface SendReceipt {
  status: ReceiptStatus;
  agent: string;
  /** Signals that decided the status, e.g. "pane changed below baseline: 'ack: hello'". Sanitized. */
  evidence: string[];
  /** Milliseconds from the start of the send to the verdict. */
  elapsedMs: number;
  /** Source label the message carried, e.g. `operator:mosaic-top`. */
  source: string;
  /** For `refused`: why (dead pane, control characters, …). */
  reason: string | null;
  /** Where the receipt was recorded: "backlog event #12", or why not ("no backlog store"); absent when not attempted. */
  recorded?: string | null;
}

/** True when the runtime took the message (now or queued): the statuses that count as delivered. */
export function isDelivered(status: ReceiptStatus): boolean {
  return status === 'submitted' || status === 'queued';
}

/** One line for the operator: "submitted to coder1 in 812 ms (operator:mosaic-top): <first evidence>". */
export function describeReceipt(receipt: SendReceipt): string {
  if (receipt.status === 'refused') return `refused for ${receipt.agent}: ${receipt.reason ?? 'no reason given'}`;
  if (receipt.evidence.some((e) => e.startsWith('not verified')))
    return `sent to ${receipt.agent} in ${receipt.elapsedMs} ms (${receipt.source}), not verified: use --verify for a receipt`;
  const why = receipt.evidence.length ? `: ${receipt.evidence[receipt.evidence.length > 1 ? 1 : 0]}` : '';
  return `${receipt.status} to ${receipt.agent} in ${receipt.elapsedMs} ms (${receipt.source})${why}`;
}
