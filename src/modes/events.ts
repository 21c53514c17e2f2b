/**
 * `mosaic-top events` (docs/transitions.md). Without `--follow`: the recent transitions from the run dir's
 * history (`<run>/transitions.ndjson`), oldest first, then exit. With `--follow`: takes a
 * snapshot every `--interval` seconds (the console's collector: one `tmux list-panes -a` per
 * socket, one `systemctl --user show`, the backlog section through one kept client), diffs it
 * with the previous one (src/transitions/diff.ts; the first is a baseline), prints each
 * transition — NDJSON with `--json` (and nothing else on stdout), else a readable line — records
 * it in the history, and hands attention transitions to `--notify CMD` through the damper.
 * SIGINT/SIGTERM end it cleanly with exit 0.
 */
import { spendMeterWanted } from '../snapshot/spend-switch.js';
import { messageOf } from '../../lib/errors.js';
import { resolvePaths, type MosaicPaths } from '../../lib/paths.js';
import { sanitizeLine } from '../../lib/sanitize.js';
import type { Snapshot } from '../snapshot/types.js';
import { diffSnapshots, transitionChange, transitionSubject, type Transition } from '../transitions/diff.js';
import { NotifyDamper } from '../transitions/damper.js';
import { HistoryWriter, historyFile, readHistory } from '../transitions/history.js';
import { delay as sleep } from '../../lib/delay.js';

/** Options of `mosaic-top events` as the mode reads them (seconds for every duration). */
export interface EventsOptions {
  follow: boolean;
  json: boolean;
  /** Poll interval while following, seconds. */
  interval: number;
  notify: string | null;
  /** Seconds a notify command may run before its process group is killed. */
  notifyTimeout: number;
  /** Seconds a notification for one agent and state is held back after one was sent. */
  notifyCooldown: number;
  /** Without --follow: how many recent transitions to print. */
  limit: number;
  /** Record what is observed in the run dir's history (default true). */
  history: boolean;
  mosaicHome?: string;
  roster?: string;
}

/** One readable line of a transition: `2026-12-01T02:50:03Z  coder1  working → dead  !  pane =coder1:0.0 is dead`. Sanitized. */
export function transitionLine(t: Transition): string {
  const at = t.at.replace(/\.\d{3}Z$/, 'Z');
  return sanitizeLine(`${at}  ${transitionSubject(t)}  ${transitionChange(t)}${t.attention ? '  !' : ''}  ${t.evidence.join('; ')}`);
}

/** Prints one transition on stdout: its JSON line, or its readable line. */
function print(t: Transition, json: boolean): void {
  process.stdout.write(json ? `${JSON.stringify(t)}\n` : `${transitionLine(t)}\n`);
}

/**
 * Says ONCE when the roster turns unreadable or invalid (or disappears) while following — the
 * snapshot then keeps the last good roster, so without a word the stream would go on silently
 * on a stale fleet: one stderr line and, with `--json`, one stream record
 * `{"error": "roster: …", "at": …}`; and once again when it reads cleanly again. A changed
 * error (another line of the file) is said again.
 */
function rosterProblemReporter(json: boolean): { check: (s: Snapshot) => void } {
  let said: string | null = null;
  return {
    check(snapshot) {
      const problem = snapshot.errors.find((e) => e.startsWith('roster: ')) ?? null;
      if (problem === said) return;
      const at = new Date().toISOString();
      if (problem) {
        process.stderr.write(`mosaic-top events: ${sanitizeLine(problem)}\n`);
        if (json) process.stdout.write(`${JSON.stringify({ error: problem, at })}\n`);
      } else if (said) {
        process.stderr.write('mosaic-top events: roster readable again\n');
        if (json) process.stdout.write(`${JSON.stringify({ error: null, at, resolved: said })}\n`);
      }
      said = problem;
    },
  };
}

/** Runs `events`; returns the exit code (0; 1 when the history cannot be read without --follow). */
export async function runEvents(opts: EventsOptions): Promise<number> {
  const paths = resolvePaths({ mosaicHome: opts.mosaicHome, roster: opts.roster });
  const file = historyFile(paths.runDir);
  if (!opts.follow) {
    const read = readHistory(file);
    if (read.error) {
      process.stderr.write(`mosaic-top events: cannot read the history ${sanitizeLine(read.error)}\n`);
      return 1;
    }
    const recent = read.transitions.slice(-opts.limit);
    if (!recent.length && !opts.json) {
      process.stderr.write(`mosaic-top events: no transitions recorded in ${sanitizeLine(file)} (the console and \`events --follow\` record them)\n`);
    }
    for (const t of recent) print(t, opts.json);
    return 0;
  }
  return follow(opts, paths, file);
}

/** The snapshot collector `--follow` keeps across ticks: roster cache, systemd backoff, tmux environment, one backlog client, the spend meter. */
interface FollowCollector {
  collect: (signal: AbortSignal) => Promise<Snapshot>;
  close: () => Promise<void>;
}

/** Builds the {@link FollowCollector} (its modules imported here: plain `events` never loads them). */
async function followCollector(paths: MosaicPaths): Promise<FollowCollector> {
  const [{ collectSnapshot }, { RosterCache }, { SystemdBackoff }, { tmuxEnv: makeTmuxEnv }, { createBacklogSectionReader }] = await Promise.all([
    import('../snapshot/collect.js'),
    import('../../fleet/roster.js'),
    import('../../fleet/systemd.js'),
    import('../../fleet/exec.js'),
    import('../../backlog/snapshot.js'),
  ]);
  const rosterCache = new RosterCache(paths.roster);
  const systemdBackoff = new SystemdBackoff();
  const tmuxEnv = makeTmuxEnv();
  const backlogReader = createBacklogSectionReader();
  // The spend meter (OVER-PACE / OVER-BUDGET transitions), kept across ticks.
  const spend = spendMeterWanted() ? new (await import('../snapshot/spend.js')).SnapshotSpend(paths) : undefined;
  return {
    collect: (signal) => collectSnapshot({ paths, rosterCache, systemdBackoff, tmuxEnv, signal, readBacklog: backlogReader.read, spend }),
    close: () => backlogReader.close(),
  };
}

/**
 * One snapshot, aborted by `stop` or after `timeoutMs`: the snapshot (null when it failed; the
 * cause goes to `warn` unless stopped) and whether the bound ran out.
 */
async function tickOnce(
  collector: FollowCollector,
  stop: AbortSignal,
  timeoutMs: number,
  warn: (line: string) => void,
): Promise<{ snapshot: Snapshot | null; timedOut: boolean }> {
  const tick = new AbortController();
  const timer = setTimeout(() => tick.abort(), timeoutMs);
  let snapshot: Snapshot | null = null;
  try {
    snapshot = await collector.collect(AbortSignal.any([stop, tick.signal]));
  } catch (error) {
    if (!stop.aborted) warn(`snapshot failed: ${messageOf(error)}`);
  } finally {
    clearTimeout(timer);
  }
  return { snapshot, timedOut: tick.signal.aborted };
}

/** The stderr line of the first snapshot (the baseline): agents per state, the roster, the interval. */
function baselineLine(snapshot: Snapshot, roster: string, intervalSeconds: number): string {
  const counts = Object.entries(snapshot.fleet.counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return `mosaic-top events: baseline of ${snapshot.agents.length} agents (${counts || 'none'}) from ${sanitizeLine(roster)}; following every ${intervalSeconds} s (ctrl-c stops)\n`;
}

/** Where followed transitions go besides stdout: the history, the `--notify` command through the damper. */
interface TransitionSinks {
  history: HistoryWriter | null;
  damper: NotifyDamper;
  notifier: { notify: (t: Transition) => void; idle: () => Promise<void> } | null;
}

/** The {@link TransitionSinks} of `opts`; history write problems go to `warn`. */
async function transitionSinks(opts: EventsOptions, file: string, warn: (line: string) => void): Promise<TransitionSinks> {
  const history = opts.history ? new HistoryWriter(file, (error) => warn(`history not recorded: ${error}`)) : null;
  const damper = new NotifyDamper(opts.notifyCooldown * 1000);
  const notifier = opts.notify
    ? (await import('../transitions/notify.js')).createNotifyRunner({
        command: opts.notify,
        timeoutMs: opts.notifyTimeout * 1000,
        onProblem: (l) => process.stderr.write(`mosaic-top events: ${sanitizeLine(l)}\n`),
      })
    : null;
  return { history, damper, notifier };
}

/** `events --follow`: a snapshot per interval, its transitions printed, recorded and notified, until SIGINT/SIGTERM or a closed stdout. Returns 0. */
async function follow(opts: EventsOptions, paths: MosaicPaths, file: string): Promise<number> {
  const warned = new Set<string>();
  const warn = (line: string) => {
    if (warned.has(line)) return;
    warned.add(line);
    process.stderr.write(`mosaic-top events: ${sanitizeLine(line)}\n`);
  };
  const collector = await followCollector(paths);
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // A closed stdout (`| head`) ends the stream quietly.
  const onStdoutError = () => controller.abort();
  process.stdout.on('error', onStdoutError);
  const sinks = await transitionSinks(opts, file, warn);
  const intervalMs = Math.max(0.2, opts.interval) * 1000;
  const tickTimeoutMs = Math.max(10_000, 5 * intervalMs);
  // `MOSAIC_TOP_EVENTS_TRACE=1`: one `tick N: K transitions` line per snapshot on stderr (tests count ticks with it).
  const trace = process.env.MOSAIC_TOP_EVENTS_TRACE === '1';
  let ticks = 0;
  let prev: Snapshot | null = null;
  const rosterWatch = rosterProblemReporter(opts.json);
  try {
    while (!controller.signal.aborted) {
      const started = Date.now();
      const { snapshot, timedOut } = await tickOnce(collector, controller.signal, tickTimeoutMs, warn);
      if (controller.signal.aborted) break;
      if (snapshot && !timedOut) {
        const transitions = diffSnapshots(prev, snapshot);
        // The first snapshot is the baseline: said on stderr (stdout carries transitions only).
        if (!prev) process.stderr.write(baselineLine(snapshot, paths.roster, opts.interval));
        prev = snapshot;
        rosterWatch.check(snapshot);
        for (const t of transitions) print(t, opts.json);
        if (transitions.length) sinks.history?.append(transitions);
        for (const t of transitions) if (sinks.notifier && sinks.damper.admit(t, Date.parse(t.at))) sinks.notifier.notify(t);
        if (trace) process.stderr.write(`tick ${++ticks}: ${transitions.length} transitions\n`);
      } else if (timedOut) {
        warn(`snapshot timed out after ${tickTimeoutMs} ms (probes aborted)`);
      }
      await sleep(intervalMs - (Date.now() - started), controller.signal);
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    process.stdout.off('error', onStdoutError);
    await collector.close().catch(() => {});
    await sinks.history?.idle();
    // Notify commands are time-bounded: let the ones in flight finish.
    await sinks.notifier?.idle();
  }
  return 0;
}
