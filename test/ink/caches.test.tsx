/**
 * Ink 6.8 keeps every distinct text it ever measured or wrapped in module-level caches with no
 * eviction (vadimdemedes/ink#986): a console left open for days grows by one table text per
 * tick. patches/ink+6.8.0.patch (applied by `postinstall: patch-package`) bounds both caches.
 * These tests render the real console through more distinct frames than the bound and read
 * the caches' sizes from Ink's own modules — the very instances the renderer uses.
 */
import { Box, Text } from 'ink';
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { makeAgent, makeSnapshot } from '../fixtures/snapshots.js';
import { renderConsole } from '../helpers/render.js';

const CACHE_LIMIT = 1000;

async function inkInternal<T>(file: string, name: string): Promise<T> {
  const mod = (await import(new URL(file, import.meta.resolve('ink')).href)) as Record<string, unknown>;
  if (typeof mod[name] !== 'function') {
    throw new Error(`ink/build/${file} has no ${name}: patches/ink+6.8.0.patch is not applied (run npm install; postinstall runs patch-package)`);
  }
  return mod[name] as T;
}

describe('Ink text caches (patched)', () => {
  it('a long-running console: 1,200 distinct frames leave at most 1,000 measured texts', async () => {
    const measureTextCacheSize = await inkInternal<() => number>('./measure-text.js', 'measureTextCacheSize');
    const r = renderConsole({ columns: 120, rows: 30 });
    const agents = (tick: number) =>
      Array.from({ length: 8 }, (_, i) => {
        const base = makeAgent(`coder${i}`);
        return makeAgent(`coder${i}`, { heartbeat: { ...base.heartbeat!, ageSeconds: tick + i }, evidence: [`tick-${tick}`] });
      });
    for (let tick = 0; tick < 1200; tick += 1) {
      r.store.getState().applySnapshot(makeSnapshot(agents(tick)));
      // Every tick must reach the screen (not just the last one of a batch): wait for its frame.
      const drawn = new RegExp(`tick-${tick}$`, 'm');
      await new Promise((resolve) => setImmediate(resolve));
      if (!drawn.test(r.frame())) await r.waitFor((f) => drawn.test(f), `frame of tick ${tick}`);
    }
    const size = measureTextCacheSize();
    r.unmount();
    // Each frame measured new texts (ages changed), so an unbounded cache would hold > 1,200.
    expect(size).toBeGreaterThan(CACHE_LIMIT / 2);
    expect(size).toBeLessThanOrEqual(CACHE_LIMIT);
  });

  it('wrapped text: the wrap cache is bounded too, and wrapping still works', async () => {
    const wrapTextCacheSize = await inkInternal<() => number>('./wrap-text.js', 'wrapTextCacheSize');
    const line = (n: number) => `wrapped-${n} ${'x'.repeat(30)}`;
    const instance = render(
      <Box width={20}>
        <Text wrap="wrap">{line(0)}</Text>
      </Box>,
    );
    for (let n = 1; n <= 1200; n += 1)
      instance.rerender(
        <Box width={20}>
          <Text wrap="wrap">{line(n)}</Text>
        </Box>,
      );
    const frame = instance.lastFrame() ?? '';
    instance.unmount();
    expect(frame).toContain('wrapped-1200');
    expect(frame.split('\n').length).toBeGreaterThan(1);
    const size = wrapTextCacheSize();
    expect(size).toBeGreaterThan(CACHE_LIMIT / 2);
    expect(size).toBeLessThanOrEqual(CACHE_LIMIT);
  });
});
