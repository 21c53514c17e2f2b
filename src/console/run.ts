import type { GlobalOptions } from '../cli.js';

/** Opens the interactive console (spec §8). Returns the exit code. Owner: console. */
export async function runConsole(opts: GlobalOptions): Promise<number> {
  void opts;
  process.stderr.write('mosaic-top: console not built yet\n');
  return 1;
}
