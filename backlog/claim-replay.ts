/**
 * Claims remembered by request id on the embedded backlog server (CLAIM_REQUEST_MEMORY_SECONDS):
 * a client whose claim timed out (the server was stopped meanwhile) repeats it with the same id
 * and gets that reply, never a second card. A repeat must BE that claim — the same owner, card
 * id and TTL; a request id replayed by another owner or with other arguments is refused
 * (`request_mismatch`, exit 4), nothing claimed. In memory: a restarted server forgets (the
 * claim is then in `show`).
 */
import type { BacklogRequest, BacklogResponse } from './protocol.js';
import { CLAIM_REQUEST_MEMORY_SECONDS } from './types.js';

/** A claim's arguments as compared between a request and its replay: `owner=c1 id=- ttl=900` (absent ones as `-`). Pure. */
export function claimArguments(params: Record<string, unknown>): string {
  const show = (v: unknown) => (v === undefined || v === null || v === '' ? '-' : String(v));
  return `owner=${show(params.owner)} id=${show(params.id)} ttl=${show(params.ttlSeconds)}`;
}

/** The refusal of a request id replayed with other arguments (code `request_mismatch`, exit 4: nothing was claimed). Pure. */
export function requestIdReused(id: number, requestId: string, owner: string, first: string, now: string): BacklogResponse {
  return {
    id,
    ok: false,
    error: {
      code: 'request_mismatch',
      message: `claim refused: request id ${requestId} was used by ${owner || 'another claim'} with ${first}, this claim has ${now}; a repeat must carry the same owner and arguments — use a new --request-id`,
    },
  };
}

/** The server's memory of claims by request id (see the module comment). */
export class ClaimReplays {
  private readonly claims = new Map<string, { atMs: number; args: string; owner: string; reply: Promise<BacklogResponse> }>();

  /**
   * Runs `request` through `execute` once per request id: a claim without one runs as is; a
   * repeat with the same arguments gets the first reply (with its own `id`); other arguments
   * are refused. A failed claim (paused, invalid…) changed nothing and is forgotten. `nowMs`: unix ms.
   */
  run(request: BacklogRequest, execute: (request: BacklogRequest) => Promise<BacklogResponse>, nowMs = Date.now()): Promise<BacklogResponse> {
    const requestId = request.method === 'claim' ? (request.params as { requestId?: unknown } | undefined)?.requestId : undefined;
    if (typeof requestId !== 'string' || !requestId) return execute(request);
    for (const [key, entry] of this.claims) if (nowMs - entry.atMs > CLAIM_REQUEST_MEMORY_SECONDS * 1000) this.claims.delete(key);
    const { requestId: _omit, ...params } = request.params as Record<string, unknown>;
    const args = claimArguments(params);
    const remembered = this.claims.get(requestId);
    if (remembered && remembered.args !== args) return Promise.resolve(requestIdReused(request.id, requestId, remembered.owner, remembered.args, args));
    if (remembered) return remembered.reply.then((response) => ({ ...response, id: request.id }));
    const reply = execute({ ...request, params });
    this.claims.set(requestId, { atMs: nowMs, args, owner: String(params.owner ?? ''), reply });
    void reply.then((response) => {
      if (!response.ok) this.claims.delete(requestId);
    });
    return reply;
  }
}
