/**
 * `--notify CMD` (docs/transitions.md): runs the operator's command once per admitted attention
 * transition, as `sh -c 'CMD "$@"' mosaic-top-notify <agent> <to>` with the transition as one
 * JSON line on stdin. Fire and forget: the caller never waits (the stream goes on), each run is
 * time-bounded (its whole process group is killed after `timeoutMs`), at most `maxInFlight`
 * run at once, the others wait their turn in a bounded queue, and what overflows it is sent as
 * one summary notification: no attention transition is lost without a word. The command's own output goes to our stderr — stdout stays the stream's.
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
  /** Told of failures (non-zero exit, timeout, a summary for an overflow), one line each. */
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

/** Transitions waiting for a free slot at most; beyond, they are summarised in one notification. */
export const DEFAULT_NOTIFY_QUEUE = 64;

/**
 * Creates the runner for `--notify CMD`. Never throws from `notify`. Every transition handed to
 * it is delivered once: at most `maxInFlight` commands run at once, the rest wait in order (at
 * most `maxQueued`, default 64) and start as slots free; transitions beyond the queue are not
 * lost silently: once the queue has drained, ONE summary notification (`fleet`,
 * `N attention transitions not delivered one by one: a → dead, …`, a JSON line with
 * `summary: true` and the transitions on stdin) names them all.
 */
export function createNotifyRunner(opts: NotifyRunnerOptions & { maxQueued?: number }): NotifyRunner {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_NOTIFY_TIMEOUT_SECONDS * 1000;
  const maxInFlight = opts.maxInFlight ?? 4;
  const maxQueued = opts.maxQueued ?? DEFAULT_NOTIFY_QUEUE;
  const output = opts.output ?? 2;
  const inFlight = new Map<number, Promise<void>>();
  const queue: { subject: string; target: string; input: string }[] = [];
  const overflow: Transition[] = [];
  const stats = { started: 0, failed: 0, timedOut: 0, dropped: 0 };
  const problem = (line: string) => opts.onProblem?.(line);
  let seq = 0;
  const pids = new Set<number>();

  /** Starts queued runs while slots are free; when all is drained, the summary of the overflow. */
  const pump = (): void => {
    while (inFlight.size < maxInFlight && queue.length) {
      const next = queue.shift()!;
      start(next.subject, next.target, next.input);
    }
    if (!queue.length && overflow.length && inFlight.size < maxInFlight) {
      const lost = overflow.splice(0);
      const names = lost.map((t) => `${t.scope === 'fleet' ? 'fleet' : transitionSubject(t)} → ${transitionTarget(t)}`);
      problem(`notify: ${lost.length} transitions arrived while ${maxInFlight + maxQueued} were pending: sent as one summary`);
      start(
        'fleet',
        `${lost.length} attention transitions not delivered one by one: ${names.join(', ')}`.slice(0, 2000),
        `${JSON.stringify({ summary: true, transitions: lost })}\n`,
      );
    }
  };

  function start(subject: string, target: string, input: string): void {
    stats.started++;
    const id = ++seq;
    const run = (async () => {
      let timer: NodeJS.Timeout | null = null;
      let timedOut = false;
      try {
        const child = execa('sh', ['-c', `${opts.command} "$@"`, 'mosaic-top-notify', subject, target], {
          input,
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
        pump();
      }
    })();
    inFlight.set(id, run);
  }

  return {
    stats,
    notify(t) {
      const subject = t.scope === 'fleet' ? 'fleet' : transitionSubject(t);
      const target = transitionTarget(t);
      if (queue.length >= maxQueued) {
        stats.dropped++;
        overflow.push(t);
        return;
      }
      queue.push({ subject, target, input: `${JSON.stringify(t)}\n` });
      pump();
    },
    async idle() {
      while (inFlight.size || queue.length) await Promise.all([...inFlight.values()]);
    },
    stop() {
      for (const pid of pids) killGroup(pid);
    },
  };
}
