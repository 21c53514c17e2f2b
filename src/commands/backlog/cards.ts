/**
 * The card verbs of `mosaic-top backlog` (docs/backlog.md): create, list, show, claim, renew,
 * reclaim, link, block, unblock, complete — each registers itself on the `backlog` command.
 */
import { Option, type Command } from 'commander';
import { sanitizeLine } from '../../../lib/sanitize.js';
import { BacklogError, parseAcceptanceArgument, type CardStatus } from '../../../backlog/types.js';
import { CARD_HEADER, cardDetails, cardLine } from './format.js';
import { cardJson, cardSpend, cliActor, jsonOption, note, orNull, parseIdList, parseInteger, parseWholeSeconds, reportError, withBacklog } from './run.js';

/** `backlog create`: a card from the options; the acceptance criteria checked before the store opens; a warning for dependencies that are no card yet. */
export function registerCreate(backlog: Command): void {
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
    .addOption(jsonOption())
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
}

/** `backlog list`: cards by priority, filtered by status, phase or readiness (read-only). */
export function registerList(backlog: Command): void {
  backlog
    .command('list')
    .description('list cards by priority (--ready-only: ready with every dependency done)')
    .addOption(new Option('--status <status>', 'only this status').choices(['ready', 'claimed', 'blocked', 'done']))
    .option('--phase <phase>', 'only this phase')
    .option('--ready-only', 'only claimable cards')
    .addOption(new Option('--limit <n>', 'at most n cards').argParser(parseInteger))
    .addOption(jsonOption())
    .action(async (o: { status?: CardStatus; phase?: string; readyOnly?: boolean; limit?: number }, cmd: Command) =>
      withBacklog(
        cmd,
        (c) => c.list({ status: o.status, phase: o.phase, readyOnly: Boolean(o.readyOnly), limit: o.limit }),
        (cards) => (cards.length ? [CARD_HEADER, ...cards.map(cardLine)].join('\n') : '(no cards)'),
        undefined,
        { readOnly: true },
      ),
    );
}

/** `backlog show`: one card and the tokens its claims spent, or `null` (read-only). */
export function registerShow(backlog: Command): void {
  backlog
    .command('show')
    .description('show one card')
    .requiredOption('--id <id>', 'card id')
    .addOption(jsonOption())
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
}

/** `backlog claim`: the highest-priority ready card (or `--id`), or `null` when `--id` cannot be claimed. */
export function registerClaim(backlog: Command): void {
  backlog
    .command('claim')
    .description('atomically claim the highest-priority ready card (or --id); refused while the fleet is PAUSED')
    .requiredOption('--owner <name>', 'who claims (agent name)')
    .addOption(new Option('--ttl <seconds>', 'claim TTL in seconds').default(900).argParser(parseWholeSeconds))
    .option('--id <id>', 'claim this card')
    .option('--request-id <id>', 'repeat a claim that got no answer: the same id returns its result, never a second card (embedded tier, 10 min)')
    .addOption(jsonOption())
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
}

/** `backlog renew`: extends a live claim. */
export function registerRenew(backlog: Command): void {
  backlog
    .command('renew')
    .description('extend a live claim (refused when it expired, was reclaimed or is held by another owner/token)')
    .requiredOption('--id <id>', 'card id')
    .requiredOption('--owner <name>', 'claim owner')
    .addOption(new Option('--ttl <seconds>', 'new TTL from now (default: the claim TTL)').argParser(parseWholeSeconds))
    .addOption(new Option('--token <n>', 'fencing token from the claim').argParser(parseInteger))
    .addOption(jsonOption())
    .action(async (o: { id: string; owner: string; ttl?: number; token?: number }, cmd: Command) =>
      withBacklog(
        cmd,
        (c) => c.renew({ id: o.id, owner: o.owner, ttlSeconds: o.ttl, token: o.token }),
        (card) => `renewed ${cardLine(card)}`,
      ),
    );
}

/** `backlog reclaim`: expired claims (or `--id`) back to ready. */
export function registerReclaim(backlog: Command): void {
  backlog
    .command('reclaim')
    .description('return expired claims to ready (--id: that card, regardless of expiry)')
    .option('--id <id>', 'card id')
    .option('--owner <name>', 'with --id: only while this owner still holds the claim (a card that changed hands is left alone)')
    .addOption(jsonOption())
    .action(async (o: { id?: string; owner?: string }, cmd: Command) => {
      if (o.owner !== undefined && o.id === undefined) cmd.error('mosaic-top backlog reclaim: --owner needs --id', { exitCode: 2 });
      await withBacklog(
        cmd,
        async (c) => (await orNull(() => c.reclaim({ id: o.id, owner: o.owner, actor: cliActor() }))) ?? { reclaimed: [] },
        (r) => (r.reclaimed.length ? `reclaimed: ${sanitizeLine(r.reclaimed.join(', '))}` : '(nothing to reclaim)'),
      );
    });
}

/** `backlog link`: `--from` depends on `--to`. */
export function registerLink(backlog: Command): void {
  backlog
    .command('link')
    .description('add a dependency: --from depends on --to (cycles refused)')
    .requiredOption('--from <id>', 'the dependent card')
    .requiredOption('--to <id>', 'the card it depends on')
    .addOption(jsonOption())
    .action(async (o: { from: string; to: string }, cmd: Command) =>
      withBacklog(
        cmd,
        (c) => c.link({ from: o.from, to: o.to, actor: cliActor() }),
        (card) => `linked ${cardLine(card)}`,
      ),
    );
}

/** `backlog block`: parks a card, or `null` for an unknown id. */
export function registerBlock(backlog: Command): void {
  backlog
    .command('block')
    .description('park a card (never claimed until unblocked)')
    .requiredOption('--id <id>', 'card id')
    .option('--reason <text>', 'why')
    .addOption(jsonOption())
    .action(async (o: { id: string; reason?: string }, cmd: Command) =>
      withBacklog(
        cmd,
        (c) => orNull(() => c.block({ id: o.id, reason: o.reason, actor: cliActor() })),
        (card) => (card ? `blocked ${cardLine(card)}` : '(none)'),
        (card) => cardJson(card),
      ),
    );
}

/** `backlog unblock`: a blocked card back to ready, or `null` for an unknown id. */
export function registerUnblock(backlog: Command): void {
  backlog
    .command('unblock')
    .description('return a blocked card to ready')
    .requiredOption('--id <id>', 'card id')
    .addOption(jsonOption())
    .action(async (o: { id: string }, cmd: Command) =>
      withBacklog(
        cmd,
        (c) => orNull(() => c.unblock({ id: o.id, actor: cliActor() })),
        (card) => (card ? `unblocked ${cardLine(card)}` : '(none)'),
        (card) => cardJson(card),
      ),
    );
}

/** `backlog complete`: marks a card done (fenced with `--owner`), its actual tokens from the meter unless given. */
export function registerComplete(backlog: Command): void {
  backlog
    .command('complete')
    .description('mark a card done; with --owner the claim must still be live and theirs (fencing)')
    .requiredOption('--id <id>', 'card id')
    .option('--owner <name>', 'claim owner (fenced)')
    .addOption(new Option('--token <n>', 'fencing token from the claim').argParser(parseInteger))
    .addOption(new Option('--actual-tokens <n>', 'advisory actual spend (tokens)').argParser(parseInteger))
    .addOption(jsonOption())
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
}
