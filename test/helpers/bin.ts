/**
 * Runs the real program (`node bin/mosaic-top …`, built by `npx tsc -p .`) and returns its
 * exit code and output instead of throwing, for tests of exit codes and messages.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../../lib/version.js';

const execFileAsync = promisify(execFile);

/** The real program's entry point. */
export const BIN = path.join(packageRoot(), 'bin', 'mosaic-top');

/** What one run of the program gave: exit code (1 when killed), stdout, stderr. */
export interface BinResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/mosaic-top ...args` with `env` (the full environment), `timeoutMs` (default 60 000). */
export async function runBin(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<BinResult> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', timeout: timeoutMs });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
