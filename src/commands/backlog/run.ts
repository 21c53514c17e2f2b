/**
 * The frame every `mosaic-top backlog <verb>` runs in: option parsers, the CLI actor, the open
 * client (closed afterwards), `--json` or text output, and errors mapped to exit codes
 * (docs/backlog.md). Kept light at import time: the client, PGlite, drizzle and postgres are
 * imported when a verb runs.
 */
import os from 'node:os';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { GlobalOptions } from '../../options.js';
import { resolvePaths, type MosaicPaths } from '../../../lib/paths.js';
import { sanitizeLine } from '../../../lib/sanitize.js';
import { describeCause } from '../../../lib/errors.js';
import { BacklogError, EXIT_CODES, type Card } from '../../../backlog/types.js';
import type { BacklogClient } from '../../../backlog/verbs.js';
import { loadCardFormat } from './format.js';

/** Parses an integer option (`--priority`, `--token`, `--limit`, …); usage error otherwise. */
export function parseInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`expected an integer, got "${value}"`);
  return n;
}

/** Parses a positive whole number of seconds (`--ttl`, `--idle-exit` allows 0). */
export function parseWholeSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected whole seconds, got "${value}"`);
  return n;
}

/** Parses `a,b,c` into ids (empty entries dropped). */
export function parseIdList(value: string): string[] {
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

/** True when `--json` was given (the verb's or the root's). */
export function jsonWanted(cmd: Command): boolean {
  return Boolean((cmd.optsWithGlobals() as GlobalOptions).json);
}

/** The Mosaic paths of the command's global options. */
export function pathsOf(cmd: Command): MosaicPaths {
  const g = cmd.optsWithGlobals() as GlobalOptions;
  return resolvePaths({ mosaicHome: g.mosaicHome, roster: g.roster });
}

/** Prints `value` as indented JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Reports an error: one line on stderr and the exit code (docs/backlog.md). Nothing on stdout,
 * also with --json: upstream's CLI prints no JSON for a failed verb either.
 */
export function reportError(error: unknown): void {
  // Anything else is unwrapped to its cause (drizzle's "Failed query: <SQL> params: <card data>" never printed).
  const e = error instanceof BacklogError ? error : new BacklogError('internal', describeCause(error));
  process.stderr.write(`mosaic-top backlog: ${sanitizeLine(e.message)}\n`);
  process.exitCode = EXIT_CODES[e.code] ?? 1;
}

/** A note on stderr (the verb still succeeds, e.g. "no card X" beside a JSON `null`). */
export function note(text: string): void {
  process.stderr.write(`mosaic-top backlog: ${sanitizeLine(text)}\n`);
}

/**
 * Upstream's "card or null" for a lookup that found nothing: `not_found` becomes `null` (exit
 * 0, the reason on stderr), as upstream's `complete`/`block` of an unknown id print `null`.
 */
export async function orNull<T>(run: () => Promise<T>): Promise<T | null> {
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
export async function cardSpend(paths: MosaicPaths, client: BacklogClient, id: string): Promise<number | null> {
  try {
    const { collectSpendReport } = await import('../../snapshot/spend-report.js');
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
export async function withBacklog<T>(
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
    const { openBacklog } = await import('../../../backlog/client.js');
    // A read-only verb never creates the store: no data dir yet ⇒ exit 8 (absent).
    client = await openBacklog(paths, opts.readOnly ? { create: false } : {});
    if (client.serverWarning) process.stderr.write(`mosaic-top backlog: warning: ${sanitizeLine(client.serverWarning)}\n`);
    const result = await fn(client, paths);
    if (json) printJson(toJson(result));
    else {
      await loadCardFormat();
      const text = human(result);
      if (text) process.stdout.write(`${text}\n`);
    }
  } catch (error) {
    reportError(error);
  } finally {
    await client?.close().catch(() => {});
  }
}

/** The `--json` option every verb takes. */
export function jsonOption(): Option {
  return new Option('--json', 'print JSON');
}
