/**
 * Pure spend formatters for the console (docs/spend.md): the fleet table's SPEND cell, the
 * header's fleet total and worst pace. Input is the snapshot's `agents[].spend` and
 * `fleet.spend` (src/snapshot/spend.ts); output is sanitized display text.
 */
import { sanitizeLine } from '../../lib/sanitize.js';
import type { AgentSpend, Snapshot } from '../snapshot/types.js';

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
