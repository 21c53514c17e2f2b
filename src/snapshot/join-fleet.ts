/**
 * The fleet-level steps of the join (`./join.ts`), pure: unmanaged sessions, the fleet-wide
 * units and the orchestrator unit's note, the pause in force, lingering, the fleet rules
 * (floor, lead, movement), and {@link finishRow}, which builds an agent's final row with what
 * these steps add — a new object, the joined row is never changed.
 */
import type { BacklogSection } from '../../backlog/snapshot.js';
import type { LingerInfo } from '../../fleet/linger.js';
import { resolveFleetProfile } from '../../fleet/profile.js';
import { agentFlags } from '../../fleet/readiness.js';
import { evaluateFloor, idleWithWork, leadProblem, type IdleWithWork } from '../../fleet/rules.js';
import { isLocalHost, sshTarget } from '../../fleet/ssh.js';
import type { RosterAgent } from '../../fleet/roster.js';
import { ORCHESTRATOR_UNIT, HOLDER_UNIT, type SystemdProbe } from '../../fleet/systemd.js';
import { isViewerSessionName, socketLabel, type TmuxPane } from '../../fleet/tmux.js';
import type { AgentFlag, PausedFlag, UnitInfo } from '../../fleet/types.js';
import type { ProbeResults } from './probe-results.js';
import type { AgentRow, FleetFlag, Snapshot, UnmanagedSession } from './types.js';

/**
 * Unmanaged: sessions on a fleet socket — here or on a remote host — that no roster agent there
 * claims (the holder and watch viewers excluded); an error when this host's holder is missing.
 */
export function unmanagedOf(r: ProbeResults, agents: readonly RosterAgent[], holder: string | null): { unmanaged: UnmanagedSession[]; errors: string[] } {
  const unmanaged: UnmanagedSession[] = [];
  const errors: string[] = [];
  const rosterSocket = r.roster.roster?.socket ?? '';
  for (const h of [r.local, ...r.remotes]) {
    if (!h.ok) continue;
    for (const t of h.tmux.values()) {
      if (!t.ok) continue;
      const sessions = unmanagedSessions(t.panes, rosteredOn(agents, h.target, t.socket), holder);
      unmanaged.push(...sessions.list.map((u) => ({ ...u, socket: t.socket, host: h.host })));
      if (h.target === null && holder && t.serverRunning && rosterSocket === (t.socket ?? '') && !sessions.holderSeen) {
        errors.push(`holder session ${holder} missing on socket ${socketLabel(t.socket)}`);
      }
    }
  }
  return { unmanaged, errors };
}

/** The rostered names per roster agents list (a roster is replaced, never changed) and `<ssh target>\0<socket>`. */
const rosteredKept = new WeakMap<readonly RosterAgent[], Map<string, ReadonlySet<string>>>();

/** Names of the roster agents on `socket` of the host answering as `target` (null: this host), made once per roster. */
function rosteredOn(agents: readonly RosterAgent[], target: string | null, socket: string | null): ReadonlySet<string> {
  let byKey = rosteredKept.get(agents);
  if (!byKey) rosteredKept.set(agents, (byKey = new Map<string, ReadonlySet<string>>()));
  const key = `${target ?? ''}\0${socket ?? ''}`;
  let names = byKey.get(key);
  if (!names) {
    const onHost = agents.filter((a) => (target === null ? isLocalHost(a.host) : !isLocalHost(a.host) && sshTarget(a) === target));
    names = new Set(onHost.filter((a) => (a.socket ?? '') === (socket ?? '')).map((a) => a.name));
    byKey.set(key, names);
  }
  return names;
}

/** What the orchestrator unit adds to the row of this host's (first) orchestrator agent. */
export interface OrchestratorNote {
  agent: string;
  unit: UnitInfo;
  flags: AgentFlag[];
  evidence: string[];
}

/**
 * The fleet-wide units (upstream found the holder `active (exited)` but disabled: no reboot
 * survival), the orchestrator unit's note for its row, and the BOOT-ENABLE errors of the units
 * no row carries.
 */
export function fleetUnitsOf(systemd: SystemdProbe | null, rows: readonly AgentRow[]): { units: UnitInfo[]; note: OrchestratorNote | null; errors: string[] } {
  const units = [HOLDER_UNIT, ORCHESTRATOR_UNIT]
    .map((name) => systemd?.units.get(name))
    .filter((u): u is NonNullable<typeof u> => !!u && u.loadState !== 'not-found' && u.loadState !== '');
  // The orchestrator unit joins the row of this host's (first) orchestrator agent: its
  // BOOT-ENABLE is that row's flag, not a fleet error.
  const orchestratorUnit = units.find((u) => u.name === ORCHESTRATOR_UNIT);
  const row = orchestratorUnit ? rows.find((r) => r.class === 'orchestrator' && isLocalHost(r.host)) : undefined;
  let note: OrchestratorNote | null = null;
  if (orchestratorUnit && row) {
    const extra = agentFlags({ pane: null, process: null, unit: orchestratorUnit, claimExpired: false });
    note = {
      agent: row.name,
      unit: orchestratorUnit,
      flags: extra.flags.includes('BOOT-ENABLE') && !row.flags.includes('BOOT-ENABLE') ? ['BOOT-ENABLE'] : [],
      evidence: [
        `${ORCHESTRATOR_UNIT} ${orchestratorUnit.activeState}/${orchestratorUnit.subState || '?'} (${orchestratorUnit.unitFileState || 'no unit file state'})`,
        ...extra.evidence,
      ],
    };
  }
  const errors = units
    .filter((u) => !(u === orchestratorUnit && note))
    .filter((u) => u.activeState === 'active' && u.unitFileState !== 'enabled' && u.unitFileState !== 'enabled-runtime')
    .map((u) => `BOOT-ENABLE: ${u.name} active but ${u.unitFileState || 'not enabled'} (will not come back after a reboot)`);
  return { units, note, errors };
}

/** The pause in force: this host's <run>/PAUSED (what upstream's tools read) and/or the store's (server tier: fleet-wide). */
export function fleetPause(runDirPause: PausedFlag | null, storePause: PausedFlag | null): Snapshot['fleet']['paused'] {
  if (runDirPause && storePause) return { ...runDirPause, source: 'both' };
  if (runDirPause) return { ...runDirPause, source: 'run-dir' };
  if (storePause) return { ...storePause, source: 'store' };
  return null;
}

/** Fleet rules (fleet/rules.ts): the profile's floor, one lead, movement (NS-3), from the rows as joined. */
export function fleetRules(r: ProbeResults, rows: readonly AgentRow[], backlog: BacklogSection | null, paused: boolean) {
  const roster = r.roster.roster;
  const { profile, error } = r.profile ?? resolveFleetProfile(roster ?? {}, null);
  const floor = roster
    ? evaluateFloor(rows, profile)
    : { ok: false, profile: profile.id, lead: profile.lead, required: [], orchestrators: 0, enhancers: 0, reason: 'no roster loaded' };
  const leads = leadProblem(roster?.agents ?? [], profile.lead);
  const idle = idleWithWork(rows, backlog?.ok ? backlog.ready : null, { lead: profile.lead, paused });
  return { profile, floor, leads, idle, errors: error ? [`profile: ${error}`] : [] };
}

/**
 * The final row of `row` (as {@link joinAgent} joined it) with what the fleet-level steps add:
 * the orchestrator unit's note, then IDLE-WITH-WORK. A new object; `row` is left as it was.
 */
export function finishRow(row: AgentRow, note: OrchestratorNote | null, idle: IdleWithWork | null): AgentRow {
  const own = note?.agent === row.name ? note : null;
  const isIdle = idle?.agents.includes(row.name) ?? false;
  if (!own && !isIdle) return row;
  const flags = [...row.flags, ...(own?.flags ?? []), ...(isIdle ? (['IDLE-WITH-WORK'] as const) : [])];
  const evidence = [...row.evidence, ...(own?.evidence ?? [])];
  if (idle && isIdle)
    evidence.push(
      `IDLE-WITH-WORK: available with no claim while ${idle.readyCards}${idle.readyCards >= 10 ? '+' : ''} claimable card(s) wait (next ${idle.nextCard})`,
    );
  return { ...row, evidence, flags, ...(own ? { orchestratorUnit: own.unit } : {}) };
}

/** The fleet-level LINGER flag and its error (lingering is read by collect only while this host's systemd answers). */
export function lingerFlags(linger: LingerInfo | null): { flags: FleetFlag[]; errors: string[] } {
  if (linger?.state !== 'off') return { flags: [], errors: [] };
  return {
    flags: ['LINGER'],
    errors: [`LINGER: lingering is off for ${linger.user} (${linger.evidence}): no unit survives a logout or reboot (loginctl enable-linger ${linger.user})`],
  };
}

/**
 * Sessions among `panes` (one socket's `list-panes -a`) that are not a rostered agent, the
 * holder, or a watch viewer: their pane count, first pane's command and least idle seconds, in
 * the order their first panes come. `holderSeen`: the holder's session is among them.
 */
function unmanagedSessions(
  panes: readonly TmuxPane[],
  rostered: ReadonlySet<string>,
  holder: string | null,
): { list: Omit<UnmanagedSession, 'socket' | 'host'>[]; holderSeen: boolean } {
  const bySession = new Map<string, { first: TmuxPane; panes: number; idleSeconds: number | null }>();
  let holderSeen = false;
  for (const p of panes) {
    if (p.session === holder) holderSeen = true;
    if (rostered.has(p.session) || p.session === holder) continue;
    const group = bySession.get(p.session);
    if (!group) bySession.set(p.session, { first: p, panes: 1, idleSeconds: p.idleSeconds });
    else {
      group.panes++;
      if (p.idleSeconds !== null && (group.idleSeconds === null || p.idleSeconds < group.idleSeconds)) group.idleSeconds = p.idleSeconds;
    }
  }
  const list: Omit<UnmanagedSession, 'socket' | 'host'>[] = [];
  for (const [session, g] of bySession) {
    if (isViewerSessionName(session)) continue;
    list.push({ session, panes: g.panes, currentCommand: g.first.currentCommand, idleSeconds: g.idleSeconds });
  }
  return { list, holderSeen };
}
