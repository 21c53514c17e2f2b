/**
 * `mosaic-top backlog <verb>` (upstream `mosaic fleet backlog`; docs/backlog.md): create, list, show,
 * claim, renew, reclaim, link, block, unblock, complete, migrate, stats, events, import, stop,
 * serve — all with `--json` in upstream's shapes (a card object or `null`, arrays, upstream's
 * stats; our fields added, never wrappers — docs/backlog.md). Exit codes: 0 ok (nothing to
 * claim, and upstream's `null` answers: claim --id of an unclaimable card, show/complete/block
 * of an unknown id), 1 backlog unavailable, 2 usage or invalid input, 3 not found, 4 conflict,
 * 5 fenced, 6 cycle, 7 paused, 8 no backlog yet. One file per group of verbs under backlog/.
 */
import type { Command } from 'commander';
import {
  registerBlock,
  registerClaim,
  registerComplete,
  registerCreate,
  registerLink,
  registerList,
  registerReclaim,
  registerRenew,
  registerShow,
  registerUnblock,
} from './backlog/cards.js';
import { registerEvents, registerImport, registerMigrate, registerServe, registerStats, registerStop } from './backlog/store.js';

export { cardJson, cliActor } from './backlog/run.js';

/** The verbs in help order. */
const VERBS: readonly ((backlog: Command) => void)[] = [
  registerCreate,
  registerList,
  registerShow,
  registerClaim,
  registerRenew,
  registerReclaim,
  registerLink,
  registerBlock,
  registerUnblock,
  registerComplete,
  registerMigrate,
  registerStats,
  registerEvents,
  registerImport,
  registerStop,
  registerServe,
];

/** Registers `mosaic-top backlog` and its verbs. Usage errors exit 2: the root program's exitOverride (src/cli.ts) is inherited by every verb. */
export function registerBacklogCommand(program: Command): void {
  const backlog = program
    .command('backlog')
    .description('the shared backlog: cards with priority, dependencies, atomic claim + TTL (embedded PGlite, or Postgres with DATABASE_URL)');
  for (const register of VERBS) register(backlog);
}
