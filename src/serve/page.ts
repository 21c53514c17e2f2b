/**
 * The page of `mosaic-top serve` (GET /): server-rendered HTML — every agent's name and readiness
 * are in the first response, no JavaScript needed to read them — then kept live by a small script
 * that swaps in the live part the server renders once per snapshot (SSE `page` events of
 * `/api/events?page=1`). One renderer, on the server: every untrusted text (screens, prompts,
 * titles, evidence, names) goes through {@link text} — control characters made visible
 * (lib/sanitize.ts), then HTML-escaped — and the Content-Security-Policy of src/serve/app.ts
 * runs only the script carrying this response's nonce. Waiting agents come first with their
 * prompt and Allow once / Deny; the layout is one column on a phone.
 */
import { sanitizeLine } from '../../lib/sanitize.js';
import type { AgentRow, Snapshot } from '../snapshot/types.js';
import { transitionChange, transitionSubject, type Transition } from '../transitions/diff.js';
import { PAGE_SCRIPT, PAGE_STYLE } from './page-assets.js';

/** Escapes `s` for HTML text and double-quoted attributes. Pure. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** Untrusted text as inert HTML: control characters shown in caret notation, then escaped. Pure. */
export function text(s: string | null | undefined): string {
  return escapeHtml(sanitizeLine(s ?? ''));
}

/** What the page needs besides the snapshot. */
export interface PageOptions {
  /** Mutations refused (no buttons shown). */
  readOnly: boolean;
  /** Transitions shown in the feed (newest last in, newest first out). */
  transitions: readonly Transition[];
}

const FEED_LENGTH = 20;
const EVIDENCE_LINES = 2;

function agentSpend(a: AgentRow): string {
  const spend = (a as AgentRow & { spend?: { costUsd?: unknown; tokens?: { total?: unknown } } | null }).spend;
  if (!spend || typeof spend !== 'object') return '';
  if (typeof spend.costUsd === 'number') return `$${spend.costUsd.toFixed(2)}`;
  const total = spend.tokens?.total;
  return typeof total === 'number' ? `${total} tok` : '';
}

function answerButtons(a: AgentRow, promptId: string, readOnly: boolean): string {
  if (readOnly) return '<p class="muted">read-only: answering is disabled</p>';
  const button = (answer: 'allow' | 'deny', label: string) =>
    `<button type="button" class="${answer}" data-action="answer" data-agent="${text(a.name)}" data-answer="${answer}" data-prompt-id="${text(promptId)}">${label}</button>`;
  return `<div class="buttons">${button('allow', 'Allow once')}${button('deny', 'Deny')}</div>`;
}

function waitingCard(a: AgentRow, readOnly: boolean): string {
  const p = a.screen?.prompt;
  const title = p ? `${p.kind === 'permission' ? 'permission' : 'question'}: ${[p.tool, p.detail].filter(Boolean).join(' ')}` : 'waiting (no prompt read)';
  const block = p
    ? `<pre class="prompt">${p.block
        .split('\n')
        .slice(0, 30)
        .map((l) => text(l))
        .join('\n')}</pre>`
    : `<p>${a.evidence.slice(0, EVIDENCE_LINES).map(text).join('<br>')}</p>`;
  const buttons = p && p.kind === 'permission' ? answerButtons(a, p.id, readOnly) : '';
  return `<article class="waiting" id="waiting-${text(a.name)}" data-agent="${text(a.name)}"><h3>${text(a.name)} <small>${text(a.runtime)}</small></h3><p class="what">${text(title)}</p>${block}${buttons}</article>`;
}

function agentRow(a: AgentRow, withSpend: boolean): string {
  const claim = a.claim ? `${text(a.claim.cardId)} ${text(a.claim.title)}` : '';
  const evidence = a.evidence.slice(0, EVIDENCE_LINES).map(text).join('<br>');
  return (
    `<tr id="agent-${text(a.name)}" data-agent="${text(a.name)}" data-readiness="${text(a.readiness)}">` +
    `<td class="name">${text(a.name)}<small>${text([a.class, a.runtime, a.host].filter(Boolean).join(' · '))}</small></td>` +
    `<td class="readiness r-${text(a.readiness)}">${text(a.readiness)}</td>` +
    `<td class="flags">${a.flags.map(text).join(' ')}</td>` +
    `<td class="claim">${claim}</td>` +
    (withSpend ? `<td class="spend">${text(agentSpend(a))}</td>` : '') +
    `<td class="evidence">${evidence}</td></tr>`
  );
}

function backlogSummary(s: Snapshot): string {
  const b = s.backlog;
  if (!b) return '<p class="muted">backlog not read</p>';
  if (!b.ok || !b.stats) return `<p class="muted">backlog: ${text(b.error ?? (b.exists ? 'not readable' : 'no backlog store yet'))}</p>`;
  const c = b.stats.counts;
  const claimed = b.claimed
    .slice(0, 10)
    .map((k) => `<li>${text(k.id)} ${text(k.title)} <small>${text(k.owner)}${k.expired ? ' · EXPIRED' : ''}</small></li>`)
    .join('');
  return `<p>ready ${c.ready} · claimed ${c.claimed} · blocked ${c.blocked} · done ${c.done}${b.stats.expiredClaims ? ` · <strong>${b.stats.expiredClaims} expired</strong>` : ''}</p>${claimed ? `<ul>${claimed}</ul>` : ''}`;
}

function feed(list: readonly Transition[]): string {
  if (!list.length) return '<p class="muted">no transitions yet</p>';
  const rows = list
    .slice(-FEED_LENGTH)
    .reverse()
    .map(
      (t) =>
        `<li class="${t.attention ? 'attention' : ''}"><time>${text(t.at.slice(11, 19))}</time> ${text(transitionSubject(t))} ${text(transitionChange(t))} <small>${text(t.evidence[0] ?? '')}</small></li>`,
    )
    .join('');
  return `<ul class="feed">${rows}</ul>`;
}

/** The live part of the page (replaced on every snapshot): fleet line, waiting agents, table, backlog, feed. Pure. */
export function renderLive(snapshot: Snapshot | null, opts: PageOptions & { seq?: number }): string {
  if (!snapshot) return '<p class="muted">waiting for the first snapshot…</p>';
  const counts = Object.entries(snapshot.fleet.counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `<span class="r-${text(k)}">${text(k)} ${n}</span>`)
    .join(' ');
  const paused = snapshot.fleet.paused
    ? `<p class="paused">PAUSED${snapshot.fleet.paused.by ? ` by ${text(snapshot.fleet.paused.by)}` : ''}${snapshot.fleet.paused.reason ? `: ${text(snapshot.fleet.paused.reason)}` : ''}</p>`
    : '';
  const waiting = snapshot.agents.filter((a) => a.readiness === 'waiting');
  const withSpend = snapshot.agents.some((a) => (a as { spend?: unknown }).spend);
  const names = snapshot.agents.map((a) => `<option value="${text(a.name)}"></option>`).join('');
  return (
    `<p class="fleet" data-generated="${text(snapshot.generatedAt)}" data-seq="${opts.seq ?? 0}">${text(snapshot.host)} · ${text(snapshot.generatedAt.slice(11, 19))} · ${counts || 'no agents'}</p>${paused}` +
    (waiting.length
      ? `<section id="waiting"><h2>Waiting (${waiting.length})</h2>${waiting.map((a) => waitingCard(a, opts.readOnly)).join('')}</section>`
      : '') +
    `<section><h2>Fleet</h2><table id="fleet"><thead><tr><th>agent</th><th>readiness</th><th>flags</th><th>claim</th>${withSpend ? '<th>spend</th>' : ''}<th>evidence</th></tr></thead><tbody>` +
    snapshot.agents.map((a) => agentRow(a, withSpend)).join('') +
    `</tbody></table></section><section><h2>Backlog</h2>${backlogSummary(snapshot)}</section><section><h2>Transitions</h2>${feed(opts.transitions)}</section>` +
    `<datalist id="agent-names">${names}</datalist>`
  );
}

/** The whole page; `nonce` goes on the one script and style (the CSP allows only them). Pure. */
export function renderPage(snapshot: Snapshot | null, opts: PageOptions & { nonce: string; seq?: number }): string {
  const controls = opts.readOnly
    ? '<p class="muted">read-only server: actions are disabled</p>'
    : `<details><summary>Send · pause</summary>
<form id="send"><input name="agent" list="agent-names" placeholder="agent" required autocomplete="off"><input name="message" placeholder="message" required autocomplete="off"><button type="submit">Send</button></form>
<form id="pause"><input name="reason" placeholder="reason for the pause" autocomplete="off"><button type="submit">Pause fleet</button><button type="button" data-action="resume">Resume</button></form></details>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>mosaic-top${snapshot ? ` · ${text(snapshot.host)}` : ''}</title>
<style nonce="${escapeHtml(opts.nonce)}">${PAGE_STYLE}</style></head>
<body><header><h1>mosaic-top</h1><span id="conn" class="muted">loading</span></header>
<div id="receipts" aria-live="polite"></div>
<main id="live">${renderLive(snapshot, opts)}</main>
<footer>${controls}</footer>
<script nonce="${escapeHtml(opts.nonce)}">${PAGE_SCRIPT}</script></body></html>`;
}
