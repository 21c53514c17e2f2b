/**
 * The join (spec §3, §5, §6, §10): roster + tmux + systemd + heartbeats + /proc + PAUSED +
 * backlog ⇒ one {@link Snapshot}. The console's poller calls {@link collectSnapshot} every tick
 * and `--once` prints it. Subprocesses per snapshot: one `tmux list-panes -a` per distinct
 * local socket, one `systemctl --user show`, and one `ssh` per distinct remote ssh target
 * (fleet/remote.ts) — never one per agent.
 */
import os from 'node:os';
import { collectBacklogSection, type BacklogSection } from '../../backlog/snapshot.js';
import { expectedProgram, readAgentEnv } from '../../fleet/agent-env.js';
import { readHeartbeat } from '../../fleet/heartbeat.js';
import { readPausedFlag } from '../../fleet/paused.js';
import { isLocalHost, probeRemoteHost, sshTarget, sshTimeoutMs, type RemoteHostProbe } from '../../fleet/remote.js';
import { programsUnder, readProcessTree, type ProcessTree } from '../../fleet/proc.js';
import { agentFlags, classifyReadiness, fleetFloor, matchProcess, readinessThresholds, type ReadinessThresholds } from '../../fleet/readiness.js';
import { RosterCache, rosterErrorSummary, type Roster, type RosterAgent } from '../../fleet/roster.js';
import { agentUnitName, HOLDER_UNIT, ORCHESTRATOR_UNIT, probeSystemdUnits, type SystemdBackoff, type SystemdProbe } from '../../fleet/systemd.js';
import { isViewerSessionName, probeTmuxSocket, socketLabel, type TmuxPane, type TmuxSocketProbe } from '../../fleet/tmux.js';
import { maskCredentials, maskDatabaseUrl, type MosaicPaths } from '../../lib/paths.js';
import {
  READINESS_ORDER,
  SNAPSHOT_SCHEMA,
  type AgentRow,
  type ClaimInfo,
  type HeartbeatInfo,
  type PaneInfo,
  type ProbeReport,
  type ProcessInfo,
  type Readiness,
  type Snapshot,
  type UnmanagedSession,
} from './types.js';

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
   * When `agent` entered `readiness` (ISO), from the transition history; default: unknown (null).
   * `--once` passes a lookup over `<run>/transitions.ndjson`, the console its in-memory history.
   */
  sinceOf?: (agent: string, readiness: Readiness) => string | null;
  /** Reads the backlog section (default {@link collectBacklogSection}); tests inject claims here. */
  readBacklog?: typeof collectBacklogSection;
}


/** Name of the Unix user (the tenant, upstream: uid per tenant); falls back to `uid:<n>`. */
export function currentTenant(): string {
  try {
    return os.userInfo().username;
  } catch {
    return `uid:${process.getuid?.() ?? '?'}`;
  }
}

/** The agent's pane: `=<name>:0.0`, else (e.g. base-index 1) the session's first pane. */
function findAgentPane(panes: readonly TmuxPane[], name: string): TmuxPane | null {
  let first: TmuxPane | null = null;
  for (const p of panes) {
    if (p.session !== name) continue;
    if (p.windowIndex === 0 && p.paneIndex === 0) return p;
    if (!first || p.windowIndex < first.windowIndex || (p.windowIndex === first.windowIndex && p.paneIndex < first.paneIndex)) first = p;
  }
  return first;
}

function toPaneInfo(p: TmuxPane): PaneInfo {
  return {
    target: `=${p.session}:${p.windowIndex}.${p.paneIndex}`,
    paneId: p.paneId,
    pid: p.pid,
    currentCommand: p.currentCommand,
    dead: p.dead,
    deadStatus: p.deadStatus,
    title: p.title,
    width: p.width,
    height: p.height,
    idleSeconds: p.idleSeconds,
  };
}

async function timed<T>(fn: () => T | Promise<T>): Promise<{ value: T | null; durationMs: number; error: string | null }> {
  const started = performance.now();
  try {
    const value = await fn();
    return { value, durationMs: performance.now() - started, error: null };
  } catch (error) {
    return { value: null, durationMs: performance.now() - started, error: (error as Error).message ?? String(error) };
  }
}

function emptyCounts(): Record<Readiness, number> {
  return Object.fromEntries(READINESS_ORDER.map((r) => [r, 0])) as Record<Readiness, number>;
}

/**
 * Collects one snapshot. Probes run concurrently, each with a timeout; a failed probe degrades
 * its fields and is reported in `probes` and `errors` — it never throws (a missing roster is an
 * error in the snapshot). Cost: one `list-panes -a` per distinct local socket + one
 * `systemctl --user show` (none while a `systemdBackoff` holds off), independent of the
 * number of agents.
 */
export async function collectSnapshot(opts: CollectSnapshotOptions): Promise<Snapshot> {
  const nowMs = opts.now ?? Date.now();
  const nowSeconds = nowMs / 1000;
  const { paths } = opts;
  const thresholds = opts.thresholds ?? readinessThresholds();
  const timeoutMs = opts.probeTimeoutMs ?? 2000;
  const probes: Record<string, ProbeReport> = {};
  const errors: string[] = [];

  // Roster (cached; last good kept on a failed reload).
  const rosterCache = opts.rosterCache ?? new RosterCache(paths.roster);
  const rosterStarted = performance.now();
  const rosterState = rosterCache.get();
  const roster: Roster | null = rosterState.roster;
  probes.roster = {
    ok: rosterState.errors.length === 0,
    durationMs: performance.now() - rosterStarted,
    error: rosterState.errors.length ? rosterErrorSummary(rosterState.errors, rosterState.stale) : null,
  };
  if (rosterState.errors.length) errors.push(`roster: ${rosterErrorSummary(rosterState.errors, rosterState.stale)}`);
  const agents: RosterAgent[] = roster?.agents ?? [];
  const localAgents = agents.filter((a) => isLocalHost(a.host));

  // Distinct local sockets: the roster's own (holder, unmanaged sessions) and each local agent's.
  const socketKeys = new Map<string, string | null>();
  if (roster) socketKeys.set(roster.socket ?? '', roster.socket);
  for (const a of localAgents) socketKeys.set(a.socket ?? '', a.socket);
  const sockets = [...socketKeys.values()];

  // Remote agents: ONE ssh per distinct target, whatever the number of agents behind it.
  const remoteGroups = new Map<string, RosterAgent[]>();
  for (const a of agents) {
    if (isLocalHost(a.host)) continue;
    const list = remoteGroups.get(sshTarget(a));
    if (list) list.push(a);
    else remoteGroups.set(sshTarget(a), [a]);
  }

  const unitNames = [...localAgents.map((a) => agentUnitName(a.name)), HOLDER_UNIT, ORCHESTRATOR_UNIT];

  // Launch the subprocess probes first, then do the in-process reads while they run.
  const tmuxPromise = Promise.all(sockets.map((s) => probeTmuxSocket(s, { timeoutMs, signal: opts.signal, nowSeconds, env: opts.tmuxEnv })));
  const systemdPromise: Promise<SystemdProbe | null> = roster
    ? probeSystemdUnits(unitNames, { timeoutMs, signal: opts.signal, backoff: opts.systemdBackoff, nowMs })
    : Promise.resolve(null);
  const remotePromise = Promise.all(
    [...remoteGroups].map(([target, list]) =>
      probeRemoteHost(target, {
        sockets: [...new Map(list.map((a) => [a.socket ?? '', a.socket])).values()],
        agents: list.map((a) => a.name),
        hostLabel: list[0].host ?? target,
        controlDir: paths.runDir,
        timeoutMs: sshTimeoutMs(opts.sshEnv ?? process.env),
        signal: opts.signal,
        env: opts.sshEnv,
        nowSeconds,
      }),
    ),
  );
  const includeBacklog = opts.includeBacklog ?? true;
  const backlogPromise = includeBacklog
    ? timed(() => (opts.readBacklog ?? collectBacklogSection)(paths, { timeoutMs: Math.round(timeoutMs * 1.5), signal: opts.signal }))
    : Promise.resolve(null);

  const paused = await timed(() => readPausedFlag(paths.runDir));
  probes.paused = { ok: paused.error === null, durationMs: paused.durationMs, error: paused.error };

  const heartbeats = new Map<string, { heartbeat: HeartbeatInfo | null; error: string | null }>();
  const hbStarted = performance.now();
  for (const a of localAgents) heartbeats.set(a.name, readHeartbeat(paths.runDir, a.name, nowSeconds));
  const hbErrors = [...heartbeats.values()].map((h) => h.error).filter((e): e is string => !!e);
  probes.heartbeats = { ok: hbErrors.length === 0, durationMs: performance.now() - hbStarted, error: hbErrors[0] ?? null };

  const tmuxProbes: TmuxSocketProbe[] = await tmuxPromise;
  const panesBySocket = new Map<string, TmuxPane[]>();
  /** Sockets whose probe failed (timeout, tmux missing…): their panes are unknown, not gone. */
  const failedSockets = new Map<string, string>();
  for (const t of tmuxProbes) {
    probes[`tmux:${socketLabel(t.socket)}`] = { ok: t.ok, durationMs: t.durationMs, error: t.error };
    if (!t.ok && t.error) errors.push(t.error);
    if (!t.ok) failedSockets.set(t.socket ?? '', t.error ?? 'tmux: failed');
    panesBySocket.set(t.socket ?? '', t.panes);
  }

  const remoteByTarget = new Map<string, RemoteHostProbe>();
  for (const r of await remotePromise) {
    remoteByTarget.set(r.target, r);
    probes[`ssh:${r.target}`] = { ok: r.ok, durationMs: r.durationMs, error: r.ok ? null : `ssh ${r.target}: ${r.error}` };
    if (!r.ok) errors.push(`ssh ${r.target}: ${r.error}`);
    for (const t of r.tmux.values()) {
      if (!t.ok && t.error) errors.push(`ssh ${r.target}: ${t.error}`);
    }
    // That host's systemd, asked in the same ssh run: reported like the local one (in place).
    if (r.systemd) {
      probes[`systemd:${r.target}`] = { ok: r.systemd.ok, durationMs: 0, error: r.systemd.error ? `ssh ${r.target}: ${r.systemd.error}` : null };
    }
  }

  // /proc only matters when some agent has a live pane.
  let tree: ProcessTree | null = null;
  const anyLivePane = tmuxProbes.some((t) => t.panes.some((p) => !p.dead));
  if (anyLivePane) {
    const proc = await timed(() => readProcessTree(opts.procRoot));
    tree = proc.value;
    probes.proc = { ok: proc.error === null, durationMs: proc.durationMs, error: proc.error ? `proc: ${proc.error}` : null };
    if (proc.error) errors.push(`proc: ${proc.error} (DRIFT not checked)`);
  } else {
    probes.proc = { ok: true, durationMs: 0, error: null };
  }

  const systemd = await systemdPromise;
  if (systemd) {
    probes.systemd = { ok: systemd.ok, durationMs: systemd.durationMs, error: systemd.error };
  } else {
    probes.systemd = { ok: true, durationMs: 0, error: null };
  }

  let backlog: BacklogSection | null = null;
  const backlogResult = await backlogPromise;
  if (backlogResult) {
    backlog = backlogResult.value;
    const err = backlogResult.error ?? (backlog && !backlog.ok && backlog.exists ? backlog.error : null);
    probes.backlog = { ok: err === null, durationMs: backlogResult.durationMs, error: err ? maskCredentials(`backlog: ${err}`) : null };
    if (err) errors.push(maskCredentials(`backlog: ${err}`));
    if (backlog?.warning) errors.push(backlog.warning);
  }
  const claimsByOwner = new Map<string, ClaimInfo & { expired: boolean }>();
  for (const c of backlog?.claimed ?? []) {
    const prev = claimsByOwner.get(c.owner);
    // An agent with several claims shows the most urgent one (least time left).
    if (!prev || c.secondsLeft < prev.secondsLeft) {
      claimsByOwner.set(c.owner, { cardId: c.id, title: c.title, secondsLeft: c.secondsLeft, expired: c.expired });
    }
  }

  // The join, one row per roster agent (roster order).
  const rows: AgentRow[] = agents.map((a) => {
    const local = isLocalHost(a.host);
    // A remote agent is read from its host's one ssh answer, with the same parsers and classifier.
    const remote = local ? null : remoteByTarget.get(sshTarget(a)) ?? null;
    const remoteTmux = remote?.ok ? remote.tmux.get(a.socket ?? '') ?? null : null;
    const where = local ? '' : ` at host ${a.host}`;
    // A failed probe is not a dead pane: the row is `unknown` with the probe's error (a socket
    // with no server at all probes fine, and its agents are dead).
    let probeError: string | null = local ? failedSockets.get(a.socket ?? '') ?? null : null;
    if (remote && !remote.ok) probeError = `ssh ${remote.target}: ${remote.error}`;
    else if (remote && (!remoteTmux || !remoteTmux.ok)) probeError = `ssh ${remote.target}: ${remoteTmux?.error ?? `socket ${socketLabel(a.socket)} not probed`}`;
    const panes = local ? panesBySocket.get(a.socket ?? '') : remoteTmux?.panes;
    const paneRaw = findAgentPane(panes ?? [], a.name);
    const pane = paneRaw && !probeError ? toPaneInfo(paneRaw) : null;
    const hb = (local ? heartbeats.get(a.name) : remote?.heartbeats.get(a.name)) ?? { heartbeat: null, error: null };
    const decided = classifyReadiness(
      {
        target: pane?.target ?? `=${a.name}:0.0`,
        socketLabel: `${socketLabel(a.socket)}${where}`,
        pane,
        heartbeat: probeError ? null : hb.heartbeat,
        heartbeatError: hb.error,
        remoteHost: local || remote ? null : a.host,
        probeError,
      },
      thresholds,
    );
    const { readiness } = decided;
    const evidence = [...decided.evidence];
    // A remote row says where its pane was seen (local rows need not: the socket is this host's).
    if (!local && pane && !pane.dead) evidence.push(`pane ${pane.target} on socket ${socketLabel(a.socket)}${where}`);
    let processInfo: ProcessInfo | null = null;
    const procTree = local ? tree : remote?.processes ?? null;
    if (pane && !pane.dead && pane.pid !== null && procTree) {
      const env = local ? readAgentEnv(paths.agentsDir, a.name) : remote?.agentEnvs.get(a.name) ?? {};
      processInfo = matchProcess(expectedProgram(env, a.runtime), pane.currentCommand, programsUnder(procTree, pane.pid));
    }
    const unit = (local ? systemd?.units : remote?.systemd?.units)?.get(agentUnitName(a.name)) ?? null;
    const claimed = claimsByOwner.get(a.name) ?? null;
    const flagged = agentFlags({ pane, process: processInfo, unit, claimExpired: !!claimed?.expired });
    const claim: ClaimInfo | null = claimed ? { cardId: claimed.cardId, title: claimed.title, secondsLeft: claimed.secondsLeft } : null;
    return {
      name: a.name,
      class: a.class,
      runtime: a.runtime,
      modelHint: a.modelHint,
      host: a.host,
      socket: a.socket,
      ...(local ? {} : { ssh: sshTarget(a) }),
      readiness,
      since: opts.sinceOf?.(a.name, readiness) ?? null,
      evidence: [...evidence, ...flagged.evidence],
      flags: flagged.flags,
      pane,
      heartbeat: probeError ? null : hb.heartbeat,
      unit,
      process: processInfo,
      claim,
    };
  });

  // Unmanaged: sessions on a fleet socket — here or on a remote host — that no roster agent
  // there claims (the holder and watch viewers excluded).
  const unmanaged: UnmanagedSession[] = [];
  const holder = roster?.holderSession ?? null;
  for (const t of tmuxProbes) {
    const rostered = new Set(localAgents.filter((a) => (a.socket ?? '') === (t.socket ?? '')).map((a) => a.name));
    const sessions = unmanagedSessions(t.panes, rostered, holder);
    unmanaged.push(...sessions.list.map((u) => ({ ...u, socket: t.socket, host: null })));
    if (holder && t.serverRunning && (roster?.socket ?? '') === (t.socket ?? '') && !sessions.seen.has(holder)) {
      errors.push(`holder session ${holder} missing on socket ${socketLabel(t.socket)}`);
    }
  }
  for (const [target, list] of remoteGroups) {
    const remote = remoteByTarget.get(target);
    if (!remote?.ok) continue;
    for (const t of remote.tmux.values()) {
      if (!t.ok) continue;
      const rostered = new Set(list.filter((a) => (a.socket ?? '') === (t.socket ?? '')).map((a) => a.name));
      const host = list[0].host ?? target;
      unmanaged.push(...unmanagedSessions(t.panes, rostered, holder).list.map((u) => ({ ...u, socket: t.socket, host })));
    }
  }

  // Fleet-wide units (upstream found the holder `active (exited)` but disabled: no reboot survival).
  const fleetUnits = [HOLDER_UNIT, ORCHESTRATOR_UNIT]
    .map((name) => systemd?.units.get(name))
    .filter((u): u is NonNullable<typeof u> => !!u && u.loadState !== 'not-found' && u.loadState !== '');
  for (const u of fleetUnits) {
    if (u.activeState === 'active' && u.unitFileState !== 'enabled' && u.unitFileState !== 'enabled-runtime') {
      errors.push(`BOOT-ENABLE: ${u.name} active but ${u.unitFileState || 'not enabled'} (will not come back after a reboot)`);
    }
  }

  const counts = emptyCounts();
  for (const r of rows) counts[r.readiness]++;
  const floor = roster ? fleetFloor(rows) : { ok: false, orchestrators: 0, enhancers: 0, reason: 'no roster loaded' };

  const snapshot: Snapshot = {
    schema: SNAPSHOT_SCHEMA,
    generatedAt: new Date(nowMs).toISOString(),
    host: os.hostname(),
    tenant: currentTenant(),
    paths: {
      mosaicHome: paths.mosaicHome,
      roster: paths.roster,
      agentsDir: paths.agentsDir,
      runDir: paths.runDir,
      backlogDataDir: paths.backlogDataDir,
      backlogSocket: paths.backlogSocket,
      databaseUrl: paths.databaseUrl ? maskDatabaseUrl(paths.databaseUrl) : null,
    },
    fleet: {
      paused: paused.value ?? null,
      floor,
      counts,
      sockets,
      holderSession: holder,
      units: fleetUnits,
    },
    agents: rows,
    unmanaged,
    probes,
    errors,
  };
  if (backlog) snapshot.backlog = backlog;
  return snapshot;
}

/**
 * Sessions among `panes` (one socket's `list-panes -a`) that are not a rostered agent, the
 * holder, or a watch viewer: their pane count, first pane's command and least idle seconds.
 * `seen` holds every session name found. Pure.
 */
function unmanagedSessions(
  panes: readonly TmuxPane[],
  rostered: ReadonlySet<string>,
  holder: string | null,
): { list: Omit<UnmanagedSession, 'socket' | 'host'>[]; seen: Set<string> } {
  const bySession = new Map<string, TmuxPane[]>();
  for (const p of panes) {
    const list = bySession.get(p.session);
    if (list) list.push(p);
    else bySession.set(p.session, [p]);
  }
  const list: Omit<UnmanagedSession, 'socket' | 'host'>[] = [];
  for (const [session, own] of bySession) {
    if (rostered.has(session) || session === holder || isViewerSessionName(session)) continue;
    const idles = own.map((p) => p.idleSeconds).filter((s): s is number => s !== null);
    list.push({ session, panes: own.length, currentCommand: own[0].currentCommand, idleSeconds: idles.length ? Math.min(...idles) : null });
  }
  return { list, seen: new Set(bySession.keys()) };
}
