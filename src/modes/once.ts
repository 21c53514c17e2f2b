import type { GlobalOptions } from '../cli.js';

/** `--once [--json]`: one snapshot, printed; exit code 0 when a snapshot was produced. Owner: fleet. */
export async function runOnce(opts: GlobalOptions): Promise<number> {
  void opts;
  process.stderr.write('mosaic-top: --once not built yet\n');
  return 1;
}
