/**
 * `--once [--json]`: one snapshot, printed, exit 0 when a snapshot was produced
 * (even with probe errors). Never imports ink/react; the table renderer is loaded only for the
 * table (the JSON path stays as lean as possible).
 */
import { spendMeterWanted } from '../snapshot/spend-switch.js';
import type { GlobalOptions } from '../options.js';
import { resolvePaths } from '../../lib/paths.js';
import { messageOf } from '../../lib/errors.js';
import { LingerCache, lingerDir } from '../../fleet/linger.js';
import { collectSnapshot, currentTenant } from '../snapshot/collect.js';

/** `--once [--json]`: prints one snapshot to stdout; returns the exit code (0 when produced, 1 on an unexpected failure). */
export async function runOnce(opts: GlobalOptions): Promise<number> {
  try {
    const paths = resolvePaths({ mosaicHome: opts.mosaicHome, roster: opts.roster });
    // One lingering check per run (fleet-level LINGER), only while systemd answers; each agent's
    // `since` comes from the transitions the console or `events --follow` recorded.
    const { historyFile, readHistory, sinceFromHistory } = await import('../transitions/history.js');
    const history = readHistory(historyFile(paths.runDir)).transitions;
    const snapshot = await collectSnapshot({
      paths,
      linger: new LingerCache(currentTenant(), { dir: lingerDir() }),
      sinceOf: (agent, readiness) => sinceFromHistory(history, agent, readiness),
      spend: spendMeterWanted() ? new (await import('../snapshot/spend.js')).SnapshotSpend(paths) : undefined,
    });
    if (opts.json) process.stdout.write(`${JSON.stringify(snapshot, null, 2)}\n`);
    else process.stdout.write((await import('../view/once-table.js')).renderSnapshotTable(snapshot));
    return 0;
  } catch (error) {
    process.stderr.write(`mosaic-top: could not produce a snapshot: ${messageOf(error)}\n`);
    return 1;
  }
}
