/**
 * The `--once` table: a readable view like upstream's `fleet ps`. Pure; every
 * untrusted string is sanitized; widths measured in terminal cells (CJK and emoji count double;
 * printable ASCII by its length, src/view/format.ts `displayWidth`).
 */
import { describePause } from '../../fleet/paused.js';
import { socketLabel } from '../../fleet/tmux.js';
import { displayWidth, formatAge, formatTtl, truncateToWidth } from './format.js';
import { sanitizeLine } from '../../lib/sanitize.js';
import type { BacklogSection } from '../../backlog/snapshot.js';
import type { Snapshot } from '../snapshot/types.js';

/** Pads `text` to `width` terminal columns (CJK and emoji count double). */
function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

/** Renders rows as aligned columns (every cell is sanitized). */
export function renderColumns(header: string[], rows: string[][], maxWidths: number[] = []): string[] {
  // Widths by displayWidth: string-width alone segments every grapheme and builds its emoji regex
  // per character, which made a 10,000-agent table cost seconds; printable ASCII skips it.
  const cells = [header, ...rows].map((r) => r.map((c, i) => truncateToWidth(sanitizeLine(c), maxWidths[i] ?? 40)));
  const widths = header.map(() => 0);
  for (const r of cells) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, displayWidth(c))));
  return cells.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : pad(c, widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * The SINCE cell: how long the agent has been in its readiness (`12m03s`), from the history's
 * `since` against the snapshot's time; `?` when the history does not know.
 */
export function sinceCell(since: string | null | undefined, nowIso: string): string {
  if (!since) return '?';
  const s = (Date.parse(nowIso) - Date.parse(since)) / 1000;
  return Number.isFinite(s) ? formatAge(s) : '?';
}

/** Ready cards listed by `--once` (the snapshot holds up to SNAPSHOT_READY_LIMIT). */
const ONCE_READY_SHOWN = 5;

/**
 * The backlog block of the `--once` table: tier and location, counts, every claimed card with
 * owner and TTL left, the top ready cards, how many more wait on dependencies. Sanitized.
 */
export function renderBacklogBlock(b: BacklogSection): string[] {
  const where = `backlog ${b.tier} ${b.location}`;
  if (!b.exists) return [sanitizeLine(`${where}: none yet${b.error ? ` (${b.error})` : ''}`)];
  if (!b.ok || !b.stats) return [sanitizeLine(`${where}: ERROR ${b.error ?? 'unreadable'}`)];
  const { counts, expiredClaims, waitingOnDeps } = b.stats;
  const lines = [
    sanitizeLine(
      `${where}: ready ${counts.ready}  claimed ${counts.claimed}  blocked ${counts.blocked}  done ${counts.done}` +
        `${expiredClaims ? `  EXPIRED ${expiredClaims}` : ''}`,
    ),
  ];
  const rows = [
    ...b.claimed.map((c) => ['claimed', c.id, c.owner, formatTtl(c.secondsLeft), c.title]),
    ...b.ready.slice(0, ONCE_READY_SHOWN).map((c) => ['ready', c.id, `p${c.priority}`, '-', c.title]),
  ];
  if (rows.length) lines.push(...renderColumns(['STATUS', 'CARD', 'OWNER/PRIO', 'TTL', 'TITLE'], rows, [8, 24, 16, 16, 70]));
  const shown = Math.min(b.ready.length, ONCE_READY_SHOWN);
  const more = Math.max(0, counts.ready - waitingOnDeps - shown);
  if (more) lines.push(`… ${more} more ready (mosaic-top backlog list --ready-only)`);
  if (waitingOnDeps) lines.push(`${waitingOnDeps} more ready card${waitingOnDeps === 1 ? '' : 's'} waiting on dependencies`);
  return lines;
}

/**
 * Renders a snapshot as a readable table like upstream's `fleet ps`: a header line (host,
 * tenant, sockets, PAUSED, floor, counts), one row per agent, unmanaged sessions, the backlog,
 * errors.
 * Pure; every untrusted string is sanitized.
 */
export function renderSnapshotTable(s: Snapshot): string {
  const lines: string[] = [];
  const counts = Object.entries(s.fleet.counts)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  lines.push(
    sanitizeLine(`host ${s.host}  tenant ${s.tenant}  socket ${s.fleet.sockets.map(socketLabel).join(',') || '-'}  ${s.agents.length} agents: ${counts}`),
  );
  if (s.fleet.paused) lines.push(sanitizeLine(describePause(s.fleet.paused)));
  // Degraded probes explain empty columns (e.g. UNIT when systemd is unavailable).
  for (const [name, probe] of Object.entries(s.probes)) {
    if (probe.error && !s.errors.includes(probe.error)) lines.push(sanitizeLine(`! ${name}: ${probe.error}`));
  }
  if (s.fleet.flags?.includes('LINGER') && s.fleet.linger)
    lines.push(sanitizeLine(`LINGER: lingering is off for ${s.fleet.linger.user} (${s.fleet.linger.evidence})`));
  const f = s.fleet.floor;
  if (!f.ok) lines.push(sanitizeLine(`FLOOR: ${f.reason}`));
  else if (!f.profile || f.profile === 'default') lines.push(`floor ok (orchestrators ${f.orchestrators}, enhancers ${f.enhancers})`);
  else lines.push(sanitizeLine(`floor ok (profile ${f.profile}: ${(f.required ?? []).map((r) => `${r.class} ${r.up}/${r.min}`).join(', ')})`));
  if (s.fleet.lead?.problem) lines.push(sanitizeLine(`LEAD: ${s.fleet.lead.problem}`));
  if (s.fleet.idleWithWork) {
    const idle = s.fleet.idleWithWork;
    lines.push(
      sanitizeLine(
        `IDLE-WITH-WORK: ${idle.agents.join(', ')} available with no claim while ${idle.readyCards}${idle.readyCards >= 10 ? '+' : ''} claimable card(s) wait (next ${idle.nextCard})`,
      ),
    );
  }
  lines.push('');
  const header = ['AGENT', 'CLASS', 'RUNTIME', 'READINESS', 'SINCE', 'IDLE', 'HB', 'UNIT', 'PID', 'CMD', 'CARD', 'FLAGS'];
  const rows = s.agents.map((a) => [
    a.name,
    a.class ?? '-',
    a.runtime || '-',
    a.readiness,
    sinceCell(a.since, s.generatedAt),
    formatAge(a.pane?.idleSeconds),
    a.heartbeat ? `${formatAge(a.heartbeat.ageSeconds)}${a.heartbeat.state ? `/${a.heartbeat.state}` : ''}${a.heartbeat.partial ? '*' : ''}` : '-',
    a.unit ? `${a.unit.activeState || '?'}/${a.unit.unitFileState || '?'}` : '-',
    a.pane?.pid ? String(a.pane.pid) : '-',
    a.pane ? (a.pane.dead ? (a.pane.deadStatus === null ? 'dead' : `dead(${a.pane.deadStatus})`) : a.pane.currentCommand) : '-',
    a.claim ? `${a.claim.cardId} ${formatTtl(a.claim.secondsLeft)}` : (a.heartbeat?.card ?? '-'),
    a.flags.join(',') || '-',
  ]);
  lines.push(...renderColumns(header, rows, [24, 14, 10, 9, 8, 7, 12, 18, 8, 16, 24, 40]));
  if (s.agents.length) {
    lines.push('');
    for (const a of s.agents) lines.push(sanitizeLine(`${a.name}: ${a.evidence.join('; ')}`));
  }
  if (s.unmanaged.length) {
    lines.push('', 'UNMANAGED sessions (on a fleet socket, in no roster):');
    lines.push(
      ...renderColumns(
        ['HOST', 'SOCKET', 'SESSION', 'PANES', 'CMD', 'IDLE'],
        s.unmanaged.map((u) => [u.host ?? '-', socketLabel(u.socket), u.session, String(u.panes), u.currentCommand, formatAge(u.idleSeconds)]),
      ),
    );
  }
  if (s.backlog) lines.push('', ...renderBacklogBlock(s.backlog));
  if (s.errors.length) {
    lines.push('', 'errors:');
    for (const e of s.errors) lines.push(sanitizeLine(`  ${e}`));
  }
  return `${lines.join('\n')}\n`;
}
