import type { MosaicPaths } from '../src/paths.js';
import { BacklogError, type BacklogClient, type OpenBacklogOptions } from './types.js';

/**
 * Opens the backlog for `paths`: server tier when DATABASE_URL is set, else the embedded tier
 * (the backlog server on `<run>/backlog.sock`, started on demand). Stub: real body lands next.
 */
export async function openBacklog(paths: MosaicPaths, opts: OpenBacklogOptions = {}): Promise<BacklogClient> {
  void paths;
  void opts;
  throw new BacklogError('unavailable', 'backlog client not built yet');
}
