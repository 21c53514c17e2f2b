/**
 * Pure spend formatters for the console (docs/spend.md): the fleet table's SPEND cell, the
 * header's fleet total and worst pace. Input is the snapshot's `agents[].spend` and
 * `fleet.spend` (src/snapshot/spend.ts); output is sanitized display text.
 */
import { sanitizeLine } from '../../lib/sanitize.js';
import type { AgentSpend, Snapshot } from '../snapshot/types.js';
import { spendCardLines } from './spend-card-rows.js';

/**
 * A token count in few cells: `950`, `12.3k`, `1.23M`, `4.56G` (1k = 1000). Negative or
 * non-finite counts print `-`.
 */
export function formatTokenCount(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '-';
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

/** US dollars with cents: `$0.00`, `$1.23`, `$1,234.57`. */
export function formatUsd(usd: number): string {
  return `$${usd.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/**
 * Today's spend in one short cell: the cost `$1.23` when some request is priced (`$1.23+` when
 * models without a price add tokens the cost leaves out), else the tokens `12.3k tok`; `-` when
 * there is no spend (absent: remote agent or meter off; or no token today).
 */
export function spendText(spend: AgentSpend | undefined): string {
  if (!spend) return '-';
  if (spend.costUsd !== null) return `${formatUsd(spend.costUsd)}${spend.unpricedModels.length ? '+' : ''}`;
  if (spend.tokens.total > 0) return `${formatTokenCount(spend.tokens.total)} tok`;
  return '-';
}

/**
 * The header's spend piece: `spend today $4.56`, then the worst subscription-window pace when
 * a window is known (`pace over`, `pace on`, `pace under`) and `OVER-BUDGET` when the fleet's
 * roster budget is exceeded. '' when the snapshot carries no fleet spend (meter off).
 */
export function headerSpendText(snapshot: Snapshot | null): string {
  const spend = snapshot?.fleet.spend;
  if (!spend) return '';
  const parts = [`spend today ${spendText(spend) === '-' ? '$0.00' : spendText(spend)}`];
  if (spend.worstPace) parts.push(`pace ${spend.worstPace}`);
  if (spend.overBudget) parts.push('OVER-BUDGET');
  return sanitizeLine(parts.join('  '));
}

/** True when the agent's spend wants the operator's eye: flag OVER-PACE or OVER-BUDGET. */
export function spendAlarm(flags: readonly string[]): boolean {
  return flags.includes('OVER-PACE') || flags.includes('OVER-BUDGET');
}

/**
 * When a subscription window resets, relative to `nowMs`: `resets in 2h05m` (`resets ?` when
 * the runtime did not say or the time does not parse; `reset` once past).
 */
function resetText(resetsAt: string | null, nowMs: number): string {
  const t = resetsAt ? Date.parse(resetsAt) : Number.NaN;
  if (!Number.isFinite(t)) return 'resets ?';
  const s = Math.round((t - nowMs) / 1000);
  if (s <= 0) return 'reset';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `resets in ${h ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m`}`;
}

/** A window's length: `5h`, `7d`, `90m`, `?`. */
function windowLength(minutes: number | null): string {
  if (minutes === null || !Number.isFinite(minutes)) return '?';
  if (minutes % 1440 === 0) return `${minutes / 1440}d`;
  if (minutes % 60 === 0) return `${minutes / 60}h`;
  return `${minutes}m`;
}

/**
 * Lines of the spend view (`$`): the fleet's total today (unattributed apart), one line per
 * local agent (cost, tokens in/out/cache, unpriced models, flags OVER-PACE / OVER-BUDGET), then
 * one line per subscription window (used %, elapsed %, projected % at reset, pace, reset time
 * relative to `nowMs`). Remote agents are listed as not metered here. Sanitized.
 */
export function spendViewLines(snapshot: Snapshot | null, nowMs: number): string[] {
  if (!snapshot) return ['waiting for the first snapshot…'];
  const fleet = snapshot.fleet.spend;
  if (!fleet) return ['no spend: the meter did not run (MOSAIC_TOP_SPEND=off, or it failed: see the errors above)'];
  const lines = [`today since ${fleet.since}: ${spendText(fleet)} (${formatTokenCount(fleet.tokens.total)} tokens)`];
  if (fleet.overBudget) lines.push(`OVER-BUDGET: ${fleet.overBudget}`);
  if (fleet.unattributed.tokens.total > 0 || fleet.unattributed.reasons.length)
    lines.push(
      `unattributed: ${formatTokenCount(fleet.unattributed.tokens.total)} tokens${fleet.unattributed.costUsd === null ? '' : ` ${formatUsd(fleet.unattributed.costUsd)}`}`,
    );
  for (const why of fleet.unattributed.reasons) lines.push(`  ${why}`);
  if (fleet.unpricedModels.length) lines.push(`no price for: ${fleet.unpricedModels.join(', ')} (tokens counted; prices in <home>/fleet/prices.yaml)`);
  lines.push('', 'AGENT  COST  TOKENS (in / out / cache read / cache write)');
  for (const a of snapshot.agents) {
    if (!a.spend) {
      lines.push(`${a.name}  -  ${a.ssh ? `not metered here (records on ${a.ssh})` : 'not metered'}`);
      continue;
    }
    const t = a.spend.tokens;
    const cost = a.spend.costUsd === null ? (t.total ? 'unpriced' : '-') : spendText(a.spend);
    const flags = a.flags.filter((f) => f === 'OVER-PACE' || f === 'OVER-BUDGET');
    const parts = [a.name, cost, `${formatTokenCount(t.total)} (${[t.input, t.output, t.cacheRead, t.cacheWrite].map(formatTokenCount).join(' / ')})`];
    if (a.spend.unpricedModels.length) parts.push(`no price: ${a.spend.unpricedModels.join(', ')}`);
    if (flags.length) parts.push(flags.join(','));
    lines.push(parts.join('  '));
  }
  lines.push(...spendCardLines(snapshot, nowMs, { tokens: formatTokenCount, usd: formatUsd }));
  lines.push('', fleet.quota.length ? 'SUBSCRIPTION WINDOWS' : 'no subscription window reported (Codex reports them)');
  for (const q of fleet.quota) {
    const elapsed = q.elapsedPercent === null ? '' : ` at ${q.elapsedPercent}% elapsed`;
    const projected = q.projectedPercentAtReset === null ? '' : `, ${q.projectedPercentAtReset}% by reset`;
    lines.push(
      `${q.agent}  ${q.window} ${windowLength(q.windowMinutes)}  ${q.usedPercent}% used${elapsed}${projected}  pace ${q.pace}${q.pace === 'over' ? ' (OVER-PACE)' : ''}  ${resetText(q.resetsAt, nowMs)}`,
    );
  }
  return lines.map(sanitizeLine);
}
