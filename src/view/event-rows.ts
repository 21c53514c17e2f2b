/**
 * Pure formatters of the RECENT EVENTS view (`e`: claims and receipts go to the events table,
 * and the console shows the recent ones): backlog events in, sanitized display
 * lines out. Event strings are untrusted (actors, card ids and details come from whoever
 * wrote the event): everything that leaves this module went through sanitizeLine.
 */
import type { BacklogEvent } from '../../backlog/types.js';
import { formatAge, padToWidth, displayWidth } from './format.js';
import { sanitizeLine } from '../../lib/sanitize.js';
import type { BacklogEventView, ConsoleState } from '../store/index.js';

/** How many events the view asks the backlog for (newest first). */
export const RECENT_EVENTS_LIMIT = 50;

/** Longest summary kept before the line is cut to the screen (characters). */
const SUMMARY_MAX = 300;

function text(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map(text).join(',');
  return JSON.stringify(v);
}

function ttl(v: unknown): string {
  return typeof v === 'number' && Number.isFinite(v) ? formatAge(v) : text(v);
}

/**
 * One-line digest of an event's `detail` (jsonb written by backlog/service.ts and the
 * receipt recorder, src/actions/receipt-event.ts): claim ⇒ `owner coder1 token 7 ttl 15m0s
 * attempt 2`, receipt ⇒ `delivered coder1 812 ms — reason`, reclaim ⇒ `from coder1 token 7
 * expired`, unit-restart ⇒ `coder1 done pane 4411 → 4502`, … ; other verbs ⇒ `key=value` pairs. Sanitized, at most ~300 characters.
 */
export function eventSummary(verb: string, detail: Record<string, unknown> | null | undefined): string {
  const d = detail && typeof detail === 'object' ? detail : {};
  const has = (k: string) => d[k] !== undefined && d[k] !== null;
  const parts: string[] = [];
  switch (verb) {
    case 'claim':
      parts.push(`owner ${text(d.owner)}`, `token ${text(d.token)}`, `ttl ${ttl(d.ttlSeconds)}`);
      if (has('attempts')) parts.push(`attempt ${text(d.attempts)}`);
      break;
    case 'renew':
      parts.push(`token ${text(d.token)}`, `ttl ${ttl(d.ttlSeconds)}`);
      break;
    case 'reclaim':
      parts.push(`from ${text(d.previousOwner)}`, `token ${text(d.token)}`);
      if (d.forced === true) parts.push('forced');
      else if (d.expired === true) parts.push('expired');
      break;
    case 'complete':
      if (has('owner')) parts.push(`owner ${text(d.owner)}`);
      if (has('token')) parts.push(`token ${text(d.token)}`);
      if (has('previousStatus')) parts.push(`was ${text(d.previousStatus)}`);
      if (has('actualTokens')) parts.push(`tokens ${text(d.actualTokens)}`);
      break;
    case 'receipt': {
      parts.push(text(d.status));
      if (has('agent')) parts.push(text(d.agent));
      if (typeof d.elapsedMs === 'number') parts.push(`${Math.round(d.elapsedMs)} ms`);
      if (has('reason')) parts.push(`— ${text(d.reason)}`);
      break;
    }
    case 'answer': {
      // A permission prompt answered (src/actions/answer.ts): `cc1 allow answered Bash echo hi > x`.
      const prompt = d.prompt && typeof d.prompt === 'object' ? (d.prompt as Record<string, unknown>) : null;
      parts.push(text(d.agent), text(d.answer), text(d.status));
      if (prompt)
        parts.push(
          [prompt.tool, prompt.detail]
            .filter((v) => typeof v === 'string' && v)
            .map(text)
            .join(' '),
        );
      if (has('reason')) parts.push(`— ${text(d.reason)}`);
      break;
    }
    case 'create':
      if (has('priority')) parts.push(`p${text(d.priority)}`);
      if (has('title')) parts.push(text(d.title));
      break;
    case 'block':
      if (has('reason')) parts.push(text(d.reason));
      break;
    case 'link':
      parts.push(`depends on ${text(d.dependsOn)}`);
      break;
    case 'unit-start':
    case 'unit-stop':
    case 'unit-restart': {
      // Lifecycle actions (src/actions/lifecycle.ts): `coder1 done pane 4411 → 4502`, or the reason.
      parts.push(text(d.agent), text(d.outcome));
      const before = d.before as { panePid?: unknown } | null | undefined;
      const after = d.after as { panePid?: unknown } | null | undefined;
      if (d.outcome === 'done' && after && typeof after.panePid === 'number')
        parts.push(`pane ${before && typeof before.panePid === 'number' ? `${before.panePid} → ` : ''}${after.panePid}`);
      if (has('reason')) parts.push(`— ${text(d.reason)}`);
      if (d.forced === true) parts.push('(forced)');
      break;
    }
    case 'unit-restart-all': {
      parts.push(text(d.outcome));
      const halted = d.halted as { agent?: unknown; reason?: unknown } | null | undefined;
      if (halted) parts.push(`at ${text(halted.agent)} — ${text(halted.reason)}`);
      if (Array.isArray(d.order)) parts.push(`order ${d.order.map(text).join(',')}`);
      break;
    }
    default:
      for (const [k, v] of Object.entries(d)) parts.push(`${k}=${text(v)}`);
  }
  return sanitizeLine(parts.join(' ').replace(/\s+/g, ' ').trim().slice(0, SUMMARY_MAX));
}

/** A backlog event as the store keeps it: every string sanitized, detail digested. */
export function eventView(event: BacklogEvent): BacklogEventView {
  return {
    at: sanitizeLine(String(event.at)),
    actor: sanitizeLine(String(event.actor)),
    action: sanitizeLine(String(event.verb)),
    cardId: event.cardId == null ? null : sanitizeLine(String(event.cardId)),
    summary: eventSummary(String(event.verb), event.detail),
  };
}

/**
 * When an event happened, in local time: `HH:MM:SS` for today (relative to `nowMs`, local
 * clock in ms), `MM-DD HH:MM` for an older day, `?` when `iso` does not parse.
 */
export function eventClock(iso: string, nowMs: number): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '?';
  const at = new Date(t);
  const now = new Date(nowMs);
  const two = (n: number) => String(n).padStart(2, '0');
  const sameDay = at.getFullYear() === now.getFullYear() && at.getMonth() === now.getMonth() && at.getDate() === now.getDate();
  return sameDay
    ? `${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}`
    : `${two(at.getMonth() + 1)}-${two(at.getDate())} ${two(at.getHours())}:${two(at.getMinutes())}`;
}

/** Caps of the variable columns (cells): a long actor or card id never eats the summary. */
const CAPS = { time: 11, actor: 20, verb: 10, card: 14 };

/**
 * Lines of the RECENT EVENTS view: a column header then one line per event (newest first):
 * time, actor, verb, card, summary — columns padded by display width; or one line saying
 * why there is nothing (loading, `backlog: none yet`, an error, no events). Sanitized; the
 * view cuts each line to the screen's width.
 */
export function eventsLines(s: Pick<ConsoleState, 'backlog' | 'ui'>): string[] {
  const { events, eventsStatus } = s.backlog;
  const head: string[] = [];
  if (eventsStatus.state === 'absent') return [sanitizeLine(`backlog: none yet${eventsStatus.message ? ` (${eventsStatus.message})` : ''}`)];
  if (eventsStatus.state === 'error') head.push(sanitizeLine(`events: ${eventsStatus.message ?? 'failed'}`));
  if (eventsStatus.state === 'loading' || eventsStatus.state === 'idle') head.push('(loading recent events from the backlog…)');
  if (events.length === 0) return eventsStatus.state === 'loaded' ? ['(no events yet)'] : head;
  const rows = events.map((e) => [eventClock(e.at, s.ui.clockMs), e.actor, e.action, e.cardId ?? '-', e.summary].map(sanitizeLine));
  const header = ['TIME', 'ACTOR', 'VERB', 'CARD', 'DETAIL'];
  const caps = [CAPS.time, CAPS.actor, CAPS.verb, CAPS.card];
  const widths = caps.map((cap, i) => Math.min(cap, Math.max(displayWidth(header[i] ?? ''), ...rows.map((r) => displayWidth(r[i] ?? '')))));
  const line = (cells: string[]) => [...widths.map((w, i) => padToWidth(cells[i] ?? '', w)), cells[4] ?? ''].join('  ').trimEnd();
  return [...head, line(header), ...rows.map(line)];
}
