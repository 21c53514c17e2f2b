/**
 * `--once [--json]`: one snapshot, printed, exit 0 when a snapshot was produced
 * (even with probe errors). Never imports ink/react; the table renderer is loaded only for the
 * table (the JSON path stays as lean as possible).
 */
import type { GlobalOptions } from '../options.js';
import { resolvePaths } from '../../lib/paths.js';
import { collectSnapshot } from '../snapshot/collect.js';

/** `--once [--json]`: prints one snapshot to stdout; returns the exit code (0 when produced, 1 on an unexpected failure). */
export async function runOnce(opts: GlobalOptions): Promise<number> {
  try {
    const paths = resolvePaths({ mosaicHome: opts.mosaicHome, roster: opts.roster });
    const snapshot = await collectSnapshot({ paths });
    if (opts.json) process.stdout.write(`${JSON.stringify(snapshot, null, 2)}\n`);
    else process.stdout.write((await import('../view/once-table.js')).renderSnapshotTable(snapshot));
    return 0;
  } catch (error) {
    process.stderr.write(`mosaic-top: could not produce a snapshot: ${(error as Error).message}\n`);
    return 1;
  }
}
