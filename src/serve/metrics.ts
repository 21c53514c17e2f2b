/**
 * `/metrics` of `mosaic-top serve`: the snapshot as Prometheus text format 0.0.4, through
 * prom-client (its registry writes the format; `promtool check metrics` passes on it). Names and
 * labels (fleet-console.md §17):
 * - `mosaic_agent_readiness{agent,class,runtime,host,readiness}`: one series per readiness word,
 *   1 for the agent's current one, 0 for the others (a state set);
 * - `mosaic_agent_heartbeat_age_seconds{agent}` (agents with a heartbeat);
 * - `mosaic_agent_flag{agent,flag}` (1 per raised flag);
 * - `mosaic_backlog_cards{status}` (when the backlog was read);
 * - `mosaic_fleet_paused` (1 or 0);
 * - `mosaic_transitions_total{to}`: transitions observed since start, by the state entered (a
 *   cleared flag: `cleared`);
 * - `mosaic_snapshot_duration_seconds`: wall time of the last snapshot;
 * - with the spend meter (`agents[].spend` in the snapshot): `mosaic_spend_tokens_total{agent,kind}`,
 *   `mosaic_spend_cost_usd_total{agent}`, `mosaic_quota_used_percent{agent,window}`.
 * The text is rendered once per snapshot and transition count, then served from cache.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { READINESS_ORDER, type AgentRow } from '../snapshot/types.js';
import type { HubTick } from './hub.js';

/** The content type prom-client writes (text format 0.0.4). */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Spend of an agent as the spend meter puts it in the snapshot; read defensively (another build may omit it). */
interface SpendLike {
  tokens?: Record<string, unknown>;
  costUsd?: unknown;
  quota?: unknown;
}

const TOKEN_KINDS = ['input', 'output', 'cacheRead', 'cacheWrite', 'reasoning'] as const;

function finite(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Metric families of one registry. */
function families(registry: Registry) {
  const r = [registry];
  return {
    readiness: new Gauge({
      name: 'mosaic_agent_readiness',
      help: "1 for the agent's current readiness, 0 for the others",
      labelNames: ['agent', 'class', 'runtime', 'host', 'readiness'],
      registers: r,
    }),
    heartbeatAge: new Gauge({ name: 'mosaic_agent_heartbeat_age_seconds', help: "Age of the agent's last heartbeat", labelNames: ['agent'], registers: r }),
    flag: new Gauge({ name: 'mosaic_agent_flag', help: 'A flag raised on the agent (1)', labelNames: ['agent', 'flag'], registers: r }),
    cards: new Gauge({ name: 'mosaic_backlog_cards', help: 'Backlog cards by status', labelNames: ['status'], registers: r }),
    paused: new Gauge({ name: 'mosaic_fleet_paused', help: '1 while the fleet is paused', registers: r }),
    transitions: new Counter({
      name: 'mosaic_transitions_total',
      help: 'Transitions observed since start, by the state entered',
      labelNames: ['to'],
      registers: r,
    }),
    duration: new Gauge({ name: 'mosaic_snapshot_duration_seconds', help: 'Wall time of the last snapshot', registers: r }),
    spendTokens: new Counter({
      name: 'mosaic_spend_tokens_total',
      help: 'Tokens spent today by the agent, by kind (spend meter)',
      labelNames: ['agent', 'kind'],
      registers: r,
    }),
    spendCost: new Counter({
      name: 'mosaic_spend_cost_usd_total',
      help: 'USD spent today by the agent (spend meter; priced models only)',
      labelNames: ['agent'],
      registers: r,
    }),
    quota: new Gauge({
      name: 'mosaic_quota_used_percent',
      help: "Used percent of the agent's subscription window",
      labelNames: ['agent', 'window'],
      registers: r,
    }),
  };
}

function setSpend(f: ReturnType<typeof families>, agent: AgentRow): void {
  const spend = (agent as AgentRow & { spend?: SpendLike | null }).spend;
  if (!spend || typeof spend !== 'object') return;
  for (const kind of TOKEN_KINDS) {
    const n = finite(spend.tokens?.[kind]);
    if (n !== null && n >= 0) f.spendTokens.inc({ agent: agent.name, kind }, n);
  }
  const cost = finite(spend.costUsd);
  if (cost !== null && cost >= 0) f.spendCost.inc({ agent: agent.name }, cost);
  if (Array.isArray(spend.quota))
    for (const q of spend.quota as Array<Record<string, unknown>>) {
      const used = finite(q?.usedPercent);
      if (used !== null && typeof q.window === 'string') f.quota.set({ agent: agent.name, window: q.window }, used);
    }
}

/** Fills a fresh registry from `tick` and the transition counts. */
function fill(f: ReturnType<typeof families>, tick: HubTick, counts: ReadonlyMap<string, number>): void {
  const { snapshot } = tick;
  for (const a of snapshot.agents) {
    const labels = { agent: a.name, class: a.class ?? '', runtime: a.runtime, host: a.host ?? snapshot.host };
    for (const r of READINESS_ORDER) f.readiness.set({ ...labels, readiness: r }, r === a.readiness ? 1 : 0);
    if (a.heartbeat) f.heartbeatAge.set({ agent: a.name }, a.heartbeat.ageSeconds);
    for (const flag of a.flags) f.flag.set({ agent: a.name, flag }, 1);
    setSpend(f, a);
  }
  const counts0 = snapshot.backlog?.stats?.counts;
  if (counts0) for (const [status, n] of Object.entries(counts0)) f.cards.set({ status }, n);
  f.paused.set(snapshot.fleet.paused ? 1 : 0);
  for (const [to, n] of counts) f.transitions.inc({ to }, n);
  f.duration.set(tick.durationSeconds);
}

/** Renders `/metrics` for the hub's ticks; caches the text per snapshot and transition count. */
export function createMetricsRenderer(): (tick: HubTick | null, counts: ReadonlyMap<string, number>) => Promise<string> {
  let cacheKey = '';
  let cached = '';
  return async (tick, counts) => {
    let total = 0;
    for (const n of counts.values()) total += n;
    const key = `${tick?.seq ?? 0}/${total}`;
    if (key === cacheKey) return cached;
    const registry = new Registry();
    const f = families(registry);
    if (tick) fill(f, tick, counts);
    cached = await registry.metrics();
    cacheKey = key;
    return cached;
  };
}
