import { defineConfig } from 'vitest/config';
import { SlowFirstSequencer } from './test/helpers/sequencer.js';

// Integration tests drive real tmux servers, PGlite data dirs and a PostgreSQL cluster:
// they are given generous timeouts, and files run in parallel on forks (tmux sockets and
// temp dirs are per test, so files never share state). Two workers whatever the machine:
// vitest's default on 2 cores is ONE, and the files mostly wait on subprocesses, so a second
// worker halves the wall time (and keeps races between concurrent clients in sight). The
// longest files start first (test/helpers/sequencer.ts), so the two workers end together.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    exclude: ['dist/**', 'node_modules/**'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 180_000,
    hookTimeout: 120_000,
    globalSetup: ['test/global-setup.ts'],
    sequence: { sequencer: SlowFirstSequencer },
  },
});
