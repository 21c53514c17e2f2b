/**
 * The small dialogs at the bottom of the screen: filter line, pause/claim confirmations, the
 * one-line send editor, the send receipt and result messages. Rendering only: keys are
 * handled by the dispatcher.
 */
import React from 'react';
import { Box } from 'ink';
import { useConsole } from '../hooks/useConsoleStore.js';
import { receiptLines } from '../src/keys/commands.js';
import type { ClaimedCardView, ReadyCardView } from '../backlog/snapshot.js';
import type { AgentRow } from '../src/snapshot/types.js';
import { selectedAgentRow, selectedClaimedCard } from '../src/store/selectors.js';
import { nextReadyCard } from '../src/store/selectors.js';
import { describePause } from '../fleet/paused.js';
import { displayWidth, formatTtl, truncateToWidth } from '../src/view/format.js';
import { sanitizeLine, sanitizeLines } from '../lib/sanitize.js';
import { Line } from './Line.js';

/** Keeps the end of an edited line visible: the last `width - 1` cells plus a cursor mark. */
export function editorView(text: string, width: number): string {
  const clean = sanitizeLine(text);
  if (displayWidth(clean) + 1 <= width) return `${clean}▏`;
  const chars = [...clean];
  let out = '';
  for (let i = chars.length - 1; i >= 0 && displayWidth(chars[i] + out) + 2 <= width; i--) out = chars[i] + out;
  return `…${out}▏`;
}

/**
 * The claim + dispatch confirmation: for whom, which card is next (at the last snapshot; the
 * claim itself picks atomically), and a caution when the agent is busy or already holds a
 * card. Returns [question, caution or null], sanitized.
 */
export function dispatchQuestion(agent: AgentRow | null, next: ReadyCardView | null): [string, string | null] {
  const who = sanitizeLine(agent?.name ?? '?');
  const card = next ? ` (next: ${next.id} p${next.priority} ${next.title})` : '';
  const question = sanitizeLine(`Claim the next ready card${card} for ${who} and dispatch it (verified send)?`);
  const cautions: string[] = [];
  if (agent?.readiness === 'working') cautions.push('working now: it may queue the card');
  else if (agent && agent.readiness !== 'available') cautions.push(`it is ${agent.readiness}`);
  if (agent?.claim) cautions.push(`already holds ${agent.claim.cardId}`);
  if (!next) cautions.push('no ready card in the last snapshot');
  return [question, cautions.length ? sanitizeLine(`${who}: ${cautions.join(', ')}`) : null];
}

/**
 * The restart/stop/start confirmation: what systemd will be asked, and what a working agent
 * would lose (its card and heartbeat state) or why it is already in that state. Returns
 * [question, caution or null], sanitized.
 */
export function unitQuestion(agent: AgentRow | null, verb: 'start' | 'stop' | 'restart'): [string, string | null] {
  const who = agent?.name ?? '?';
  const title = { start: 'Start', stop: 'Stop', restart: 'Restart' }[verb];
  const wait = verb === 'stop' ? 'its session goes down' : verb === 'restart' ? 'waits for a new pane' : 'waits for its pane';
  const question = sanitizeLine(
    `${title} ${who}? (systemctl --user ${verb} mosaic-agent@${who}.service${agent?.host ? ` at host ${agent.host}` : ''}; ${wait})`,
  );
  const cautions: string[] = [];
  if (agent && verb !== 'start' && (agent.readiness === 'working' || agent.readiness === 'waiting')) {
    const card = agent.claim?.cardId ?? agent.heartbeat?.card ?? null;
    cautions.push(
      `${agent.readiness.toUpperCase()} now (${card ? `card ${card}` : 'no card'}, heartbeat ${agent.heartbeat?.state ?? 'none'}): it will be interrupted`,
    );
  }
  if (agent?.flags.includes('NEEDS-RESTART') && verb === 'start') cautions.push('unit active, pane gone: start does nothing — use restart (B)');
  if (agent?.unit?.activeState === 'inactive' && verb === 'stop') cautions.push('unit already inactive');
  return [question, cautions.length ? sanitizeLine(cautions.join(', ')) : null];
}

/** The release confirmation: which card, whose claim, its TTL at the last snapshot. Sanitized. */
export function releaseQuestion(card: ClaimedCardView | null): string {
  if (!card) return 'Release: no claimed card selected';
  return sanitizeLine(`Release ${card.id} (claimed by ${card.owner}, ttl ${formatTtl(card.secondsLeft)}) back to ready?`);
}

/** Renders the open dialog in `height` lines (nothing when no dialog is open). */
export function Dialog({ width, height }: { width: number; height: number }): React.ReactElement | null {
  const open = useConsole((s) => s.ui.open);
  const filter = useConsole((s) => s.ui.filter);
  const paused = useConsole((s) => Boolean(s.fleet.snapshot?.fleet.paused));
  const pausedBy = useConsole((s) =>
    s.fleet.snapshot?.fleet.paused && s.ui.open.kind === 'confirm-pause' ? sanitizeLine(describePause(s.fleet.snapshot.fleet.paused)) : null,
  );
  const selected = useConsole((s) => selectedAgentRow(s));
  const agentName = selected?.name ?? null;
  // The panel's order (priority, then age): its first ready row is the card a claim takes next.
  const nextReady = useConsole((s) => (s.ui.open.kind === 'confirm-dispatch' ? nextReadyCard(s.backlog.section) : null));
  const claimed = useConsole((s) => (s.ui.open.kind === 'confirm-release' ? selectedClaimedCard(s) : null));
  const unitAsk = useConsole((s) => (s.ui.open.kind === 'confirm-unit' ? s.ui.open : null));
  const unitAgent = useConsole((s) =>
    s.ui.open.kind === 'confirm-unit' ? (s.fleet.snapshot?.agents.find((a) => s.ui.open.kind === 'confirm-unit' && a.name === s.ui.open.agent) ?? null) : null,
  );
  if (height <= 0) return null;
  const agent = sanitizeLine(agentName ?? '?');
  let lines: { text: string; color?: string; bold?: boolean }[];
  switch (open.kind) {
    case 'filter':
      lines = [{ text: `/ ${editorView(filter, width - 2)}`, bold: true }];
      lines[0].text = `/${truncateToWidth(lines[0].text.slice(1), width - 1)}`;
      lines.push({ text: 'enter keeps the filter, esc clears it' });
      break;
    case 'confirm-pause':
      lines = [
        {
          text: paused
            ? `Resume the fleet? (${pausedBy ?? 'paused'}; removes PAUSED, dispatch allowed again)`
            : 'PAUSE the whole fleet? (writes PAUSED; claims and dispatch are refused)',
          color: 'yellow',
          bold: true,
        },
        { text: 'y confirm · n / esc cancel' },
      ];
      break;
    case 'confirm-dispatch': {
      const [question, caution] = dispatchQuestion(selected, nextReady);
      lines = [
        { text: question, color: 'yellow', bold: true },
        { text: `${caution ? `${caution} · ` : ''}y confirm · n / esc cancel`, color: caution ? 'red' : undefined },
      ];
      break;
    }
    case 'confirm-release':
      lines = [{ text: releaseQuestion(claimed), color: 'yellow', bold: true }, { text: 'y confirm · n / esc cancel' }];
      break;
    case 'confirm-unit': {
      const [question, caution] = unitQuestion(unitAgent, unitAsk?.verb ?? 'restart');
      lines = [
        { text: question, color: 'yellow', bold: true },
        { text: `${caution ? `${caution} · ` : ''}y confirm · n / esc cancel`, color: caution ? 'red' : undefined },
      ];
      break;
    }
    case 'confirm-answer': {
      const p = open.prompt;
      const block = sanitizeLines(p.block)
        .map((l) => l.trimEnd())
        .filter((l) => l.trim());
      lines = [
        {
          text: sanitizeLine(`Answer ${open.agent}'s permission prompt: ${[p.tool, p.detail].filter(Boolean).join(' ')}  [id ${p.id}]`),
          color: 'yellow',
          bold: true,
        },
        ...block.slice(0, Math.max(0, height - 2)).map((text) => ({ text: `  ${text}` })),
        { text: 'a allow ONCE · d deny · n / esc cancel' },
      ];
      // The keys line stays visible however short the dialog is.
      if (lines.length > height) lines = [...lines.slice(0, height - 1), lines[lines.length - 1]];
      break;
    }
    case 'send-editor':
      lines = [{ text: `send to ${agent} (enter sends, esc cancels):`, bold: true }, { text: `> ${editorView(open.draft, width - 2)}` }];
      break;
    case 'receipt':
      lines =
        open.pending || !open.receipt
          ? [{ text: open.pending ?? 'sending…', color: 'yellow' }]
          : [
              {
                text: `RECEIPT ${open.receipt.status.toUpperCase()} (any key closes)`,
                bold: true,
                color: open.receipt.status === 'submitted' || open.receipt.status === 'queued' ? 'green' : 'red',
              },
              ...receiptLines(open.receipt).map((text) => ({ text })),
            ];
      break;
    case 'message':
      lines =
        open.pending || !open.message
          ? [{ text: open.pending ?? 'working…', color: 'yellow' }]
          : [{ text: `${sanitizeLine(open.message.title)} (any key closes)`, bold: true }, ...open.message.lines.map((text) => ({ text }))];
      break;
    default:
      return null;
  }
  return (
    <Box flexDirection="column">
      {lines.slice(0, height).map((l, i) => (
        <Line key={i} text={l.text} width={width} color={l.color} bold={l.bold} />
      ))}
    </Box>
  );
}
