import os from 'node:os';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { GlobalOptions } from '../options.js';
import { resolvePaths, type MosaicPaths } from '../../lib/paths.js';
import { sanitizeLine } from '../../lib/sanitize.js';
import { describeCause } from '../../lib/errors.js';
import { BacklogError, EXIT_CODES, parseAcceptanceArgument, type Card, type CardStatus } from '../../backlog/types.js';
import type { BacklogClient } from '../../backlog/verbs.js';

// Kept light at import time (src/cli.ts imports it statically): the client, PGlite, drizzle
// and postgres are imported inside the action handlers only.

/** Parses an integer option (`--priority`, `--token`, `--limit`, …); usage error otherwise. */
function parseInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`expected an integer, got "${value}"`);
  return n;
}

/** Parses a positive whole number of seconds (`--ttl`, `--idle-exit` allows 0). */
function parseWholeSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected whole seconds, got "${value}"`);
  return n;
}

/** Parses `a,b,c` into ids (empty entries dropped). */
function parseIdList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Event actor of a CLI verb that names no owner (create, reclaim, link, block, unblock,
 * import, complete without --owner): `cli:<user>@<host>`, like the console's
 * `operator:<user>@<host>`. Characters the backlog refuses in an actor become `_`.
 */
export function cliActor(): string {
  let user: string;
  try {
    user = os.userInfo().username;
  } catch {
    user = process.env.USER || 'unknown';
  }
  return `cli:${user}@${os.hostname()}`.replace(/[^A-Za-z0-9._:@/-]/g, '_').slice(0, 200);
}

function jsonWanted(cmd: Command): boolean {
  return Boolean((cmd.optsWithGlobals() as GlobalOptions).json);
}

function pathsOf(cmd: Command): MosaicPaths {
  const g = cmd.optsWithGlobals() as GlobalOptions;
  return resolvePaths({ mosaicHome: g.mosaicHome, roster: g.roster });
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * `formatTtl` of src/view/format.ts (`14m59s`, `expired 1m54s`), loaded by {@link withBacklog}
 * before it prints: importing it here statically would load string-width on every command.
 */
let formatTtl: (secondsLeft: number) => string = () => {
  throw new Error('formatTtl used before withBacklog loaded it');
};

/** Header of {@link cardLine}'s columns (`backlog list`). */
const CARD_HEADER = `${'ID'.padEnd(10)} ${'STATUS'.padEnd(8)} ${'PRIO'.padStart(5)} ${'PHASE'.padEnd(6)} TITLE [OWNER TIME-LEFT] [← DEPENDS-ON]`;

function cardLine(card: Card): string {
  const owner = card.status === 'claimed' ? ` ${card.claimOwner} ${formatTtl(card.secondsLeft ?? 0)}` : '';
  const deps = card.dependsOn.length ? ` ← ${card.dependsOn.join(',')}` : '';
  return sanitizeLine(
    `${card.id.padEnd(10)} ${card.status.padEnd(8)} ${String(card.priority).padStart(5)} ${(card.phase ?? '-').padEnd(6)} ${card.title}${owner}${deps}`,
  );
}

/** `cardDetailLines` of src/view/card-details.ts (the console's renderer too), loaded with formatTtl by {@link withBacklog}. */
let cardDetailLines: (card: Card) => string[] = () => {
  throw new Error('cardDetailLines used before withBacklog loaded it');
};

function cardDetails(card: Card): string {
  return cardDetailLines(card).join('\n');
}

/**
 * Reports an error: one line on stderr and the exit code (docs/backlog.md). Nothing on stdout,
 * also with --json: upstream's CLI prints no JSON for a failed verb either.
 */
function reportError(error: unknown): void {
  // Anything else is unwrapped to its cause (drizzle's "Failed query: <SQL> params: <card data>" never printed).
  const e = error instanceof BacklogError ? error : new BacklogError('internal', describeCause(error));
  process.stderr.write(`mosaic-top backlog: ${sanitizeLine(e.message)}\n`);
  process.exitCode = EXIT_CODES[e.code] ?? 1;
}

/** A note on stderr (the verb still succeeds, e.g. "no card X" beside a JSON `null`). */
function note(text: string): void {
  process.stderr.write(`mosaic-top backlog: ${sanitizeLine(text)}\n`);
}

/**
 * Upstream's "card or null" for a lookup that found nothing: `not_found` becomes `null` (exit
 * 0, the reason on stderr), as upstream's `complete`/`block` of an unknown id print `null`.
 */
async function orNull<T>(run: () => Promise<T>): Promise<T | null> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof BacklogError && error.code === 'not_found') {
      note(error.message);
      return null;
    }
    throw error;
  }
}

/**
 * Tokens the card's claiming agents spent between each claim and its end (the spend meter,
 * docs/spend.md), or null when none was metered or the meter failed (never fails the verb).
 */
async function cardSpend(paths: MosaicPaths, client: BacklogClient, id: string): Promise<number | null> {
  try {
    const { collectSpendReport } = await import('../snapshot/spend-report.js');
    const { report } = await collectSpendReport(paths, { by: 'card', since: 0, card: id, backlog: client });
    return report.total.requests ? report.total.tokens.total : null;
  } catch {
    return null;
  }
}

/** A card as `--json` prints it (upstream's card object, our fields added), or `null`. */
export function cardJson(card: Card | null, extra: Record<string, unknown> = {}): Record<string, unknown> | null {
  return card ? { ...card, ...extra } : null;
}

/**
 * Runs `fn` with an open backlog client (closed afterwards), printing `json(result)` (upstream's
 * shape: see docs/backlog.md "JSON output") or `human(result)`; errors map to exit codes.
 * `readOnly` (show, list, stats, events): never create the data dir or the tables.
 */
async function withBacklog<T>(
  cmd: Command,
  fn: (client: BacklogClient, paths: MosaicPaths) => Promise<T>,
  human: (result: T) => string,
  toJson: (result: T) => unknown = (r) => r,
  opts: { readOnly?: boolean } = {},
): Promise<void> {
  const json = jsonWanted(cmd);
  let client: BacklogClient | null = null;
  try {
    const paths = pathsOf(cmd);
    const { openBacklog } = await import('../../backlog/client.js');
    // A read-only verb never creates the store: no data dir yet ⇒ exit 8 (absent).
    client = await openBacklog(paths, opts.readOnly ? { create: false } : {});
    if (client.serverWarning) process.stderr.write(`mosaic-top backlog: warning: ${sanitizeLine(client.serverWarning)}\n`);
    const result = await fn(client, paths);
    if (json) printJson(toJson(result));
    else {
      ({ formatTtl } = await import('../view/format.js'));
      ({ cardDetailLines } = await import('../view/card-details.js'));
      const text = human(result);
      if (text) process.stdout.write(`${text}\n`);
    }
  } catch (error) {
    reportError(error);
  } finally {
    await client?.close().catch(() => {});
  }
}

/**
 * `mosaic-top backlog <verb>` (upstream `mosaic fleet backlog`; docs/backlog.md): create, list, show,
 * claim, renew, reclaim, link, block, unblock, complete, stats, events, import, serve — all
 * with `--json` in upstream's shapes (a card object or `null`, arrays, upstream's stats; our
 * fields added, never wrappers — docs/backlog.md). Exit codes: 0 ok (nothing to claim, and
 * upstream's `null` answers: claim --id of an unclaimable card, show/complete/block of an
 * unknown id), 1 backlog unavailable, 2 usage or invalid input, 3 not found, 4 conflict,
 * 5 fenced, 6 cycle, 7 paused, 8 no backlog yet.
 */
export function registerBacklogCommand(program: Command): void {
  const backlog = program
    .command('backlog')
    .description('the shared backlog: cards with priority, dependencies, atomic claim + TTL (embedded PGlite, or Postgres with DATABASE_URL)');
  // Usage errors exit 2: the root program's exitOverride (src/cli.ts) is inherited by every verb.

  const json = (): Option => new Option('--json', 'print JSON');

  backlog
    .command('create')
    .description('create a card (a repeated --idempotency-key returns the existing card)')
    .requiredOption('--id <id>', 'stable card id, e.g. A3a')
    .requiredOption('--title <text>', 'title')
    .option('--body <text>', 'free-form description')
    .option('--phase <phase>', 'board/phase label')
    .addOption(new Option('--priority <n>', 'priority, higher = sooner').argParser(parseInteger))
    .addOption(new Option('--depends-on <ids>', 'comma-separated ids this card depends on').argParser(parseIdList))
    .option('--acceptance <text>', 'acceptance criteria')
    .option('--idempotency-key <key>', 'dedup key')
    .addOption(new Option('--projected-tokens <n>', 'advisory spend projection (tokens)').argParser(parseInteger))
    .option('--actor <name>', 'who creates it (event log; default cli:<user>@<host>)')
    .addOption(json())
    .action(
      async (
        o: {
          id: string;
          title: string;
          body?: string;
          phase?: string;
          priority?: number;
          dependsOn?: string[];
          acceptance?: string;
          idempotencyKey?: string;
          projectedTokens?: number;
          actor?: string;
        },
        cmd: Command,
      ) => {
        // Checked before the store is opened: bad input is refused at once (exit 2).
        let acceptance: unknown;
        try {
          acceptance = parseAcceptanceArgument(o.acceptance);
        } catch (error) {
          reportError(error);
          return;
        }
        return withBacklog(
          cmd,
          async (c) => {
            const r = await c.create({
              id: o.id,
              title: o.title,
              body: o.body,
              phase: o.phase,
              priority: o.priority,
              dependsOn: o.dependsOn,
              acceptance,
              idempotencyKey: o.idempotencyKey,
              projectedTokens: o.projectedTokens,
              actor: o.actor ?? cliActor(),
            });
            // Allowed (a dependent may be filed first), but the card cannot be claimed until then.
            if (r.missingDependencies?.length) {
              process.stderr.write(
                `mosaic-top backlog: warning: ${sanitizeLine(r.card.id)} depends on ${sanitizeLine(r.missingDependencies.join(', '))}, which ${r.missingDependencies.length === 1 ? 'is' : 'are'} no card yet; it stays unclaimable until they exist and are done\n`,
              );
            }
            return r;
          },
          (r) => `${r.created ? 'created' : 'exists (idempotency key)'} ${cardLine(r.card)}`,
          (r) => cardJson(r.card, { created: r.created, ...(r.missingDependencies?.length ? { missingDependencies: r.missingDependencies } : {}) }),
        );
      },
    );

  backlog
    .command('list')
    .description('list cards by priority (--ready-only: ready with every dependency done)')
    .addOption(new Option('--status <status>', 'only this status').choices(['ready', 'claimed', 'blocked', 'done']))
    .option('--phase <phase>', 'only this phase')
    .option('--ready-only', 'only claimable cards')
    .addOption(new Option('--limit <n>', 'at most n cards').argParser(parseInteger))
    .addOption(json())
    .action(async (o: { status?: CardStatus; phase?: string; readyOnly?: boolean; limit?: number }, cmd: Command) =>
      withBacklog(
        cmd,
        (c) => c.list({ status: o.status, phase: o.phase, readyOnly: Boolean(o.readyOnly), limit: o.limit }),
        (cards) => (cards.length ? [CARD_HEADER, ...cards.map(cardLine)].join('\n') : '(no cards)'),
        undefined,
        { readOnly: true },
      ),
    );

  backlog
    .command('show')
    .description('show one card')
    .requiredOption('--id <id>', 'card id')
    .addOption(json())
    .action(async (o: { id: string }, cmd: Command) =>
      withBacklog(
        cmd,
        async (c, paths) => {
          const card = await orNull(() => c.get(o.id));
          return card ? { card, spent: await cardSpend(paths, c, card.id) } : null;
        },
        (r) =>
          r
            ? `${cardDetails(r.card)}${r.spent === null ? '' : `\nspent tokens      ${r.spent} (its claiming agents' records, mosaic-top spend --card ${sanitizeLine(r.card.id)})`}`
            : '(none)',
        (r) => (r ? cardJson(r.card, { spentTokens: r.spent }) : null),
        { readOnly: true },
      ),
    );

  backlog
    .command('claim')
    .description('atomically claim the highest-priority ready card (or --id); refused while the fleet is PAUSED')
    .requiredOption('--owner <name>', 'who claims (agent name)')
    .addOption(new Option('--ttl <seconds>', 'claim TTL in seconds').default(900).argParser(parseWholeSeconds))
    .option('--id <id>', 'claim this card')
    .option('--request-id <id>', 'repeat a claim that got no answer: the same id returns its result, never a second card (embedded tier, 10 min)')
    .addOption(json())
    .action(async (o: { owner: string; ttl: number; id?: string; requestId?: string }, cmd: Command) =>
      withBacklog(
        cmd,
        async (c) => {
          try {
            return (await c.claim({ owner: o.owner, ttlSeconds: o.ttl, id: o.id, requestId: o.requestId })).card;
          } catch (error) {
            // Upstream: a --id that cannot be claimed (claimed, blocked, done, waiting on a
            // dependency, unknown) prints null and exits 0. The reason goes to stderr.
            if (o.id !== undefined && error instanceof BacklogError && (error.code === 'conflict' || error.code === 'not_found')) {
              note(error.message);
              return null;
            }
            throw error;
          }
        },
        (card) => (card ? `claimed ${cardLine(card)} (token ${card.claimToken}, TTL ${card.claimTtlSeconds} s)` : '(nothing to claim)'),
        (card) => cardJson(card),
      ),
    );

  backlog
    .command('renew')
    .description('extend a live claim (refused when it expired, was reclaimed or is held by another owner/token)')
    .requiredOption('--id <id>', 'card id')
    .requiredOption('--owner <name>', 'claim owner')
    .addOption(new Option('--ttl <seconds>', 'new TTL from now (default: the claim TTL)').argParser(parseWholeSeconds))
    .addOption(new Option('--token <n>', 'fencing token from the claim').argParser(parseInteger))
    .addOption(json())
    .action(async (o: { id: string; owner: string; ttl?: number; token?: number }, cmd: Command) =>
      withBacklog(
        cmd,
        (c) => c.renew({ id: o.id, owner: o.owner, ttlSeconds: o.ttl, token: o.token }),
        (card) => `renewed ${cardLine(card)}`,
      ),
    );

  backlog
    .command('reclaim')
    .description('return expired claims to ready (--id: that card, regardless of expiry)')
    .option('--id <id>', 'card id')
    .option('--owner <name>', 'with --id: only while this owner still holds the claim (a card that changed hands is left alone)')
    .addOption(json())
    .action(async (o: { id?: string; owner?: string }, cmd: Command) => {
      if (o.owner !== undefined && o.id === undefined) cmd.error('mosaic-top backlog reclaim: --owner needs --id', { exitCode: 2 });
      await withBacklog(
        cmd,
        async (c) => (await orNull(() => c.reclaim({ id: o.id, owner: o.owner, actor: cliActor() }))) ?? { reclaimed: [] },
        (r) => (r.reclaimed.length ? `reclaimed: ${sanitizeLine(r.reclaimed.join(', '))}` : '(nothing to reclaim)'),
      );
    });

  backlog
    .command('link')
    .description('add a dependency: --from depends on --to (cycles refused)')
    .requiredOption('--from <id>', 'the dependent card')
    .requiredOption('--to <id>', 'the card it depends on')
    .addOption(json())
    .action(async (o: { from: string; to: string }, cmd: Command) =>
      withBacklog(
        cmd,
        (c) => c.link({ from: o.from, to: o.to, actor: cliActor() }),
        (card) => `linked ${cardLine(card)}`,
      ),
    );

  backlog
    .command('block')
    .description('park a card (never claimed until unblocked)')
    .requiredOption('--id <id>', 'card id')
    .option('--reason <text>', 'why')
    .addOption(json())
    .action(async (o: { id: string; reason?: string }, cmd: Command) =>
      withBacklog(
        cmd,
        (c) => orNull(() => c.block({ id: o.id, reason: o.reason, actor: cliActor() })),
        (card) => (card ? `blocked ${cardLine(card)}` : '(none)'),
        (card) => cardJson(card),
      ),
    );

  backlog
    .command('unblock')
    .description('return a blocked card to ready')
    .requiredOption('--id <id>', 'card id')
    .addOption(json())
    .action(async (o: { id: string }, cmd: Command) =>
      withBacklog(
        cmd,
        (c) => orNull(() => c.unblock({ id: o.id, actor: cliActor() })),
        (card) => (card ? `unblocked ${cardLine(card)}` : '(none)'),
        (card) => cardJson(card),
      ),
    );

  backlog
    .command('complete')
    .description('mark a card done; with --owner the claim must still be live and theirs (fencing)')
    .requiredOption('--id <id>', 'card id')
    .option('--owner <name>', 'claim owner (fenced)')
    .addOption(new Option('--token <n>', 'fencing token from the claim').argParser(parseInteger))
    .addOption(new Option('--actual-tokens <n>', 'advisory actual spend (tokens)').argParser(parseInteger))
    .addOption(json())
    .action(async (o: { id: string; owner?: string; token?: number; actualTokens?: number }, cmd: Command) =>
      withBacklog(
        cmd,
        async (c, paths) => {
          // An explicit --actual-tokens wins; else the tokens the meter read for its claims.
          const actualTokens = o.actualTokens ?? (await cardSpend(paths, c, o.id)) ?? undefined;
          return orNull(() => c.complete({ id: o.id, owner: o.owner, token: o.token, actualTokens, actor: cliActor() }));
        },
        (card) => (card ? `done ${cardLine(card)}` : '(none)'),
        (card) => cardJson(card),
      ),
    );

  backlog
    .command('migrate')
    .description("bring the store's schema up to date (what every writing verb does on open; read-only verbs refuse a store that needs it)")
    .addOption(json())
    .action(async (_o, cmd: Command) =>
      withBacklog(
        cmd,
        async () => ({ migrated: true }),
        () => 'the store is up to date (pending migrations applied)',
      ),
    );

  backlog
    .command('stats')
    .description('counts per status, ready cards waiting on dependencies, oldest-ready age, expired claims')
    .addOption(json())
    .action(async (_o, cmd: Command) =>
      withBacklog(
        cmd,
        (c) => c.stats(),
        (s) =>
          `ready ${s.counts.ready}  claimed ${s.counts.claimed}  blocked ${s.counts.blocked}  done ${s.counts.done}  ` +
          `waiting on dependencies ${s.waitingOnDeps ?? 0}  ` +
          `oldest ready ${s.oldestReadyAgeSeconds === null ? '-' : `${s.oldestReadyAgeSeconds} s`}  expired claims ${s.expiredClaimCount}`,
        undefined,
        { readOnly: true },
      ),
    );

  backlog
    .command('events')
    .description('recent events, newest first')
    .option('--id <id>', 'only this card')
    .addOption(new Option('--limit <n>', 'how many').default(50).argParser(parseInteger))
    .addOption(json())
    .action(async (o: { id?: string; limit: number }, cmd: Command) =>
      withBacklog(
        cmd,
        (c) => c.events({ cardId: o.id, limit: o.limit }),
        (events) =>
          events.length
            ? events
                .map((e) => sanitizeLine(`${e.at}  ${e.actor.padEnd(12)} ${e.verb.padEnd(9)} ${(e.cardId ?? '-').padEnd(8)} ${JSON.stringify(e.detail)}`))
                .join('\n')
            : '(no events)',
        undefined,
        { readOnly: true },
      ),
    );

  backlog
    .command('import')
    .description('import NORTH_STAR.yaml goals as cards: new goals created, changed title/phase/priority/dependencies updated (status and claims kept)')
    .argument('<file>', 'NORTH_STAR.yaml')
    .addOption(json())
    .action(async (file: string, _o, cmd: Command) => {
      const path = await import('node:path');
      const absolute = path.resolve(file);
      let goals;
      try {
        const { readNorthStarFile } = await import('../../backlog/north-star.js');
        goals = await readNorthStarFile(absolute);
      } catch (error) {
        reportError(error);
        return;
      }
      await withBacklog(
        cmd,
        (c) => c.importGoals({ goals, source: absolute, actor: cliActor() }),
        (r) =>
          `imported ${r.created.length} new card(s)${r.created.length ? `: ${sanitizeLine(r.created.join(', '))}` : ''}; ` +
          `${r.updated.length} updated${r.updated.length ? `: ${sanitizeLine(r.updated.join(', '))}` : ''}; ${r.unchanged.length} unchanged`,
      );
    });

  backlog
    .command('stop')
    .description('stop the embedded backlog server gracefully (the next backlog command starts a new one, e.g. after an upgrade)')
    .addOption(json())
    .action(async (_o, cmd: Command) => {
      const paths = pathsOf(cmd);
      const json = jsonWanted(cmd);
      if (paths.databaseUrl) {
        process.stderr.write('mosaic-top backlog stop: DATABASE_URL is set — the server tier has no backlog server\n');
        process.exitCode = 2;
        return;
      }
      const { stopEmbeddedServer } = await import('../../backlog/client.js');
      const result = await stopEmbeddedServer(paths, 30_000);
      if (json) printJson(result);
      else if (result.refused) process.stderr.write(`mosaic-top backlog stop: ${sanitizeLine(result.refused)}\n`);
      else if (result.pid === null) process.stdout.write('no backlog server running\n');
      else process.stdout.write(result.stopped ? `stopped backlog server pid ${result.pid}\n` : `backlog server pid ${result.pid} did not stop within 30 s\n`);
      if (result.refused) process.exitCode = 3;
      else if (result.pid !== null && !result.stopped) process.exitCode = 1;
    });

  backlog
    .command('serve')
    .description('run the embedded backlog server in the foreground (clients start one on demand otherwise)')
    .addOption(
      new Option('--idle-exit <seconds>', 'exit after this many idle seconds (0 = never; default never in the foreground)').argParser(parseWholeSeconds),
    )
    .action(async (o: { idleExit?: number }, cmd: Command) => {
      const paths = pathsOf(cmd);
      if (paths.databaseUrl) {
        process.stderr.write('mosaic-top backlog serve: DATABASE_URL is set — the server tier needs no backlog server\n');
        process.exitCode = 2;
        return;
      }
      try {
        const { runBacklogServer, idleExitFromEnv } = await import('../../backlog/server.js');
        const idleExitSeconds = o.idleExit ?? (process.env.MOSAIC_BACKLOG_IDLE_EXIT ? idleExitFromEnv() : 0);
        const code = await runBacklogServer(paths, { idleExitSeconds });
        // Nothing else runs in a server process; do not wait on stray handles.
        process.exit(code);
      } catch (error) {
        process.stderr.write(`mosaic-top backlog serve: ${sanitizeLine(describeCause(error))}\n`);
        process.exitCode = 1;
      }
    });
}
