/**
 * `--notify CMD` (docs/transitions.md): runs the operator's command once per admitted attention
 * transition, as `sh -c 'CMD "$@"' mosaic-top-notify <agent> <to>` with the transition as one
 * JSON line on stdin. Fire and forget: the caller never waits (the stream goes on), each run is
 * time-bounded (its whole process group is killed after `timeoutMs`), at most `maxInFlight`
 * run at once, the others wait their turn in a bounded queue, and what overflows it is sent as
 * one summary notification: no attention transition is lost without a word. The command's own output goes to our stderr — stdout stays the stream's.
 */
import { execa } from 'execa';
import { messageOf } from '../../lib/errors.js';
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

/** What one run of the command needs from its runner. */
interface RunContext {
  command: string;
  timeoutMs: number;
  output: number | 'ignore';
  /** Process groups running (killed by `stop`). */
  pids: Set<number>;
  stats: NotifyRunner['stats'];
  problem: (line: string) => void;
}

/**
 * Runs the command once for `subject` → `target` with `input` on stdin, in its own process group
 * killed after `timeoutMs`; counts and reports failures and timeouts. Never rejects.
 */
async function runOnce(ctx: RunContext, subject: string, target: string, input: string): Promise<void> {
  let timer: NodeJS.Timeout | null = null;
  let timedOut = false;
  try {
    const child = execa('sh', ['-c', `${ctx.command} "$@"`, 'mosaic-top-notify', subject, target], {
      input,
      // A file descriptor number is accepted at run time; the union trips execa's overloads.
      stdout: ctx.output as 'ignore',
      stderr: ctx.output as 'ignore',
      // Its own process group: the timeout ends the shell and whatever it started.
      detached: true,
      reject: false,
    });
    const pid = child.pid;
    if (pid) ctx.pids.add(pid);
    timer = setTimeout(() => {
      timedOut = true;
      killGroup(pid);
    }, ctx.timeoutMs);
    const result = await child;
    if (pid) ctx.pids.delete(pid);
    if (timedOut) {
      ctx.stats.timedOut++;
      ctx.problem(`notify: command for ${subject} → ${target} killed after ${Math.round(ctx.timeoutMs / 1000)} s`);
    } else if (result.failed) {
      ctx.stats.failed++;
      ctx.problem(`notify: command for ${subject} → ${target} failed: ${result.exitCode !== undefined ? `exit ${result.exitCode}` : result.shortMessage}`);
    }
  } catch (error) {
    ctx.stats.failed++;
    ctx.problem(`notify: could not run the command: ${messageOf(error)}`);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** The summary run of the transitions that overflowed the queue: subject, target line and stdin. */
function overflowSummary(lost: readonly Transition[]): { subject: string; target: string; input: string } {
  const names = lost.map((t) => `${t.scope === 'fleet' ? 'fleet' : transitionSubject(t)} → ${transitionTarget(t)}`);
  return {
    subject: 'fleet',
    target: `${lost.length} attention transitions not delivered one by one: ${names.join(', ')}`.slice(0, 2000),
    input: `${JSON.stringify({ summary: true, transitions: lost })}\n`,
  };
}

/**
 * Creates the runner for `--notify CMD`. Never throws from `notify`. Every transition handed to
 * it is delivered once: at most `maxInFlight` commands run at once, the rest wait in order (at
 * most `maxQueued`, default 64) and start as slots free; transitions beyond the queue are not
 * lost silently: once the queue has drained, ONE summary notification (`fleet`,
 * `N attention transitions not delivered one by one: a → dead, …`, a JSON line with
 * `summary: true` and the transitions on stdin) names them all.
 */
export function createNotifyRunner(opts: NotifyRunnerOptions & { maxQueued?: number }): NotifyRunner {
  const maxInFlight = opts.maxInFlight ?? 4;
  const maxQueued = opts.maxQueued ?? DEFAULT_NOTIFY_QUEUE;
  const ctx: RunContext = {
    command: opts.command,
    timeoutMs: opts.timeoutMs ?? DEFAULT_NOTIFY_TIMEOUT_SECONDS * 1000,
    output: opts.output ?? 2,
    pids: new Set<number>(),
    stats: { started: 0, failed: 0, timedOut: 0, dropped: 0 },
    problem: (line: string) => opts.onProblem?.(line),
  };
  const inFlight = new Map<number, Promise<void>>();
  const queue: { subject: string; target: string; input: string }[] = [];
  const overflow: Transition[] = [];
  let seq = 0;

  const start = (run: { subject: string; target: string; input: string }): void => {
    ctx.stats.started++;
    const id = ++seq;
    inFlight.set(
      id,
      runOnce(ctx, run.subject, run.target, run.input).finally(() => {
        inFlight.delete(id);
        pump();
      }),
    );
  };
  /** Starts queued runs while slots are free; when all is drained, the summary of the overflow. */
  const pump = (): void => {
    while (inFlight.size < maxInFlight) {
      const next = queue.shift();
      if (!next) break;
      start(next);
    }
    if (!queue.length && overflow.length && inFlight.size < maxInFlight) {
      const lost = overflow.splice(0);
      ctx.problem(`notify: ${lost.length} transitions arrived while ${maxInFlight + maxQueued} were pending: sent as one summary`);
      start(overflowSummary(lost));
    }
  };

  return {
    stats: ctx.stats,
    notify(t) {
      if (queue.length >= maxQueued) {
        ctx.stats.dropped++;
        overflow.push(t);
        return;
      }
      queue.push({ subject: t.scope === 'fleet' ? 'fleet' : transitionSubject(t), target: transitionTarget(t), input: `${JSON.stringify(t)}\n` });
      pump();
    },
    async idle() {
      while (inFlight.size || queue.length) await Promise.all([...inFlight.values()]);
    },
    stop() {
      for (const pid of ctx.pids) killGroup(pid);
    },
  };
}
