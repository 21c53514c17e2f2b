/**
 * Test bed: a local model endpoint for the REAL agent runtimes (Claude Code, Codex, pi,
 * opencode), dependency-free (`node:http`), bound to 127.0.0.1 on an ephemeral port.
 *
 * Serves the three wire shapes the runtimes speak, streaming (SSE) as the real APIs do:
 * - Anthropic Messages: `POST /v1/messages` (Claude sends `?beta=true`), `POST
 *   /v1/messages/count_tokens`, `HEAD /`;
 * - OpenAI Responses: `POST /v1/responses` (Codex);
 * - OpenAI Chat Completions: `POST /v1/chat/completions` (pi, opencode), with a usage chunk
 *   and `data: [DONE]`;
 * - `GET /v1/models`; errors as real HTTP statuses (401, 429 with `retry-after`, 500, 529) in
 *   each API's own error body.
 *
 * What the next "main" requests get is scripted per test with {@link ModelEndpoint.queue}: a
 * text reply paced over N seconds, a delay (or a hold released by the test) before the first
 * token, a tool call that runs a shell command (which needs the runtime's permission), or an
 * error status. A main request is one that offers tools; side requests without tools (title
 * generation, quota probes) are answered at once with a short text and never consume the queue.
 * With the queue empty a main request gets the short default reply {@link DEFAULT_REPLY_TEXT}.
 *
 * Every request is recorded ({@link ModelEndpoint.requests}), so a test can assert exactly
 * what the model received; {@link lastUserText} extracts the last user message per API shape.
 * The same control is reachable over HTTP for other processes: `POST /_control/queue` (body:
 * one reply or an array), `POST /_control/release`, `POST /_control/reset`, `GET
 * /_control/requests`.
 *
 * ```ts
 * const endpoint = await startModelEndpoint();
 * const turn = endpoint.queue({ kind: 'text', text: 'slow answer', paceSeconds: 20 });
 * const req = await turn.started;           // the runtime's request for this reply
 * expect(lastUserText(req)).toContain('hello');
 * await endpoint.close();
 * ```
 *
 * Upstream wire formats: Anthropic "Messages streaming" (message_start → content_block_* →
 * message_delta → message_stop), OpenAI "Responses streaming events", OpenAI "Chat Completions
 * streaming" (chunks, `stream_options.include_usage`). Measured behaviour: shared/spec/runtimes.md.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Text a main request gets when nothing is queued. */
export const DEFAULT_REPLY_TEXT = 'OK.';
/** Text every side request (no tools: title generation, …) gets at once. */
export const SIDE_REPLY_TEXT = 'Test session';

/** Which API shape a request used. */
export type ApiShape = 'anthropic' | 'responses' | 'chat' | 'count_tokens' | 'models' | 'control' | 'other';

/** When a held reply waits for {@link ReplyHandle.release}. */
export type HoldPoint = 'before-first-token' | 'before-end';

/**
 * A scripted reply for the next main request.
 * - `text`: `text` streamed in word chunks spread evenly over `paceSeconds` (default 0), after
 *   `firstTokenDelaySeconds` (default 0); `hold` stops the stream at that point until the test
 *   calls `release()` (use it instead of long paces when a test needs "busy" for as long as it
 *   looks).
 * - `tool`: a call of the runtime's shell tool running `command` (Claude `Bash`, Codex
 *   `shell_command`/`exec_command`/`shell` asking escalation, pi/opencode `bash`), optionally
 *   preceded by `text`; `call` overrides the tool name and its JSON input.
 * - `error`: HTTP `status` with the API's error body; `retryAfterSeconds` sets `retry-after`
 *   (default 1 for 429/529); it answers `times` consecutive main requests (default 1: raise it
 *   to cover a runtime's own retries).
 */
export type ScriptedReply =
  | { kind: 'text'; text: string; paceSeconds?: number; firstTokenDelaySeconds?: number; hold?: HoldPoint }
  | {
      kind: 'tool';
      command: string;
      text?: string;
      firstTokenDelaySeconds?: number;
      hold?: HoldPoint;
      call?: { name: string; input: Record<string, unknown> };
    }
  | { kind: 'error'; status: number; message?: string; retryAfterSeconds?: number; times?: number };

/** One request as the endpoint received it. `body` is the parsed JSON (or the raw text). */
export interface RecordedRequest {
  /** 1-based arrival order. */
  seq: number;
  method: string;
  /** URL path without the query. */
  path: string;
  /** Raw query string ('' when none), e.g. `beta=true`. */
  query: string;
  api: ApiShape;
  headers: http.IncomingHttpHeaders;
  body: any;
  /** True for a model request without tools (answered at once with {@link SIDE_REPLY_TEXT}). */
  side: boolean;
  /** What was served: `text`, `tool Bash`, `error 429`, `side`, `default`, … */
  served: string;
  /** Arrival time, ms since the epoch (for ordering and logs only: never assert on it). */
  at: number;
  /** Token counts served in the reply's usage (model requests that got a reply, side ones too). */
  usage?: ServedUsage;
}

/**
 * Tokens served in one reply's usage, in the field's terms: `input` = uncached input,
 * `cacheRead` / `cacheWrite` = input read from / written to the prompt cache, `output`,
 * `reasoning` (part of `output`). Every reply gets different counts (a per-endpoint sequence),
 * so a meter that drops or doubles a request cannot match the sum. The OpenAI shapes have no
 * cache write: it is 0 there. Wire: Anthropic `input_tokens` (uncached),
 * `cache_read_input_tokens`, `cache_creation_input_tokens`, `output_tokens`; Responses
 * `input_tokens` (cached INCLUDED) with `input_tokens_details.cached_tokens`, `output_tokens`
 * with `output_tokens_details.reasoning_tokens`; Chat `prompt_tokens` (cached included) with
 * `prompt_tokens_details.cached_tokens`, `completion_tokens`.
 */
export interface ServedUsage {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  reasoning: number;
}

/** One subscription window sent as Codex's rate-limit headers (`x-codex-<window>-…`). */
export interface RateLimitWindow {
  usedPercent: number;
  windowMinutes: number;
  /** Unix seconds the window resets. */
  resetAt: number;
}

/** One Claude subscription window sent as `anthropic-ratelimit-unified-<5h|7d>-…` headers. */
export interface UnifiedRateLimitWindow {
  /** Fraction used, 0..1 (`-utilization`). */
  utilization: number;
  /** Unix seconds the window resets (`-reset`). */
  resetAt: number;
}

/** Returned by {@link ModelEndpoint.queue}: follows one scripted reply. */
export interface ReplyHandle {
  /** Resolves with the (first) request this reply answered. */
  started: Promise<RecordedRequest>;
  /** Resolves when the reply was fully written (or the client went away). */
  finished: Promise<void>;
  /** Lets a held reply go on (no-op otherwise; may be called before it is reached). */
  release(): void;
}

/** The running endpoint. */
export interface ModelEndpoint {
  /** Port on 127.0.0.1. */
  port: number;
  /** `http://127.0.0.1:<port>` (no trailing slash): Claude's `ANTHROPIC_BASE_URL`. */
  url: string;
  /** `<url>/v1`: the OpenAI-style base URL for Codex, pi, opencode. */
  openaiBaseUrl: string;
  /** Queues one reply for the next main request; returns its handle. */
  queue(reply: ScriptedReply): ReplyHandle;
  /**
   * Sends Codex's rate-limit headers (`x-codex-primary-used-percent`, `-window-minutes`,
   * `-reset-at`, and `secondary`) on every Responses reply from now on; null stops them.
   */
  setRateLimits(limits: { primary?: RateLimitWindow; secondary?: RateLimitWindow } | null): void;
  /**
   * Sends Claude's unified rate-limit headers (`anthropic-ratelimit-unified-status: allowed`,
   * `-5h-utilization`, `-5h-reset`, `-7d-…`) on every Messages reply from now on; null stops them.
   */
  setUnifiedRateLimits(limits: { fiveHour?: UnifiedRateLimitWindow; sevenDay?: UnifiedRateLimitWindow } | null): void;
  /** Replies still queued (not yet started). */
  pending(): number;
  /** Model requests (main or side) whose response has not ended yet: a runtime mid-turn. */
  open(): number;
  /** Every request so far, in arrival order (copies). */
  requests(): RecordedRequest[];
  /** Main model requests (with tools) so far. */
  mainRequests(): RecordedRequest[];
  /**
   * Polls until a recorded request matches `predicate` (default: any main request after
   * `afterSeq`), bounded by `timeoutMs` (default 30 000); throws naming what was recorded.
   */
  waitForRequest(opts?: { predicate?: (r: RecordedRequest) => boolean; afterSeq?: number; timeoutMs?: number }): Promise<RecordedRequest>;
  /** Highest seq recorded so far (0 when none): pass it as `afterSeq` to wait for what comes next. */
  lastSeq(): number;
  /** Releases every held reply (current and queued). */
  releaseAll(): void;
  /** Clears the queue, releases held replies and forgets recorded requests. */
  reset(): void;
  /** Closes the server and every open stream. */
  close(): Promise<void>;
}

interface Queued {
  reply: ScriptedReply;
  remaining: number;
  startedResolve: (r: RecordedRequest) => void;
  finishedResolve: () => void;
  released: boolean;
  releaseWaiters: Array<() => void>;
  startedOnce: boolean;
}

const MAX_BODY = 32 * 1024 * 1024;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Splits text into word chunks (whitespace kept with the word before it). */
function chunks(text: string): string[] {
  const parts = text.match(/\S+\s*|\s+/g) ?? [];
  return parts.length ? parts : [''];
}

function toolNames(api: ApiShape, body: any): string[] {
  const tools: any[] = Array.isArray(body?.tools) ? body.tools : [];
  return tools
    .map((t) => (api === 'chat' ? (t?.function?.name ?? t?.name) : (t?.name ?? t?.function?.name ?? t?.type)))
    .filter((n): n is string => typeof n === 'string');
}

/**
 * The tool call for a `tool` reply: the runtime's shell tool (by the names it offered) and its
 * input. Codex runs `workspace-write` + `on-request`: the call asks escalation so it needs the
 * operator's approval like Claude's Bash does.
 */
function shellCall(api: ApiShape, body: any, command: string): { name: string; input: Record<string, unknown> } {
  const names = toolNames(api, body);
  const justification = 'The test needs this command to run.';
  if (names.includes('Bash')) return { name: 'Bash', input: { command, description: 'Run the command' } };
  if (names.includes('shell_command')) {
    return { name: 'shell_command', input: { command, sandbox_permissions: 'require_escalated', justification } };
  }
  if (names.includes('exec_command')) {
    return { name: 'exec_command', input: { cmd: command, sandbox_permissions: 'require_escalated', justification } };
  }
  if (names.includes('shell')) {
    return { name: 'shell', input: { command: ['bash', '-lc', command], sandbox_permissions: 'require_escalated', justification } };
  }
  if (names.includes('bash')) return { name: 'bash', input: { command, description: 'Run the command' } };
  throw new Error(`no shell tool among the tools offered (${names.join(', ') || 'none'})`);
}

/** Classifies a request path. */
function apiOf(method: string, path: string): ApiShape {
  if (path.startsWith('/_control/')) return 'control';
  if (method === 'POST' && /\/messages\/count_tokens$/.test(path)) return 'count_tokens';
  if (method === 'POST' && /\/messages$/.test(path)) return 'anthropic';
  if (method === 'POST' && /\/responses$/.test(path)) return 'responses';
  if (method === 'POST' && /\/chat\/completions$/.test(path)) return 'chat';
  if (method === 'GET' && /\/models$/.test(path)) return 'models';
  return 'other';
}

function hasTools(body: any): boolean {
  return Array.isArray(body?.tools) && body.tools.length > 0;
}

/**
 * The text of the last user message of a recorded model request, per API shape: Anthropic
 * `messages[].content` (string or `text` blocks; tool results skipped), Responses `input[]`
 * items with `role: "user"` (`input_text` parts), Chat `messages[]` with `role: "user"`.
 * Parts are joined with `\n`. `stripReminders` (default true) drops Claude's
 * `<system-reminder>` blocks and Codex's `<environment_context>`/`<user_instructions>` items,
 * which the runtime adds itself. Returns '' when there is no user text.
 */
export function lastUserText(req: Pick<RecordedRequest, 'api' | 'body'>, opts: { stripReminders?: boolean } = {}): string {
  const texts = userTexts(req, opts);
  return texts[texts.length - 1] ?? '';
}

/** Every user message's text of a recorded model request, oldest first (see {@link lastUserText}). */
export function userTexts(req: Pick<RecordedRequest, 'api' | 'body'>, opts: { stripReminders?: boolean } = {}): string[] {
  const strip = opts.stripReminders !== false;
  const keep = (t: string): boolean =>
    !strip || !/^\s*<(system-reminder|environment_context|user_instructions|permissions instructions|INSTRUCTIONS)\b/.test(t);
  const partsText = (content: any, textTypes: string[]): string => {
    if (typeof content === 'string') return keep(content) ? content : '';
    if (!Array.isArray(content)) return '';
    return content
      .filter((p) => p && textTypes.includes(p.type) && typeof p.text === 'string' && keep(p.text))
      .map((p) => p.text as string)
      .join('\n');
  };
  const body = req.body ?? {};
  let out: string[] = [];
  if (req.api === 'anthropic' || req.api === 'count_tokens') {
    out = (Array.isArray(body.messages) ? body.messages : []).filter((m: any) => m?.role === 'user').map((m: any) => partsText(m.content, ['text']));
  } else if (req.api === 'responses') {
    const input = typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : Array.isArray(body.input) ? body.input : [];
    out = input
      .filter((m: any) => m?.role === 'user' && (m.type === undefined || m.type === 'message'))
      .map((m: any) => partsText(m.content, ['input_text', 'text']));
  } else if (req.api === 'chat') {
    out = (Array.isArray(body.messages) ? body.messages : []).filter((m: any) => m?.role === 'user').map((m: any) => partsText(m.content, ['text']));
  }
  return out.filter((t) => t.length > 0);
}

function errorBody(api: ApiShape, status: number, message: string): unknown {
  if (api === 'anthropic' || api === 'count_tokens') {
    const type =
      status === 401
        ? 'authentication_error'
        : status === 429
          ? 'rate_limit_error'
          : status === 529
            ? 'overloaded_error'
            : status === 400
              ? 'invalid_request_error'
              : 'api_error';
    return { type: 'error', error: { type, message } };
  }
  const type = status === 401 ? 'invalid_request_error' : status === 429 ? 'rate_limit_exceeded' : 'server_error';
  const code = status === 401 ? 'invalid_api_key' : status === 429 ? 'rate_limit_exceeded' : null;
  return { error: { message, type, param: null, code } };
}

function defaultErrorMessage(status: number): string {
  switch (status) {
    case 401:
      return 'invalid x-api-key';
    case 429:
      return 'Rate limited: too many requests (test endpoint)';
    case 529:
      return 'Overloaded';
    default:
      return `Internal server error (test endpoint, ${status})`;
  }
}

/** Starts the endpoint on 127.0.0.1 (ephemeral port). `log` gets one line per request when given. */
export async function startModelEndpoint(opts: { log?: (line: string) => void } = {}): Promise<ModelEndpoint> {
  const queued: Queued[] = [];
  const active = new Set<Queued>();
  let openRequests = 0;
  const recorded: RecordedRequest[] = [];
  const sockets = new Set<import('node:net').Socket>();
  let seq = 0;
  let idCounter = 0;
  let usageCounter = 0;
  let rateLimits: { primary?: RateLimitWindow; secondary?: RateLimitWindow } | null = null;
  /** The next distinct usage: every count differs from the previous reply's. */
  const nextUsage = (api: ApiShape): ServedUsage => {
    const n = ++usageCounter;
    const openai = api !== 'anthropic';
    const output = 17 + ((n * 13) % 29);
    return { input: 101 + n * 7, output, cacheRead: 1009 + n * 37, cacheWrite: openai ? 0 : 53 + n * 11, reasoning: openai ? 1 + (n % 5) : 0 };
  };
  const rateHeaders = (): Record<string, string> => {
    const h: Record<string, string> = {};
    for (const w of ['primary', 'secondary'] as const) {
      const l = rateLimits?.[w];
      if (!l) continue;
      h[`x-codex-${w}-used-percent`] = String(l.usedPercent);
      h[`x-codex-${w}-window-minutes`] = String(l.windowMinutes);
      h[`x-codex-${w}-reset-at`] = String(l.resetAt);
    }
    return h;
  };
  let unifiedLimits: { fiveHour?: UnifiedRateLimitWindow; sevenDay?: UnifiedRateLimitWindow } | null = null;
  const unifiedHeaders = (): Record<string, string> => {
    if (!unifiedLimits) return {};
    const h: Record<string, string> = { 'anthropic-ratelimit-unified-status': 'allowed' };
    for (const [key, tag] of [
      ['fiveHour', '5h'],
      ['sevenDay', '7d'],
    ] as const) {
      const l = unifiedLimits[key];
      if (!l) continue;
      h[`anthropic-ratelimit-unified-${tag}-utilization`] = String(l.utilization);
      h[`anthropic-ratelimit-unified-${tag}-reset`] = String(l.resetAt);
    }
    return h;
  };
  const nextId = (prefix: string) => `${prefix}_${Date.now().toString(36)}${(++idCounter).toString(36)}`;

  const newQueued = (reply: ScriptedReply): { q: Queued; handle: ReplyHandle } => {
    let startedResolve!: (r: RecordedRequest) => void;
    let finishedResolve!: () => void;
    const started = new Promise<RecordedRequest>((r) => (startedResolve = r));
    const finished = new Promise<void>((r) => (finishedResolve = r));
    const q: Queued = {
      reply,
      remaining: reply.kind === 'error' ? Math.max(1, reply.times ?? 1) : 1,
      startedResolve,
      finishedResolve,
      released: false,
      releaseWaiters: [],
      startedOnce: false,
    };
    const release = () => {
      q.released = true;
      for (const w of q.releaseWaiters.splice(0)) w();
    };
    return { q, handle: { started, finished, release } };
  };

  const waitRelease = (q: Queued, closed: () => boolean): Promise<void> =>
    q.released || closed()
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          q.releaseWaiters.push(resolve);
        });

  /** Writes an SSE stream for a text or tool reply in the request's API shape. */
  async function stream(
    api: ApiShape,
    body: any,
    res: http.ServerResponse,
    reply: ScriptedReply & { kind: 'text' | 'tool' },
    q: Queued | null,
    usage: ServedUsage,
  ): Promise<void> {
    let closed = false;
    res.on('close', () => {
      closed = true;
      if (q) for (const w of q.releaseWaiters.splice(0)) w();
    });
    const model = typeof body?.model === 'string' ? body.model : 'test-model';
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      // The Anthropic API names each response (Claude Code records it as `requestId`).
      ...(api === 'anthropic' ? { 'request-id': nextId('req'), ...unifiedHeaders() } : {}),
      ...(api === 'responses' ? rateHeaders() : {}),
    });
    const send = (event: string | null, data: unknown): void => {
      if (closed) return;
      res.write((event ? `event: ${event}\n` : '') + `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
    };
    const text = reply.kind === 'text' ? reply.text : (reply.text ?? '');
    const call = reply.kind === 'tool' ? (reply.call ?? shellCall(api, body, reply.command)) : null;
    const pieces = text ? chunks(text) : [];
    const paceMs = reply.kind === 'text' ? Math.max(0, (reply.paceSeconds ?? 0) * 1000) : 0;
    const gap = pieces.length > 1 ? paceMs / pieces.length : paceMs;
    const firstDelay = Math.max(0, (reply.firstTokenDelaySeconds ?? 0) * 1000);
    const outTokens = usage.output;
    const anthropicUsage = {
      input_tokens: usage.input,
      cache_creation_input_tokens: usage.cacheWrite,
      cache_read_input_tokens: usage.cacheRead,
      cache_creation: { ephemeral_5m_input_tokens: usage.cacheWrite, ephemeral_1h_input_tokens: 0 },
    };

    // Opening events (the runtime shows "busy" from here).
    const msgId = nextId(api === 'anthropic' ? 'msg' : api === 'responses' ? 'resp' : 'chatcmpl');
    const created = Math.floor(Date.now() / 1000);
    const chatChunk = (delta: unknown, finish: string | null = null) => ({
      id: msgId,
      object: 'chat.completion.chunk',
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    if (api === 'anthropic') {
      send('message_start', {
        type: 'message_start',
        message: {
          id: msgId,
          type: 'message',
          role: 'assistant',
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { ...anthropicUsage, output_tokens: 1 },
        },
      });
      send('ping', { type: 'ping' });
    } else if (api === 'responses') {
      send('response.created', {
        type: 'response.created',
        response: { id: msgId, object: 'response', created_at: created, status: 'in_progress', model, output: [] },
      });
      send('response.in_progress', {
        type: 'response.in_progress',
        response: { id: msgId, object: 'response', created_at: created, status: 'in_progress', model, output: [] },
      });
    } else {
      send(null, chatChunk({ role: 'assistant', content: '' }));
    }

    if (firstDelay > 0) await sleep(firstDelay);
    if (q && reply.hold === 'before-first-token') await waitRelease(q, () => closed);

    const outputItems: unknown[] = [];
    let index = 0;
    // Text part.
    if (pieces.length) {
      const itemId = nextId('msg');
      if (api === 'anthropic') send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
      else if (api === 'responses') {
        send('response.output_item.added', {
          type: 'response.output_item.added',
          output_index: index,
          item: { type: 'message', id: itemId, role: 'assistant', status: 'in_progress', content: [] },
        });
        send('response.content_part.added', {
          type: 'response.content_part.added',
          item_id: itemId,
          output_index: index,
          content_index: 0,
          part: { type: 'output_text', text: '', annotations: [] },
        });
      }
      for (let i = 0; i < pieces.length && !closed; i++) {
        if (i > 0 && gap > 0) await sleep(gap);
        const piece = pieces[i];
        if (api === 'anthropic') send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } });
        else if (api === 'responses')
          send('response.output_text.delta', { type: 'response.output_text.delta', item_id: itemId, output_index: index, content_index: 0, delta: piece });
        else send(null, chatChunk({ content: piece }));
      }
      if (pieces.length === 1 && gap > 0) await sleep(gap);
      if (api === 'anthropic') send('content_block_stop', { type: 'content_block_stop', index });
      else if (api === 'responses') {
        const item = { type: 'message', id: itemId, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] };
        send('response.output_text.done', { type: 'response.output_text.done', item_id: itemId, output_index: index, content_index: 0, text });
        send('response.content_part.done', {
          type: 'response.content_part.done',
          item_id: itemId,
          output_index: index,
          content_index: 0,
          part: item.content[0],
        });
        send('response.output_item.done', { type: 'response.output_item.done', output_index: index, item });
        outputItems.push(item);
      }
      index++;
    }
    // Tool call part.
    if (call) {
      const args = JSON.stringify(call.input);
      const callId = nextId(api === 'anthropic' ? 'toolu' : 'call');
      if (api === 'anthropic') {
        send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: callId, name: call.name, input: {} } });
        send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: args } });
        send('content_block_stop', { type: 'content_block_stop', index });
      } else if (api === 'responses') {
        const itemId = nextId('fc');
        send('response.output_item.added', {
          type: 'response.output_item.added',
          output_index: index,
          item: { type: 'function_call', id: itemId, call_id: callId, name: call.name, arguments: '', status: 'in_progress' },
        });
        send('response.function_call_arguments.delta', { type: 'response.function_call_arguments.delta', item_id: itemId, output_index: index, delta: args });
        send('response.function_call_arguments.done', { type: 'response.function_call_arguments.done', item_id: itemId, output_index: index, arguments: args });
        const item = { type: 'function_call', id: itemId, call_id: callId, name: call.name, arguments: args, status: 'completed' };
        send('response.output_item.done', { type: 'response.output_item.done', output_index: index, item });
        outputItems.push(item);
      } else {
        send(null, chatChunk({ tool_calls: [{ index: 0, id: callId, type: 'function', function: { name: call.name, arguments: '' } }] }));
        send(null, chatChunk({ tool_calls: [{ index: 0, function: { arguments: args } }] }));
      }
    }

    if (q && reply.hold === 'before-end') await waitRelease(q, () => closed);

    // Closing events.
    if (api === 'anthropic') {
      send('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: call ? 'tool_use' : 'end_turn', stop_sequence: null },
        usage: { ...anthropicUsage, output_tokens: outTokens },
      });
      send('message_stop', { type: 'message_stop' });
    } else if (api === 'responses') {
      send('response.completed', {
        type: 'response.completed',
        response: {
          id: msgId,
          object: 'response',
          created_at: created,
          status: 'completed',
          model,
          output: outputItems,
          usage: {
            input_tokens: usage.input + usage.cacheRead,
            input_tokens_details: { cached_tokens: usage.cacheRead },
            output_tokens: outTokens,
            output_tokens_details: { reasoning_tokens: usage.reasoning },
            total_tokens: usage.input + usage.cacheRead + outTokens,
          },
        },
      });
    } else {
      send(null, chatChunk({}, call ? 'tool_calls' : 'stop'));
      send(null, {
        id: msgId,
        object: 'chat.completion.chunk',
        created,
        model,
        choices: [],
        usage: {
          prompt_tokens: usage.input + usage.cacheRead,
          prompt_tokens_details: { cached_tokens: usage.cacheRead },
          completion_tokens: outTokens,
          completion_tokens_details: { reasoning_tokens: usage.reasoning },
          total_tokens: usage.input + usage.cacheRead + outTokens,
        },
      });
      send(null, '[DONE]');
    }
    if (!closed) res.end();
  }

  /** A non-streaming reply (some side requests ask `stream: false`). */
  function plain(api: ApiShape, body: any, res: http.ServerResponse, text: string, usage: ServedUsage): void {
    const model = typeof body?.model === 'string' ? body.model : 'test-model';
    let out: unknown;
    if (api === 'anthropic') {
      out = {
        id: nextId('msg'),
        type: 'message',
        role: 'assistant',
        model,
        content: [{ type: 'text', text }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: {
          input_tokens: usage.input,
          cache_creation_input_tokens: usage.cacheWrite,
          cache_read_input_tokens: usage.cacheRead,
          output_tokens: usage.output,
        },
      };
    } else if (api === 'responses') {
      out = {
        id: nextId('resp'),
        object: 'response',
        status: 'completed',
        model,
        output: [{ type: 'message', id: nextId('msg'), role: 'assistant', status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] }],
        output_text: text,
        usage: {
          input_tokens: usage.input + usage.cacheRead,
          input_tokens_details: { cached_tokens: usage.cacheRead },
          output_tokens: usage.output,
          output_tokens_details: { reasoning_tokens: usage.reasoning },
          total_tokens: usage.input + usage.cacheRead + usage.output,
        },
      };
    } else {
      out = {
        id: nextId('chatcmpl'),
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
        usage: {
          prompt_tokens: usage.input + usage.cacheRead,
          prompt_tokens_details: { cached_tokens: usage.cacheRead },
          completion_tokens: usage.output,
          total_tokens: usage.input + usage.cacheRead + usage.output,
        },
      };
    }
    res.writeHead(200, {
      'content-type': 'application/json',
      ...(api === 'anthropic' ? { 'request-id': nextId('req'), ...unifiedHeaders() } : {}),
      ...(api === 'responses' ? rateHeaders() : {}),
    });
    res.end(JSON.stringify(out));
  }

  function json(res: http.ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(value));
  }

  const endpoint = {} as ModelEndpoint;

  async function handleModel(api: ApiShape, rec: RecordedRequest, res: http.ServerResponse): Promise<void> {
    openRequests++;
    res.once('close', () => openRequests--);
    const body = rec.body;
    const streaming = body?.stream === true;
    if (!hasTools(body)) {
      rec.side = true;
      rec.served = 'side';
      rec.usage = nextUsage(api);
      if (streaming) await stream(api, body, res, { kind: 'text', text: SIDE_REPLY_TEXT }, null, rec.usage);
      else plain(api, body, res, SIDE_REPLY_TEXT, rec.usage);
      return;
    }
    const q = queued[0];
    if (!q) {
      rec.served = 'default';
      rec.usage = nextUsage(api);
      if (streaming) await stream(api, body, res, { kind: 'text', text: DEFAULT_REPLY_TEXT }, null, rec.usage);
      else plain(api, body, res, DEFAULT_REPLY_TEXT, rec.usage);
      return;
    }
    q.remaining--;
    if (q.remaining <= 0) queued.shift();
    if (!q.startedOnce) {
      q.startedOnce = true;
      q.startedResolve(rec);
    }
    const reply = q.reply;
    try {
      if (reply.kind === 'error') {
        rec.served = `error ${reply.status}`;
        const headers: Record<string, string> = {};
        const retryAfter = reply.retryAfterSeconds ?? (reply.status === 429 || reply.status === 529 ? 1 : undefined);
        if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
        if (reply.status === 429) headers['anthropic-ratelimit-requests-remaining'] = '0';
        json(res, reply.status, errorBody(api, reply.status, reply.message ?? defaultErrorMessage(reply.status)), headers);
        return;
      }
      active.add(q);
      if (reply.kind === 'tool') {
        const call = reply.call ?? shellCall(api, body, reply.command);
        rec.served = `tool ${call.name}`;
        rec.usage = nextUsage(api);
        await stream(api, body, res, { ...reply, call }, q, rec.usage);
      } else {
        rec.served = 'text';
        rec.usage = nextUsage(api);
        if (streaming) await stream(api, body, res, reply, q, rec.usage);
        else plain(api, body, res, reply.text, rec.usage);
      }
    } finally {
      active.delete(q);
      if (q.remaining <= 0) q.finishedResolve();
    }
  }

  async function handleControl(rec: RecordedRequest, res: http.ServerResponse): Promise<void> {
    if (rec.method === 'POST' && rec.path === '/_control/queue') {
      const replies: ScriptedReply[] = Array.isArray(rec.body) ? rec.body : [rec.body];
      for (const r of replies) {
        if (!r || !['text', 'tool', 'error'].includes(r.kind))
          return json(res, 400, { error: `bad reply ${JSON.stringify(r)}: kind must be text, tool or error` });
      }
      for (const r of replies) endpoint.queue(r);
      return json(res, 200, { queued: replies.length, pending: endpoint.pending() });
    }
    if (rec.method === 'POST' && rec.path === '/_control/release') {
      endpoint.releaseAll();
      return json(res, 200, { ok: true });
    }
    if (rec.method === 'POST' && rec.path === '/_control/reset') {
      endpoint.reset();
      return json(res, 200, { ok: true });
    }
    if (rec.method === 'GET' && rec.path === '/_control/requests') return json(res, 200, endpoint.requests());
    return json(res, 404, { error: `unknown control route ${rec.method} ${rec.path}` });
  }

  const server = http.createServer((req, res) => {
    const chunksIn: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) tooBig = true;
      else chunksIn.push(c);
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const method = req.method ?? 'GET';
      const api = apiOf(method, url.pathname);
      const raw = Buffer.concat(chunksIn).toString('utf8');
      let body: any = raw;
      if (raw) {
        try {
          body = JSON.parse(raw);
        } catch {
          /* keep the text */
        }
      }
      const rec: RecordedRequest = {
        seq: ++seq,
        method,
        path: url.pathname,
        query: url.search.replace(/^\?/, ''),
        api,
        headers: req.headers,
        body,
        side: false,
        served: '',
        at: Date.now(),
      };
      if (api !== 'control') recorded.push(rec);
      const done = (): void => opts.log?.(`[model-endpoint] #${rec.seq} ${method} ${url.pathname} → ${rec.served}`);
      if (tooBig) {
        rec.served = 'error 413';
        json(res, 413, errorBody(api, 413, 'request too large'));
        return done();
      }
      let work: Promise<void>;
      if (api === 'control') work = handleControl(rec, res);
      else if (api === 'anthropic' || api === 'responses' || api === 'chat') work = handleModel(api, rec, res);
      else if (api === 'count_tokens') {
        rec.served = 'count_tokens';
        json(res, 200, { input_tokens: Math.max(1, Math.ceil(raw.length / 4)) });
        work = Promise.resolve();
      } else if (api === 'models') {
        rec.served = 'models';
        json(res, 200, {
          object: 'list',
          data: [{ id: 'test-model', object: 'model', created: 0, owned_by: 'mosaic-top-test', type: 'model', display_name: 'Test model' }],
          has_more: false,
        });
        work = Promise.resolve();
      } else if (method === 'HEAD' || (method === 'GET' && url.pathname === '/')) {
        rec.served = 'ok';
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(method === 'HEAD' ? undefined : 'ok');
        work = Promise.resolve();
      } else {
        rec.served = 'error 404';
        json(res, 404, errorBody(api, 404, `no route ${method} ${url.pathname}`));
        work = Promise.resolve();
      }
      work.then(done, (error: Error) => {
        rec.served = `error 500 (${error.message})`;
        if (!res.headersSent) json(res, 500, errorBody(api, 500, error.message));
        else res.end();
        done();
      });
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  Object.assign(endpoint, {
    port,
    url: `http://127.0.0.1:${port}`,
    openaiBaseUrl: `http://127.0.0.1:${port}/v1`,
    setUnifiedRateLimits(limits: { fiveHour?: UnifiedRateLimitWindow; sevenDay?: UnifiedRateLimitWindow } | null) {
      unifiedLimits = limits;
    },
    setRateLimits(limits: { primary?: RateLimitWindow; secondary?: RateLimitWindow } | null) {
      rateLimits = limits;
    },
    queue(reply: ScriptedReply) {
      const { q, handle } = newQueued(reply);
      queued.push(q);
      return handle;
    },
    pending: () => queued.length,
    open: () => openRequests,
    requests: () => recorded.map((r) => ({ ...r })),
    mainRequests: () => recorded.filter((r) => (r.api === 'anthropic' || r.api === 'responses' || r.api === 'chat') && !r.side).map((r) => ({ ...r })),
    lastSeq: () => recorded[recorded.length - 1]?.seq ?? 0,
    async waitForRequest(o: { predicate?: (r: RecordedRequest) => boolean; afterSeq?: number; timeoutMs?: number } = {}) {
      const after = o.afterSeq ?? 0;
      const pred = o.predicate ?? ((r: RecordedRequest) => (r.api === 'anthropic' || r.api === 'responses' || r.api === 'chat') && !r.side);
      const deadline = Date.now() + (o.timeoutMs ?? 30_000);
      for (;;) {
        const hit = recorded.find((r) => r.seq > after && pred(r));
        if (hit) return { ...hit };
        if (Date.now() > deadline) {
          const seen = recorded.filter((r) => r.seq > after).map((r) => `#${r.seq} ${r.method} ${r.path} ${r.served}`);
          throw new Error(`model endpoint: no matching request within ${o.timeoutMs ?? 30_000} ms (after #${after}; saw: ${seen.join('; ') || 'nothing'})`);
        }
        await sleep(50);
      }
    },
    releaseAll() {
      for (const q of [...active, ...queued]) {
        q.released = true;
        for (const w of q.releaseWaiters.splice(0)) w();
      }
    },
    reset() {
      endpoint.releaseAll();
      queued.splice(0);
      recorded.splice(0);
    },
    async close() {
      endpoint.releaseAll();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  } satisfies Omit<ModelEndpoint, never>);
  return endpoint;
}
