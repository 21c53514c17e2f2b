/**
 * One spend report for the CLI (`mosaic-top spend`, `backlog show`, `backlog complete`): the
 * fleet's agents as the snapshot sees them (runtime, live pane), this host's process table
 * (where each runtime writes), the spend meter's ledger in the run dir, the backlog's claims
 * when cards matter. Read-only.
 */
import path from 'node:path';
import type { BacklogClient } from '../../backlog/verbs.js';
import { readProcessTree } from '../../fleet/proc.js';
import { SpendMeter } from '../../fleet/spend/meter.js';
import { buildSpendReport, claimIntervals, type ClaimInterval, type SpendBy, type SpendReport } from '../../fleet/spend/report.js';
import type { MosaicPaths } from '../../lib/paths.js';
import { collectSnapshot } from './collect.js';

/** Options of {@link collectSpendReport}. */
export interface SpendQuery {
  by: SpendBy;
  /** Unix ms. */
  since: number;
  until?: number;
  agent?: string;
  card?: string;
  /** An open backlog client, needed for `by: 'card'` and `card` (claims, projected tokens). */
  backlog?: BacklogClient | null;
}

/** Claims of every card (or one) and projected tokens, from the backlog's events and cards. */
export async function cardClaims(client: BacklogClient, card?: string): Promise<{ claims: ClaimInterval[]; projected: Map<string, number | null> }> {
  const events = await client.events({ limit: 10_000, ...(card ? { cardId: card } : {}) });
  const claims = claimIntervals(events);
  const projected = new Map<string, number | null>();
  if (card) {
    const c = await client.get(card);
    projected.set(c.id, c.projectedTokens);
  } else for (const c of await client.list({})) projected.set(c.id, c.projectedTokens);
  return { claims, projected };
}

/**
 * Builds the report. Problems of the meter (unreadable files, a bad prices.yaml) come back in
 * `problems`, one line each; backlog errors are thrown (the caller maps them).
 */
export async function collectSpendReport(paths: MosaicPaths, q: SpendQuery): Promise<{ report: SpendReport; problems: string[] }> {
  const now = Date.now();
  const snapshot = await collectSnapshot({ paths, includeBacklog: false, readScreens: false });
  let tree: ReturnType<typeof readProcessTree> | null;
  try {
    tree = readProcessTree();
  } catch {
    tree = null; // no /proc: only the sources already recorded count
  }
  const meter = new SpendMeter(paths.runDir, path.join(paths.mosaicHome, 'fleet', 'prices.yaml'));
  const agents = snapshot.agents.filter((a) => !a.ssh).map((a) => ({ name: a.name, runtime: a.runtime, panePid: a.pane && !a.pane.dead ? a.pane.pid : null }));
  const files = meter.refresh(agents, { now, since: q.since, tree });
  const cards = q.backlog && (q.by === 'card' || q.card) ? await cardClaims(q.backlog, q.card) : null;
  const prices = meter.prices();
  const report = buildSpendReport(files, {
    by: q.by,
    since: q.since,
    until: q.until ?? now,
    prices,
    agent: q.agent,
    card: q.card,
    claims: cards?.claims,
    projected: cards?.projected,
  });
  const problems = [...meter.errors, ...(prices.error ? [prices.error] : [])];
  if (!snapshot.agents.length) problems.push(...snapshot.errors.slice(0, 1));
  return { report, problems };
}
