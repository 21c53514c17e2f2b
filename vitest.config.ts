import { defineConfig } from 'vitest/config';
import { SlowFirstSequencer } from './test/helpers/sequencer.js';

/**
 * Folders whose files run in-process only (pure code, Ink frames, fixtures, a few short-lived
 * subprocesses) and clean up after themselves: they share one fork per worker instead of a
 * fresh process per file (vitest's `isolate: false`). A fresh fork re-imports and re-JITs the
 * whole graph for every file: measured on the 2-core machine, these folders took 2.5× the CPU
 * isolated. test/helpers/env-guard.ts puts `process.env` back after each of their files.
 */
const SHARED_FORK_DIRS = ['cli', 'console', 'fleet', 'helpers', 'ink', 'keys', 'lib', 'modes', 'snapshot', 'spend', 'store', 'transitions', 'view'];
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
