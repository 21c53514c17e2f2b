/**
 * Test bed: the fleet side of a runtime pane — a throwaway Mosaic home whose roster names the
 * pane's session, and the console's tick (collectSnapshot with a per-poller roster cache and
 * screen reader), so real-runtime tests assert the readiness an operator would see.
 */
import fs from 'node:fs';
import { ScreenReader } from '../../fleet/screen-probe.js';
import { RosterCache } from '../../fleet/roster.js';
import { resolvePaths, type MosaicPaths } from '../../lib/paths.js';
import { collectSnapshot } from '../../src/snapshot/collect.js';
import type { AgentRow } from '../../src/snapshot/types.js';
import type { IsolatedTmux } from '../helpers/tmux.js';

/** The fleet side of one runtime pane: a Mosaic home whose roster names it, and the console's tick. */
export interface Watched {
  paths: MosaicPaths;
  /** One snapshot (a console tick) ⇒ the agent's row. */
  tick(): Promise<AgentRow>;
  /** Ticks until `pred` holds (bounded by `timeoutMs`); returns the row. Throws with the rows seen. */
  until(what: string, pred: (row: AgentRow) => boolean, timeoutMs?: number): Promise<AgentRow>;
}

/**
 * Builds a Mosaic home at `home` with a roster of one agent `name` (runtime `runtime`) on
 * `tmux`'s socket; `until` polls ticks every 250 ms up to `timeoutMs` (default 60 000) and throws
 * with the last rows seen.
 */
export function watchAgent(name: string, runtime: string, tmux: IsolatedTmux, home: string): Watched {
  const paths = resolvePaths({ mosaicHome: home }, {});
  fs.mkdirSync(paths.runDir, { recursive: true });
  fs.writeFileSync(paths.roster, `version: 1\ntmux:\n  socket_name: ${tmux.socket}\nagents:\n  - name: ${name}\n    runtime: ${runtime}\n`);
  const rosterCache = new RosterCache(paths.roster);
  const screenReader = new ScreenReader();
  const tick = async () => {
    const s = await collectSnapshot({ paths, rosterCache, screenReader, includeBacklog: false });
    const row = s.agents.find((a) => a.name === name);
    if (!row) throw new Error(`no row ${name}`);
    return row;
  };
  return {
    paths,
    tick,
    async until(what, pred, timeoutMs = 60_000) {
      const seen: string[] = [];
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const row = await tick();
        const line = `${row.readiness} [${row.flags.join(',')}] ${row.evidence.join('; ')}`;
        if (seen[seen.length - 1] !== line) seen.push(line);
        if (pred(row)) return row;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; rows seen:\n${seen.slice(-8).join('\n')}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
  };
}
