/**
 * The snapshot's I/O: starts the probes (tmux, systemd, ssh, backlog) and reads the files
 * (roster, PAUSED, heartbeats, agent env files, /proc), then hands their answers to the pure
 * join (`./join.ts`) ⇒ one {@link Snapshot}. The console's poller calls {@link collectSnapshot}
 * every tick and `--once` prints it. Subprocesses per snapshot: one `tmux list-panes -a` per
 * distinct local socket, one `systemctl --user show`, one `ssh` per distinct remote ssh
 * target (fleet/remote-probe.ts), and at most one batched `tmux capture-pane` per local socket when
 * some agent's screen needs reading (fleet/screen-probe.ts) — never one per agent.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { collectBacklogSection, type BacklogSection } from '../../backlog/snapshot.js';
import { agentLaunch } from '../../fleet/agent-env.js';
import { resolveFleetProfile } from '../../fleet/profile.js';
import type { HeartbeatRead } from '../../fleet/heartbeat.js';
import { plainRunDirReaders, type RunDirReaders } from '../../fleet/run-dir-watch.js';
import { readProcessSubtrees, readProcessTree, type ProcessTree } from '../../fleet/proc.js';
import type { ProcessTreeReader } from '../../fleet/proc-reader.js';
import { readinessThresholds, type ReadinessThresholds } from '../../fleet/readiness.js';
import { probeRemoteHost } from '../../fleet/remote-probe.js';
import type { RemoteHostProbe } from '../../fleet/remote-probe-output.js';
import { isLocalHost, sshTarget, sshTimeoutMs } from '../../fleet/ssh.js';
import type { LingerCache } from '../../fleet/linger.js';
import { RosterCache, type RosterAgent, type RosterState } from '../../fleet/roster.js';
import { agentUnitName, HOLDER_UNIT, ORCHESTRATOR_UNIT, probeSystemdUnits, type SystemdBackoff, type SystemdProbe } from '../../fleet/systemd.js';
import { probeTmuxSocket, type TmuxSocketProbe } from '../../fleet/tmux.js';
import { ScreenReader, type ScreenCandidate } from '../../fleet/screen-probe.js';
import { hasScreenRules, versionSourceFor } from '../../fleet/screen.js';
import { runtimeVersions } from '../../fleet/runtime-version.js';
import { ScreenRulesCache, screenRulesOverridePath } from '../../fleet/screen-rules-file.js';
import type { ScreenReading } from '../../fleet/types.js';
import { messageOf } from '../../lib/errors.js';
import type { MosaicPaths } from '../../lib/paths.js';
import { findAgentPane, joinSnapshot } from './join.js';
import type { HostProbe, ScreenProbeReport, Timed } from './probe-results.js';
import type { Readiness, Snapshot } from './types.js';
import { attachSpend, type SnapshotSpend } from './spend.js';

/** Options of {@link collectSnapshot}. */
export interface CollectSnapshotOptions {
  paths: MosaicPaths;
  /** Keep one per poller so an unchanged roster is not re-parsed and a broken reload keeps the last good one. */
  rosterCache?: RosterCache;
  /**
   * Keep one per poller: while systemd is lastingly unavailable (no systemctl, no user bus)
   * `systemctl` is asked again only every 30 s, the snapshot still reports it unavailable.
   */
  systemdBackoff?: SystemdBackoff;
  /**
   * Keep one per poller (`--once` makes a fresh one): lingering of the user's systemd manager is
   * read through it — at most every 30 s, and only while systemd answers — for the fleet-level
   * `LINGER` flag. Without one, lingering is not checked (`fleet.linger` absent).
   */
  linger?: LingerCache;
  /**
   * Environment for the tmux probes (default: `tmuxEnv()`, a fresh copy of process.env without
   * TMUX). The console computes it once: copying process.env on every tick is measurable.
   */
  tmuxEnv?: NodeJS.ProcessEnv;
  /** Aborts the running probes (their subprocesses are killed). */
  signal?: AbortSignal;
  /** Time of the snapshot, unix milliseconds (default: now). */
  now?: number;
  /** Read the backlog section (default true). */
  includeBacklog?: boolean;
  /**
   * Environment of the ssh probes (`MOSAIC_SSH`, `MOSAIC_SSH_CONFIG`, and ssh's own), default
   * process.env.
   */
  sshEnv?: NodeJS.ProcessEnv;
  /** Readiness thresholds (default: from the environment). */
  thresholds?: ReadinessThresholds;
  /** Per-probe timeout, ms (default 2000; the backlog gets 1.5×). */
  probeTimeoutMs?: number;
  /** Root of the process table (default `/proc`); for tests. */
  procRoot?: string;
  /**
   * Keep one per poller: reads only what changed in the process table since the last tick
   * (fleet/proc.ts). Without it every snapshot reads every `/proc/<pid>/stat`.
   */
  procReader?: ProcessTreeReader;
  /** Reads the backlog section (default {@link collectBacklogSection}); tests inject claims here. */
  readBacklog?: typeof collectBacklogSection;
  /**
   * When `agent` entered `readiness` (ISO), from the transition history; default: unknown (null).
   * `--once` passes a lookup over `<run>/transitions.ndjson` (src/transitions/history.ts).
   */
  sinceOf?: (agent: string, readiness: Readiness) => string | null;
  /**
   * Read agents' screens with the screen rules (default true). Keep one {@link ScreenReader} per
   * poller (`screenReader`) so only panes that moved are captured again; one
   * {@link ScreenRulesCache} (`screenRules`) so the override file is re-read only when it changes.
   */
  readScreens?: boolean;
  screenReader?: ScreenReader;
  screenRules?: ScreenRulesCache;
  /**
   * Lists a local socket's panes (default: one `tmux list-panes -a` subprocess, fleet/tmux.ts);
   * the console passes its control-mode clients' (src/snapshot/push-sources.ts). `holder` is the
   * roster's holder session on the roster's socket, else null.
   */
  listPanes?: (socket: string | null, opts: { timeoutMs: number; signal?: AbortSignal; nowSeconds: number; holder: string | null }) => Promise<TmuxSocketProbe>;
  /**
   * Asks systemd about the units (default {@link probeSystemdUnits}: one `systemctl --user show`);
   * the console passes its bus-pushed one (fleet/systemd-push.ts), which keeps the last answer
   * until the user bus says a unit changed.
   */
  probeUnits?: typeof probeSystemdUnits;
  /**
   * The spend meter's state (src/snapshot/spend.ts): when given, `agents[].spend`,
   * `fleet.spend` and the OVER-PACE / OVER-BUDGET flags are filled. Keep one per poller.
   */
  spend?: SnapshotSpend;
  /** Reads heartbeats, PAUSED and env files (default: from disk, each dir listed once per snapshot, fleet/run-dir-watch.ts `plainRunDirReaders`); the console passes its watched ones. */
  runDirReaders?: RunDirReaders;
}

/** The process's tenant, looked up once ({@link currentTenant}). */
let tenant: string | undefined;

/**
 * Name of the Unix user (the tenant, upstream: uid per tenant); falls back to `uid:<n>`. Looked
 * up once per process: a process's uid does not change, and the lookup (`getpwuid`, which reads
 * /etc/passwd) cost the console a file read per tick.
 */
export function currentTenant(): string {
  if (tenant !== undefined) return tenant;
  try {
    tenant = os.userInfo().username;
  } catch {
    tenant = `uid:${process.getuid?.() ?? '?'}`;
  }
  return tenant;
}

async function timed<T>(fn: () => T | Promise<T>): Promise<Timed<T>> {
  const started = performance.now();
  try {
    const value = await fn();
    return { value, durationMs: performance.now() - started, error: null };
  } catch (error) {
    return { value: null, durationMs: performance.now() - started, error: messageOf(error) };
  }
}

/** A remote host's one ssh answer in the shape this host's answers take. */
function remoteHostProbe(r: RemoteHostProbe, host: string): HostProbe {
  return {
    target: r.target,
    host,
    ok: r.ok,
    error: r.error,
    durationMs: r.durationMs,
    tmux: r.tmux,
    heartbeats: r.heartbeats,
    agentEnvs: r.agentEnvs,
    processes: r.processes,
    systemd: r.systemd,
  };
}

/** The roster split by where its agents run: local sockets to list, and one group per ssh target. */
interface FleetPlan {
  agents: RosterAgent[];
  localAgents: RosterAgent[];
  /** Distinct local sockets: the roster's own (holder, unmanaged sessions) first, then each local agent's. */
  sockets: (string | null)[];
  /** Remote agents by ssh target (ONE ssh per target, whatever the number of agents behind it). */
  remoteGroups: Map<string, RosterAgent[]>;
  /** The holder session on `socket` when it is the roster's socket, else null. */
  holderOn: (socket: string | null) => string | null;
  /** The units systemd is asked about: each local agent's, the holder's, the orchestrator's (the same array while the roster is). */
  unitNames: string[];
  /** The local agents' names. */
  localNames: Set<string>;
}

/** Plans by roster: a roster is replaced, never changed, when its file changes, so its plan is made once. */
const plans = new WeakMap<NonNullable<RosterState['roster']>, FleetPlan>();

/** The plan of `roster`, made once per roster ({@link makePlan}). */
function planFleet(roster: RosterState['roster']): FleetPlan {
  if (!roster) return makePlan(null);
  let plan = plans.get(roster);
  if (!plan) plans.set(roster, (plan = makePlan(roster)));
  return plan;
}

function makePlan(roster: RosterState['roster']): FleetPlan {
  const agents: RosterAgent[] = roster?.agents ?? [];
  const localAgents = agents.filter((a) => isLocalHost(a.host));
  const socketKeys = new Map<string, string | null>();
  if (roster) socketKeys.set(roster.socket ?? '', roster.socket);
  for (const a of localAgents) socketKeys.set(a.socket ?? '', a.socket);
  const remoteGroups = new Map<string, RosterAgent[]>();
  for (const a of agents) {
    if (isLocalHost(a.host)) continue;
    const list = remoteGroups.get(sshTarget(a));
    if (list) list.push(a);
    else remoteGroups.set(sshTarget(a), [a]);
  }
  const holderOn = (s: string | null) => (roster && (roster.socket ?? '') === (s ?? '') ? roster.holderSession : null);
  const unitNames = [...localAgents.map((a) => agentUnitName(a.name)), HOLDER_UNIT, ORCHESTRATOR_UNIT];
  const localNames = new Set(localAgents.map((a) => a.name));
  return { agents, localAgents, sockets: [...socketKeys.values()], remoteGroups, holderOn, unitNames, localNames };
}

/** The subprocess probes of one snapshot, started together (awaited later, while files are read). */
interface StartedProbes {
  tmux: Promise<TmuxSocketProbe[]>;
  systemd: Promise<SystemdProbe | null>;
  remotes: Promise<HostProbe[]>;
  backlog: Promise<Timed<BacklogSection> | null>;
}

function startProbes(opts: CollectSnapshotOptions, plan: FleetPlan, hasRoster: boolean, nowMs: number, timeoutMs: number): StartedProbes {
  const { paths, signal } = opts;
  const nowSeconds = nowMs / 1000;
  const listPanes = opts.listPanes;
  const tmux = Promise.all(
    plan.sockets.map((s) =>
      listPanes
        ? listPanes(s, { timeoutMs, signal, nowSeconds, holder: plan.holderOn(s) })
        : probeTmuxSocket(s, { timeoutMs, signal, nowSeconds, env: opts.tmuxEnv }),
    ),
  );
  const systemd: Promise<SystemdProbe | null> = hasRoster
    ? (opts.probeUnits ?? probeSystemdUnits)(plan.unitNames, { timeoutMs, signal, backoff: opts.systemdBackoff, nowMs })
    : Promise.resolve(null);
  const remotes = Promise.all(
    [...plan.remoteGroups].map(async ([target, list]) => {
      const hostLabel = list[0]?.host ?? target;
      const answer = await probeRemoteHost(target, {
        sockets: [...new Map(list.map((a) => [a.socket ?? '', a.socket])).values()],
        agents: list.map((a) => a.name),
        hostLabel,
        controlDir: paths.runDir,
        timeoutMs: sshTimeoutMs(opts.sshEnv ?? process.env),
        signal,
        env: opts.sshEnv,
        nowSeconds,
      });
      return remoteHostProbe(answer, hostLabel);
    }),
  );
  const backlog =
    (opts.includeBacklog ?? true)
      ? timed(() => (opts.readBacklog ?? collectBacklogSection)(paths, { timeoutMs: Math.round(timeoutMs * 1.5), signal }))
      : Promise.resolve(null);
  return { tmux, systemd, remotes, backlog };
}

/** The live panes of this host's sockets: their sessions (`<socket>\0<session>`) and pids. */
function livePanesOf(tmux: ReadonlyMap<string, TmuxSocketProbe>): { sessions: Set<string>; panes: { pid: number; currentCommand: string }[] } {
  const sessions = new Set<string>();
  const panes: { pid: number; currentCommand: string }[] = [];
  for (const t of tmux.values()) {
    for (const p of t.panes) {
      if (p.dead) continue;
      sessions.add(`${t.socket ?? ''}\0${p.session}`);
      if (p.pid !== null) panes.push({ pid: p.pid, currentCommand: p.currentCommand });
    }
  }
  return { sessions, panes };
}

/** What {@link readScreens} works from: this tick's local answers. */
interface ScreenInputs {
  plan: FleetPlan;
  tmux: ReadonlyMap<string, TmuxSocketProbe>;
  heartbeats: ReadonlyMap<string, HeartbeatRead>;
  agentEnvs: ReadonlyMap<string, Record<string, string>>;
  runtimeOf: (a: RosterAgent) => string;
  processes: ProcessTree | null;
  nowSeconds: number;
  timeoutMs: number;
}

/** The screen candidates: local agents whose runtime has rules and whose pane is live. */
function screenCandidates(x: ScreenInputs, runtimesWithRules: ReadonlySet<string>): { candidates: ScreenCandidate[]; panePids: Map<string, number | null> } {
  const candidates: ScreenCandidate[] = [];
  const panePids = new Map<string, number | null>();
  for (const a of x.plan.localAgents) {
    if (!runtimesWithRules.has(x.runtimeOf(a))) continue;
    const t = x.tmux.get(a.socket ?? '');
    const p = t?.ok ? findAgentPane(t.panes, a.name) : null;
    if (!p || p.dead || !p.paneId) continue;
    const beat = x.heartbeats.get(a.name)?.heartbeat ?? null;
    panePids.set(a.name, p.pid);
    candidates.push({
      agent: a.name,
      socket: a.socket,
      paneId: p.paneId,
      runtime: x.runtimeOf(a),
      activity: p.activity,
      beatTs: beat?.ts ?? null,
      beatAttention: beat?.state === 'waiting' || beat?.state === 'stuck',
    });
  }
  return { candidates, panePids };
}

/**
 * Screens: only panes that matter, at most one capture call per socket, bounded per tick
 * (fleet/screen-probe.ts). Returns each candidate's reading and the tick's report (absent when
 * no runtime has rules and nothing failed).
 */
async function readScreens(opts: CollectSnapshotOptions, x: ScreenInputs): Promise<{ readings: Map<string, ScreenReading>; report?: ScreenProbeReport }> {
  const readings = new Map<string, ScreenReading>();
  const rulesState = (opts.screenRules ?? new ScreenRulesCache(screenRulesOverridePath(opts.paths.mosaicHome))).get();
  const reader = opts.screenReader ?? new ScreenReader();
  // Asked once per distinct runtime, not once per agent.
  const asked = new Map<string, boolean>();
  for (const a of x.plan.agents) {
    const rt = x.agentEnvs.has(a.name) ? x.runtimeOf(a) : a.runtime;
    if (!asked.has(rt)) asked.set(rt, hasScreenRules(rt, rulesState.rules));
  }
  const runtimesWithRules = new Set([...asked].filter(([, has]) => has).map(([rt]) => rt));
  const { candidates, panePids } = screenCandidates(x, runtimesWithRules);
  reader.prune(x.plan.localNames);
  const planned = reader.plan(candidates, x.nowSeconds);
  const { deferred } = planned;
  // The runtime's version (its live process's package.json, cached per path) picks the rules' version range; only for panes read now.
  const read = planned.read.map((c) => ({
    ...c,
    version: runtimeVersions.read(x.processes, panePids.get(c.agent) ?? null, versionSourceFor(rulesState.rules, c.runtime))?.version ?? null,
  }));
  const report = read.length
    ? await reader.read(read, rulesState.rules, { nowSeconds: x.nowSeconds, timeoutMs: x.timeoutMs, signal: opts.signal, env: opts.tmuxEnv, deferred })
    : { captured: 0, deferred, calls: 0, durationMs: 0, error: null };
  for (const c of candidates) {
    const reading = reader.reading(c.agent, c.paneId, x.nowSeconds);
    if (reading) readings.set(c.agent, reading);
  }
  const error = rulesState.error ?? report.error;
  if (!runtimesWithRules.size && !error) return { readings };
  return { readings, report: { ok: error === null, durationMs: report.durationMs, error, runtimesWithRules } };
}

/**
 * The process tree of a one-off snapshot (`--once`, no reader kept): the live panes' processes
 * and their descendants — all the snapshot ever looks up (the join's programs under a pane, the
 * spend meter's and the runtime versions' processes under it). Read pane by pane
 * (fleet/proc.ts `readProcessSubtrees`: a process's `stat` and its `children` files, ~2 reads
 * per process under a pane) while that stays fewer reads than the whole table (one per process
 * of the machine; a shared machine runs 1,000+); the whole table otherwise, and when the kernel
 * has no `children` files, `procRoot` is not a real proc (no `task` dir) or a pane's process is
 * gone.
 */
export function readPaneProcesses(panePids: readonly number[], procRoot = '/proc'): ProcessTree {
  let names: string[];
  try {
    names = fs.readdirSync(procRoot);
  } catch {
    return readProcessTree(procRoot);
  }
  let processes = 0;
  for (const name of names) if (name.charCodeAt(0) <= 57) processes++;
  const first = panePids[0];
  if (first === undefined || panePids.length * 2 >= processes || !fs.existsSync(path.join(procRoot, String(first), 'task')))
    return readProcessTree(procRoot, names);
  return readProcessSubtrees(panePids, procRoot, processes) ?? readProcessTree(procRoot, names);
}

/** This host's files: heartbeats and agent env files of the local agents, timed. */
function readLocalFiles(paths: MosaicPaths, plan: FleetPlan, nowSeconds: number, reads: RunDirReaders) {
  const heartbeats = new Map<string, HeartbeatRead>();
  const hbStarted = performance.now();
  for (const a of plan.localAgents) heartbeats.set(a.name, reads.heartbeat(paths.runDir, a.name, nowSeconds));
  const heartbeatsMs = performance.now() - hbStarted;
  // The env files are read for every local agent (one stat each, most have none):
  // MOSAIC_AGENT_RUNTIME decides the runtime of an agent whose roster entry names none (upstream's launcher).
  const agentEnvs = new Map<string, Record<string, string>>();
  for (const a of plan.localAgents) agentEnvs.set(a.name, reads.agentEnv(paths.agentsDir, a.name));
  const runtimeOf = (a: RosterAgent): string => agentLaunch(a, agentEnvs.get(a.name) ?? {}).runtime;
  return { heartbeats, heartbeatsMs, agentEnvs, runtimeOf };
}

/**
 * Collects one snapshot. Probes run concurrently, each with a timeout; a failed probe degrades
 * its fields and is reported in `probes` and `errors` — it never throws (a missing roster is an
 * error in the snapshot). Cost: one `list-panes -a` per distinct local socket + one
 * `systemctl --user show` (none while a `systemdBackoff` holds off, or while the console's
 * `probeUnits` keeps its answer), independent of the number of agents.
 */
export async function collectSnapshot(opts: CollectSnapshotOptions): Promise<Snapshot> {
  const nowMs = opts.now ?? Date.now();
  const nowSeconds = nowMs / 1000;
  const { paths } = opts;
  const timeoutMs = opts.probeTimeoutMs ?? 2000;

  // Roster (cached; last good kept on a failed reload).
  const rosterStarted = performance.now();
  const rosterState = (opts.rosterCache ?? new RosterCache(paths.roster)).get();
  const rosterMs = performance.now() - rosterStarted;
  const plan = planFleet(rosterState.roster);

  // Launch the subprocess probes first, then do the in-process reads while they run.
  const probes = startProbes(opts, plan, rosterState.roster !== null, nowMs, timeoutMs);
  const reads = opts.runDirReaders ?? plainRunDirReaders();
  const paused = await timed(() => reads.paused(paths.runDir));
  const files = readLocalFiles(paths, plan, nowSeconds, reads);
  const tmux = new Map<string, TmuxSocketProbe>();
  for (const t of await probes.tmux) tmux.set(t.socket ?? '', t);
  const remotes = await probes.remotes;

  // /proc only matters for agents with a live pane.
  const live = livePanesOf(tmux);
  const procReader = opts.procReader;
  const proc = live.sessions.size
    ? await timed(() =>
        procReader
          ? procReader.read(live.panes, nowMs)
          : readPaneProcesses(
              live.panes.map((p) => p.pid),
              opts.procRoot,
            ),
      )
    : null;
  const screens =
    (opts.readScreens ?? true)
      ? await readScreens(opts, {
          plan,
          tmux,
          heartbeats: files.heartbeats,
          agentEnvs: files.agentEnvs,
          runtimeOf: files.runtimeOf,
          processes: proc?.value ?? null,
          nowSeconds,
          timeoutMs,
        })
      : { readings: new Map<string, ScreenReading>() };

  const systemd = await probes.systemd;
  // Lingering (fleet-level LINGER): asked only while this host's systemd answers, at most every 30 s.
  const linger = opts.linger && systemd?.available ? await opts.linger.get({ nowMs, signal: opts.signal, timeoutMs }) : null;
  const snapshot = joinSnapshot({
    nowMs,
    hostname: os.hostname(),
    tenant: currentTenant(),
    paths,
    thresholds: opts.thresholds ?? readinessThresholds(),
    roster: rosterState,
    rosterMs,
    sockets: plan.sockets,
    paused,
    heartbeatsMs: files.heartbeatsMs,
    proc,
    local: {
      target: null,
      host: null,
      ok: true,
      error: null,
      durationMs: 0,
      tmux,
      heartbeats: files.heartbeats,
      agentEnvs: files.agentEnvs,
      processes: proc?.value ?? null,
      systemd,
      screens: screens.readings,
    },
    remotes,
    backlog: await probes.backlog,
    linger,
    // Profile files (<home>/fleet/profiles/<id>.yaml, upstream's) are read here; the join is pure.
    profile: resolveFleetProfile(rosterState.roster ?? {}, path.join(paths.mosaicHome, 'fleet', 'profiles')),
    sinceOf: opts.sinceOf,
    ...(screens.report ? { screens: screens.report } : {}),
  });
  if (opts.spend) attachSpend(snapshot, opts.spend, proc?.value ?? null, nowMs);
  return snapshot;
}
