/**
 * Spend in the snapshot: `agents[].spend` and `fleet.spend` (today, local time), the flags
 * `OVER-PACE` (a subscription window will run out before it resets) and `OVER-BUDGET` (roster
 * `budget:`), from the spend meter (fleet/spend/meter.ts). Shape documented in
 * schema/snapshot.schema.json and docs/spend.md; `mosaic-top serve`'s /metrics reads it:
 *
 * ```json
 * "spend": { "tokens": {"input","output","cacheRead","cacheWrite","reasoning","total"},
 *            "costUsd": 1.23 | null, "since": "<ISO local midnight>", "unpricedModels": [],
 *            "quota": [{"agent","runtime","window","windowMinutes","usedPercent","resetsAt",
 *                       "elapsedPercent","projectedPercentAtReset","pace"}] }
 * ```
 */
import { messageOf } from '../../lib/errors.js';
import path from 'node:path';
import { agentBudget, BudgetCache, overBudget } from '../../fleet/spend/budget.js';
import { SpendMeter, type MeterAgent } from '../../fleet/spend/meter.js';
import { buildSpendReport, type Pace, type QuotaRow, type ReportFile, type SpendRow } from '../../fleet/spend/report.js';
import type { ProcessTree } from '../../fleet/proc.js';
import type { MosaicPaths } from '../../lib/paths.js';
import type { PriceBook } from '../../fleet/spend/prices.js';
import type { AgentSpend, CardSpend, Snapshot } from './types.js';

/**
 * State kept across ticks: the meter (ledger, prices) and the roster budgets. `watch`: read
 * through directory watches (the console with push on: a tick where no record changed touches
 * no file, fleet/spend/meter-reads.ts); {@link close} it then.
 */
export class SnapshotSpend {
  readonly meter: SpendMeter;
  readonly budgets: BudgetCache;
  /** The files of the last refresh (the spend view reads them). */
  lastFiles: ReportFile[] = [];
  /**
   * The spend of an agent without records or quota today, one object per day (`since`) for every
   * such agent of every snapshot: never changed once built, so a tick compares it by identity.
   */
  private none: { since: string; spend: AgentSpend } | null = null;

  constructor(paths: MosaicPaths, opts: { cache?: boolean; watch?: boolean } = {}) {
    this.meter = new SpendMeter(paths.runDir, path.join(paths.mosaicHome, 'fleet', 'prices.yaml'), opts);
    this.budgets = new BudgetCache(paths.roster, this.meter.reads);
  }

  /** {@link spendOf} of no row and no quota since `since` (ISO): the same object while `since` is. */
  noSpend(since: string): AgentSpend {
    if (this.none?.since !== since) this.none = { since, spend: spendOf(undefined, since, []) };
    return this.none.spend;
  }

  /** Stops the meter's watches. Idempotent. */
  close(): void {
    this.meter.close();
  }
}

/** Local midnight of the day holding `now` (unix ms). */
export function localMidnight(now: number): number {
  const d = new Date(now);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

function spendOf(row: SpendRow | undefined, since: string, quota: QuotaRow[]): AgentSpend {
  return {
    tokens: row ? { ...row.tokens } : { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0, total: 0 },
    costUsd: row ? row.costUsd : null,
    since,
    unpricedModels: row ? row.unpricedModels : [],
    quota,
  };
}

/**
 * Spend of each claimed card's current claim (the snapshot's backlog section: owner and claim
 * time): the owner's requests from the claim to now. Cards of remote agents and claims without a
 * readable time are left out.
 */
export function claimedCardSpend(snapshot: Snapshot, files: readonly ReportFile[], prices: PriceBook, now: number): CardSpend[] {
  const claimed = snapshot.backlog?.claimed ?? [];
  if (!claimed.length) return [];
  const local = new Set(snapshot.agents.filter((a) => !a.ssh).map((a) => a.name));
  const out: CardSpend[] = [];
  for (const c of claimed) {
    const from = Date.parse(c.claimedAt);
    if (!local.has(c.owner) || !Number.isFinite(from)) continue;
    const claims = [{ card: c.id, agent: c.owner, from, to: null }];
    const r = buildSpendReport(files, { by: 'card', since: from, until: now, prices, claims, card: c.id });
    out.push({ card: c.id, agent: c.owner, since: new Date(from).toISOString(), tokens: r.total.tokens, costUsd: r.total.costUsd, requests: r.total.requests });
  }
  return out;
}

const PACE_RANK: Record<Pace, number> = { under: 0, on: 1, over: 2 };

/**
 * Adds spend to `snapshot` (mutated): per local agent, the fleet total, the flags. `tree` is
 * this tick's process tree (null when no pane is live). Never throws: a failure lands in
 * `probes.spend` and `errors`.
 */
export function attachSpend(snapshot: Snapshot, state: SnapshotSpend, tree: ProcessTree | null, now: number): void {
  const started = performance.now();
  try {
    const since = localMidnight(now);
    const sinceIso = new Date(since).toISOString();
    const agents: MeterAgent[] = snapshot.agents
      .filter((a) => !a.ssh)
      .map((a) => ({ name: a.name, runtime: a.runtime, panePid: a.pane && !a.pane.dead ? a.pane.pid : null }));
    const files = state.meter.refresh(agents, { now, since, tree });
    state.lastFiles = files;
    const prices = state.meter.prices();
    const report = buildSpendReport(files, { by: 'agent', since, until: now, prices });
    const rows = new Map(report.rows.map((r) => [r.key, r]));
    const budgets = state.budgets.get();
    for (const a of snapshot.agents) {
      if (a.ssh) continue;
      const quota = report.quota.filter((q) => q.agent === a.name);
      const row = rows.get(a.name);
      a.spend = row || quota.length ? spendOf(row, sinceIso, quota) : state.noSpend(sinceIso);
      const over = quota.filter((q) => q.pace === 'over');
      if (over.length && !a.flags.includes('OVER-PACE')) {
        a.flags.push('OVER-PACE');
        for (const q of over)
          a.evidence.push(`${q.window} window ${q.usedPercent}% used at ${q.elapsedPercent}% elapsed: ${q.projectedPercentAtReset}% by reset`);
      }
      const why = overBudget(agentBudget(budgets, a.name, a.class), a.spend.costUsd, a.spend.tokens.total);
      if (why && !a.flags.includes('OVER-BUDGET')) {
        a.flags.push('OVER-BUDGET');
        a.evidence.push(why);
      }
    }
    const worst = report.quota.reduce<Pace | null>((w, q) => (w === null || PACE_RANK[q.pace] > PACE_RANK[w] ? q.pace : w), null);
    const fleetOver = overBudget(budgets.fleet, report.total.costUsd, report.total.tokens.total);
    snapshot.fleet.spend = {
      ...spendOf(report.total, sinceIso, report.quota),
      unattributed: { tokens: report.unattributed.tokens, costUsd: report.unattributed.costUsd, reasons: report.unattributed.reasons },
      worstPace: worst,
      overBudget: fleetOver,
      cards: claimedCardSpend(snapshot, files, prices, now),
    };
    if (fleetOver) snapshot.fleet.flags = [...(snapshot.fleet.flags ?? []).filter((f) => f !== 'OVER-BUDGET'), 'OVER-BUDGET'];
    const problems = [...state.meter.errors, ...budgets.errors, ...(prices.error ? [prices.error] : [])];
    snapshot.probes.spend = { ok: problems.length === 0, durationMs: performance.now() - started, error: problems[0] ?? null };
    for (const p of problems.slice(0, 3)) snapshot.errors.push(`spend: ${p}`);
  } catch (error) {
    snapshot.probes.spend = { ok: false, durationMs: performance.now() - started, error: messageOf(error) };
    snapshot.errors.push(`spend: ${messageOf(error)}`);
  }
}
