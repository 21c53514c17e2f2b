import { defineConfig } from 'vitest/config';

// Integration tests drive real tmux servers, PGlite data dirs and a PostgreSQL cluster:
// they are given generous timeouts, and files run in parallel on forks (tmux sockets and
// temp dirs are per test, so files never share state).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    exclude: ['dist/**', 'node_modules/**'],
    pool: 'forks',
    testTimeout: 180_000,
    hookTimeout: 120_000,
    globalSetup: ['test/global-setup.ts'],
  },
});
