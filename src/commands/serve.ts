import type { Command } from 'commander';
import type { GlobalOptions } from '../options.js';

/**
 * `mosaic-top serve [--listen HOST:PORT] [--token-file FILE] [--read-only] [--metrics-open]`
 * (docs/serve.md, fleet-console.md §17): the console's snapshot, transitions and actions over
 * HTTP — a page usable on a phone, `/api/snapshot`, SSE `/api/events`, Prometheus `/metrics`.
 * The server is imported by the action only (src/serve/).
 */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve the fleet over HTTP: a live page (phone-friendly, answer prompts), /api/snapshot, SSE /api/events, Prometheus /metrics')
    .option('--listen <host:port>', 'address to listen on (default 127.0.0.1:8470; a non-loopback address needs --token-file)')
    .option('--token-file <file>', 'file holding the access token (owner-only; default <home>/fleet/serve-token, created on first use)')
    .option('--read-only', 'refuse every action (answer, send, pause, resume) with 403')
    .option('--metrics-open', 'serve /metrics without the token (loopback listen only)')
    .action(async (_opts: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals() as GlobalOptions & { listen?: string; tokenFile?: string; readOnly?: boolean; metricsOpen?: boolean };
      const { runServe } = await import('../serve/run.js');
      process.exitCode = await runServe({
        listen: g.listen,
        tokenFile: g.tokenFile,
        readOnly: Boolean(g.readOnly || g.readonly),
        metricsOpen: Boolean(g.metricsOpen),
        interval: g.interval,
        mosaicHome: g.mosaicHome,
        roster: g.roster,
      });
    });
}
