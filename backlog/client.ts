/**
 * The backlog client API: `openBacklog(paths, opts)` gives a {@link BacklogClient} with
 * the same async methods on both tiers.
 *
 * - Server tier (`DATABASE_URL` set): the BacklogService in this process on Postgres via
 *   `postgres` (porsager) with ONE connection; migrations applied on first use
 *   (backlog/client/server-tier.ts).
 * - Embedded tier (default): requests to the backlog server on `<run>/backlog.sock`; when none
 *   answers, the server is spawned detached (`mosaic-top backlog serve --idle-exit N`, output to
 *   `<run>/backlog-server.log`) and the client waits for its socket (backlog/client/embedded.ts,
 *   the wire in backlog/client/socket.ts).
 *
 * Also the one stop of the embedded server every caller uses ({@link stopEmbeddedServer},
 * backlog/client/admin.ts). This module loads no database code at import time (the `--once`
 * path stays light): each tier's module is loaded when opened.
 */
import type { MosaicPaths } from '../lib/paths.js';
import type { OpenBacklogOptions } from './types.js';
import type { BacklogClient } from './verbs.js';

export { stopEmbeddedServer } from './client/admin.js';

/**
 * Opens the backlog for `paths`: server tier when `paths.databaseUrl` is set, else the embedded
 * tier through its backlog server (started on demand; "creating backlog data dir …" on stderr
 * during the first initdb). Throws BacklogError: 'absent' (create:false and no store),
 * 'timeout', 'unavailable'. Always `close()` the client.
 */
export async function openBacklog(paths: MosaicPaths, opts: OpenBacklogOptions = {}): Promise<BacklogClient> {
  if (paths.databaseUrl) {
    const { openServerTier } = await import('./client/server-tier.js');
    return openServerTier(paths, paths.databaseUrl, opts);
  }
  const { openEmbedded } = await import('./client/embedded.js');
  return openEmbedded(paths, opts);
}
