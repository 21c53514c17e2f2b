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
  const started = performance.now();
  const { agent, verb, paths } = opts;
  const unit = agentUnitName(agent);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_LIFECYCLE_TIMEOUT_MS;
  const evidence: string[] = [];
  const rosterCache = new RosterCache(paths.roster, { cacheDir: null });
  const look = () => collectSnapshot({ paths, rosterCache, includeBacklog: false, sshEnv: opts.env, signal: opts.signal });
  let before: LifecycleSide | null = null;
  let host: string | null = null;

  const finish = async (outcome: LifecycleOutcome, reason: string | null, after: LifecycleSide | null): Promise<LifecycleResult> => {
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
      evidence: evidence.map((e) => sanitizeLine(e)),
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
  };

  const first = await look();
  const row = first.agents.find((a) => a.name === agent);
  if (!row) {
    const rosterError = first.probes.roster?.error;
    if (rosterError && !first.agents.length) return finish('refused', `roster does not load: ${rosterError}`, null);
    const names = first.agents.map((a) => a.name);
    return finish(
      'refused',
      `unknown agent "${agent}" in roster ${paths.roster} (${names.length ? `known agents: ${names.slice(0, 20).join(', ')}` : 'the roster has no agents'})`,
      null,
    );
  }
  host = row.host;
  before = side(row);
  evidence.push(describeSide(before, 'before'));
  const probe = systemdProbeFor(first, row);
  if (!probe.ok) return finish('refused', `${probe.error ?? 'systemd unavailable'}; nothing done`, null);
  if (!row.unit || row.unit.loadState === 'not-found' || !row.unit.loadState) {
    return finish(
      'refused',
      `${unit} not found${row.host ? ` at host ${row.host}` : ''} (LoadState=${row.unit?.loadState || 'unknown'}): install the mosaic-agent@.service template unit first`,
      null,
    );
  }
  const interruption = verb === 'start' ? null : workingInterruption(row);
  if (interruption && !opts.force) return finish('refused', `${interruption}: ${verb} would interrupt it; --force to ${verb} anyway`, null);
  if (interruption) evidence.push(`forced: ${interruption}`);
  const activeish = row.unit.activeState === 'active' || row.unit.activeState === 'activating';
  if (verb === 'start' && activeish) {
    if (row.pane && !row.pane.dead) {
      evidence.push('already running: unit active and its pane lives; nothing to do');
      return finish('done', null, before);
    }
    return finish(
      'refused',
      `${unit} is ${row.unit.activeState} (${row.unit.subState}) but the pane is ${row.pane ? 'dead' : 'missing'}: start does nothing for an active oneshot unit — use restart`,
      null,
    );
  }

  const remote = row.ssh ? { target: row.ssh, host: row.host ?? row.ssh, controlDir: paths.runDir, env: opts.env } : null;
  const ran = await runSystemctl([verb, unit], { remote, timeoutMs, signal: opts.signal, env: opts.env });
  evidence.push(
    `systemctl --user ${verb} ${unit}${row.host ? ` at host ${row.host}` : ''}: ${ran.ok ? 'exit 0' : `exit ${ran.exitCode ?? '?'}`} in ${Math.round(ran.durationMs)} ms`,
  );
  if (!ran.ok) {
    const why = systemctlFailure(ran);
    evidence.push(`systemctl said: ${why}`);
    const now = await look();
    const r = now.agents.find((a) => a.name === agent);
    const after = r ? side(r) : null;
    if (after) evidence.push(describeSide(after, 'after'));
    return finish('failed', `${unit}: ${why}${after?.unit ? ` (unit ${after.unit})` : ''}`, after);
  }

  const deadline = performance.now() + timeoutMs;
  let last: LifecycleSide | null = null;
  for (;;) {
    const now = await look();
    const r = now.agents.find((a) => a.name === agent);
    if (r) {
      last = side(r);
      const u = r.unit;
      if (u?.activeState === 'failed') {
        evidence.push(describeSide(last, 'after'));
        return finish('failed', `${unit} failed after ${verb}${r.unit ? ` (${r.unit.activeState}/${r.unit.subState})` : ''}`, last);
      }
      const paneUp = !!r.pane && !r.pane.dead && r.pane.pid !== null;
      const done =
        verb === 'stop'
          ? (u?.activeState === 'inactive' || u?.activeState === 'failed') && (!r.pane || r.pane.dead)
          : u?.activeState === 'active' && paneUp && (verb === 'start' || before.panePid === null || r.pane!.pid !== before.panePid);
      if (done) {
        evidence.push(describeSide(last, 'after'));
        if (verb !== 'stop') evidence.push(before.panePid ? `new pane pid ${last.panePid} (was ${before.panePid})` : `pane up with pid ${last.panePid}`);
        for (const f of before.flags) if (!last.flags.includes(f)) evidence.push(`${f} cleared`);
        return finish('done', null, last);
      }
    }
    if (opts.signal?.aborted) {
      if (last) evidence.push(describeSide(last, 'last seen'));
      return finish('timed_out', `aborted while waiting for the ${verb} of ${agent}`, last);
    }
    if (performance.now() >= deadline) {
      if (last) evidence.push(describeSide(last, 'last seen'));
      const want =
        verb === 'stop'
          ? 'the unit inactive and the pane gone'
          : `the unit active and a live pane${verb === 'restart' && before.panePid ? ` with a pid other than ${before.panePid}` : ''}`;
      return finish('timed_out', `no outcome within ${Math.round(timeoutMs / 1000)} s: waited for ${want}`, last);
    }
    await delay(POLL_MS, opts.signal);
  }
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
export async function restartAll(opts: {
  paths: MosaicPaths;
  force?: boolean;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  client?: BacklogClient;
  onResult?: (result: LifecycleResult, attempt: number) => void;
}): Promise<RestartAllResult> {
  const snap = await collectSnapshot({
    paths: opts.paths,
    rosterCache: new RosterCache(opts.paths.roster, { cacheDir: null }),
    includeBacklog: false,
    sshEnv: opts.env,
    signal: opts.signal,
  });
  const order = restartOrder(snap.agents);
  const results: LifecycleResult[] = [];
  const skipped: { agent: string; reason: string }[] = [];
  let halted: RestartAllResult['halted'] = null;
  let notAttempted: string[] = [];
  let refused: string | null = null;
  if (!snap.agents.length) refused = snap.probes.roster?.error ? `roster does not load: ${snap.probes.roster.error}` : 'the roster has no agents';
  else if (snap.agents.some((a) => !a.ssh) && !snap.probes.systemd?.ok) refused = `${snap.probes.systemd?.error ?? 'systemd unavailable'}; nothing done`;
  if (refused) notAttempted = order;
  else {
    for (let i = 0; i < order.length; i++) {
      const agent = order[i];
      let attempt = 1;
      let r = await unitAction({
        paths: opts.paths,
        agent,
        verb: 'restart',
        force: opts.force,
        timeoutMs: opts.timeoutMs,
        env: opts.env,
        signal: opts.signal,
        client: opts.client,
      });
      results.push(r);
      opts.onResult?.(r, attempt);
      if (r.outcome === 'refused') {
        skipped.push({ agent, reason: r.reason ?? 'refused' });
        continue;
      }
      if (!r.ok && !opts.signal?.aborted) {
        attempt = 2;
        r = await unitAction({
          paths: opts.paths,
          agent,
          verb: 'restart',
          force: true,
          timeoutMs: opts.timeoutMs,
          env: opts.env,
          signal: opts.signal,
          client: opts.client,
        });
        results.push(r);
        opts.onResult?.(r, attempt);
      }
      if (!r.ok) {
        halted = { agent, unit: r.unit, reason: `${r.unit} ${attempt === 2 ? 'failed twice' : 'failed'}: ${r.reason ?? r.outcome}` };
        notAttempted = order.slice(i + 1);
        break;
      }
    }
  }
  const restarted = [...new Set(results.filter((r) => r.ok).map((r) => r.agent))];
  const outcome: RestartAllOutcome = refused ? 'refused' : halted ? 'halted' : skipped.length ? 'incomplete' : 'done';
  const parts = [
    outcome === 'refused'
      ? `restart --all refused: ${refused}`
      : outcome === 'halted'
        ? `restart --all halted at ${halted!.agent}: ${halted!.reason}`
        : `restart --all ${outcome === 'done' ? 'done' : 'incomplete'}`,
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
