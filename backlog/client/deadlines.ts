/**
 * Deadlines of backlog requests, shared by both tiers' clients: the per-request timeout from
 * the environment, the message of a request that got no answer, and the error of an abort.
 */
import { BacklogError } from '../types.js';

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * Per-request deadline, ms: `MOSAIC_BACKLOG_TIMEOUT` (seconds) when set to a positive number,
 * else 30 000. Applies to both tiers (a socket request; a Postgres statement, lock wait and query).
 */
export function requestTimeoutFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.MOSAIC_BACKLOG_TIMEOUT);
  return env.MOSAIC_BACKLOG_TIMEOUT && Number.isFinite(n) && n > 0 ? Math.round(n * 1000) : DEFAULT_REQUEST_TIMEOUT_MS;
}

/** Verbs that change the backlog: a timed-out one may still be applied. */
const MUTATING: ReadonlySet<string> = new Set(['create', 'claim', 'renew', 'reclaim', 'link', 'block', 'unblock', 'complete', 'recordEvent', 'importGoals']);

/** `30 s`, `2.5 s`: a deadline in ms as operators read it. */
export function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/**
 * The message of a request that got no answer within its deadline: for a verb that changes
 * the backlog, that it may still be applied and how to check (`backlog show --id`, or a claim
 * retried with its request id); for a read, that the server may be stopped or hung, and
 * `readFix` (default: `backlog stop` the embedded server). Pure.
 */
export function requestTimeoutMessage(
  method: string,
  params: unknown,
  timeoutMs: number,
  peer: string,
  readFix = 'run `mosaic-top backlog stop` and retry',
): string {
  const p = (params ?? {}) as { id?: unknown; requestId?: unknown; from?: unknown };
  const id = typeof p.id === 'string' ? p.id : typeof p.from === 'string' ? p.from : null;
  if (!MUTATING.has(method)) return `${method}: no answer from ${peer} within ${seconds(timeoutMs)}; it may be stopped or hung — ${readFix}`;
  const check = id
    ? `check \`mosaic-top backlog show --id ${id}\``
    : method === 'claim'
      ? 'check `mosaic-top backlog list --status claimed`'
      : 'check `mosaic-top backlog events`';
  const retry =
    method === 'claim' && typeof p.requestId === 'string'
      ? `, or repeat the claim with --request-id ${p.requestId} (it returns that claim's result, never a second card)`
      : '';
  return `${method} sent to ${peer}, no answer within ${seconds(timeoutMs)}: it may have been applied — ${check}${retry}`;
}

/** BacklogError('timeout') for an aborted request, naming the abort's reason. */
export function abortError(signal: AbortSignal | undefined): BacklogError {
  const reason = signal?.reason instanceof Error ? signal.reason.message : 'aborted';
  return new BacklogError('timeout', `backlog request aborted: ${reason}`);
}
