/**
 * `mosaic-top serve`: starts the hub (one poller) and the HTTP server (@hono/node-server), prints
 * where it listens, and runs until SIGINT/SIGTERM, then closes gracefully: no new connections,
 * open event streams ended, actions in flight let finish (bounded), the poller stopped (probes
 * killed), the history flushed. Refuses to start (exit 2) on an unsafe listen address or token
 * file (src/serve/access.ts).
 */
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { OperatorError } from '../../lib/errors.js';
import { resolvePaths } from '../../lib/paths.js';
import { sanitizeLine } from '../../lib/sanitize.js';
import { checkListenPolicy, DEFAULT_LISTEN, loadServeToken, parseListen } from './access.js';
import { createServeApp } from './app.js';
import { startFleetHub } from './hub.js';

/** Options of {@link runServe} (as the CLI gives them). */
export interface ServeOptions {
  listen?: string;
  tokenFile?: string;
  readOnly?: boolean;
  metricsOpen?: boolean;
  /** Poll interval, seconds. */
  interval: number;
  mosaicHome?: string;
  roster?: string;
}

/** Milliseconds the shutdown waits for requests in flight (an answer's own bound is ~20 s) before it closes them. */
const SHUTDOWN_GRACE_MS = 25_000;

function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Listens on `host:port`; resolves with the server once bound, rejects with a one-line cause. */
function listenOn(fetch: Parameters<typeof serve>[0]['fetch'], host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname: host, port, serverOptions: { requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 } }) as Server;
    server.maxConnections = 256;
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new OperatorError(
          `serve: cannot listen on ${host}:${port}: ${error.code ?? error.message}${error.code === 'EADDRINUSE' ? ' (another process has it; pick another --listen)' : ''}`,
          1,
        ),
      ),
    );
    server.once('listening', () => resolve(server));
  });
}

/** Runs the server until a signal; returns the exit code (0 after SIGINT/SIGTERM). Throws OperatorError when refused. */
export async function runServe(opts: ServeOptions): Promise<number> {
  const paths = resolvePaths({ mosaicHome: opts.mosaicHome, roster: opts.roster });
  const listen = parseListen(opts.listen ?? DEFAULT_LISTEN);
  const warning = checkListenPolicy(listen, { explicitTokenFile: Boolean(opts.tokenFile), metricsOpen: Boolean(opts.metricsOpen) });
  const { token, file, created } = loadServeToken({ explicitFile: opts.tokenFile ?? null, fleetDir: path.join(paths.mosaicHome, 'fleet') });
  const hub = await startFleetHub({ paths, intervalMs: Math.max(0.2, opts.interval) * 1000 });
  const served = createServeApp({ hub, paths, token, tokenFile: file, listen, readOnly: Boolean(opts.readOnly), metricsOpen: Boolean(opts.metricsOpen) });
  let server: Server;
  try {
    server = await listenOn(served.app.fetch, listen.host, listen.port);
  } catch (error) {
    await hub.stop();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  if (warning) say(warning);
  say(
    `mosaic-top serve: listening on http://${host}:${port}/ (token in ${sanitizeLine(file)}${created ? ', created now' : ''}; open http://${host}:${port}/?token=<token> once)${opts.readOnly ? ' read-only' : ''}`,
  );

  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    await stopped;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    served.closeStreams();
    server.closeIdleConnections();
    const grace = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
    await closed;
    clearTimeout(grace);
    await hub.stop();
  }
  say('mosaic-top serve: stopped');
  return 0;
}
