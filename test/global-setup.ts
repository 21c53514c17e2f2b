/**
 * Vitest global setup: the expensive, shared fixtures of one test run (owner: backlog).
 *
 * - ONE throwaway PostgreSQL cluster from Debian's binaries (`/usr/lib/postgresql/<ver>/bin`),
 *   initdb'd as the `postgres` user when we run as root (initdb refuses root), listening on its
 *   own port on 127.0.0.1 and a Unix-socket dir under a temp dir. Provided as `pgAdminUrl`
 *   (tests create one database per file). Missing binaries: the Postgres tier is skipped
 *   locally, but with CI=true the run fails loudly.
 * - ONE template PGlite data dir with the backlog migrations applied (`pgliteTemplateDir`);
 *   tests copy it instead of paying initdb (~5 s, ~800 MB) again. It is itself a copy of the
 *   store template (backlog/store-template.ts) in `MOSAIC_TOP_STORE_TEMPLATES`, set here to
 *   ~/.cache/mosaic-top-test/store-templates for the whole run (so every server a test starts
 *   on a new HOME copies it too): initdb runs once per machine, not once per store.
 * Both are removed at teardown (the store template stays).
 * - The REAL agent runtimes pinned in test/runtimes/runtimes.json, installed on demand into
 *   their cache dir (owner: runtimes; see test/runtimes/install.ts) when the run may include
 *   real-runtime tests. With CI=true a failed install fails the run loudly.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort } from './helpers/net.js';
import { ensureAllRuntimes } from './runtimes/install.js';
import { isCi } from './helpers/real-parts.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the run's PostgreSQL cluster (password set, to test masking), or null when unavailable. */
    pgAdminUrl: string | null;
    /** Why the cluster is unavailable (local runs only). */
    pgUnavailableReason: string | null;
    /** PGlite data dir with migrations applied; copy it, never open it in place. */
    pgliteTemplateDir: string;
  }
}

/** Test password of the throwaway cluster (trust auth; used to check masking). */
export const TEST_PG_PASSWORD = 'hunter2-not-a-secret';

function findPostgresBin(): string | null {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return null;
  const versions = fs
    .readdirSync(root)
    .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? null : path.join(root, versions[0], 'bin');
}

/** Runs a command as the `postgres` user when we are root, else as ourselves. */
function asPostgres(argv: [string, ...string[]], opts: { cwd?: string } = {}): void {
  const isRoot = process.getuid?.() === 0;
  const [cmd, args] = isRoot ? ['runuser', ['-u', 'postgres', '--', ...argv]] : [argv[0], argv.slice(1)];
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? '/', encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) {
    throw new Error(`${argv.join(' ')} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || r.error?.message || '').trim()}`);
  }
}

/** A running throwaway cluster: superuser URL (with the test password) and how to stop it. */
export interface Cluster {
  url: string;
  stop: () => void;
}

/** Starts a throwaway PostgreSQL cluster (as the `postgres` user when root); `stop()` removes it. Throws when it cannot. */
export async function startPostgres(): Promise<Cluster> {
  const bin = findPostgresBin();
  if (!bin) throw new Error('PostgreSQL binaries not found under /usr/lib/postgresql/*/bin (apt-get install -y postgresql)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-backlog-pg-'));
  fs.chmodSync(dir, 0o755);
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres:postgres', dir]);
  const data = path.join(dir, 'data');
  const port = await freePort();
  const pwFile = path.join(dir, 'pw');
  fs.writeFileSync(pwFile, TEST_PG_PASSWORD + '\n');
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres:postgres', pwFile]);
  const stop = (): void => {
    try {
      asPostgres([path.join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop']);
    } catch {
      /* not running */
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    asPostgres([path.join(bin, 'initdb'), '-D', data, '-U', 'postgres', '--auth=trust', `--pwfile=${pwFile}`, '--no-sync', '-E', 'UTF8'], { cwd: dir });
    asPostgres(
      [
        path.join(bin, 'pg_ctl'),
        '-D',
        data,
        '-l',
        path.join(dir, 'server.log'),
        '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`,
        '-w',
        '-t',
        '60',
        'start',
      ],
      { cwd: dir },
    );
  } catch (error) {
    const log = path.join(dir, 'server.log');
    const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').slice(-10).join('\n') : '';
    stop();
    throw new Error(`${(error as Error).message}\n${tail}`, { cause: error });
  }
  return { url: `postgres://postgres:${TEST_PG_PASSWORD}@127.0.0.1:${port}/postgres`, stop };
}

async function createPgliteTemplate(): Promise<{ dir: string; remove: () => void }> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-backlog-template-'));
  const dir = path.join(root, 'backlog');
  const [{ PGlite }, { createDataDirApart, serverPgliteOptions }, { storeTemplateRoot }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('../backlog/pglite-open.js'),
    import('../backlog/store-template.js'),
  ]);
  // The program's own store creation: a copy of the shared store template (initdb and the
  // migrations once per machine), so the store already holds the backlog's migrations.
  fs.mkdirSync(dir, { mode: 0o700 });
  const startParams = serverPgliteOptions(PGlite.defaultStartParams).startParams ?? [];
  await createDataDirApart(dir, { startParams, templateRoot: storeTemplateRoot(), log: (l) => process.stderr.write(`[global-setup] ${l}\n`) });
  return { dir, remove: () => fs.rmSync(root, { recursive: true, force: true }) };
}

/**
 * True when this vitest run was given file filters and none of them can select a backlog test
 * (e.g. `npx vitest run test/console`): the cluster and template are then not needed, and other
 * engineers' targeted runs do not pay ~10 s and ~800 MB for them.
 */
function backlogNotSelected(argv: string[] = process.argv.slice(2)): boolean {
  const filters = argv.filter((a) => !a.startsWith('-') && !['run', 'watch', 'dev', 'related', 'bench'].includes(a) && !/vitest(\.m?js)?$/.test(a));
  // e2e, fault, serve, actions, modes and runtime files and the ssh tests (fleet/remote) run the
  // real program against a backlog too.
  return (
    filters.length > 0 && !filters.some((f) => /backlog|global-setup|e2e|faults|serve|actions|modes|remote|runtimes/.test(f) || f === 'test' || f === 'test/')
  );
}

/**
 * True when this vitest run was given file filters and none of them names the real-runtime
 * tests (`test/runtimes/…` or a `*real*` file): the runtimes are then not installed up front
 * (launchRuntime still installs one on first use).
 */
function runtimesNotSelected(argv: string[] = process.argv.slice(2)): boolean {
  const filters = argv.filter((a) => !a.startsWith('-') && !['run', 'watch', 'dev', 'related', 'bench'].includes(a) && !/vitest(\.m?js)?$/.test(a));
  return filters.length > 0 && !filters.some((f) => /runtimes|real|global-setup/.test(f) || f === 'test' || f === 'test/');
}

/** Installs the pinned runtimes (no-op on a warm cache); under CI a failure throws, locally it is reported. */
async function installRuntimes(ci: boolean): Promise<void> {
  if (runtimesNotSelected()) return;
  try {
    await ensureAllRuntimes((line) => process.stderr.write(`[global-setup] ${line}\n`));
  } catch (error) {
    if (ci) throw new Error(`CI=true: the real-runtime tests must run, but installing the runtimes failed: ${(error as Error).message}`, { cause: error });
    process.stderr.write(`[global-setup] installing the real runtimes failed (their tests will fail): ${(error as Error).message}\n`);
  }
}

/**
 * Starts the run's PostgreSQL cluster and PGlite template (in parallel) and provides their
 * locations to the tests; the returned teardown stops the cluster and removes both.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const ci = isCi();
  // One store template for every throwaway HOME of the run (and the next runs): initdb once.
  process.env.MOSAIC_TOP_STORE_TEMPLATES ??= path.join(os.homedir(), '.cache', 'mosaic-top-test', 'store-templates');
  await installRuntimes(ci);
  // Under CI every real part is made whatever the selection, so no test can find one missing.
  if (!ci && backlogNotSelected()) {
    project.provide('pgAdminUrl', null);
    project.provide('pgUnavailableReason', 'not started: no backlog test selected in this run');
    project.provide('pgliteTemplateDir', '');
    return async () => {};
  }
  const [pg, template] = await Promise.all([
    startPostgres().then(
      (cluster) => ({ cluster, reason: null as string | null }),
      (error: Error) => {
        if (ci) throw new Error(`CI=true: the Postgres tier must run, but the test cluster did not start: ${error.message}`);
        return { cluster: null, reason: error.message };
      },
    ),
    createPgliteTemplate(),
  ]);
  if (pg.reason) process.stderr.write(`[global-setup] PostgreSQL tier unavailable, its tests will be skipped: ${pg.reason}\n`);
  project.provide('pgAdminUrl', pg.cluster?.url ?? null);
  project.provide('pgUnavailableReason', pg.reason);
  project.provide('pgliteTemplateDir', template.dir);
  return async () => {
    pg.cluster?.stop();
    template.remove();
  };
}
