/**
 * Pure row formatters for the console (lazygit's presentation layer): snapshot rows in,
 * display strings out. Every untrusted string passes through sanitizeLine here, so what
 * leaves this module is safe to hand to Ink.
 */
import { sanitizeLine } from '../../lib/sanitize.js';
import type { AgentRow, Snapshot } from '../snapshot/types.js';
import type { BacklogSection } from '../../backlog/snapshot.js';
import { formatAge, formatTtl, liveSecondsLeft, secondsSince } from './format.js';
import type { ColumnSpec } from './columns.js';
import { backlogRows, type BacklogRow } from '../store/selectors.js';
import { KEYMAP, REQUIREMENT_WORDS, displayKey } from '../keys/keymap.js';
import { padToWidth } from './format.js';
import type { ConsoleState } from '../store/index.js';
import { eventsLines } from './event-rows.js';

/** Columns of the fleet table; evidence only shows when the terminal is wide. */
export const FLEET_COLUMNS: readonly ColumnSpec[] = [
  { key: 'agent', header: 'AGENT', min: 8, max: 24, priority: 100 },
  { key: 'readiness', header: 'STATE', min: 9, max: 9, priority: 99 },
  { key: 'class', header: 'CLASS', min: 5, max: 14, priority: 60 },
  { key: 'runtime', header: 'RUNTIME', min: 6, max: 10, priority: 55 },
  { key: 'idle', header: 'IDLE', min: 5, max: 6, priority: 80, align: 'right' },
  { key: 'hb', header: 'HB', min: 5, max: 6, priority: 85, align: 'right' },
  { key: 'unit', header: 'UNIT', min: 6, max: 10, priority: 50 },
  { key: 'card', header: 'CARD', min: 4, max: 12, priority: 70 },
  { key: 'flags', header: 'FLAGS', min: 5, max: 30, priority: 75 },
  { key: 'evidence', header: 'EVIDENCE', min: 20, priority: 10, optional: true },
];

/** The readiness word as printed (colour is never the only carrier of a state: the word is always printed). */
export function readinessWord(agent: AgentRow): string {
  return agent.readiness;
}

/**
 * Display cells of one agent, in {@link FLEET_COLUMNS} order: name, readiness word, class,
 * runtime, pane idle, heartbeat age, unit active state (`?` when systemd is unavailable),
 * card in hand (claim, else heartbeat), flags, evidence. All sanitized.
 */
export function fleetRowCells(agent: AgentRow, systemdOk = true): string[] {
  const unit = agent.unit
    ? agent.unit.activeState + (agent.unit.unitFileState && agent.unit.unitFileState !== 'enabled' && agent.unit.activeState === 'active' ? '*' : '')
    : systemdOk ? '-' : '?';
  const cells = [
    agent.name,
    readinessWord(agent),
    agent.class ?? '-',
    agent.runtime,
    formatAge(agent.pane?.idleSeconds),
    agent.heartbeat ? formatAge(agent.heartbeat.ageSeconds) : '-',
    unit || '-',
    agent.claim?.cardId ?? agent.heartbeat?.card ?? '-',
    agent.flags.join(',') || '-',
    agent.evidence.join('; '),
  ];
  return cells.map(sanitizeLine);
}

/** True when the systemd probe for `agent` (its host's, for a remote agent) worked (else unit cells show `?`). */
export function systemdProbeOk(snapshot: Snapshot | null, agent?: AgentRow): boolean {
  // A remote agent's units come from its host's systemd (`systemd:<target>`), asked over ssh.
  const probe = agent?.ssh ? snapshot?.probes?.[`systemd:${agent.ssh}`] : snapshot?.probes?.systemd;
  return probe ? probe.ok : true;
}

/** Header line 1 pieces: host, sockets, backlog tier. Sanitized. */
export function headerIdentity(snapshot: Snapshot | null, section: BacklogSection | null): string {
  if (!snapshot) return 'mosaic-top  waiting for the first snapshot…';
  const sockets = snapshot.fleet.sockets.map((s) => s ?? 'default').join(',') || '-';
  const tier = section ? `${section.tier}${section.exists ? '' : ' (none yet)'}` : 'backlog ?';
  return sanitizeLine(`mosaic-top  ${snapshot.host}  socket ${sockets}  backlog ${tier}`);
}

/** Counts per readiness, trouble first and only when non-zero: `dead 2  stale 1  working 3  available 1`. */
export function readinessCounts(snapshot: Snapshot | null): string {
  if (!snapshot) return '';
  const c = snapshot.fleet.counts;
  // Trouble first, and only when there is some: at 80 columns the line is cut at the right.
  const trouble = (['dead', 'stale', 'unknown'] as const).filter((r) => c[r] > 0).map((r) => `${r} ${c[r]}`);
  return [...trouble, `working ${c.working}`, `available ${c.available}`].join('  ');
}

/** PAUSED banner text with since/by/reason (sanitized), or null when the fleet runs. */
export function pausedBanner(snapshot: Snapshot | null, nowMs: number): string | null {
  const p = snapshot?.fleet.paused;
  if (!p) return null;
  const since = secondsSince(p.at, nowMs);
  const parts = [`PAUSED since ${p.at ?? '?'}${since === null ? '' : ` (${formatAge(since)} ago)`}`];
  if (p.by) parts.push(`by ${p.by}`);
  if (p.reason) parts.push(`— ${p.reason}`);
  return sanitizeLine(parts.join(' '));
}

/** Floor health: `floor ok (1 orchestrator, 2 enhancers)` or `FLOOR BROKEN: <reason>`. */
export function floorText(snapshot: Snapshot | null): string {
  if (!snapshot) return '';
  const f = snapshot.fleet.floor;
  return f.ok
    ? `floor ok (${f.orchestrators} orch, ${f.enhancers} enh)`
    : sanitizeLine(`FLOOR BROKEN: ${(f.reason ?? `${f.orchestrators} orchestrators, ${f.enhancers} enhancers`).replace(/^floor broken:\s*/i, '')}`);
}

/**
 * Probe errors and snapshot errors, deduplicated and sanitized, for display in place. A probe
 * that worked but found something wrong ("tmux: no server on socket X": ok, no panes) is shown
 * too, as `--once` does: it explains a fleet of dead rows.
 */
export function snapshotErrors(snapshot: Snapshot | null, tickError: string | null): string[] {
  const out: string[] = [];
  if (tickError) out.push(`snapshot failed: ${tickError}`);
  if (snapshot) {
    for (const [name, probe] of Object.entries(snapshot.probes ?? {})) {
      if (probe.error) out.push(probe.error.startsWith(name.split(':')[0]) ? probe.error : `${name}: ${probe.error}`);
    }
    for (const e of snapshot.errors ?? []) out.push(e);
  }
  return [...new Set(out.map(sanitizeLine))];
}

/**
 * One backlog panel line: claimed ⇒ `A3  owner coder1  ttl 14m59s  title`, ready ⇒
 * `B2  p5  title`. TTLs count down live from the snapshot (`snapshotAtMs`, `nowMs` local ms).
 */
export function backlogRowText(row: BacklogRow, snapshotAtMs: number, nowMs: number): string {
  if (row.kind === 'claimed') {
    const left = liveSecondsLeft(row.card.secondsLeft, snapshotAtMs, nowMs);
    return sanitizeLine(`${row.card.id}  ${row.card.owner}  ttl ${formatTtl(left)}  ${row.card.title}`);
  }
  return sanitizeLine(`${row.card.id}  p${row.card.priority}  ${row.card.title}`);
}

/** Lines of the agent details view (evidence, pane, heartbeat, unit, process, claim). Sanitized. */
export function agentDetailLines(agent: AgentRow): string[] {
  const lines: string[] = [];
  lines.push(`agent ${agent.name}  class ${agent.class ?? '-'}  runtime ${agent.runtime}${agent.modelHint ? `  model ${agent.modelHint}` : ''}`);
  lines.push(`readiness ${agent.readiness}${agent.flags.length ? `  flags ${agent.flags.join(',')}` : ''}`);
  lines.push('evidence:');
  for (const e of agent.evidence) lines.push(`  ${e}`);
  if (agent.pane) {
    const p = agent.pane;
    lines.push(`pane ${p.target} (${p.paneId}) pid ${p.pid ?? '-'} cmd ${p.currentCommand}${p.dead ? ` DEAD status ${p.deadStatus ?? '?'}` : ''} ${p.width}x${p.height} idle ${formatAge(p.idleSeconds)}`);
    lines.push(`  title: ${p.title}`);
  } else lines.push(`pane: none (socket ${agent.socket ?? 'default'})`);
  if (agent.heartbeat) {
    const h = agent.heartbeat;
    lines.push(`heartbeat ${h.path}: ${formatAge(h.ageSeconds)} old, state=${h.state ?? '-'}${h.card ? ` card=${h.card}` : ''}${h.partial ? ' (partial)' : ''}${h.skewSeconds ? ` skew ${h.skewSeconds}s` : ''}`);
    if (h.note) lines.push(`  note: ${h.note}`);
    for (const pr of h.problems) lines.push(`  problem: ${pr}`);
  } else lines.push('heartbeat: none');
  if (agent.unit) {
    const u = agent.unit;
    lines.push(`unit ${u.name}: ${u.loadState}/${u.activeState}/${u.subState} file ${u.unitFileState || '-'} pid ${u.mainPid ?? '-'}`);
  } else lines.push('unit: -');
  if (agent.process) {
    const pr = agent.process;
    lines.push(`process: expected ${pr.expected}, seen ${pr.seen.join(' ') || '-'}${pr.matches ? '' : ' (DRIFT)'}`);
  }
  if (agent.claim) lines.push(`claim ${agent.claim.cardId} ttl ${formatTtl(agent.claim.secondsLeft)}: ${agent.claim.title}`);
  if (agent.host) lines.push(`host ${agent.host}`);
  return lines.flatMap((l) => l.split('\n')).map(sanitizeLine);
}

/** Lines of the card details view from the snapshot's view of it (body etc. when provided). Sanitized. */
export function cardDetailLines(row: BacklogRow, extra?: { body?: string | null; acceptance?: string | null; dependsOn?: string[]; status?: string }): string[] {
  const lines: string[] = [`card ${row.id}: ${row.card.title}`];
  if (row.kind === 'claimed') {
    const left = row.card.secondsLeft;
    const state = left > 0 ? `${formatAge(left)} left` : `EXPIRED ${formatAge(-left)} ago`;
    lines.push(`claimed by ${row.card.owner} at ${row.card.claimedAt}, ttl ${row.card.ttlSeconds}s: ${state} (last snapshot)`);
  } else {
    lines.push(`ready, priority ${row.card.priority}${row.card.phase ? `, phase ${row.card.phase}` : ''}`);
  }
  if (extra?.status) lines.push(`status ${extra.status}`);
  if (extra?.dependsOn) lines.push(`depends on: ${extra.dependsOn.join(', ') || 'none'}`);
  if (extra?.body) { lines.push('body:'); for (const l of extra.body.split('\n')) lines.push(`  ${l}`); }
  if (extra?.acceptance) { lines.push('acceptance:'); for (const l of extra.acceptance.split('\n')) lines.push(`  ${l}`); }
  return lines.map((l) => sanitizeLine(l.replace(/\t/g, '    ')));
}

/**
 * One help line per binding: `keys  description  [scope] (needs …) (disabled: read-only)`.
 * Pure.
 */
export function helpLines(readonly: boolean): string[] {
  return KEYMAP.filter((b) => b.showInHelp).map((b) => {
    const keys = b.keys.map(displayKey).join(' / ');
    const scope = b.scope.join('+');
    const needs = b.requires && b.requires !== 'idle' ? `  (needs ${REQUIREMENT_WORDS[b.requires]})` : '';
    const off = readonly && b.mutates ? '  (disabled: read-only)' : '';
    return `${padToWidth(keys, 16)} ${b.description}  [${scope}]${needs}${off}`;
  });
}

/** Lines of the open details view (agent or card, with the card's loaded body), sanitized. */
export function detailsLines(s: Pick<ConsoleState, 'fleet' | 'backlog' | 'ui'>): string[] {
  const open = s.ui.open;
  if (open.kind !== 'details') return [];
  const d = open.of;
  if (d.kind === 'agent') {
    const agent = s.fleet.snapshot?.agents.find((a) => a.name === d.key);
    return agent ? agentDetailLines(agent) : [sanitizeLine(`agent ${d.key} is no longer in the snapshot`)];
  }
  const row = backlogRows(s.backlog.section).find((r) => r.id === d.key);
  const lines = row ? cardDetailLines(row) : [sanitizeLine(`card ${d.key} is no longer listed`)];
  // Once loaded, the card's own status/priority/claim lines replace the snapshot's summary line.
  if (open.card?.id === d.key) return [lines[0], ...open.card.lines];
  return [...lines, '(loading body, acceptance and dependencies from the backlog…)'];
}

/** Number of lines the open help/details/events view has (for scroll clamping). */
export function modalLineCount(s: Pick<ConsoleState, 'fleet' | 'backlog' | 'ui'>): number {
  if (s.ui.open.kind === 'help') return helpLines(s.ui.readonly).length;
  if (s.ui.open.kind === 'details') return detailsLines(s).length;
  if (s.ui.open.kind === 'events') return eventsLines(s).length;
  return 0;
}
