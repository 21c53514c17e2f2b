/**
 * The join: roster + what the probes answered ⇒ one {@link Snapshot}. Pure — no subprocess, no
 * file, no clock: `src/snapshot/collect.ts` starts the probes and reads the files, then hands
 * their answers here as {@link ProbeResults}. This host and each remote ssh target answer in
 * the same {@link HostProbe} shape, so a row is joined the same way wherever its agent runs.
 */
import type { BacklogSection } from '../../backlog/snapshot.js';
import { descendantsOf, programsUnder, type ProcEntry, type ProcessTree } from '../../fleet/proc.js';
import { agentLaunch, expectedProgram } from '../../fleet/agent-env.js';
import { agentFlags, classifyReadiness, matchProcess, type ReadinessThresholds } from '../../fleet/readiness.js';
import { isLocalHost, sshTarget } from '../../fleet/ssh.js';
import { rosterErrorSummary, type RosterAgent } from '../../fleet/roster.js';
import { agentUnitName } from '../../fleet/systemd.js';
import { socketLabel, type TmuxPane } from '../../fleet/tmux.js';
import { READINESS_ORDER } from '../../fleet/types.js';
import { maskCredentials, maskDatabaseUrl, type MosaicPaths } from '../../lib/paths.js';
import { fleetPause, fleetRules, fleetUnitsOf, finishRow, lingerFlags, unmanagedOf } from './join-fleet.js';
import type { HostProbe, ProbeResults, ScreenProbeReport } from './probe-results.js';
import { SNAPSHOT_SCHEMA, type AgentRow, type ClaimInfo, type PaneInfo, type ProbeReport, type ProcessInfo, type Readiness, type Snapshot } from './types.js';

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

/**
 * Program names under a pane, kept per process table (its `entries` map, which the console's
 * incremental reader keeps from tick to tick) and pane pid: the names are those of
 * {@link programsUnder} as long as the pane's processes are the same entries — an entry kept by
 * the reader is the same process with the same argv — so only a pane whose processes changed
 * is looked at again. When the tree says which subtrees changed since the read before
 * (fleet/proc.ts `ProcessTree.changes`) and the names were taken at that read or this one, a pane
 * whose pid is not among them keeps its names without a walk. One-off trees (new entries every
 * read) always compute.
 */
interface KeptPrograms {
  entries: (ProcEntry | undefined)[];
  programs: string[];
  /** The reader's read the names were last confirmed at (-1: unknown). */
  read: number;
}
const programsKept = new WeakMap<ProcessTree['entries'], Map<number, KeptPrograms>>();
export function keptProgramsUnder(tree: ProcessTree, panePid: number): string[] {
  let kept = programsKept.get(tree.entries);
  if (!kept) {
    kept = new Map();
    programsKept.set(tree.entries, kept);
  }
  const was = kept.get(panePid);
  const changes = tree.changes;
  if (was && changes && was.read >= 0 && was.entries.every((e) => e !== undefined)) {
    if (was.read === changes.read) return was.programs;
    if (was.read === changes.read - 1 && changes.dirty && !changes.dirty.has(panePid)) {
      was.read = changes.read;
      return was.programs;
    }
  }
  const read = changes?.read ?? -1;
  const pids = descendantsOf(tree, panePid);
  const entries = pids.map((pid) => tree.entries.get(pid));
  if (was && was.entries.length === entries.length && was.entries.every((e, i) => e !== undefined && e === entries[i])) {
    was.read = read;
    return was.programs;
  }
  const programs = programsUnder(tree, panePid, pids);
  kept.set(panePid, { entries, programs, read });
  return programs;
}

/**
 * {@link matchProcess} of a pane, kept per program names (the array {@link keptProgramsUnder}
 * keeps while the pane's processes are the same), expected program and pane command: the same
 * object tick after tick while they are the same (never changed once built, so a tick compares
 * it by identity).
 */
const processKept = new WeakMap<readonly string[], Map<string, ProcessInfo>>();
function keptMatchProcess(expected: string, paneCommand: string, programs: readonly string[]): ProcessInfo {
  let byKey = processKept.get(programs);
  if (!byKey) processKept.set(programs, (byKey = new Map<string, ProcessInfo>()));
  const key = `${expected}\0${paneCommand}`;
  let info = byKey.get(key);
  if (!info) byKey.set(key, (info = matchProcess(expected, paneCommand, programs)));
  return info;
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
    processInfo = keptMatchProcess(expectedProgram(env, launch.runtime), pane.currentCommand, keptProgramsUnder(h.processes, pane.pid));
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
  // classifyReadiness and agentFlags make new arrays each call: the row extends them in place.
  const evidence = decided.evidence;
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
  for (const line of flagged.evidence) evidence.push(line);
  const flags = flagged.flags;
  if (decided.flags) for (const flag of decided.flags) flags.push(flag);
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
    evidence,
    flags,
    pane,
    heartbeat: probeError ? null : hb.heartbeat,
    unit,
    process: processInfo,
    claim,
    ...(screen ? { screen } : {}),
  };
}

/** A step's contribution to the snapshot's `probes` (in insertion order) and `errors`. */
interface Reports {
  probes: Record<string, ProbeReport>;
  errors: string[];
}

/** The roster load, the PAUSED read, the local heartbeats and tmux sockets. */
function localReports(r: ProbeResults): Reports {
  const probes: Record<string, ProbeReport> = {};
  const errors: string[] = [];
  const { roster: rosterState, local } = r;
  const rosterError = rosterState.errors.length ? rosterErrorSummary(rosterState.errors, rosterState.stale) : null;
  probes.roster = { ok: rosterError === null, durationMs: r.rosterMs, error: rosterError };
  if (rosterError) errors.push(`roster: ${rosterError}`);
  probes.paused = { ok: r.paused.error === null, durationMs: r.paused.durationMs, error: r.paused.error };
  const hbError = [...local.heartbeats.values()].find((h) => h.error)?.error ?? null;
  probes.heartbeats = { ok: hbError === null, durationMs: r.heartbeatsMs, error: hbError };
  for (const t of local.tmux.values()) {
    probes[`tmux:${socketLabel(t.socket)}`] = { ok: t.ok, durationMs: t.durationMs, error: t.error };
    if (!t.ok && t.error) errors.push(t.error);
  }
  return { probes, errors };
}

/** Each remote host's ssh run, its sockets and (asked in the same run) its systemd. */
function remoteReports(remotes: readonly HostProbe[]): Reports {
  const probes: Record<string, ProbeReport> = {};
  const errors: string[] = [];
  for (const h of remotes) {
    const target = h.target ?? '';
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
  return { probes, errors };
}

/** This host's /proc read, systemd, screens and the backlog read. */
function hostReadReports(r: ProbeResults, backlog: BacklogSection | null): Reports {
  const probes: Record<string, ProbeReport> = {};
  const errors: string[] = [];
  if (r.proc) {
    probes.proc = { ok: r.proc.error === null, durationMs: r.proc.durationMs, error: r.proc.error ? `proc: ${r.proc.error}` : null };
    if (r.proc.error) errors.push(`proc: ${r.proc.error} (DRIFT not checked)`);
  } else {
    probes.proc = { ok: true, durationMs: 0, error: null };
  }
  const systemd = r.local.systemd;
  probes.systemd = systemd ? { ok: systemd.ok, durationMs: systemd.durationMs, error: systemd.error } : { ok: true, durationMs: 0, error: null };
  if (r.screens) {
    probes.screens = { ok: r.screens.ok, durationMs: r.screens.durationMs, error: r.screens.error };
    if (r.screens.error) errors.push(r.screens.error);
  }
  if (r.backlog) {
    const err = r.backlog.error ?? (backlog && !backlog.ok && backlog.exists ? backlog.error : null);
    probes.backlog = { ok: err === null, durationMs: r.backlog.durationMs, error: err ? maskCredentials(`backlog: ${err}`) : null };
    if (err) errors.push(maskCredentials(`backlog: ${err}`));
    if (backlog?.warning) errors.push(backlog.warning);
  }
  return { probes, errors };
}

/** Each owner's most urgent claim (the fewest seconds left). */
function claimsByOwner(backlog: BacklogSection | null): Map<string, ClaimInfo & { expired: boolean }> {
  const claims = new Map<string, ClaimInfo & { expired: boolean }>();
  for (const c of backlog?.claimed ?? []) {
    const prev = claims.get(c.owner);
    if (!prev || c.secondsLeft < prev.secondsLeft) claims.set(c.owner, { cardId: c.id, title: c.title, secondsLeft: c.secondsLeft, expired: c.expired });
  }
  return claims;
}

/** The snapshot's `paths` section (the database URL's password masked). */
function snapshotPaths(paths: MosaicPaths): Snapshot['paths'] {
  return {
    mosaicHome: paths.mosaicHome,
    roster: paths.roster,
    agentsDir: paths.agentsDir,
    runDir: paths.runDir,
    backlogDataDir: paths.backlogDataDir,
    backlogSocket: paths.backlogSocket,
    databaseUrl: paths.databaseUrl ? maskDatabaseUrl(paths.databaseUrl) : null,
  };
}

/**
 * Joins one snapshot from the probes' answers. Pure and total: a failed probe degrades its
 * fields and is reported in `probes` and `errors` (a missing roster is an error in the
 * snapshot). Rows are in roster order; an agent with several claims shows the most urgent one.
 * Steps: the probes' reports; one row per roster agent, each read from its host's answers; the
 * fleet-level steps (unmanaged sessions, fleet units, lingering, pause, rules), which read the
 * joined rows and add to them only by building each final row once ({@link finishRow}).
 */
export function joinSnapshot(r: ProbeResults): Snapshot {
  const roster = r.roster.roster;
  const agents: RosterAgent[] = roster?.agents ?? [];
  const backlog: BacklogSection | null = r.backlog?.value ?? null;
  const reports = [localReports(r), remoteReports(r.remotes), hostReadReports(r, backlog)];
  const remoteByTarget = new Map(r.remotes.map((h) => [h.target ?? '', h]));
  const claims = claimsByOwner(backlog);
  const joined = agents.map((a) => {
    const h = isLocalHost(a.host) ? r.local : (remoteByTarget.get(sshTarget(a)) ?? null);
    return joinAgent(a, h, claims.get(a.name) ?? null, r.thresholds, r.screens, r.sinceOf);
  });
  const holder = roster?.holderSession ?? null;
  const unmanaged = unmanagedOf(r, agents, holder);
  const units = fleetUnitsOf(r.local.systemd, joined);
  const linger = r.linger ?? null;
  const lingering = lingerFlags(linger);
  const paused = fleetPause(r.paused.value ?? null, backlog?.pause ?? null);
  const rules = fleetRules(r, joined, backlog, paused !== null);
  const rows = joined.map((row) => finishRow(row, units.note, rules.idle));
  const counts = emptyCounts();
  for (const row of rows) counts[row.readiness]++;
  const snapshot: Snapshot = {
    schema: SNAPSHOT_SCHEMA,
    generatedAt: new Date(r.nowMs).toISOString(),
    host: r.hostname,
    tenant: r.tenant,
    paths: snapshotPaths(r.paths),
    fleet: {
      paused,
      floor: rules.floor,
      lead: { class: rules.profile.lead, agents: rules.leads.agents, problem: rules.leads.message },
      idleWithWork: rules.idle,
      counts,
      sockets: r.sockets,
      holderSession: holder,
      units: units.units,
      ...(linger ? { linger } : {}),
      ...(lingering.flags.length ? { flags: lingering.flags } : {}),
    },
    agents: rows,
    unmanaged: unmanaged.unmanaged,
    probes: Object.assign({}, ...reports.map((x) => x.probes)) as Record<string, ProbeReport>,
    errors: [...reports.flatMap((x) => x.errors), ...unmanaged.errors, ...units.errors, ...lingering.errors, ...rules.errors],
  };
  if (backlog) snapshot.backlog = backlog;
  return snapshot;
}
