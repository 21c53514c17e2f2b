/**
 * Fleet lifecycle: start, stop and restart an agent through its systemd unit
 * `mosaic-agent@<agent>.service` (`systemctl --user`, on the agent's host over ssh when it lives
 * elsewhere), waiting for the outcome — the unit's state and, for start/restart, the agent's pane
 * back with a NEW pane pid — within a bound; and `restart --all`, one agent at a time,
 * orchestrator last, halting when a unit fails twice. Each action is an event in the backlog's
 * events table (who, what, result). Owner: actions.
 *
 * Upstream: agent units are oneshot `active (exited)`, so a dead pane leaves the unit active and
 * systemd never restarts it (the NEEDS-RESTART flag); upstream's update flow tells the operator
 * to restart agents by hand with `systemctl --user restart mosaic-agent@<name>`.
 */
import { RosterCache } from '../../fleet/roster.js';
import { agentUnitName } from '../../fleet/systemd.js';
import { runSystemctl, systemctlFailure, type UnitVerb } from '../../fleet/unit-control.js';
import type { BacklogClient } from '../../backlog/verbs.js';
import type { MosaicPaths } from '../../lib/paths.js';
import { sanitizeLine } from '../../lib/sanitize.js';
import { collectSnapshot } from '../snapshot/collect.js';
import type { AgentRow, Snapshot } from '../snapshot/types.js';
import { recordOperatorEvent } from './receipt-event.js';
import { delay } from '../../lib/delay.js';

export type { UnitVerb } from '../../fleet/unit-control.js';

/** How a unit action ended: done, refused before anything was changed, failed (systemd said so), timed out waiting. */
export type LifecycleOutcome = 'done' | 'refused' | 'failed' | 'timed_out';

/** Default bound of one action's wait for its outcome, ms (60 s: a runtime may take a while to come up). */
export const DEFAULT_LIFECYCLE_TIMEOUT_MS = 60_000;
/** Interval between outcome probes, ms. */
const POLL_MS = 250;

/** The agent's unit and pane as seen at one moment (a snapshot row). */
export interface LifecycleSide {
  /** `active/exited (enabled)`, or null when systemd did not say. */
  unit: string | null;
  activeState: string | null;
  panePid: number | null;
  /** True: the pane is dead; false: alive; null: no pane. */
  paneDead: boolean | null;
  readiness: string;
  flags: string[];
}

/** The result of one start / stop / restart. */
export interface LifecycleResult {
  ok: boolean;
  verb: UnitVerb;
  agent: string;
  unit: string;
  /** The agent's host (roster `host:`), null for this host. */
  host: string | null;
  outcome: LifecycleOutcome;
  /** Why it was refused / failed / timed out; null when done. */
  reason: string | null;
  /** True when `--force` let it act on a working agent. */
  forced: boolean;
  before: LifecycleSide | null;
  after: LifecycleSide | null;
  /** What was done and seen, in order (sanitized). */
  evidence: string[];
  /** From the call to the verdict, ms. */
  elapsedMs: number;
  /** One line for the operator (sanitized). */
  message: string;
  /** Where the action was recorded ("backlog event #12") or why not; absent when not attempted. */
  recorded?: string | null;
}

/** Options of {@link unitAction}. */
export interface UnitActionOptions {
  paths: MosaicPaths;
  agent: string;
  verb: UnitVerb;
  /** Act on a `working` agent anyway (default: refuse, saying what it would interrupt). */
  force?: boolean;
  /** Bound of the wait for the outcome, ms (default {@link DEFAULT_LIFECYCLE_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** Environment of ssh (`MOSAIC_SSH*`) for agents of other hosts (default process.env). */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Record the action in the backlog events table (default true; restart --all records each). */
  record?: boolean;
  /** A backlog client to record with (left open), e.g. the console's. */
  client?: BacklogClient;
}

function side(row: AgentRow): LifecycleSide {
  const u = row.unit;
  return {
    unit: u ? `${u.activeState || '?'}/${u.subState || '?'} (${u.unitFileState || 'no unit file state'})` : null,
    activeState: u?.activeState ?? null,
    panePid: row.pane?.pid ?? null,
    paneDead: row.pane ? row.pane.dead : null,
    readiness: row.readiness,
    flags: [...row.flags],
  };
}

function describeSide(s: LifecycleSide, label: string): string {
  const pane = s.paneDead === null ? 'no pane' : s.paneDead ? `dead pane (pid ${s.panePid ?? '?'})` : `pane pid ${s.panePid ?? '?'}`;
  return `${label}: unit ${s.unit ?? 'unknown'}, ${pane}, ${s.readiness}${s.flags.length ? ` [${s.flags.join(',')}]` : ''}`;
}

/** The systemd probe that speaks for `row`'s host: this host's, or the one asked over its ssh. */
function systemdProbeFor(s: Snapshot, row: AgentRow): { ok: boolean; error: string | null } {
  if (row.ssh) {
    const ssh = s.probes[`ssh:${row.ssh}`];
    if (ssh && !ssh.ok) return { ok: false, error: ssh.error };
    return s.probes[`systemd:${row.ssh}`] ?? { ok: false, error: `ssh ${row.ssh}: systemd not asked` };
  }
  return s.probes.systemd ?? { ok: false, error: 'systemd not asked' };
}

/**
 * What acting on `row` would interrupt, when it is `working` (or `waiting`: mid-turn at a
 * prompt for a human): its card (claim, else the beat's card), its heartbeat state and the
 * evidence that decided it. Null otherwise.
 */
export function workingInterruption(row: AgentRow): string | null {
  if (row.readiness !== 'working' && row.readiness !== 'waiting') return null;
  const card = row.claim?.cardId ?? row.heartbeat?.card ?? null;
  const parts = [
    card ? `card ${card}` : 'no card in hand',
    row.heartbeat ? `heartbeat state=${row.heartbeat.state ?? 'none'}` : 'no heartbeat',
    row.evidence[0] ?? '',
  ];
  return `${row.name} is ${row.readiness} (${parts.filter(Boolean).join('; ')})`;
}

/**
 * Starts, stops or restarts `agent`'s unit and waits for the outcome (default bound 60 s):
 * start/restart are done when the unit is active and the agent's pane lives with a pane pid
 * other than before (start: any live pane); stop when the unit is inactive (or failed) and the
 * pane is gone. A unit that turns `failed`, or a systemctl that exits non-zero, is `failed` with
 * systemd's words. Refused BEFORE anything is changed: unknown agent or unloadable roster,
 * systemd unavailable on the agent's host (its reason), unit not found, a `working` agent
 * without `force` (says the card and heartbeat state it would interrupt), `start` of an active
 * unit whose pane is gone (a oneshot unit stays active: only restart helps). Recorded as a
 * `unit-<verb>` event (unless `record: false`). Never throws.
 */
export async function unitAction(opts: UnitActionOptions): Promise<LifecycleResult> {
  const run: UnitRun = {
    opts,
    unit: agentUnitName(opts.agent),
    started: performance.now(),
    timeoutMs: opts.timeoutMs ?? DEFAULT_LIFECYCLE_TIMEOUT_MS,
    evidence: [],
    before: null,
    host: null,
    look: lookerFor(opts),
  };
  const ending = await runUnitVerb(run);
  return finishUnitAction(run, ending);
}

/** The state of one {@link unitAction} as it goes: what the result and its event are built from. */
interface UnitRun {
  opts: UnitActionOptions;
  unit: string;
  /** `performance.now()` at the start. */
  started: number;
  timeoutMs: number;
  evidence: string[];
  before: LifecycleSide | null;
  host: string | null;
  /** A fresh snapshot without the backlog. */
  look: () => Promise<Snapshot>;
}

/** How a unit action ended: its outcome, why (null when done) and the agent's side after. */
interface UnitEnding {
  outcome: LifecycleOutcome;
  reason: string | null;
  after: LifecycleSide | null;
}

/** A fresh snapshot without the backlog, with a roster read anew each time. */
function lookerFor(opts: { paths: MosaicPaths; env?: NodeJS.ProcessEnv; signal?: AbortSignal }): () => Promise<Snapshot> {
  const rosterCache = new RosterCache(opts.paths.roster, { cacheDir: null });
  return () => collectSnapshot({ paths: opts.paths, rosterCache, includeBacklog: false, sshEnv: opts.env, signal: opts.signal });
}

/** Checks, runs systemctl and waits for the outcome (see {@link unitAction}). */
async function runUnitVerb(run: UnitRun): Promise<UnitEnding> {
  const { opts, unit, evidence } = run;
  const { agent, verb } = opts;
  const first = await run.look();
  const row = first.agents.find((a) => a.name === agent);
  if (!row) return { outcome: 'refused', reason: unknownAgentReason(first, agent, opts.paths.roster), after: null };
  run.host = row.host;
  const before = side(row);
  run.before = before;
  evidence.push(describeSide(before, 'before'));
  const refused = unitRefusal(run, first, row);
  if (refused) return refused;

  const remote = row.ssh ? { target: row.ssh, host: row.host ?? row.ssh, controlDir: opts.paths.runDir, env: opts.env } : null;
  const ran = await runSystemctl([verb, unit], { remote, timeoutMs: run.timeoutMs, signal: opts.signal, env: opts.env });
  evidence.push(
    `systemctl --user ${verb} ${unit}${row.host ? ` at host ${row.host}` : ''}: ${ran.ok ? 'exit 0' : `exit ${ran.exitCode ?? '?'}`} in ${Math.round(ran.durationMs)} ms`,
  );
  if (!ran.ok) {
    const why = systemctlFailure(ran);
    evidence.push(`systemctl said: ${why}`);
    const now = await run.look();
    const r = now.agents.find((a) => a.name === agent);
    const after = r ? side(r) : null;
    if (after) evidence.push(describeSide(after, 'after'));
    return { outcome: 'failed', reason: `${unit}: ${why}${after?.unit ? ` (unit ${after.unit})` : ''}`, after };
  }
  return waitForUnitOutcome(run, before);
}

/** Why `agent` is not in the snapshot: the roster does not load, or the agent is unknown (naming the known ones). */
function unknownAgentReason(snap: Snapshot, agent: string, roster: string): string {
  const rosterError = snap.probes.roster?.error;
  if (rosterError && !snap.agents.length) return `roster does not load: ${rosterError}`;
  const names = snap.agents.map((a) => a.name);
  return `unknown agent "${agent}" in roster ${roster} (${names.length ? `known agents: ${names.slice(0, 20).join(', ')}` : 'the roster has no agents'})`;
}

/**
 * The ending of a unit action stopped before systemctl: systemd unavailable, unit not found, a
 * working agent without force, or `start` of an active unit (done when its pane lives, refused
 * when not); null when the verb may run.
 */
function unitRefusal(run: UnitRun, snap: Snapshot, row: AgentRow): UnitEnding | null {
  const { opts, unit, evidence } = run;
  const { verb } = opts;
  const refuse = (reason: string): UnitEnding => ({ outcome: 'refused', reason, after: null });
  const probe = systemdProbeFor(snap, row);
  if (!probe.ok) return refuse(`${probe.error ?? 'systemd unavailable'}; nothing done`);
  if (!row.unit || row.unit.loadState === 'not-found' || !row.unit.loadState) {
    return refuse(
      `${unit} not found${row.host ? ` at host ${row.host}` : ''} (LoadState=${row.unit?.loadState || 'unknown'}): install the mosaic-agent@.service template unit first`,
    );
  }
  const interruption = verb === 'start' ? null : workingInterruption(row);
  if (interruption && !opts.force) return refuse(`${interruption}: ${verb} would interrupt it; --force to ${verb} anyway`);
  if (interruption) evidence.push(`forced: ${interruption}`);
  const activeish = row.unit.activeState === 'active' || row.unit.activeState === 'activating';
  if (verb !== 'start' || !activeish) return null;
  if (row.pane && !row.pane.dead) {
    evidence.push('already running: unit active and its pane lives; nothing to do');
    return { outcome: 'done', reason: null, after: run.before };
  }
  return refuse(
    `${unit} is ${row.unit.activeState} (${row.unit.subState}) but the pane is ${row.pane ? 'dead' : 'missing'}: start does nothing for an active oneshot unit — use restart`,
  );
}

/** True when `r` shows `verb` done: stop — unit inactive/failed and pane gone; start/restart — unit active and a live pane (restart: a new pane pid). Pure. */
function verbDone(verb: UnitVerb, r: AgentRow, before: LifecycleSide): boolean {
  const u = r.unit;
  if (verb === 'stop') return (u?.activeState === 'inactive' || u?.activeState === 'failed') && (!r.pane || r.pane.dead);
  const pane = r.pane;
  const paneUp = !!pane && !pane.dead && pane.pid !== null;
  return u?.activeState === 'active' && paneUp && (verb === 'start' || before.panePid === null || pane.pid !== before.panePid);
}

/** Polls every {@link POLL_MS} until the verb is done, the unit failed, the signal aborts or the timeout passes. */
async function waitForUnitOutcome(run: UnitRun, before: LifecycleSide): Promise<UnitEnding> {
  const { opts, unit, evidence, timeoutMs } = run;
  const { agent, verb } = opts;
  const deadline = performance.now() + timeoutMs;
  let last: LifecycleSide | null = null;
  for (;;) {
    const now = await run.look();
    const r = now.agents.find((a) => a.name === agent);
    if (r) {
      last = side(r);
      if (r.unit?.activeState === 'failed') {
        evidence.push(describeSide(last, 'after'));
        return { outcome: 'failed', reason: `${unit} failed after ${verb} (${r.unit.activeState}/${r.unit.subState})`, after: last };
      }
      if (verbDone(verb, r, before)) {
        evidence.push(describeSide(last, 'after'));
        if (verb !== 'stop') evidence.push(before.panePid ? `new pane pid ${last.panePid} (was ${before.panePid})` : `pane up with pid ${last.panePid}`);
        for (const f of before.flags) if (!last.flags.includes(f)) evidence.push(`${f} cleared`);
        return { outcome: 'done', reason: null, after: last };
      }
    }
    if (opts.signal?.aborted) {
      if (last) evidence.push(describeSide(last, 'last seen'));
      return { outcome: 'timed_out', reason: `aborted while waiting for the ${verb} of ${agent}`, after: last };
    }
    if (performance.now() >= deadline) {
      if (last) evidence.push(describeSide(last, 'last seen'));
      const want =
        verb === 'stop'
          ? 'the unit inactive and the pane gone'
          : `the unit active and a live pane${verb === 'restart' && before.panePid ? ` with a pid other than ${before.panePid}` : ''}`;
      return { outcome: 'timed_out', reason: `no outcome within ${Math.round(timeoutMs / 1000)} s: waited for ${want}`, after: last };
    }
    await delay(POLL_MS, opts.signal);
  }
}

/** The result of a unit action (message, sanitized evidence), recorded as a `unit-<verb>` event unless `record: false`. */
async function finishUnitAction(run: UnitRun, { outcome, reason, after }: UnitEnding): Promise<LifecycleResult> {
  const { opts, unit, before, host, started } = run;
  const { agent, verb, paths } = opts;
  const ok = outcome === 'done';
  const what = `${verb} ${agent}`;
  const message = sanitizeLine(
    ok
      ? `${what}: done in ${Math.round(performance.now() - started)} ms${after ? ` — unit ${after.unit ?? '?'}${after.panePid ? `, pane pid ${after.panePid}${before?.panePid && verb !== 'stop' ? ` (was ${before.panePid})` : ''}` : ''}` : ''}`
      : `${what}: ${outcome.replace('_', ' ')}: ${reason ?? 'no reason given'}`,
  );
  const result: LifecycleResult = {
    ok,
    verb,
    agent,
    unit,
    host,
    outcome,
    reason: reason ? sanitizeLine(reason) : null,
    forced: !!opts.force,
    before,
    after,
    evidence: run.evidence.map((e) => sanitizeLine(e)),
    elapsedMs: Math.round(performance.now() - started),
    message,
  };
  if (opts.record !== false) {
    result.recorded = await recordOperatorEvent(
      paths,
      `unit-${verb}`,
      { agent, unit, host, outcome, reason: result.reason, forced: result.forced, before, after, evidence: result.evidence, elapsedMs: result.elapsedMs },
      { client: opts.client },
    );
  }
  return result;
}

/** How `restart --all` ended. */
export type RestartAllOutcome = 'done' | 'incomplete' | 'halted' | 'refused';

/** The result of `restart --all`. */
export interface RestartAllResult {
  ok: boolean;
  outcome: RestartAllOutcome;
  /** The order the agents were taken in (roster order, orchestrators last). */
  order: string[];
  /** Every attempt, in order (a unit that failed once has two). */
  results: LifecycleResult[];
  /** Agents refused (working without --force, unit not found, …) with the reason; the run went on. */
  skipped: { agent: string; reason: string }[];
  /** The agent whose unit failed twice, and why; null when the run was not halted. */
  halted: { agent: string; unit: string; reason: string } | null;
  /** Agents not attempted because the run halted (or was refused). */
  notAttempted: string[];
  /** Why the whole run was refused (no roster, systemd unavailable here); null otherwise. */
  refused: string | null;
  message: string;
  recorded?: string | null;
}

/**
 * The order of `restart --all`: roster order, agents of class `orchestrator` last, so the
 * fleet's floor holds as long as it can. Pure.
 */
export function restartOrder(agents: readonly { name: string; class: string | null }[]): string[] {
  return [...agents.filter((a) => a.class !== 'orchestrator'), ...agents.filter((a) => a.class === 'orchestrator')].map((a) => a.name);
}

/**
 * Restarts every agent of the roster, one at a time ({@link restartOrder}), each waited for like
 * {@link unitAction} (bound per agent: `timeoutMs`). A failed or timed-out restart is tried once
 * more; a unit that fails twice halts the run, saying which, and the rest are not attempted. A
 * refused agent (working without `force`, unit not found) is skipped and the run goes on.
 * Refused as a whole when the roster does not load or this host's systemd is unavailable while
 * local agents exist. `onResult` sees each attempt as it ends. Each attempt is recorded
 * (`unit-restart`), and the run too (`unit-restart-all`). Never throws.
 */
export async function restartAll(opts: RestartAllOptions): Promise<RestartAllResult> {
  const snap = await lookerFor(opts)();
  const order = restartOrder(snap.agents);
  let refused: string | null = null;
  if (!snap.agents.length) refused = snap.probes.roster?.error ? `roster does not load: ${snap.probes.roster.error}` : 'the roster has no agents';
  else if (snap.agents.some((a) => !a.ssh) && !snap.probes.systemd?.ok) refused = `${snap.probes.systemd?.error ?? 'systemd unavailable'}; nothing done`;
  const run: RestartRun = refused ? { results: [], skipped: [], halted: null, notAttempted: order } : await restartInOrder(opts, order);
  const { results, skipped, halted, notAttempted } = run;
  const restarted = [...new Set(results.filter((r) => r.ok).map((r) => r.agent))];
  const outcome: RestartAllOutcome = refused ? 'refused' : halted ? 'halted' : skipped.length ? 'incomplete' : 'done';
  const head =
    refused !== null
      ? `restart --all refused: ${refused}`
      : halted
        ? `restart --all halted at ${halted.agent}: ${halted.reason}`
        : `restart --all ${outcome === 'done' ? 'done' : 'incomplete'}`;
  const parts = [
    head,
    `restarted ${restarted.length ? restarted.join(', ') : 'none'}`,
    ...(skipped.length ? [`skipped ${skipped.map((s) => s.agent).join(', ')}`] : []),
    ...(notAttempted.length && !refused ? [`not attempted ${notAttempted.join(', ')}`] : []),
  ];
  const result: RestartAllResult = {
    ok: outcome === 'done',
    outcome,
    order,
    results,
    skipped,
    halted,
    notAttempted,
    refused,
    message: sanitizeLine(parts.join('; ')),
  };
  result.recorded = await recordOperatorEvent(
    opts.paths,
    'unit-restart-all',
    { outcome, order, restarted, skipped, halted, notAttempted, refused },
    { client: opts.client },
  );
  return result;
}

/** Options of {@link restartAll}. */
export interface RestartAllOptions {
  paths: MosaicPaths;
  force?: boolean;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  client?: BacklogClient;
  onResult?: (result: LifecycleResult, attempt: number) => void;
}

/** What the attempts of `restart --all` gave (see {@link RestartAllResult}). */
type RestartRun = Pick<RestartAllResult, 'results' | 'skipped' | 'halted' | 'notAttempted'>;

/** Restarts the agents of `order` one at a time: a failure is retried once (forced), a second failure halts the run, a refusal is skipped. */
async function restartInOrder(opts: RestartAllOptions, order: readonly string[]): Promise<RestartRun> {
  const run: RestartRun = { results: [], skipped: [], halted: null, notAttempted: [] };
  const restart = async (agent: string, force: boolean | undefined, attempt: number): Promise<LifecycleResult> => {
    const r = await unitAction({
      paths: opts.paths,
      agent,
      verb: 'restart',
      force,
      timeoutMs: opts.timeoutMs,
      env: opts.env,
      signal: opts.signal,
      client: opts.client,
    });
    run.results.push(r);
    opts.onResult?.(r, attempt);
    return r;
  };
  for (const [i, agent] of order.entries()) {
    let attempt = 1;
    let r = await restart(agent, opts.force, attempt);
    if (r.outcome === 'refused') {
      run.skipped.push({ agent, reason: r.reason ?? 'refused' });
      continue;
    }
    if (!r.ok && !opts.signal?.aborted) {
      attempt = 2;
      r = await restart(agent, true, attempt);
    }
    if (!r.ok) {
      run.halted = { agent, unit: r.unit, reason: `${r.unit} ${attempt === 2 ? 'failed twice' : 'failed'}: ${r.reason ?? r.outcome}` };
      run.notAttempted = order.slice(i + 1);
      break;
    }
  }
  return run;
}
