/**
 * The HTTP routes of `mosaic-top serve` (Hono): GET `/` (the page), `/api/snapshot` (the
 * `--once --json` document), `/api/events` (SSE: one `events --json` object per transition;
 * `?page=1` adds the page's live HTML per snapshot), `/metrics` (Prometheus text), and the POST
 * actions (answer, send, pause, resume). Access (src/serve/access.ts): the token as Bearer or as
 * the cookie set by `/?token=…` (then redirected to `/` without it); 10 failed tokens a minute
 * per address, then 429; on a loopback listen, the Host must be loopback; mutations are POST +
 * JSON + same-origin, refused (403) with `--read-only`, bodies ≤ 64 KB; ≤ 32 SSE clients (503
 * beyond), a client that falls 8 snapshots behind is dropped.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { getCookie, setCookie } from 'hono/cookie';
import { streamSSE, type SSEMessage } from 'hono/streaming';
import { messageOf } from '../../lib/errors.js';
import type { MosaicPaths } from '../../lib/paths.js';
import { crossSiteRefusal, FailedTokenLimiter, hostAllowed, tokenMatches, type ListenAddress } from './access.js';
import type { FleetHub, HubTick } from './hub.js';
import { createMetricsRenderer, METRICS_CONTENT_TYPE } from './metrics.js';
import { escapeHtml, renderLive, renderPage } from './page.js';
import { webActor, webAnswer, webPause, webResume, webSend, type WebResult } from './web-actions.js';

/** Name of the auth cookie. */
export const TOKEN_COOKIE = 'mosaic_top_token';
/** Largest request body accepted, bytes. */
export const MAX_BODY_BYTES = 64 * 1024;
/** SSE clients served at once; more are answered 503. */
export const MAX_SSE_CLIENTS = 32;
/** Snapshots' batches a client may have unsent before it is dropped as too slow. */
const MAX_PENDING_BATCHES = 8;
/** Keep-alive comment interval on idle streams, ms. */
const SSE_PING_MS = 25_000;

/** What the routes need. */
export interface ServeAppOptions {
  hub: FleetHub;
  paths: MosaicPaths;
  token: string;
  tokenFile: string;
  listen: ListenAddress;
  readOnly: boolean;
  metricsOpen: boolean;
}

/** The app plus what the server's shutdown needs. */
export interface ServeApp {
  app: Hono<{ Bindings: { incoming?: IncomingMessage; outgoing?: ServerResponse } }>;
  /** Ends every open SSE stream (shutdown). */
  closeStreams: () => void;
  /** Open SSE streams now. */
  streams: () => number;
}

type Ctx = Context<{ Bindings: { incoming?: IncomingMessage; outgoing?: ServerResponse } }>;

/** The peer's address from the node socket (`unknown` when closed already). */
function remoteAddress(incoming: IncomingMessage | undefined): string {
  return incoming?.socket?.remoteAddress ?? 'unknown';
}

function unauthorizedPage(tokenFile: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>mosaic-top: token needed</title></head><body><h1>mosaic-top: token needed</h1><p>Open this address with <code>/?token=&lt;token&gt;</code> once; the token is in <code>${escapeHtml(tokenFile)}</code> on the server.</p></body></html>`;
}

type App = ServeApp['app'];

/**
 * Security headers on every answer; the Host check; then the token: `/?token=…` sets the cookie
 * and redirects to `/` without it, else Bearer or cookie; failures counted per address (429
 * beyond the limit). `/metrics` passes without a token when `metricsOpen`.
 */
function useAccess(app: App, opts: ServeAppOptions): void {
  const limiter = new FailedTokenLimiter();
  app.use('*', async (c, next) => {
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('X-Frame-Options', 'DENY');
    if (!hostAllowed(c.req.header('host'), opts.listen))
      return c.json({ error: 'Host header is not a loopback name (this server listens on loopback only)' }, 403);
    if (c.req.path === '/metrics' && opts.metricsOpen) return next();
    const address = remoteAddress(c.env?.incoming);
    if (limiter.blocked(address)) return c.json({ error: 'too many failed token attempts from this address; wait a minute' }, 429);
    const query = c.req.path === '/' ? c.req.query('token') : undefined;
    if (query !== undefined) {
      if (!tokenMatches(query, opts.token)) {
        limiter.fail(address);
        return c.html(unauthorizedPage(opts.tokenFile), 401);
      }
      // eslint-disable-next-line @typescript-eslint/no-unsafe-argument -- hono types a middleware's input as any
      setCookie(c, TOKEN_COOKIE, opts.token, { httpOnly: true, sameSite: 'Strict', path: '/', maxAge: 30 * 24 * 3600 });
      return c.redirect('/', 303);
    }
    const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    // eslint-disable-next-line @typescript-eslint/no-unsafe-argument -- hono types a middleware's input as any
    const cookie = getCookie(c, TOKEN_COOKIE);
    if (tokenMatches(bearer, opts.token) || tokenMatches(cookie, opts.token)) return next();
    if (bearer || cookie) limiter.fail(address);
    if (c.req.path === '/') return c.html(unauthorizedPage(opts.tokenFile), 401);
    c.header('WWW-Authenticate', 'Bearer realm="mosaic-top"');
    return c.json({ error: 'token required: Authorization: Bearer <token>, or open /?token=<token> once' }, 401);
  });
  // Mutations: POST + JSON + same-origin, not in read-only mode, bounded bodies.
  app.use('/api/*', async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    if (c.req.method !== 'POST') return c.json({ error: 'method not allowed' }, 405);
    if (opts.readOnly) return c.json({ error: 'read-only server (--read-only): actions are disabled' }, 403);
    const refusal = crossSiteRefusal({ origin: c.req.header('origin'), secFetchSite: c.req.header('sec-fetch-site'), host: c.req.header('host') });
    if (refusal) return c.json({ error: `cross-site request refused: ${refusal}` }, 403);
    if (!/^application\/json\b/i.test(c.req.header('content-type') ?? '')) return c.json({ error: 'Content-Type must be application/json' }, 415);
    return next();
  });
  app.use('/api/*', bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => c.json({ error: `request body over ${MAX_BODY_BYTES} bytes` }, 413) }));
}

/** GET `/` (the page, with a per-answer CSP nonce), `/api/snapshot` and `/metrics`. */
function routeReads(app: App, opts: ServeAppOptions): void {
  const { hub } = opts;
  const renderMetrics = createMetricsRenderer();
  app.get('/', (c) => {
    const nonce = randomBytes(16).toString('base64');
    c.header(
      'Content-Security-Policy',
      `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
    );
    c.header('Cache-Control', 'no-store');
    const tick = hub.current();
    return c.html(renderPage(tick?.snapshot ?? null, { readOnly: opts.readOnly, transitions: hub.recentTransitions(), nonce, seq: tick?.seq }));
  });
  app.get('/api/snapshot', (c) => {
    const tick = hub.current();
    if (!tick) return c.json({ error: 'no snapshot yet: the first one is being taken' }, 503);
    c.header('Cache-Control', 'no-store');
    return c.json(tick.snapshot);
  });
  app.get('/metrics', async (c) => {
    const body = await renderMetrics(hub.current(), hub.transitionCounts);
    return c.body(body, 200, { 'Content-Type': METRICS_CONTENT_TYPE });
  });
}

/**
 * GET `/api/events`: SSE, one event per transition (`?page=1` adds the page's live HTML per
 * snapshot, rendered once per snapshot for every client). At most {@link MAX_SSE_CLIENTS}
 * streams; returns them (shutdown ends them).
 */
function routeEvents(app: App, opts: ServeAppOptions): Set<{ drop: () => void }> {
  const { hub } = opts;
  const streams = new Set<{ drop: () => void }>();
  let liveCache: { seq: number; html: string } | null = null;
  const liveHtml = (tick: HubTick | null) => {
    if (liveCache && tick && liveCache.seq === tick.seq) return liveCache.html;
    const html = renderLive(tick?.snapshot ?? null, { readOnly: opts.readOnly, transitions: hub.recentTransitions(), seq: tick?.seq });
    if (tick) liveCache = { seq: tick.seq, html };
    return html;
  };
  app.get('/api/events', (c) => {
    if (streams.size >= MAX_SSE_CLIENTS) return c.json({ error: `${MAX_SSE_CLIENTS} event streams are open already; try again later` }, 503);
    const page = c.req.query('page') === '1';
    const client = { drop: () => {} };
    streams.add(client);
    return streamSSE(c, async (stream) => {
      let pending = 0;
      let ended: () => void = () => {};
      const done = new Promise<void>((resolve) => (ended = resolve));
      const drop = (client.drop = () => {
        stream.abort();
        c.env?.outgoing?.destroy();
        ended();
      });
      // One batch per snapshot (its transitions, then the page): a client that has
      // MAX_PENDING_BATCHES batches not yet taken by its socket is too slow and dropped.
      const send = (batch: SSEMessage[]) => {
        if (stream.aborted || stream.closed || !batch.length) return;
        if (pending >= MAX_PENDING_BATCHES) return drop();
        pending++;
        void Promise.all(batch.map((m) => stream.writeSSE(m))).finally(() => pending--);
      };
      stream.onAbort(() => ended());
      c.env?.outgoing?.on('close', () => ended());
      const unsubscribe = hub.onTick((tick) => {
        const batch: SSEMessage[] = tick.transitions.map((t) => ({ data: JSON.stringify(t), id: String(tick.seq) }));
        if (page) batch.push({ event: 'page', data: liveHtml(tick) });
        send(batch);
      });
      const ping = setInterval(() => {
        if (!stream.aborted && pending < MAX_PENDING_BATCHES) void stream.write(': ping\n\n');
      }, SSE_PING_MS);
      if (page) send([{ event: 'page', data: liveHtml(hub.current()) }]);
      else void stream.write(': mosaic-top events\n\n');
      try {
        await done;
      } finally {
        clearInterval(ping);
        unsubscribe();
        streams.delete(client);
      }
    });
  });
  return streams;
}

/** POST answer, send, pause, resume: each takes a snapshot after it (the page shows the result). */
function routeActions(app: App, opts: ServeAppOptions): void {
  const { hub, paths } = opts;
  const act = (fn: (c: Ctx, body: unknown, actor: string) => Promise<WebResult>) => async (c: Ctx) => {
    let body: unknown = {};
    const raw = await c.req.text();
    if (raw.trim()) {
      try {
        body = JSON.parse(raw);
      } catch {
        return c.json({ error: 'the body is not valid JSON' }, 400);
      }
    }
    const result = await fn(c, body, webActor(remoteAddress(c.env?.incoming)));
    hub.refresh();
    return c.json(result.body, result.status);
  };
  app.post(
    '/api/agents/:name/answer',
    act((c, body, actor) => webAnswer(paths, c.req.param('name') ?? '', body, actor)),
  );
  app.post(
    '/api/agents/:name/send',
    act((c, body, actor) => webSend(paths, c.req.param('name') ?? '', body, actor)),
  );
  app.post(
    '/api/pause',
    act((_c, body, actor) => webPause(paths, body, actor)),
  );
  app.post(
    '/api/resume',
    act((_c, _body, actor) => webResume(paths, actor)),
  );
}

/** Builds the routes (see the module comment): access first, then reads, events, actions. */
export function createServeApp(opts: ServeAppOptions): ServeApp {
  const app = new Hono<{ Bindings: { incoming?: IncomingMessage; outgoing?: ServerResponse } }>();
  useAccess(app, opts);
  routeReads(app, opts);
  const streams = routeEvents(app, opts);
  routeActions(app, opts);
  app.notFound((c) => c.json({ error: 'not found' }, 404));
  app.onError((error, c) => c.json({ error: `internal error: ${messageOf(error)}` }, 500));
  return {
    app,
    streams: () => streams.size,
    closeStreams: () => {
      for (const s of [...streams]) s.drop();
    },
  };
}
