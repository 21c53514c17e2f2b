/**
 * `/metrics` of `mosaic-top serve`: the snapshot as Prometheus text format 0.0.4, written here
 * (label values escaped as the format says; the tests run `promtool check metrics` on a scrape
 * and a real Prometheus scrapes it). Not prom-client: its per-sample label hashing took several
 * times longer at 1,000 agents than this writer, beyond the 20 ms scrape budget. Names and labels
 * (fleet-console.md §17):
 * - `mosaic_agent_readiness{agent,class,runtime,host,readiness}`: 1, one series per agent, for
 *   its current readiness (a change of readiness ends the old series: Prometheus marks it stale);
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
import type { AgentRow } from '../snapshot/types.js';
import type { HubTick } from './hub.js';

/** The content type of the text format 0.0.4. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** One metric family being written: its samples as text lines. */
interface Family {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  lines: string[];
}

/** A label value in the text format: backslash, double quote and line feed escaped. Pure. */
export function escapeLabelValue(value: string): string {
  if (!/[\\"\n]/.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A sample value in the text format (`NaN`, `+Inf`, `-Inf` spelled as Prometheus reads them). Pure. */
function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function sample(f: Family, labels: Record<string, string> | null, value: number): void {
  const l = labels
    ? `{${Object.entries(labels)
        .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
        .join(',')}}`
    : '';
  f.lines.push(`${f.name}${l} ${formatValue(value)}`);
}

function family(name: string, type: Family['type'], help: string): Family {
  return { name, type, help, lines: [] };
}

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

/** The families, in the order they are written. */
function families() {
  return {
    readiness: family('mosaic_agent_readiness', 'gauge', "1 for the agent's current readiness (one series per agent)"),
    heartbeatAge: family('mosaic_agent_heartbeat_age_seconds', 'gauge', "Age of the agent's last heartbeat"),
    flag: family('mosaic_agent_flag', 'gauge', 'A flag raised on the agent (1)'),
    cards: family('mosaic_backlog_cards', 'gauge', 'Backlog cards by status'),
    paused: family('mosaic_fleet_paused', 'gauge', '1 while the fleet is paused'),
    transitions: family('mosaic_transitions_total', 'counter', 'Transitions observed since start, by the state entered'),
    duration: family('mosaic_snapshot_duration_seconds', 'gauge', 'Wall time of the last snapshot'),
    spendTokens: family('mosaic_spend_tokens_total', 'counter', 'Tokens spent today by the agent, by kind (spend meter)'),
    spendCost: family('mosaic_spend_cost_usd_total', 'counter', 'USD spent today by the agent (spend meter; priced models only)'),
    quota: family('mosaic_quota_used_percent', 'gauge', "Used percent of the agent's subscription window"),
  };
}

function setSpend(f: ReturnType<typeof families>, agent: AgentRow): void {
  const spend = (agent as AgentRow & { spend?: SpendLike | null }).spend;
  if (!spend || typeof spend !== 'object') return;
  for (const kind of TOKEN_KINDS) {
    const n = finite(spend.tokens?.[kind]);
    if (n !== null && n >= 0) sample(f.spendTokens, { agent: agent.name, kind }, n);
  }
  const cost = finite(spend.costUsd);
  if (cost !== null && cost >= 0) sample(f.spendCost, { agent: agent.name }, cost);
  if (Array.isArray(spend.quota))
    for (const q of spend.quota as unknown as Array<Record<string, unknown>>) {
      const used = finite(q?.usedPercent);
      if (used !== null && typeof q.window === 'string') sample(f.quota, { agent: agent.name, window: q.window }, used);
    }
}

/** Fills fresh families from `tick` and the transition counts. */
function fill(f: ReturnType<typeof families>, tick: HubTick, counts: ReadonlyMap<string, number>): void {
  const { snapshot } = tick;
  for (const a of snapshot.agents) {
    sample(f.readiness, { agent: a.name, class: a.class ?? '', runtime: a.runtime, host: a.host ?? snapshot.host, readiness: a.readiness }, 1);
    if (a.heartbeat) sample(f.heartbeatAge, { agent: a.name }, a.heartbeat.ageSeconds);
    for (const flag of a.flags) sample(f.flag, { agent: a.name, flag }, 1);
    setSpend(f, a);
  }
  const counts0 = snapshot.backlog?.stats?.counts;
  if (counts0) for (const [status, n] of Object.entries(counts0)) sample(f.cards, { status }, n);
  sample(f.paused, null, snapshot.fleet.paused ? 1 : 0);
  for (const [to, n] of counts) sample(f.transitions, { to }, n);
  sample(f.duration, null, tick.durationSeconds);
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
    const f = families();
    if (tick) fill(f, tick, counts);
    // HELP texts are ours (no backslash or line feed to escape).
    cached = Object.values(f)
      .map((x) => `# HELP ${x.name} ${x.help}\n# TYPE ${x.name} ${x.type}\n${x.lines.map((l) => `${l}\n`).join('')}`)
      .join('');
    cacheKey = key;
    return cached;
  };
}
