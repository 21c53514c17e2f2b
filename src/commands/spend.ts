/**
 * `mosaic-top spend [--by agent|card|runtime|model|day] [--agent A] [--card ID]
 * [--since DURATION|ISO] [--json]`: tokens and cost from the runtimes' own records (read-only),
 * as a table or as `mosaic-top/spend@1` JSON (docs/spend.md; field names never change).
 * Exit 0 with a report (even when some files were unreadable: they are reported on stderr),
 * 2 on bad input, 1 when no report could be made.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { GlobalOptions } from '../options.js';
import { SPEND_BYS, type SpendBy, type SpendReport, type SpendRow } from '../../fleet/spend/report.js';
import { resolvePaths } from '../../lib/paths.js';
import { sanitizeLine } from '../../lib/sanitize.js';
import { describeCause } from '../../lib/errors.js';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * `--since`: a duration back from now (`90m`, `12h`, `7d`, `2w`; units s m h d w) or an ISO
 * date/time (`2026-12-01`, `2026-12-06T08:00:00Z`; a bare date is local midnight). Returns unix ms.
 */
export function parseSince(value: string, now = Date.now()): number {
  const d = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(value.trim());
  if (d) return now - Number(d[1]) * (UNITS[d[2] ?? ''] ?? 1) * 1000;
  const bareDate = /^\d{4}-\d{2}-\d{2}$/.test(value.trim());
  const t = bareDate ? new Date(`${value.trim()}T00:00:00`).getTime() : Date.parse(value);
  if (!Number.isFinite(t)) throw new InvalidArgumentError(`expected a duration (90m, 12h, 7d) or an ISO date/time, got "${value}"`);
  return t;
}

function todayMidnight(now = Date.now()): number {
  const d = new Date(now);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

function fmtTokens(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

function fmtCost(row: SpendRow): string {
  if (row.costUsd === null) return row.tokens.total ? 'unpriced' : '-';
  return `$${row.costUsd.toFixed(2)}${row.unpricedModels.length ? '+' : ''}`;
}

/** The report as a plain table (sanitized: keys come from records and the backlog). */
export function renderSpendTable(r: SpendReport): string {
  const head = ['KEY', 'RUNTIME', 'INPUT', 'OUTPUT', 'CACHE-R', 'CACHE-W', 'TOTAL', 'COST', 'REQ', 'SESS'];
  const card = r.rows.some((x) => x.projectedTokens !== undefined);
  if (card) head.push('PROJECTED');
  const line = (x: SpendRow, key: string) => {
    const cells = [
      key,
      x.runtime || '-',
      ...[x.tokens.input, x.tokens.output, x.tokens.cacheRead, x.tokens.cacheWrite, x.tokens.total].map(fmtTokens),
      fmtCost(x),
      String(x.requests),
      String(x.sessions),
    ];
    if (card) cells.push(x.projectedTokens === undefined || x.projectedTokens === null ? '-' : fmtTokens(x.projectedTokens));
    return cells;
  };
  const rows = [head, ...r.rows.map((x) => line(x, sanitizeLine(x.key))), line(r.total, 'TOTAL')];
  if (r.unattributed.requests) rows.push(line(r.unattributed, 'unattributed'));
  const widths = head.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  const out = rows.map((row) =>
    row
      .map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
  out.unshift(`spend ${r.since} .. ${r.until}`);
  for (const why of r.unattributed.reasons) out.push(`unattributed: ${sanitizeLine(why)}`);
  const unpriced = [...new Set([...r.total.unpricedModels, ...r.unattributed.unpricedModels])];
  if (unpriced.length) out.push(`no price for: ${unpriced.map(sanitizeLine).join(', ')} (tokens counted; prices in <home>/fleet/prices.yaml)`);
  for (const q of r.quota) {
    const at = q.resetsAt ? ` resets ${q.resetsAt}` : '';
    const proj = q.projectedPercentAtReset === null ? '' : `, ${q.elapsedPercent}% of the window elapsed, ${q.projectedPercentAtReset}% by reset`;
    out.push(`quota ${sanitizeLine(q.agent)} ${q.window}: ${q.usedPercent}% used${proj}${at}: pace ${q.pace}${q.pace === 'over' ? ' (OVER-PACE)' : ''}`);
  }
  return out.join('\n') + '\n';
}

/** Registers `mosaic-top spend`. */
export function registerSpendCommand(program: Command): void {
  program
    .command('spend')
    .description("tokens and cost per agent, card, runtime, model or day, from the runtimes' own records (read-only)")
    .addOption(new Option('--by <what>', 'group rows by').choices([...SPEND_BYS]).default('agent'))
    .option('--agent <name>', 'only this agent')
    .option('--card <id>', "only the tokens spent inside this card's claims")
    .addOption(
      new Option('--since <when>', 'from: a duration back (90m, 12h, 7d) or an ISO date/time (default: local midnight today)').argParser((v) => parseSince(v)),
    )
    .option('--json', 'print mosaic-top/spend@1 JSON')
    .action(async (_o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals() as GlobalOptions & { json?: boolean };
      const o = cmd.opts() as { by: SpendBy; agent?: string; card?: string; since?: number; json?: boolean };
      const paths = resolvePaths({ mosaicHome: g.mosaicHome, roster: g.roster });
      let client = null;
      try {
        const { collectSpendReport } = await import('../snapshot/spend-report.js');
        if (o.by === 'card' || o.card) {
          const { openBacklog } = await import('../../backlog/client.js');
          client = await openBacklog(paths, { create: false });
        }
        const { report, problems } = await collectSpendReport(paths, {
          by: o.by,
          since: o.since ?? todayMidnight(),
          agent: o.agent,
          card: o.card,
          backlog: client,
        });
        for (const p of problems) process.stderr.write(`mosaic-top spend: ${sanitizeLine(p)}\n`);
        process.stdout.write(o.json || g.json ? `${JSON.stringify(report, null, 2)}\n` : renderSpendTable(report));
      } catch (error) {
        process.stderr.write(`mosaic-top spend: ${sanitizeLine(describeCause(error))}\n`);
        process.exitCode = 1;
      } finally {
        await client?.close().catch(() => {});
      }
    });
}
