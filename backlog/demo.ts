/**
 * The demo's backlog: the demo goal list A1…H4 (a made-up weather-station
 * pipeline) imported from backlog/fixtures/NORTH_STAR.yaml, with a little history so the console has something to
 * show — done cards, a live claim with a TTL countdown, an expired claim held by the silent
 * agent (EXPIRED-CLAIM), a blocked card and ready cards.
 */
import path from 'node:path';
import type { MosaicPaths } from '../lib/paths.js';
import { packageRoot } from '../lib/version.js';

/** Path of the shipped goal list. */
export function demoNorthStarFile(): string {
  return path.join(packageRoot(), 'backlog', 'fixtures', 'NORTH_STAR.yaml');
}

/**
 * Imports the NORTH_STAR goals into the demo home's backlog (embedded: starts its backlog
 * server, ~5 s initdb on the first run, progress via `onProgress`) and plays a short history:
 * A1, A2, A3a done; A3b claimed by `workerAgent` (30 min); H1 claimed by `staleAgent` with a
 * 1 s TTL (so it shows as EXPIRED-CLAIM); G1 blocked. Idempotent on the import; throws
 * BacklogError on failure. Returns the number of cards.
 */
export async function seedDemoBacklog(
  paths: MosaicPaths,
  opts: { workerAgent?: string; staleAgent?: string; onProgress?: (line: string) => void } = {},
): Promise<number> {
  const [{ openBacklog }, { readNorthStarFile }] = await Promise.all([import('./client.js'), import('./north-star.js')]);
  const goals = await readNorthStarFile(demoNorthStarFile());
  const client = await openBacklog(paths, { onProgress: opts.onProgress });
  try {
    const imported = await client.importGoals({ goals, source: 'demo NORTH_STAR.yaml', actor: 'demo' });
    if (imported.created.length) {
      for (const id of ['A1', 'A2', 'A3a']) await client.complete({ id, actor: 'demo' });
      await client.claim({ owner: opts.workerAgent ?? 'coder1', id: 'A3b', ttlSeconds: 1800 });
      await client.claim({ owner: opts.staleAgent ?? 'reviewer', id: 'H1', ttlSeconds: 1 });
      await client.block({ id: 'G1', reason: 'waiting on the merge-gate design', actor: 'demo' });
    }
    return (await client.stats()).total;
  } finally {
    await client.close();
  }
}
