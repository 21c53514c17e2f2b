/**
 * The suite's file order (test/helpers/sequencer.ts): longest expected first — listed seconds,
 * then vitest's cached duration, then the estimate by folder and size — ties in vitest's order.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TestSpecification, Vitest } from 'vitest/node';
import { SlowFirstSequencer, estimateSeconds } from './sequencer.js';

/** A sequencer over `root` whose results cache knows `cachedMs` (repo-relative path → ms). */
function sequencer(root: string, cachedMs: Record<string, number> = {}): SlowFirstSequencer {
  const ctx = {
    config: { root },
    cache: {
      getFileTestResults: (key: string) => {
        const ms = cachedMs[key.slice(key.indexOf(':') + 1)];
        return ms === undefined ? undefined : { duration: ms, failed: false };
      },
    },
  };
  return new SlowFirstSequencer(ctx as unknown as Vitest);
}

function spec(root: string, rel: string): TestSpecification {
  return { moduleId: path.join(root, rel), project: { name: '' } } as unknown as TestSpecification;
}

describe('SlowFirstSequencer', () => {
  it('orders listed files by their seconds, cached ones by their duration, the rest by estimate; ties keep their order', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-seq-'));
    try {
      const write = (rel: string, bytes: number): string => {
        fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
        fs.writeFileSync(path.join(root, rel), 'x'.repeat(bytes));
        return rel;
      };
      const big = write('test/view/big.test.ts', 40_000); // 20 s by size
      const small = write('test/view/small.test.ts', 2_000); // 1 s
      const tieA = write('test/keys/a.test.ts', 4_000); // 2 s
      const tieB = write('test/keys/b.test.ts', 4_000); // 2 s
      const newRuntime = write('test/runtimes/new-runtime.test.ts', 1_000); // 30 s: a runtime file
      const cached = 'test/lib/cached.test.ts'; // 45 s in the cache
      const listed = 'test/backlog/embedded-server.test.ts'; // listed: wins over the cache
      const order = [small, tieA, cached, listed, big, tieB, newRuntime];
      const sorted = await sequencer(root, { [cached]: 45_000, [listed]: 1 }).sort(order.map((rel) => spec(root, rel)));
      expect(sorted.map((s) => path.relative(root, s.moduleId))).toEqual([listed, cached, newRuntime, big, tieA, tieB, small]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('estimates a file by folder: runtimes 30 s, e2e and faults 10 s, else 1 s per 2 KB', () => {
    expect([
      estimateSeconds('test/runtimes/x.test.ts', 100),
      estimateSeconds('test/e2e/x.test.ts', 100),
      estimateSeconds('test/faults/x.test.ts', 100),
    ]).toEqual([30, 10, 10]);
    expect(estimateSeconds('test/view/x.test.ts', 8_000)).toBe(4);
  });
});
