/**
 * Transitions (docs/transitions.md): every readiness change and every flag raised or cleared, per agent
 * and for the fleet, computed from two consecutive snapshots. Pure: snapshots in, transitions
 * out; no clock, no I/O. Generic over readiness words and flag names — a new readiness
 * (`waiting`, `stuck`) or flag (`LIMITED`, `NEEDS-RESTART`) needs no change here; which of
 * them deserve the operator's attention is data ({@link DEFAULT_ATTENTION}).
 *
 * The first snapshot is a baseline: {@link diffSnapshots} with `prev = null` yields nothing.
 * An agent that appears in the roster later is a baseline of its own (no transition); one that
 * leaves the roster yields nothing either.
 */
import type { AgentRow, Snapshot } from '../snapshot/types.js';

/** Version tag of one transition object (NDJSON line of `events --json` and of the history file). */
export const TRANSITION_SCHEMA = 'mosaic-top/transition@1' as const;

/**
 * One transition. `kind: 'readiness'`: `from` → `to` are readiness words. `kind: 'flag'`:
 * `flag` was raised (`from: null, to: <flag>`) or cleared (`from: <flag>, to: null`).
 * `scope: 'fleet'` transitions (PAUSED, FLOOR, IDLE-WITH-WORK…) carry `agent: null`.
 */
export interface Transition {
  schema: typeof TRANSITION_SCHEMA;
  kind: 'readiness' | 'flag';
  scope: 'agent' | 'fleet';
  /** Agent name; null for a fleet transition. */
  agent: string | null;
  /** The roster's `host:` of the agent (null = this host); for the fleet, the observing host. */
  host: string | null;
  from: string | null;
  to: string | null;
  /** The flag's name (kind `flag` only). */
  flag?: string;
  /** `raised` or `cleared` (kind `flag` only). */
  change?: 'raised' | 'cleared';
  /** ISO-8601 time of the snapshot that showed the change (the observer's clock). */
  at: string;
  /** The signals behind the new state (the row's evidence, or the flag's own lines). */
  evidence: string[];
  /** True when the transition goes INTO an attention state (see {@link isAttentionState}). */
  attention: boolean;
}

/**
 * Readiness words and flag names whose arrival needs a human (docs/transitions.md): a transition into one
 * of these notifies. Words of states another build does not produce are simply never met.
 */
export const DEFAULT_ATTENTION: ReadonlySet<string> = new Set([
  'dead',
  'stale',
  'waiting',
  'stuck',
  'FLOOR',
  'EXPIRED-CLAIM',
  'NEEDS-RESTART',
  'LIMITED',
  'AUTH',
  'RULES-STALE',
]);

/** True when `state` (a readiness word or a flag name) is in the attention set. */
export function isAttentionState(state: string | null, attention: ReadonlySet<string> = DEFAULT_ATTENTION): boolean {
  return state !== null && attention.has(state);
}

/**
 * A fleet-wide flag: its name and a test returning the evidence lines while it is raised,
 * null while it is not. A table, so a new fleet flag is one more entry.
 */
export interface FleetFlagProbe {
  flag: string;
  raised: (snapshot: Snapshot) => string[] | null;
}

/** Shape some builds give the fleet summary: named flags with evidence (IDLE-WITH-WORK, LINGER…). */
interface FleetWithFlags {
  flags?: unknown;
}

/**
 * The fleet flags observed: PAUSED (`<run>/PAUSED` or the store's pause), FLOOR (the profile's floor
 * is broken), IDLE-WITH-WORK (upstream NS-3), LEAD (more than one lead), LINGER (lingering off), and any name listed in a `fleet.flags` array (strings, or `{flag|name, evidence}`)
 * where the snapshot carries one.
 */
export const FLEET_FLAG_PROBES: readonly FleetFlagProbe[] = [
  {
    flag: 'PAUSED',
    raised: (s) =>
      s.fleet.paused
        ? [
            `PAUSED${s.fleet.paused.by ? ` by ${s.fleet.paused.by}` : ''}${s.fleet.paused.at ? ` at ${s.fleet.paused.at}` : ''}${s.fleet.paused.reason ? `: ${s.fleet.paused.reason}` : ''}`,
          ]
        : null,
  },
  { flag: 'FLOOR', raised: (s) => (s.fleet.floor && !s.fleet.floor.ok ? [s.fleet.floor.reason ?? 'floor broken'] : null) },
  {
    flag: 'IDLE-WITH-WORK',
    raised: (s) => {
      const idle = s.fleet.idleWithWork;
      return idle ? [`${idle.agents.join(', ')} available while ${idle.readyCards} claimable card(s) wait (next ${idle.nextCard})`] : null;
    },
  },
  { flag: 'LEAD', raised: (s) => (s.fleet.lead?.problem ? [s.fleet.lead.problem] : null) },
  {
    flag: 'LINGER',
    raised: (s) =>
      s.fleet.flags?.includes('LINGER') ? [s.fleet.linger ? `lingering off for ${s.fleet.linger.user} (${s.fleet.linger.evidence})` : 'lingering off'] : null,
  },
];

function fleetFlags(snapshot: Snapshot, probes: readonly FleetFlagProbe[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const p of probes) {
    const ev = p.raised(snapshot);
    if (ev) out.set(p.flag, ev);
  }
  const extra = (snapshot.fleet as FleetWithFlags).flags;
  if (Array.isArray(extra)) {
    for (const f of extra) {
      if (typeof f === 'string')
        out.set(f, out.get(f) ?? [f]); // named flags the probes above do not know
      else if (f && typeof f === 'object') {
        const o = f as { flag?: unknown; name?: unknown; evidence?: unknown };
        const name = typeof o.flag === 'string' ? o.flag : typeof o.name === 'string' ? o.name : null;
        if (!name) continue;
        const ev = Array.isArray(o.evidence)
          ? o.evidence.filter((e): e is string => typeof e === 'string')
          : typeof o.evidence === 'string'
            ? [o.evidence]
            : [name];
        out.set(name, ev);
      }
    }
  }
  return out;
}

/** Evidence lines of `flag` in an agent's evidence (`FLAG: …` by convention), else the flag's name. */
function flagEvidence(agent: AgentRow, flag: string): string[] {
  const own = agent.evidence.filter((e) => e.startsWith(`${flag}:`) || e.startsWith(`${flag} `));
  return own.length ? own : [flag];
}

/** True when the two flag lists hold the same names in the same order (the common case: nothing changed). */
function sameFlags(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** An agent's flags with their evidence lines, in first-seen order. */
function agentFlags(agent: AgentRow): Map<string, string[]> {
  const flags = new Map<string, string[]>();
  for (const f of agent.flags as readonly string[]) if (!flags.has(f)) flags.set(f, flagEvidence(agent, f));
  return flags;
}

/** Options of {@link diffSnapshots}. */
export interface DiffOptions {
  /** Attention set (default {@link DEFAULT_ATTENTION}). */
  attention?: ReadonlySet<string>;
  /** Fleet flag probes (default {@link FLEET_FLAG_PROBES}). */
  fleetFlags?: readonly FleetFlagProbe[];
}

function flagTransitions(
  base: Omit<Transition, 'kind' | 'from' | 'to' | 'flag' | 'change' | 'evidence' | 'attention'>,
  before: Map<string, string[]>,
  after: Map<string, string[]>,
  attention: ReadonlySet<string>,
): Transition[] {
  const out: Transition[] = [];
  for (const [flag, evidence] of after) {
    if (!before.has(flag)) out.push({ ...base, kind: 'flag', from: null, to: flag, flag, change: 'raised', evidence, attention: attention.has(flag) });
  }
  for (const flag of before.keys()) {
    if (!after.has(flag)) out.push({ ...base, kind: 'flag', from: flag, to: null, flag, change: 'cleared', evidence: [`${flag} cleared`], attention: false });
  }
  return out;
}

/**
 * The transitions between `prev` and `next` (docs/transitions.md), in roster order, readiness before
 * flags, fleet transitions last. `prev = null` (the first snapshot after start-up) is a
 * baseline and yields `[]`. Agents are matched by name (the row at the same index when name
 * and host agree, else the last row of that name); `at` is `next.generatedAt`. An agent whose
 * readiness and flags (same names, same order) did not change costs two compares: no
 * evidence is read and nothing is allocated for it. Pure and total: never throws on
 * well-formed snapshots.
 */
export function diffSnapshots(prev: Snapshot | null, next: Snapshot, opts: DiffOptions = {}): Transition[] {
  if (!prev) return [];
  const attention = opts.attention ?? DEFAULT_ATTENTION;
  const probes = opts.fleetFlags ?? FLEET_FLAG_PROBES;
  const at = next.generatedAt;
  const out: Transition[] = [];
  const previous = previousRows(prev.agents);
  next.agents.forEach((agent, i) => {
    const old = previous(agent, i);
    // New in the roster: its own baseline. The same row, or the same readiness and flags: no
    // transition, and nothing built (a 10,000-agent console diffs every snapshot).
    if (!old || old === agent) return;
    const flagsSame = sameFlags(old.flags, agent.flags);
    if (flagsSame && old.readiness === agent.readiness) return;
    const base = { schema: TRANSITION_SCHEMA, scope: 'agent' as const, agent: agent.name, host: agent.host, at };
    if (old.readiness !== agent.readiness) {
      out.push({ ...base, kind: 'readiness', from: old.readiness, to: agent.readiness, evidence: agent.evidence, attention: attention.has(agent.readiness) });
    }
    if (!flagsSame) out.push(...flagTransitions(base, agentFlags(old), agentFlags(agent), attention));
  });
  const fleetBase = { schema: TRANSITION_SCHEMA, scope: 'fleet' as const, agent: null, host: next.host, at };
  out.push(...flagTransitions(fleetBase, fleetFlags(prev, probes), fleetFlags(next, probes), attention));
  return out;
}

/**
 * Finds an agent's row in the previous snapshot: the row at the same index when it has the same
 * name and host (the roster's order held: no lookup table built), else the last row of that
 * name, through a name index made on the first miss.
 */
function previousRows(rows: readonly AgentRow[]): (agent: AgentRow, index: number) => AgentRow | undefined {
  let byName: Map<string, AgentRow> | null = null;
  return (agent, index) => {
    const same = rows[index];
    if (same && same.name === agent.name && same.host === agent.host) return same;
    if (!byName) {
      byName = new Map();
      for (const a of rows) byName.set(a.name, a);
    }
    return byName.get(agent.name);
  };
}

/** Short label of a transition's subject: the agent (`coder1`, `coder1@gpu2`) or `fleet`. */
export function transitionSubject(t: Pick<Transition, 'scope' | 'agent' | 'host'>): string {
  if (t.scope === 'fleet' || t.agent === null) return 'fleet';
  return t.host ? `${t.agent}@${t.host}` : t.agent;
}

/** The change in words: `working → dead`, `+EXPIRED-CLAIM`, `-PAUSED`. */
export function transitionChange(t: Pick<Transition, 'kind' | 'from' | 'to' | 'flag' | 'change'>): string {
  if (t.kind === 'flag') return `${t.change === 'cleared' ? '-' : '+'}${t.flag ?? t.to ?? t.from}`;
  return `${t.from ?? '?'} → ${t.to ?? '?'}`;
}

/** The state a transition moved INTO, for notify arguments and damping keys (`dead`, `EXPIRED-CLAIM`, `-PAUSED` for a clear). */
export function transitionTarget(t: Pick<Transition, 'kind' | 'to' | 'flag' | 'change'>): string {
  if (t.kind === 'flag') return t.change === 'cleared' ? `-${t.flag}` : (t.flag ?? String(t.to));
  return String(t.to);
}
