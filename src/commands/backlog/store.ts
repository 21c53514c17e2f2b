/**
 * The store verbs of `mosaic-top backlog` (docs/backlog.md): migrate, stats, events, import,
 * stop and serve (the embedded backlog server) — each registers itself on the `backlog` command.
 */
import { Option, type Command } from 'commander';
import { sanitizeLine } from '../../../lib/sanitize.js';
import { describeCause } from '../../../lib/errors.js';
import { cliActor, jsonOption, jsonWanted, parseInteger, parseWholeSeconds, pathsOf, printJson, reportError, withBacklog } from './run.js';

/** `backlog migrate`: brings the store's schema up to date. */
export function registerMigrate(backlog: Command): void {
  backlog
    .command('migrate')
    .description("bring the store's schema up to date (what every writing verb does on open; read-only verbs refuse a store that needs it)")
    .addOption(jsonOption())
    .action(async (_o, cmd: Command) =>
      withBacklog(
        cmd,
        async () => ({ migrated: true }),
        () => 'the store is up to date (pending migrations applied)',
      ),
    );
}

/** `backlog stats`: counts per status, waiting on dependencies, oldest ready, expired claims (read-only). */
export function registerStats(backlog: Command): void {
  backlog
    .command('stats')
    .description('counts per status, ready cards waiting on dependencies, oldest-ready age, expired claims')
    .addOption(jsonOption())
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
}

/** `backlog events`: recent events, newest first (read-only). */
export function registerEvents(backlog: Command): void {
  backlog
    .command('events')
    .description('recent events, newest first')
    .option('--id <id>', 'only this card')
    .addOption(new Option('--limit <n>', 'how many').default(50).argParser(parseInteger))
    .addOption(jsonOption())
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
}

/** `backlog import`: NORTH_STAR.yaml goals as cards. */
export function registerImport(backlog: Command): void {
  backlog
    .command('import')
    .description('import NORTH_STAR.yaml goals as cards: new goals created, changed title/phase/priority/dependencies updated (status and claims kept)')
    .argument('<file>', 'NORTH_STAR.yaml')
    .addOption(jsonOption())
    .action(async (file: string, _o, cmd: Command) => {
      const path = await import('node:path');
      const absolute = path.resolve(file);
      let goals;
      try {
        const { readNorthStarFile } = await import('../../../backlog/north-star.js');
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
}

/** `backlog stop`: stops the embedded backlog server (exit 3 when refused, 1 when it did not stop). */
export function registerStop(backlog: Command): void {
  backlog
    .command('stop')
    .description('stop the embedded backlog server gracefully (the next backlog command starts a new one, e.g. after an upgrade)')
    .addOption(jsonOption())
    .action(async (_o, cmd: Command) => {
      const paths = pathsOf(cmd);
      const json = jsonWanted(cmd);
      if (paths.databaseUrl) {
        process.stderr.write('mosaic-top backlog stop: DATABASE_URL is set — the server tier has no backlog server\n');
        process.exitCode = 2;
        return;
      }
      const { stopEmbeddedServer } = await import('../../../backlog/client.js');
      const result = await stopEmbeddedServer(paths, 30_000);
      if (json) printJson(result);
      else if (result.refused) process.stderr.write(`mosaic-top backlog stop: ${sanitizeLine(result.refused)}\n`);
      else if (result.pid === null) process.stdout.write('no backlog server running\n');
      else process.stdout.write(result.stopped ? `stopped backlog server pid ${result.pid}\n` : `backlog server pid ${result.pid} did not stop within 30 s\n`);
      if (result.refused) process.exitCode = 3;
      else if (result.pid !== null && !result.stopped) process.exitCode = 1;
    });
}

/** `backlog serve`: the embedded backlog server in the foreground (exits with its code). */
export function registerServe(backlog: Command): void {
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
        const { runBacklogServer, idleExitFromEnv } = await import('../../../backlog/server.js');
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
