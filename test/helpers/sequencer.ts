/**
 * Test-file order for `vitest run`: the longest files start first, so both workers end
 * together instead of one idling while the other runs a long file it picked up last (vitest's
 * own order needs its results cache, which a fresh clone or CI does not have, and then runs
 * the largest files first — file size says little about how long a file drives real tmux
 * servers, backlog servers or runtimes).
 *
 * A file's expected seconds: {@link KNOWN_SECONDS} (measured on the 2-core machine with two
 * workers; refresh it from `node_modules/.vite/vitest/<hash>/results.json` when files change
 * much), else its duration in vitest's results cache, else an estimate by folder and size.
 * Ties keep vitest's order.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Seconds per file (repo-relative path): measured with 2 workers on the 2-core machine, or estimated after a change. */
export const KNOWN_SECONDS: Readonly<Record<string, number>> = {
  'test/backlog/embedded-server.test.ts': 55,
  'test/runtimes/receipts-claude.test.ts': 51,
  'test/faults/run-dir-injection.test.ts': 50,
  'test/runtimes/readiness-claude.test.ts': 42,
  'test/e2e/actions.test.ts': 40,
  'test/faults/backlog-server.test.ts': 31,
  'test/e2e/console.test.ts': 30,
  'test/runtimes/answer.test.ts': 30,
  'test/runtimes/testbed.test.ts': 29,
  'test/backlog/server-memory.test.ts': 28,
  'test/runtimes/readiness-others.test.ts': 28,
  'test/runtimes/hooks-pi-opencode.test.ts': 27,
  'test/runtimes/spend-card-pi.test.ts': 27,
  'test/fleet/remote.test.ts': 25,
  'test/faults/postgres.test.ts': 25,
  'test/actions/answer-guard.test.ts': 24,
  'test/backlog/store-template.test.ts': 23,
  'test/faults/tmux-stopped.test.ts': 20,
  'test/serve/serve-send.test.ts': 20,
  'test/runtimes/receipts-codex.test.ts': 20,
  'test/e2e/console-actions.test.ts': 19,
  'test/runtimes/receipts-opencode.test.ts': 18,
  'test/runtimes/serve-e2e.test.ts': 18,
  'test/faults/stores.test.ts': 17,
  'test/runtimes/console-receipts-e2e.test.ts': 17,
  'test/faults/subprocess-bounds.test.ts': 16,
  'test/modes/once-cli.test.ts': 14,
  'test/backlog/upstream-compat.test.ts': 14,
  'test/serve/serve-page.test.ts': 14,
  'test/snapshot/snapshot.test.ts': 14,
  'test/runtimes/spend-opencode.test.ts': 13,
  'test/e2e/lifecycle.test.ts': 12,
  'test/snapshot/screens.test.ts': 12,
  'test/runtimes/spend.test.ts': 12,
  'test/modes/events-cli.test.ts': 11,
  'test/e2e/demo-receipts.test.ts': 11,
  'test/faults/files.test.ts': 10,
};

/**
 * Seconds assumed for a file neither listed nor cached: a runtime file drives a real runtime
 * (tens of seconds whatever its size); an end-to-end or fault file runs the real program; the
 * rest by size (about 2 KB of test per second).
 */
export function estimateSeconds(relPath: string, bytes: number): number {
  if (relPath.startsWith('test/runtimes/')) return 30;
  if (relPath.startsWith('test/e2e/') || relPath.startsWith('test/faults/')) return 10;
  return bytes / 2000;
}

/** Longest-expected file first (see the module comment). */
export class SlowFirstSequencer extends BaseSequencer {
  override sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const seconds = new Map<TestSpecification, number>();
    for (const spec of files) {
      const rel = path.relative(root, spec.moduleId).split(path.sep).join('/');
      const cached = this.ctx.cache.getFileTestResults(`${spec.project.name}:${rel}`);
      seconds.set(spec, KNOWN_SECONDS[rel] ?? (cached ? cached.duration / 1000 : estimateSeconds(rel, sizeOf(spec.moduleId))));
    }
    // Array.prototype.sort is stable: equal estimates keep vitest's order.
    return Promise.resolve([...files].sort((a, b) => (seconds.get(b) ?? 0) - (seconds.get(a) ?? 0)));
  }
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}
