/** Receipt of a verified send (spec §9). */
export type ReceiptStatus = 'submitted' | 'queued' | 'typed_not_submitted' | 'no_evidence' | 'refused';

export interface SendReceipt {
  status: ReceiptStatus;
  agent: string;
  /** Signals that decided the status, e.g. "pane changed below baseline: 'ack: hello'". */
  evidence: string[];
  /** Milliseconds from the start of the send to the verdict. */
  elapsedMs: number;
  /** Source label the message carried, e.g. `operator:mosaic-top`. */
  source: string;
  /** For `refused`: why (dead pane, control characters, …). */
  reason: string | null;
}
