/**
 * The join: roster + what the probes answered ⇒ one {@link Snapshot}. Pure — no subprocess, no
 * file, no clock: `src/snapshot/collect.ts` starts the probes and reads the files, then hands
 * their answers here as {@link ProbeResults}. This host and each remote ssh target answer in
 * the same {@link HostProbe} shape, so a row is joined the same way wherever its agent runs.
 */
import type { BacklogSection } from '../../backlog/snapshot.js';
import type { HeartbeatRead } from '../../fleet/heartbeat.js';
import type { LingerInfo } from '../../fleet/linger.js';
import { programsUnder, type ProcessTree } from '../../fleet/proc.js';
import { agentLaunch, expectedProgram } from '../../fleet/agent-env.js';
import { resolveFleetProfile, type FleetProfile } from '../../fleet/profile.js';
import { agentFlags, classifyReadiness, matchProcess, type ReadinessThresholds } from '../../fleet/readiness.js';
import { evaluateFloor, idleWithWork, leadProblem } from '../../fleet/rules.js';
import { isLocalHost, sshTarget } from '../../fleet/ssh.js';
import { rosterErrorSummary, type RosterAgent, type RosterState } from '../../fleet/roster.js';
import { agentUnitName, HOLDER_UNIT, ORCHESTRATOR_UNIT, type SystemdProbe } from '../../fleet/systemd.js';
import { isViewerSessionName, socketLabel, type TmuxPane, type TmuxSocketProbe } from '../../fleet/tmux.js';
import { READINESS_ORDER, type PausedFlag, type ScreenReading } from '../../fleet/types.js';
import { maskCredentials, maskDatabaseUrl, type MosaicPaths } from '../../lib/paths.js';
import {
  SNAPSHOT_SCHEMA,
  type AgentRow,
  type ClaimInfo,
  type FleetFlag,
  type PaneInfo,
  type ProbeReport,
  type ProcessInfo,
  type Readiness,
  type Snapshot,
  type UnmanagedSession,
} from './types.js';

/** A probe's value (null when it threw), its wall time in ms, and the thrown message or null. */
export interface Timed<T> {
  value: T | null;
  durationMs: number;
  error: string | null;
}

/**
 * What one host answered, in the same shape for this host and for a remote one (there, one ssh
 * run answers all of it). Keys of the maps: `tmux` by socket (`''` for the default socket),
 * the others by agent name.
 */
export interface HostProbe {
  /** The ssh destination; null for this host. */
  target: string | null;
  /** The roster's host name shown for this host's unmanaged sessions; null for this host. */
  host: string | null;
  /** False when the host could not be asked at all (ssh failed); then `error` says why. */
  ok: boolean;
  /** Why the host could not be asked, without the `ssh <target>: ` prefix; null when ok. */
  error: string | null;
  /** Wall time of the host's probe (the ssh run), ms; 0 for this host. */
  durationMs: number;
  /** Per socket: panes, or why not. */
  tmux: Map<string, TmuxSocketProbe>;
  /** Per agent: its heartbeat read (absent: no file). */
  heartbeats: Map<string, HeartbeatRead>;
  /** Per agent: its parsed `<agents dir>/<name>.env` (absent: `{}`); read only for agents with a live pane. */
  agentEnvs: Map<string, Record<string, string>>;
  /** The host's process table, or null when not read (or unreadable). */
  processes: ProcessTree | null;
  /** The host's systemd answer about the agents' (and, here, the fleet's) units; null when not asked. */
  systemd: SystemdProbe | null;
  /**
   * Per agent: its pane's screen as the screen rules last read it (fleet/screen-probe.ts), aged
   * to now. Absent for a host whose screens are not read (remote hosts: their rows say so).
   */
  screens?: Map<string, ScreenReading>;
}

/** How the screen reads of this tick went (`probes.screens`). */
export interface ScreenProbeReport {
  ok: boolean;
  durationMs: number;
  /** The override's one-line error or a failed capture, else null. */
  error: string | null;
  /** Runtimes (roster names) that have screen rules, so rows without a reading can say why. */
  runtimesWithRules: ReadonlySet<string>;
}

/** Everything {@link joinSnapshot} needs, gathered by `collect`. */
export interface ProbeResults {
  /** Time of the snapshot, unix ms. */
  nowMs: number;
  /** This machine's hostname and Unix user (the tenant). */
  hostname: string;
  tenant: string;
  paths: MosaicPaths;
  thresholds: ReadinessThresholds;
  /** The roster as loaded (last good kept on a failed reload) and the load's wall time, ms. */
  roster: RosterState;
  rosterMs: number;
  /** The local sockets probed, in probe order (the roster's own first). */
  sockets: (string | null)[];
  paused: Timed<PausedFlag | null>;
  /** Wall time of reading the local heartbeats, ms. */
  heartbeatsMs: number;
  /** The local /proc read; null when skipped (no live pane anywhere here). */
  proc: Timed<ProcessTree> | null;
  /** This host's answers. */
  local: HostProbe;
  /** One per distinct ssh target, in roster order. */
  remotes: HostProbe[];
  /** The backlog section read; null when not asked. */
  backlog: Timed<BacklogSection> | null;
  /** Lingering of the tenant's user manager (fleet/linger.ts); null/absent when not checked. */
  linger?: LingerInfo | null;
  /**
   * The roster's fleet profile as collect.ts resolved it (profile files read there); absent ⇒
   * resolved here from the roster and upstream's built-in profiles alone.
   */
  profile?: { profile: FleetProfile; error: string | null };
  /**
   * When `agent` entered `readiness` (ISO), from the transition history; absent: every `since`
   * is null (unknown). Pure lookup (the history was read by the caller).
   */
  sinceOf?: (agent: string, readiness: Readiness) => string | null;
  /** The screen reads of this tick; absent when screens were not read at all. */
  screens?: ScreenProbeReport;
}

/** Each session's agent pane: `=<name>:0.0`, else (e.g. base-index 1) the session's first pane. */
function agentPanes(panes: readonly TmuxPane[]): Map<string, TmuxPane> {
  const bySession = new Map<string, TmuxPane>();
  for (const p of panes) {
    const first = bySession.get(p.session);
    if (first && first.windowIndex === 0 && first.paneIndex === 0) continue;
    if (
      !first ||
      (p.windowIndex === 0 && p.paneIndex === 0) ||
      p.windowIndex < first.windowIndex ||
      (p.windowIndex === first.windowIndex && p.paneIndex < first.paneIndex)
    ) {
      bySession.set(p.session, p);
    }
  }
  return bySession;
}

/** The agent pane of `name` in one socket's panes (`=<name>:0.0`, else the session's first pane), indexed once per socket probe (a roster of 1,000 agents would otherwise scan every pane per agent). */
const paneIndexes = new WeakMap<readonly TmuxPane[], Map<string, TmuxPane>>();
export function findAgentPane(panes: readonly TmuxPane[], name: string): TmuxPane | null {
  let index = paneIndexes.get(panes);
  if (!index) {
    index = agentPanes(panes);
    paneIndexes.set(panes, index);
  }
  return index.get(name) ?? null;
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

function emptyCounts(): Record<Readiness, number> {
  return Object.fromEntries(READINESS_ORDER.map((r) => [r, 0])) as Record<Readiness, number>;
}

/** `ssh <target>: ` before a remote host's messages, nothing for this host's. */
function hostPrefix(h: HostProbe): string {
  return h.target === null ? '' : `ssh ${h.target}: `;
}

/**
 * Why an agent's row cannot be judged from its host's answers (its pane is then unknown, not
 * gone: the row is `unknown`), or null. A socket with no server at all probes fine.
 */
function agentProbeError(h: HostProbe, socket: string | null): string | null {
  if (!h.ok) return `${hostPrefix(h)}${h.error}`;
  const t = h.tmux.get(socket ?? '');
  if (!t || !t.ok) return `${hostPrefix(h)}${t?.error ?? `socket ${socketLabel(socket)} not probed`}`;
  return null;
}

/** One roster agent's row, from its host's answers (null: a remote host that was never asked). */
function joinAgent(
  a: RosterAgent,
  h: HostProbe | null,
  claimed: (ClaimInfo & { expired: boolean }) | null,
  thresholds: ReadinessThresholds,
  screens: ScreenProbeReport | undefined,
  sinceOf?: (agent: string, readiness: Readiness) => string | null,
): AgentRow {
  const local = h?.target === null;
  const where = local ? '' : ` at host ${a.host}`;
  const probeError = h ? agentProbeError(h, a.socket) : null;
  const socketPanes = h?.tmux.get(a.socket ?? '')?.panes;
  const paneRaw = socketPanes ? findAgentPane(socketPanes, a.name) : null;
  const pane = paneRaw && !probeError ? toPaneInfo(paneRaw) : null;
  const hb = h?.heartbeats.get(a.name) ?? { heartbeat: null, error: null };
  // The agent's .env: upstream's launcher reads MOSAIC_AGENT_RUNTIME / _WORKDIR / _COMMAND there.
  const env = h?.agentEnvs.get(a.name) ?? {};
  const launch = agentLaunch(a, env);
  let processInfo: ProcessInfo | null = null;
  if (pane && !pane.dead && pane.pid !== null && h?.processes) {
    processInfo = matchProcess(expectedProgram(env, launch.runtime), pane.currentCommand, programsUnder(h.processes, pane.pid));
  }
  // Screen rules read their runtime's screens only: a pane whose process is not the runtime
  // (DRIFT: a shell that printed a prompt's text) is never `waiting`/`idle` from its screen.
  const shownScreen = pane && !pane.dead ? (h?.screens?.get(a.name) ?? null) : null;
  const screen = processInfo && !processInfo.matches ? null : shownScreen;
  const decided = classifyReadiness(
    {
      target: pane?.target ?? `=${a.name}:0.0`,
      socketLabel: `${socketLabel(a.socket)}${where}`,
      pane,
      heartbeat: probeError ? null : hb.heartbeat,
      heartbeatError: hb.error,
      remoteHost: h ? null : a.host,
      probeError,
      screen,
      screenIdleMayStream: !!screen?.idleMayStream,
    },
    thresholds,
  );
  const evidence = [...decided.evidence];
  // A remote row says where its pane was seen (local rows need not: the socket is this host's).
  if (!local && pane && !pane.dead) evidence.push(`pane ${pane.target} on socket ${socketLabel(a.socket)}${where}`);
  // Screens are read on this host only: say so where the rules could have told more.
  if (!local && pane && !pane.dead && screens?.runtimesWithRules.has(a.runtime)) evidence.push(`screen: not read (screens are read on this host only)`);
  if (shownScreen && !screen)
    evidence.push(
      `screen: not read (the pane runs ${processInfo!.seen.join(', ') || 'nothing visible'}, not ${processInfo!.expected}: screen rules read their runtime only)`,
    );
  const unit = h?.systemd?.units.get(agentUnitName(a.name)) ?? null;
  const flagged = agentFlags({ pane, process: processInfo, unit, claimExpired: !!claimed?.expired, paneGone: decided.readiness === 'dead', screen });
  const claim: ClaimInfo | null = claimed ? { cardId: claimed.cardId, title: claimed.title, secondsLeft: claimed.secondsLeft } : null;
  return {
    name: a.name,
    class: a.class,
    runtime: launch.runtime,
    ...(launch.runtimeFrom === 'roster' ? {} : { runtimeFrom: launch.runtimeFrom }),
    workingDirectory: launch.workingDirectory,
    modelHint: a.modelHint,
    host: a.host,
    socket: a.socket,
    ...(local ? {} : { ssh: sshTarget(a) }),
    readiness: decided.readiness,
    since: sinceOf?.(a.name, decided.readiness) ?? null,
    evidence: [...evidence, ...flagged.evidence],
    flags: [...flagged.flags, ...(decided.flags ?? [])],
    pane,
    heartbeat: probeError ? null : hb.heartbeat,
    unit,
    process: processInfo,
    claim,
    ...(screen ? { screen } : {}),
  };
}

/**
 * Joins one snapshot from the probes' answers. Pure and total: a failed probe degrades its
 * fields and is reported in `probes` and `errors` (a missing roster is an error in the
 * snapshot). Rows are in roster order; an agent with several claims shows the most urgent one.
 */
export function joinSnapshot(r: ProbeResults): Snapshot {
  const probes: Record<string, ProbeReport> = {};
  const errors: string[] = [];
  const { roster: rosterState, paths, local } = r;
  const roster = rosterState.roster;

  const rosterError = rosterState.errors.length ? rosterErrorSummary(rosterState.errors, rosterState.stale) : null;
  probes.roster = { ok: rosterError === null, durationMs: r.rosterMs, error: rosterError };
  if (rosterError) errors.push(`roster: ${rosterError}`);
  const agents: RosterAgent[] = roster?.agents ?? [];

  probes.paused = { ok: r.paused.error === null, durationMs: r.paused.durationMs, error: r.paused.error };
  let hbError: string | null = null;
  for (const h of local.heartbeats.values())
    if (h.error) {
      hbError = h.error;
      break;
    }
  probes.heartbeats = { ok: hbError === null, durationMs: r.heartbeatsMs, error: hbError };

  for (const t of local.tmux.values()) {
    probes[`tmux:${socketLabel(t.socket)}`] = { ok: t.ok, durationMs: t.durationMs, error: t.error };
    if (!t.ok && t.error) errors.push(t.error);
  }
  const remoteByTarget = new Map<string, HostProbe>();
  for (const h of r.remotes) {
    const target = h.target ?? '';
    remoteByTarget.set(target, h);
    probes[`ssh:${target}`] = { ok: h.ok, durationMs: h.durationMs, error: h.ok ? null : `ssh ${target}: ${h.error}` };
    if (!h.ok) errors.push(`ssh ${target}: ${h.error}`);
    for (const t of h.tmux.values()) {
      if (!t.ok && t.error) errors.push(`ssh ${target}: ${t.error}`);
    }
    // That host's systemd, asked in the same ssh run: reported like the local one (in place).
    if (h.systemd) {
      probes[`systemd:${target}`] = { ok: h.systemd.ok, durationMs: 0, error: h.systemd.error ? `ssh ${target}: ${h.systemd.error}` : null };
    }
  }

  if (r.proc) {
    probes.proc = { ok: r.proc.error === null, durationMs: r.proc.durationMs, error: r.proc.error ? `proc: ${r.proc.error}` : null };
    if (r.proc.error) errors.push(`proc: ${r.proc.error} (DRIFT not checked)`);
  } else {
    probes.proc = { ok: true, durationMs: 0, error: null };
  }
  const systemd = local.systemd;
  probes.systemd = systemd ? { ok: systemd.ok, durationMs: systemd.durationMs, error: systemd.error } : { ok: true, durationMs: 0, error: null };

  if (r.screens) {
    probes.screens = { ok: r.screens.ok, durationMs: r.screens.durationMs, error: r.screens.error };
    if (r.screens.error) errors.push(r.screens.error);
  }

  const backlog: BacklogSection | null = r.backlog?.value ?? null;
  if (r.backlog) {
    const err = r.backlog.error ?? (backlog && !backlog.ok && backlog.exists ? backlog.error : null);
    probes.backlog = { ok: err === null, durationMs: r.backlog.durationMs, error: err ? maskCredentials(`backlog: ${err}`) : null };
    if (err) errors.push(maskCredentials(`backlog: ${err}`));
    if (backlog?.warning) errors.push(backlog.warning);
  }
  const claimsByOwner = new Map<string, ClaimInfo & { expired: boolean }>();
  for (const c of backlog?.claimed ?? []) {
    const prev = claimsByOwner.get(c.owner);
    if (!prev || c.secondsLeft < prev.secondsLeft) {
      claimsByOwner.set(c.owner, { cardId: c.id, title: c.title, secondsLeft: c.secondsLeft, expired: c.expired });
    }
  }

  // One row per roster agent (roster order), each read from its host's answers.
  const rows: AgentRow[] = agents.map((a) => {
    const h = isLocalHost(a.host) ? local : (remoteByTarget.get(sshTarget(a)) ?? null);
    return joinAgent(a, h, claimsByOwner.get(a.name) ?? null, r.thresholds, r.screens, r.sinceOf);
  });

  // Unmanaged: sessions on a fleet socket — here or on a remote host — that no roster agent
  // there claims (the holder and watch viewers excluded).
  const unmanaged: UnmanagedSession[] = [];
  const holder = roster?.holderSession ?? null;
  for (const h of [local, ...r.remotes]) {
    if (!h.ok) continue;
    const hostAgents = agents.filter((a) => (h.target === null ? isLocalHost(a.host) : !isLocalHost(a.host) && sshTarget(a) === h.target));
    for (const t of h.tmux.values()) {
      if (!t.ok) continue;
      const rostered = new Set(hostAgents.filter((a) => (a.socket ?? '') === (t.socket ?? '')).map((a) => a.name));
      const sessions = unmanagedSessions(t.panes, rostered, holder);
      unmanaged.push(...sessions.list.map((u) => ({ ...u, socket: t.socket, host: h.host })));
      if (h.target === null && holder && t.serverRunning && (roster?.socket ?? '') === (t.socket ?? '') && !sessions.seen.has(holder)) {
        errors.push(`holder session ${holder} missing on socket ${socketLabel(t.socket)}`);
      }
    }
  }

  // Fleet-wide units (upstream found the holder `active (exited)` but disabled: no reboot survival).
  const fleetUnits = [HOLDER_UNIT, ORCHESTRATOR_UNIT]
    .map((name) => systemd?.units.get(name))
    .filter((u): u is NonNullable<typeof u> => !!u && u.loadState !== 'not-found' && u.loadState !== '');
  // The orchestrator unit joins the row of this host's (first) orchestrator agent: its
  // BOOT-ENABLE is that row's flag, not a fleet error.
  const orchestratorUnit = fleetUnits.find((u) => u.name === ORCHESTRATOR_UNIT);
  const orchestratorRow = orchestratorUnit ? rows.find((row) => row.class === 'orchestrator' && isLocalHost(row.host)) : undefined;
  if (orchestratorUnit && orchestratorRow) {
    orchestratorRow.orchestratorUnit = orchestratorUnit;
    const extra = agentFlags({ pane: null, process: null, unit: orchestratorUnit, claimExpired: false });
    if (extra.flags.includes('BOOT-ENABLE') && !orchestratorRow.flags.includes('BOOT-ENABLE')) orchestratorRow.flags.push('BOOT-ENABLE');
    orchestratorRow.evidence.push(
      `${ORCHESTRATOR_UNIT} ${orchestratorUnit.activeState}/${orchestratorUnit.subState || '?'} (${orchestratorUnit.unitFileState || 'no unit file state'})`,
      ...extra.evidence,
    );
  }
  for (const u of fleetUnits) {
    if (u === orchestratorUnit && orchestratorRow) continue;
    if (u.activeState === 'active' && u.unitFileState !== 'enabled' && u.unitFileState !== 'enabled-runtime') {
      errors.push(`BOOT-ENABLE: ${u.name} active but ${u.unitFileState || 'not enabled'} (will not come back after a reboot)`);
    }
  }

  // Lingering (fleet-level LINGER), read by collect only while this host's systemd answers.
  const linger = r.linger ?? null;
  const fleetFlags: FleetFlag[] = [];
  if (linger?.state === 'off') {
    fleetFlags.push('LINGER');
    errors.push(
      `LINGER: lingering is off for ${linger.user} (${linger.evidence}): no unit survives a logout or reboot (loginctl enable-linger ${linger.user})`,
    );
  }

  const counts = emptyCounts();
  for (const row of rows) counts[row.readiness]++;

  // The pause in force: this host's <run>/PAUSED (what upstream's tools read) and/or the one
  // recorded in the shared store (server tier: fleet-wide).
  const runDirPause = r.paused.value ?? null;
  const storePause = backlog?.pause ?? null;
  const fleetPaused =
    runDirPause && storePause
      ? { ...runDirPause, source: 'both' as const }
      : runDirPause
        ? { ...runDirPause, source: 'run-dir' as const }
        : storePause
          ? { ...storePause, source: 'store' as const }
          : null;

  // Fleet rules (fleet/rules.ts): the profile's floor, one lead, movement (NS-3).
  const { profile, error: profileError } = r.profile ?? resolveFleetProfile(roster ?? {}, null);
  if (profileError) errors.push(`profile: ${profileError}`);
  const floor = roster
    ? evaluateFloor(rows, profile)
    : { ok: false, profile: profile.id, lead: profile.lead, required: [], orchestrators: 0, enhancers: 0, reason: 'no roster loaded' };
  const leads = leadProblem(agents, profile.lead);
  const idle = idleWithWork(rows, backlog?.ok ? backlog.ready : null, { lead: profile.lead, paused: fleetPaused !== null });
  if (idle) {
    const idleSet = new Set(idle.agents);
    for (const row of rows) {
      if (!idleSet.has(row.name)) continue;
      row.flags = [...row.flags, 'IDLE-WITH-WORK'];
      row.evidence = [
        ...row.evidence,
        `IDLE-WITH-WORK: available with no claim while ${idle.readyCards}${idle.readyCards >= 10 ? '+' : ''} claimable card(s) wait (next ${idle.nextCard})`,
      ];
    }
  }

  const snapshot: Snapshot = {
    schema: SNAPSHOT_SCHEMA,
    generatedAt: new Date(r.nowMs).toISOString(),
    host: r.hostname,
    tenant: r.tenant,
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
      paused: fleetPaused,
      floor,
      lead: { class: profile.lead, agents: leads.agents, problem: leads.message },
      idleWithWork: idle,
      counts,
      sockets: r.sockets,
      holderSession: holder,
      units: fleetUnits,
      ...(linger ? { linger } : {}),
      ...(fleetFlags.length ? { flags: fleetFlags } : {}),
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
 * `seen` holds every session name found.
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
