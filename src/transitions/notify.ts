/**
 * `--notify CMD` (docs/transitions.md): runs the operator's command once per admitted attention
 * transition, as `sh -c 'CMD "$@"' mosaic-top-notify <agent> <to>` with the transition as one
 * JSON line on stdin. Fire and forget: the caller never waits (the stream goes on), each run is
 * time-bounded (its whole process group is killed after `timeoutMs`), at most `maxInFlight`
 * run at once (beyond that a notification is dropped and reported, never queued without
 * bound). The command's own output goes to our stderr — stdout stays the stream's.
 */
import { execa } from 'execa';
import { killGroup } from '../../lib/process-group.js';
import { transitionSubject, transitionTarget, type Transition } from './diff.js';

/** Default seconds a notify command may run before its process group is killed. */
export const DEFAULT_NOTIFY_TIMEOUT_SECONDS = 10;

/** Options of {@link createNotifyRunner}. */
export interface NotifyRunnerOptions {
  /** The operator's command line (run by `sh -c`, with agent and state appended as arguments). */
  command: string;
  /** Kill the command's process group after this many ms (default 10 000). */
  timeoutMs?: number;
  /** Commands running at once at most (default 4). */
  maxInFlight?: number;
  /** Told of failures (non-zero exit, timeout, dropped), one line each. */
  onProblem?: (line: string) => void;
  /** Where the command's stdout and stderr go: a file descriptor (default 2, our stderr) or 'ignore'. */
  output?: number | 'ignore';
}

/** A running notifier: `notify` returns at once; `idle` waits for the commands in flight (tests, exit). */
export interface NotifyRunner {
  notify: (t: Transition) => void;
  idle: () => Promise<void>;
  /** Kills every command still running (exit). */
  stop: () => void;
  readonly stats: { started: number; failed: number; timedOut: number; dropped: number };
}

/** Creates the runner for `--notify CMD`. Never throws from `notify`. */
export function createNotifyRunner(opts: NotifyRunnerOptions): NotifyRunner {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_NOTIFY_TIMEOUT_SECONDS * 1000;
  const maxInFlight = opts.maxInFlight ?? 4;
  const output = opts.output ?? 2;
  const inFlight = new Map<number, Promise<void>>();
  const stats = { started: 0, failed: 0, timedOut: 0, dropped: 0 };
  const problem = (line: string) => opts.onProblem?.(line);
  let seq = 0;

  const pids = new Set<number>();

  return {
    stats,
    notify(t) {
      const subject = t.scope === 'fleet' ? 'fleet' : transitionSubject(t);
      const target = transitionTarget(t);
      if (inFlight.size >= maxInFlight) {
        stats.dropped++;
        problem(`notify: ${maxInFlight} commands still running, dropped the notification for ${subject} → ${target}`);
        return;
      }
      stats.started++;
      const id = ++seq;
      const run = (async () => {
        let timer: NodeJS.Timeout | null = null;
        let timedOut = false;
        try {
          const child = execa('sh', ['-c', `${opts.command} "$@"`, 'mosaic-top-notify', subject, target], {
            input: `${JSON.stringify(t)}\n`,
            // A file descriptor number is accepted at run time; the union trips execa's overloads.
            stdout: output as 'ignore',
            stderr: output as 'ignore',
            // Its own process group: the timeout ends the shell and whatever it started.
            detached: true,
            reject: false,
          });
          const pid = child.pid;
          if (pid) pids.add(pid);
          timer = setTimeout(() => {
            timedOut = true;
            killGroup(pid);
          }, timeoutMs);
          const result = await child;
          if (pid) pids.delete(pid);
          if (timedOut) {
            stats.timedOut++;
            problem(`notify: command for ${subject} → ${target} killed after ${Math.round(timeoutMs / 1000)} s`);
          } else if (result.failed) {
            stats.failed++;
            problem(`notify: command for ${subject} → ${target} failed: ${result.exitCode !== undefined ? `exit ${result.exitCode}` : result.shortMessage}`);
          }
        } catch (error) {
          stats.failed++;
          problem(`notify: could not run the command: ${(error as Error).message}`);
        } finally {
          if (timer) clearTimeout(timer);
          inFlight.delete(id);
        }
      })();
      inFlight.set(id, run);
    },
    async idle() {
      while (inFlight.size) await Promise.all([...inFlight.values()]);
    },
    stop() {
      for (const pid of pids) killGroup(pid);
    },
  };
}
