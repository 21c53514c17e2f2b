/**
 * Runs the program IN this process (src/cli.ts `runCli`) for tests of a command's shape — its
 * output, exit code and error line — where starting node for every assertion is the cost and
 * the process boundary is not the point. Same result shape as {@link runBin}. Signals, TTYs,
 * stdin, hangs and races between processes stay with the real executable (`runBin`).
 *
 * While a run is under way process.stdout / process.stderr writes are captured and
 * process.env is `env`; runs are queued one at a time (concurrent calls never interleave their
 * output). A backlog server the command starts is still the real one (`bin/mosaic-top backlog
 * serve`, from dist/), in its own process.
 */
import type { BinResult } from './bin.js';

let queue: Promise<unknown> = Promise.resolve();

/** Runs `mosaic-top ...args` in this process with `env` (the full environment); never throws. */
export function runCliInProcess(args: readonly string[], env: NodeJS.ProcessEnv): Promise<BinResult> {
  const run = queue.then(() => runOnce(args, env));
  queue = run.catch(() => undefined);
  return run;
}

type Write = typeof process.stdout.write;

/** A write() that appends to `into` and reports success (its callback, if any, called). */
function capture(into: string[]): Write {
  return ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const done = rest.find((r): r is () => void => typeof r === 'function');
    if (done) queueMicrotask(done);
    return true;
  }) as Write;
}

async function runOnce(args: readonly string[], env: NodeJS.ProcessEnv): Promise<BinResult> {
  const { runCli } = await import('../../src/cli.js');
  const stdout: string[] = [];
  const stderr: string[] = [];
  const saved = { out: process.stdout.write, err: process.stderr.write, env: process.env };
  process.stdout.write = capture(stdout);
  process.stderr.write = capture(stderr);
  process.env = { ...env };
  let code: number;
  try {
    code = await runCli(args);
  } catch (error) {
    // runCli reports its own errors; this is a defect of the harness or the program: show it.
    stderr.push(`runCliInProcess: ${(error as Error).stack ?? String(error)}\n`);
    code = 70;
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    process.env = saved.env;
  }
  return { code, stdout: stdout.join(''), stderr: stderr.join('') };
}
