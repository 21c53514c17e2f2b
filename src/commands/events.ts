import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseSeconds, type GlobalOptions } from '../options.js';
export type { EventsOptions } from '../modes/events.js';

// Kept light at import time (src/cli.ts imports it statically): the snapshot collector and the
// history are imported by the action only.

/** Parses `--limit`: a positive whole number. */
function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive whole number, got "${value}"`);
  return n;
}

/**
 * `mosaic-top events [--follow] [--json] [--interval S] [--notify CMD] …` (docs/transitions.md): the fleet's
 * transitions — readiness changes and flags raised/cleared. Distinct from `mosaic-top backlog
 * events` (the backlog's own claim/receipt events).
 */
export function registerEventsCommand(program: Command): void {
  program
    .command('events')
    .description('fleet transitions (readiness changes, flags raised/cleared): recent ones from the history, or --follow them live')
    .option('-f, --follow', 'stream transitions as they happen, until interrupted')
    .option('--json', 'one JSON object per line (NDJSON), nothing else on stdout')
    .addOption(new Option('--interval <seconds>', 'with --follow: poll interval in seconds (default 2)').argParser(parseSeconds))
    .option('--notify <cmd>', 'with --follow: run CMD once per transition into an attention state (event JSON on stdin; agent and state as arguments)')
    .addOption(new Option('--notify-timeout <seconds>', 'kill a notify command after this long').default(10).argParser(parseSeconds))
    .addOption(
      new Option('--notify-cooldown <seconds>', 'hold back repeats of one agent+state notification this long (flapping)').default(300).argParser((v) => {
        const n = Number(v);
        if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected seconds (0 or more), got "${v}"`);
        return n;
      }),
    )
    .addOption(new Option('--limit <n>', 'without --follow: how many recent transitions').default(50).argParser(parseLimit))
    .option('--no-history', 'with --follow: do not record transitions in <run>/transitions.ndjson')
    .action(async (_opts: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals() as GlobalOptions;
      const o = cmd.opts() as {
        follow?: boolean;
        json?: boolean;
        interval?: number;
        notify?: string;
        notifyTimeout: number;
        notifyCooldown: number;
        limit: number;
        history: boolean;
      };
      // Root options are recognised anywhere on the line: `events --interval 1` may land on the
      // root's --interval (default 2); take it when the user really typed it.
      const interval = o.interval ?? (cmd.getOptionValueSourceWithGlobals('interval') === 'cli' ? g.interval : 2);
      if (o.notify !== undefined && !o.follow) cmd.error('error: --notify needs --follow', { exitCode: 2 });
      if (o.notify !== undefined && !o.notify.trim()) cmd.error('error: --notify needs a command', { exitCode: 2 });
      const { runEvents } = await import('../modes/events.js');
      process.exitCode = await runEvents({
        follow: Boolean(o.follow),
        json: Boolean(o.json ?? g.json),
        interval,
        notify: o.notify ?? null,
        notifyTimeout: o.notifyTimeout,
        notifyCooldown: o.notifyCooldown,
        limit: o.limit,
        history: o.history,
        mosaicHome: g.mosaicHome,
        roster: g.roster,
      });
    });
}
