/**
 * The text of the small dialogs at the bottom of the screen: the filter line, the pause / claim
 * / release / unit / answer confirmations, the one-line send editor, the send receipt and the
 * result messages. components/Dialog.tsx only draws these lines. Every line leaves sanitized. Pure.
 */
import type { ClaimedCardView, ReadyCardView } from '../../backlog/snapshot.js';
import { describePause } from '../../fleet/paused.js';
import type { PausedFlag } from '../../fleet/types.js';
import { agentUnitName } from '../../fleet/systemd.js';
import { sanitizeLine, sanitizeLines } from '../../lib/sanitize.js';
import type { AgentRow } from '../snapshot/types.js';
import type { OpenView } from '../store/state.js';
import { displayWidth, formatTtl, truncateToWidth } from './format.js';
import { receiptLines } from './result-lines.js';

/** One line of a dialog with its style. */
export interface DialogLine {
  text: string;
  color?: string;
  bold?: boolean;
}

/** What the dialogs show besides what is open, read off the console state by the component. */
export interface DialogContext {
  open: OpenView;
  /** The filter being typed. */
  filter: string;
  /** The pause in force at the last snapshot, or null. */
  paused: PausedFlag | null;
  /** The selected agent. */
  selected: AgentRow | null;
  /** The backlog panel's first ready card (the card a claim takes next). */
  nextReady: ReadyCardView | null;
  /** The selected claimed card (the release confirmation's). */
  claimed: ClaimedCardView | null;
  /** The agent the unit confirmation names (still in the snapshot), or null. */
  unitAgent: AgentRow | null;
}

/** Keeps the end of an edited line visible: the last `width - 1` cells plus a cursor mark. */
export function editorView(text: string, width: number): string {
  const clean = sanitizeLine(text);
  if (displayWidth(clean) + 1 <= width) return `${clean}▏`;
  const chars = [...clean];
  let out = '';
  for (let i = chars.length - 1; i >= 0; i--) {
    const next = `${chars[i] ?? ''}${out}`;
    if (displayWidth(next) + 2 > width) break;
    out = next;
  }
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
  const question = sanitizeLine(`${title} ${who}? (systemctl --user ${verb} ${agentUnitName(who)}${agent?.host ? ` at host ${agent.host}` : ''}; ${wait})`);
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

const CONFIRM_KEYS = 'y confirm · n / esc cancel';

/** A question in yellow, then the keys line (red, after the caution, when there is one). */
function confirmLines([question, caution]: [string, string | null]): DialogLine[] {
  return [
    { text: question, color: 'yellow', bold: true },
    { text: `${caution ? `${caution} · ` : ''}${CONFIRM_KEYS}`, color: caution ? 'red' : undefined },
  ];
}

function pauseLines(paused: PausedFlag | null): DialogLine[] {
  const text = paused
    ? `Resume the fleet? (${sanitizeLine(describePause(paused))}; removes PAUSED, dispatch allowed again)`
    : 'PAUSE the whole fleet? (writes PAUSED; claims and dispatch are refused)';
  return [{ text, color: 'yellow', bold: true }, { text: CONFIRM_KEYS }];
}

/** The answer confirmation: the prompt, its screen block (as much as fits) and the keys line, which stays visible however short the dialog is. */
function answerLines(open: Extract<OpenView, { kind: 'confirm-answer' }>, height: number): DialogLine[] {
  const p = open.prompt;
  const block = sanitizeLines(p.block)
    .map((l) => l.trimEnd())
    .filter((l) => l.trim());
  const title = sanitizeLine(`Answer ${open.agent}'s permission prompt: ${[p.tool, p.detail].filter(Boolean).join(' ')}  [id ${p.id}]`);
  const body = [{ text: title, color: 'yellow', bold: true }, ...block.slice(0, Math.max(0, height - 2)).map((text) => ({ text: `  ${text}` }))];
  return [...body.slice(0, Math.max(0, height - 1)), { text: 'a allow ONCE · d deny · n / esc cancel' }];
}

function receiptDialogLines(open: Extract<OpenView, { kind: 'receipt' }>): DialogLine[] {
  if (open.pending || !open.receipt) return [{ text: open.pending ?? 'sending…', color: 'yellow' }];
  const ok = open.receipt.status === 'submitted' || open.receipt.status === 'queued';
  return [
    { text: `RECEIPT ${open.receipt.status.toUpperCase()} (any key closes)`, bold: true, color: ok ? 'green' : 'red' },
    ...receiptLines(open.receipt).map((text) => ({ text })),
  ];
}

function messageDialogLines(open: Extract<OpenView, { kind: 'message' }>): DialogLine[] {
  if (open.pending || !open.message) return [{ text: open.pending ?? 'working…', color: 'yellow' }];
  return [{ text: `${sanitizeLine(open.message.title)} (any key closes)`, bold: true }, ...open.message.lines.map((text) => ({ text }))];
}

/**
 * The lines of the open dialog for a `width` × `height` box (at most `height` lines), or null
 * when what is open is not a bottom dialog (nothing, or a full view).
 */
export function dialogLines(c: DialogContext, width: number, height: number): DialogLine[] | null {
  const { open } = c;
  let lines: DialogLine[];
  switch (open.kind) {
    case 'filter': {
      const text = `/ ${editorView(c.filter, width - 2)}`;
      lines = [{ text: `/${truncateToWidth(text.slice(1), width - 1)}`, bold: true }, { text: 'enter keeps the filter, esc clears it' }];
      break;
    }
    case 'confirm-pause':
      lines = pauseLines(c.paused);
      break;
    case 'confirm-dispatch':
      lines = confirmLines(dispatchQuestion(c.selected, c.nextReady));
      break;
    case 'confirm-release':
      lines = [{ text: releaseQuestion(c.claimed), color: 'yellow', bold: true }, { text: CONFIRM_KEYS }];
      break;
    case 'confirm-unit':
      lines = confirmLines(unitQuestion(c.unitAgent, open.verb));
      break;
    case 'confirm-answer':
      lines = answerLines(open, height);
      break;
    case 'send-editor':
      lines = [
        { text: `send to ${sanitizeLine(c.selected?.name ?? '?')} (enter sends, esc cancels):`, bold: true },
        { text: `> ${editorView(open.draft, width - 2)}` },
      ];
      break;
    case 'receipt':
      lines = receiptDialogLines(open);
      break;
    case 'message':
      lines = messageDialogLines(open);
      break;
    default:
      return null;
  }
  return lines.slice(0, height);
}
