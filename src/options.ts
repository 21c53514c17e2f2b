/**
 * Options shared by the console, `--once` and every subcommand, and their parsers: the modes and
 * the commands read them from here, so they need not import the CLI that registers them.
 */
import { InvalidArgumentError } from 'commander';

/** Exit code of every usage error (unknown command or option, bad or missing value). */
export const USAGE_EXIT = 2;

/** Options shared by the console, `--once` and every subcommand (read with `optsWithGlobals()`). */
export interface GlobalOptions {
  mosaicHome?: string;
  roster?: string;
  /** Poll interval of the console, seconds. */
  interval: number;
  once?: boolean;
  json?: boolean;
  readonly?: boolean;
  /** Console: ring the terminal / desktop on attention transitions (also `MOSAIC_TOP_NOTIFY_BELL=1`). */
  notifyBell?: boolean;
}

/** Parses a positive number of seconds for `--interval`, `--ttl`, `--timeout`. */
export function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number of seconds, got "${value}"`);
  return n;
}
