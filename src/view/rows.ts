/**
 * Pure row formatters for the console (lazygit's presentation layer): snapshot rows in,
 * display strings out. Every untrusted string passes through sanitizeLine here, so what
 * leaves this module is safe to hand to Ink.
 */
import { sanitizeLine } from '../../lib/sanitize.js';
import type { AgentRow, Snapshot } from '../snapshot/types.js';
import type { BacklogSection } from '../../backlog/snapshot.js';
import { formatAge, formatTtl, liveSecondsLeft, secondsSince } from './format.js';
import { fitColumnWidths, naturalColumnWidths, naturalColumnWidthsOf, type ColumnSpec } from './columns.js';
import { backlogRows, type BacklogRow } from '../store/selectors.js';
import { KEYMAP, REQUIREMENT_WORDS, displayKey } from './keymap.js';
import { padToWidth } from './format.js';
import type { ConsoleState } from '../store/index.js';
import { eventsLines } from './event-rows.js';
import { agentTransitionLines, transitionsViewLines } from './transition-rows.js';
import { spendText, spendViewLines } from './spend-rows.js';
import { cardRowLines } from './card-details.js';

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
  { key: 'timeline', header: 'LAST 1H', min: 12, max: 12, priority: 65 },
  // Today's spend (`$1,234.56`, `12.3k tok`: 9 cells): shown only when every core column gets its
  // natural width, so it is the first to go on a narrow screen.
  { key: 'spend', header: 'SPEND', min: 9, max: 10, priority: 20, align: 'right', optional: true },
  { key: 'evidence', header: 'EVIDENCE', min: 20, priority: 10, optional: true },
];

/** Index of the spend column in {@link FLEET_COLUMNS}. */
export const SPEND_COLUMN = FLEET_COLUMNS.findIndex((c) => c.key === 'spend');

/** Index of the timeline column in {@link FLEET_COLUMNS}. */
export const TIMELINE_COLUMN = FLEET_COLUMNS.findIndex((c) => c.key === 'timeline');

/**
 * The fleet columns with the timeline sized for `cells` glyphs (colour), or for words
 * (`words`: NO_COLOR, at least max(8, cells) and at most max(24, cells) cells wide).
 */
export function fleetColumns(cells: number, words: boolean): readonly ColumnSpec[] {
  return FLEET_COLUMNS.map((c, i) => (i === TIMELINE_COLUMN ? { ...c, min: words ? Math.max(8, cells) : cells, max: words ? Math.max(24, cells) : cells } : c));
}

/**
 * Widths of the fleet columns for `rows` (from {@link fleetRowCells}) in `totalWidth` cells, as
 * computeColumnWidths (src/view/columns.ts) does; the SPEND column only when some row has spend
 * (`-` everywhere: the meter is off or nothing was spent today, and the column would only take
 * room). `cellWidths`: each row's cell widths when already measured (src/view/fleet-rows.ts).
 */
export function fleetColumnWidths(
  columns: readonly ColumnSpec[],
  rows: readonly (readonly string[])[],
  totalWidth: number,
  cellWidths?: readonly (readonly number[])[],
): number[] {
  const natural = cellWidths ? naturalColumnWidthsOf(columns, cellWidths) : naturalColumnWidths(columns, rows);
  return fitFleetColumnWidths(
    columns,
    natural,
    rows.some((r) => (r[SPEND_COLUMN] ?? '-') !== '-'),
    totalWidth,
  );
}

/**
 * {@link fleetColumnWidths} from the columns' natural widths (src/view/columns.ts
 * `naturalColumnWidths`) and whether some row's spend cell is not `-` (`spendShown`).
 */
export function fitFleetColumnWidths(columns: readonly ColumnSpec[], natural: readonly number[], spendShown: boolean, totalWidth: number): number[] {
  if (spendShown) return fitColumnWidths(columns, natural, totalWidth);
  const keep = (_: unknown, i: number) => i !== SPEND_COLUMN;
  const widths = fitColumnWidths(columns.filter(keep), natural.filter(keep), totalWidth);
  widths.splice(SPEND_COLUMN, 0, 0);
  return widths;
}

/** The readiness word as printed (colour is never the only carrier of a state: the word is always printed). */
export function readinessWord(agent: AgentRow): string {
  return agent.readiness;
}

/**
 * Display cells of one agent, in {@link FLEET_COLUMNS} order: name, readiness word, class,
 * runtime, pane idle, heartbeat age, unit active state (`?` when systemd is unavailable),
 * card in hand (claim, else heartbeat), flags, timeline of the last hour (`timeline`, from
 * src/view/transition-rows.ts; empty when not given), today's spend (src/view/spend-rows.ts),
 * evidence. All sanitized.
 */
export function fleetRowCells(agent: AgentRow, systemdOk = true, timeline = ''): string[] {
  return fleetRowText(agent, systemdOk, timeline).map(sanitizeLine);
}

/** {@link fleetRowCells} before sanitizing (NOT safe to draw as it is): what decides each cell. */
export function fleetRowText(agent: AgentRow, systemdOk = true, timeline = ''): string[] {
  return FLEET_CELL_TEXT.map((cell) => cell(agent, systemdOk, timeline));
}

/**
 * Each fleet cell's text before sanitizing, one function per column of {@link FLEET_COLUMNS}
 * (`(agent, systemdOk, timeline)`): {@link fleetRowText} is these in order, so a cell can be
 * made alone (src/view/fleet-rows.ts measures the columns without making whole rows).
 */
export const FLEET_CELL_TEXT: readonly ((agent: AgentRow, systemdOk: boolean, timeline: string) => string)[] = [
  (agent) => agent.name,
  (agent) => readinessWord(agent),
  (agent) => agent.class ?? '-',
  (agent) => agent.runtime,
  (agent) => formatAge(agent.pane?.idleSeconds),
  (agent) => (agent.heartbeat ? formatAge(agent.heartbeat.ageSeconds) : '-'),
  (agent, systemdOk) => unitText(agent, systemdOk) || '-',
  (agent) => agent.claim?.cardId ?? agent.heartbeat?.card ?? '-',
  (agent) => agent.flags.join(',') || '-',
  (_agent, _systemdOk, timeline) => timeline,
  (agent) => spendText(agent.spend),
  (agent) => agent.evidence.join('; '),
];

function unitText(agent: AgentRow, systemdOk: boolean): string {
  if (!agent.unit) return systemdOk ? '-' : '?';
  return agent.unit.activeState + (agent.unit.unitFileState && agent.unit.unitFileState !== 'enabled' && agent.unit.activeState === 'active' ? '*' : '');
}

/** The line naming the tmux sessions no roster agent claims (`unmanaged: s@socket on host, …`), or null when none. Sanitized. */
export function unmanagedLine(snapshot: Snapshot | null): string | null {
  const unmanaged = snapshot?.unmanaged ?? [];
  if (!unmanaged.length) return null;
  return sanitizeLine(`unmanaged: ${unmanaged.map((u) => `${u.session}${u.socket ? `@${u.socket}` : ''}${u.host ? ` on ${u.host}` : ''}`).join(', ')}`);
}

/** What the fleet table says when it shows no row (`visible` rows pass the filter), or null when it shows some. Sanitized. */
export function fleetEmptyLine(snapshot: Snapshot | null, visible: number, filter: string): string | null {
  if (!snapshot) return 'waiting for the first snapshot…';
  if (snapshot.agents.length === 0) return 'no agents in the roster';
  return visible === 0 ? `no agent matches "${sanitizeLine(filter)}"` : null;
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

/**
 * Counts per readiness, trouble first and only when non-zero: `waiting 1  stuck 1  dead 2  stale 1
 * working 3  available 1` (waiting and stuck first: they want the operator).
 */
export function readinessCounts(snapshot: Snapshot | null): string {
  if (!snapshot) return '';
  const c = snapshot.fleet.counts;
  // Trouble first, and only when there is some: at 80 columns the line is cut at the right.
  const trouble = (['waiting', 'stuck', 'dead', 'stale', 'unknown'] as const).filter((r) => (c[r] ?? 0) > 0).map((r) => `${r} ${c[r]}`);
  return [...trouble, `working ${c.working}`, `available ${c.available}`].join('  ');
}

/** PAUSED banner text with since/by/reason (sanitized), or null when the fleet runs. */
export function pausedBanner(snapshot: Snapshot | null, nowMs: number): string | null {
  const p = snapshot?.fleet.paused;
  if (!p) return null;
  const since = secondsSince(p.at, nowMs);
  const where = p.source === 'store' ? ' fleet-wide (shared store)' : p.source === 'both' ? ' fleet-wide' : '';
  const parts = [`PAUSED${where} since ${p.at ?? '?'}${since === null ? '' : ` (${formatAge(since)} ago)`}`];
  if (p.by) parts.push(`by ${p.by}`);
  if (p.reason) parts.push(`— ${p.reason}`);
  return sanitizeLine(parts.join(' '));
}

/**
 * Floor health: `floor ok (1 orch, 2 enh)` for the default profile, `floor ok (research: 1
 * lead-researcher)` for another, or `FLOOR BROKEN: <reason>`.
 */
export function floorText(snapshot: Snapshot | null): string {
  if (!snapshot) return '';
  const f = snapshot.fleet.floor;
  if (!f.ok)
    return sanitizeLine(`FLOOR BROKEN: ${(f.reason ?? `${f.orchestrators} orchestrators, ${f.enhancers} enhancers`).replace(/^floor broken:\s*/i, '')}`);
  if (!f.profile || f.profile === 'default') return `floor ok (${f.orchestrators} orch, ${f.enhancers} enh)`;
  return sanitizeLine(`floor ok (${f.profile}: ${(f.required ?? []).map((r) => `${r.up} ${r.class}`).join(', ') || 'no floor'})`);
}

/**
 * Fleet-rule signals for the header and `--once`: `IDLE-WITH-WORK: coder1, coder2 idle, A4
 * ready` (NS-3) and `2 ORCHESTRATORS: o1, o2` (upstream runs exactly one). Empty when none.
 */
export function fleetSignals(snapshot: Snapshot | null): string[] {
  if (!snapshot) return [];
  const out: string[] = [];
  const idle = snapshot.fleet.idleWithWork;
  if (idle) {
    const more = idle.readyCards > 1 ? ` (+${idle.readyCards - 1}${idle.readyCards >= 10 ? '+' : ''} more)` : '';
    out.push(sanitizeLine(`IDLE-WITH-WORK: ${idle.agents.join(', ')} idle, ${idle.nextCard} ready${more}`));
  }
  const lead = snapshot.fleet.lead;
  if (lead?.problem) out.push(sanitizeLine(`${lead.agents.length} ${(lead.class ?? 'lead').toUpperCase()}S: ${lead.agents.join(', ')}`));
  return out;
}

/** Fleet-level systemd flags for the header: `LINGER (off for alice)`, or '' when none. Sanitized. */
export function fleetFlagsText(snapshot: Snapshot | null): string {
  if (!snapshot?.fleet.flags?.includes('LINGER')) return '';
  return sanitizeLine(`LINGER (lingering off for ${snapshot.fleet.linger?.user ?? snapshot.tenant}: no unit survives logout/reboot)`);
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
      if (probe.error) out.push(probe.error.startsWith(name.split(':')[0] ?? name) ? probe.error : `${name}: ${probe.error}`);
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
  const from = agent.runtimeFrom === 'env' ? ' (from .env MOSAIC_AGENT_RUNTIME)' : agent.runtimeFrom === 'default' ? ' (default)' : '';
  lines.push(`agent ${agent.name}  class ${agent.class ?? '-'}  runtime ${agent.runtime}${from}${agent.modelHint ? `  model ${agent.modelHint}` : ''}`);
  if (agent.workingDirectory) lines.push(`working directory ${agent.workingDirectory}`);
  lines.push(`readiness ${agent.readiness}${agent.flags.length ? `  flags ${agent.flags.join(',')}` : ''}`);
  lines.push('evidence:');
  for (const e of agent.evidence) lines.push(`  ${e}`);
  if (agent.pane) {
    const p = agent.pane;
    lines.push(
      `pane ${p.target} (${p.paneId}) pid ${p.pid ?? '-'} cmd ${p.currentCommand}${p.dead ? ` DEAD status ${p.deadStatus ?? '?'}` : ''} ${p.width}x${p.height} idle ${formatAge(p.idleSeconds)}`,
    );
    lines.push(`  title: ${p.title}`);
  } else lines.push(`pane: none (socket ${agent.socket ?? 'default'})`);
  if (agent.heartbeat) {
    const h = agent.heartbeat;
    lines.push(
      `heartbeat ${h.path}: ${formatAge(h.ageSeconds)} old, state=${h.state ?? '-'}${h.card ? ` card=${h.card}` : ''}${h.partial ? ' (partial)' : ''}${h.skewSeconds ? ` skew ${h.skewSeconds}s` : ''}`,
    );
    if (h.reason) lines.push(`  reason: ${h.reason}`);
    if (h.note) lines.push(`  note: ${h.note}`);
    for (const pr of h.problems) lines.push(`  problem: ${pr}`);
  } else lines.push('heartbeat: none');
  if (agent.screen) {
    const sc = agent.screen;
    const runtimeVersion = sc.version ? `${agent.runtime} ${sc.version}` : `${agent.runtime} version unknown`;
    lines.push(`screen ${sc.state} (rules ${sc.rules}, ${runtimeVersion}, read ${formatAge(sc.ageSeconds)} ago, this state for ${formatAge(sc.sinceSeconds)})`);
    if (sc.unrecognised) lines.push(`  not recognised: ${sc.unrecognised}`);
    if (sc.prompt) {
      lines.push(`  ${sc.prompt.kind} ${sc.prompt.tool ?? '-'}: ${sc.prompt.detail ?? '-'}  (prompt id ${sc.prompt.id})`);
      for (const l of sc.prompt.block.split('\n')) if (l.trim()) lines.push(`  | ${l.trim()}`);
    }
    if (sc.error) lines.push(`  error (${sc.error.kind}): ${sc.error.text}`);
    if (sc.inputText) lines.push(`  input box holds: ${sc.inputText.replace(/\n/g, ' ⏎ ')}`);
  }
  if (agent.unit) {
    const u = agent.unit;
    lines.push(`unit ${u.name}: ${u.loadState}/${u.activeState}/${u.subState} file ${u.unitFileState || '-'} pid ${u.mainPid ?? '-'}`);
  } else lines.push('unit: -');
  if (agent.orchestratorUnit) {
    const u = agent.orchestratorUnit;
    lines.push(`unit ${u.name}: ${u.loadState}/${u.activeState}/${u.subState} file ${u.unitFileState || '-'} pid ${u.mainPid ?? '-'}`);
  }
  if (agent.flags.includes('NEEDS-RESTART')) lines.push('NEEDS-RESTART: B restarts the unit (mosaic-top restart ' + agent.name + ')');
  if (agent.flags.includes('RULES-STALE')) lines.push('RULES-STALE: the screen rules may not know this runtime release (mosaic-top doctor ' + agent.name + ')');
  if (agent.process) {
    const pr = agent.process;
    lines.push(`process: expected ${pr.expected}, seen ${pr.seen.join(' ') || '-'}${pr.matches ? '' : ' (DRIFT)'}`);
  }
  if (agent.claim) lines.push(`claim ${agent.claim.cardId} ttl ${formatTtl(agent.claim.secondsLeft)}: ${agent.claim.title}`);
  if (agent.host) lines.push(`host ${agent.host}`);
  return lines.flatMap((l) => l.split('\n')).map(sanitizeLine);
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
export function detailsLines(s: Pick<ConsoleState, 'fleet' | 'backlog' | 'ui'> & Partial<Pick<ConsoleState, 'transitions'>>): string[] {
  const open = s.ui.open;
  if (open.kind !== 'details') return [];
  const d = open.of;
  if (d.kind === 'agent') {
    const agent = s.fleet.snapshot?.agents.find((a) => a.name === d.key);
    if (!agent) return [sanitizeLine(`agent ${d.key} is no longer in the snapshot`)];
    // Since when in this readiness, and its recent transitions with ages (docs/transitions.md).
    const history = s.transitions ? agentTransitionLines(s.transitions.list, agent.name, agent.readiness, s.ui.clockMs) : [];
    const muted = s.transitions?.muted.includes(agent.name) ? ['muted: no notice or bell for its transitions (m unmutes)'] : [];
    return [...agentDetailLines(agent), ...history, ...muted];
  }
  // Once loaded, the card's own lines (status, priority, claim …) replace the snapshot's summary.
  if (open.card?.id === d.key) return open.card.lines;
  const row = backlogRows(s.backlog.section).find((r) => r.id === d.key);
  const lines = row ? cardRowLines(row) : [sanitizeLine(`card ${d.key} is no longer listed`)];
  return [...lines, '(loading body, acceptance and dependencies from the backlog…)'];
}

/** Number of lines the open help/details/events/transitions/spend view has (for scroll clamping). */
export function modalLineCount(s: Pick<ConsoleState, 'fleet' | 'backlog' | 'ui'> & Partial<Pick<ConsoleState, 'transitions'>>): number {
  if (s.ui.open.kind === 'help') return helpLines(s.ui.readonly).length;
  if (s.ui.open.kind === 'details') return detailsLines(s).length;
  if (s.ui.open.kind === 'events') return eventsLines(s).length;
  if (s.ui.open.kind === 'spend') return spendViewLines(s.fleet.snapshot, s.ui.clockMs).length;
  if (s.ui.open.kind === 'transitions' && s.transitions) {
    const { list, muted, historyFile, historyError } = s.transitions;
    return transitionsViewLines(list, s.ui.clockMs, { muted, historyFile, historyError }).length;
  }
  return 0;
}
