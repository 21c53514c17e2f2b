import { defineConfig } from 'vitest/config';
import { SlowFirstSequencer } from './test/helpers/sequencer.js';

/**
 * Folders whose files clean up after themselves (their tmux servers, backlog servers, homes and
 * children are ended by the file) and set no state a later file could see but `process.env`,
 * timers and the cwd: they share one fork per worker instead of a fresh process per file
 * (vitest's `isolate: false`). A fresh fork re-imports and re-JITs the whole graph for every
 * file, and compiles PGlite's WebAssembly again for a file that opens a store in-process:
 * measured on the 2-core machine, the in-process folders took 2.5× the CPU isolated, and
 * actions/demo/serve ~0.45 s more per file. test/helpers/env-guard.ts puts `process.env`, real
 * timers and the cwd back after each of their files. The real-runtime files keep a fork each:
 * they hold machine-wide runtime slots and install caches for the whole file.
 */
const SHARED_FORK_DIRS = [
  'actions',
  'backlog',
  'cli',
  'console',
  'demo',
  'e2e',
  'faults',
  'fleet',
  'helpers',
  'ink',
  'keys',
  'lib',
  'modes',
  'serve',
  'snapshot',
  'spend',
  'store',
  'transitions',
  'view',
];
const shared = SHARED_FORK_DIRS.flatMap((dir) => [`test/${dir}/**/*.test.ts`, `test/${dir}/**/*.test.tsx`]);

// Integration tests drive real tmux servers, PGlite data dirs and a PostgreSQL cluster:
// they are given generous timeouts, and files run in parallel on forks (tmux sockets and
// temp dirs are per test, so files never share state). Two workers whatever the machine:
// vitest's default on 2 cores is ONE, and the files mostly wait on subprocesses, so a second
// worker halves the wall time (and keeps races between concurrent clients in sight). The
// longest files start first (test/helpers/sequencer.ts), so the two workers end together.
export default defineConfig({
  test: {
    exclude: ['dist/**', 'node_modules/**'],
    pool: 'forks',
    maxWorkers: 2,
    // Test processes open stores in-process too (test/backlog/tiers.ts): the same WebAssembly
    // tier-up budget as the program's backlog server (backlog/pglite-open.ts
    // STORE_WASM_TIERING_BUDGET), so a short test process does not pay TurboFan for Postgres' start.
    execArgv: ['--wasm-tiering-budget=180000000'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    globalSetup: ['test/global-setup.ts'],
    sequence: { sequencer: SlowFirstSequencer },
    projects: [
      {
        extends: true,
        test: {
          name: 'own-fork',
          include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
          exclude: ['dist/**', 'node_modules/**', ...shared],
        },
      },
      {
        extends: true,
        test: {
          name: 'shared-fork',
          include: shared,
          isolate: false,
          setupFiles: ['test/helpers/env-guard.ts'],
        },
      },
    ],
  },
});
