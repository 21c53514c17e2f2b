/**
 * Fleet-wide rules from upstream's north star, over one snapshot's rows (pure functions):
 * - the floor (AC-NS-1; per profile, fleet/profile.ts): each floor class has at least its
 *   minimum of agents working or available;
 * - one lead: upstream's fleets have exactly one orchestrator (the profile's lead class);
 * - movement (NS-3, "no idle agent while ready, dependency-satisfied work exists"):
 *   IDLE-WITH-WORK when an agent that takes cards is available, holds no claim, and the backlog
 *   has a claimable card.
 */
import type { FleetProfile } from './profile.js';
import type { Readiness } from './types.js';

/** One floor class as evaluated. */
export interface FloorClassReport {
  class: string;
  min: number;
  /** Agents of the class that are working or available. */
  up: number;
}

/** The floor of a fleet (snapshot `fleet.floor`). */
export interface FloorReport {
  ok: boolean;
  /** Profile id (`default` = upstream's two-agent floor). */
  profile: string;
  /** The lead class of the profile, or null. */
  lead: string | null;
  required: FloorClassReport[];
  /** Working or available orchestrators / enhancers (kept for the default profile's summary). */
  orchestrators: number;
  enhancers: number;
  /** `floor broken: …` naming every class short of its minimum, or null when ok. */
  reason: string | null;
}

const up = (r: Readiness): boolean => r === 'working' || r === 'available';

/** Evaluates `profile`'s floor over the agents (class, readiness). Pure. */
export function evaluateFloor(agents: readonly { class: string | null; readiness: Readiness }[], profile: FleetProfile): FloorReport {
  const count = (cls: string) => agents.filter((a) => a.class === cls && up(a.readiness)).length;
  const required = profile.floor.map((f) => ({ class: f.class, min: f.min, up: count(f.class) }));
  const short = required.filter((r) => r.up < r.min);
  const missing = short.map((r) => (r.min === 1 ? `no ${r.class} working or available` : `${r.up} of ${r.min} ${r.class} working or available`));
  return {
    ok: short.length === 0,
    profile: profile.id,
    lead: profile.lead,
    required,
    orchestrators: count('orchestrator'),
    enhancers: count('enhancer'),
    reason: missing.length ? `floor broken: ${missing.join(', ')}` : null,
  };
}

/**
 * Upstream's "exactly one orchestrator": the roster agents of the lead class, and a message when
 * there are more than one (null otherwise, and when the profile has no lead). Pure.
 */
export function leadProblem(agents: readonly { name: string; class: string | null }[], lead: string | null): { agents: string[]; message: string | null } {
  if (!lead) return { agents: [], message: null };
  const leads = agents.filter((a) => a.class === lead).map((a) => a.name);
  return {
    agents: leads,
    message: leads.length > 1 ? `${leads.length} agents of class ${lead} (${leads.join(', ')}): upstream runs exactly one ${lead}` : null,
  };
}

/** The movement signal (snapshot `fleet.idleWithWork`). */
export interface IdleWithWork {
  /** Available agents with no claim that could take a card. */
  agents: string[];
  /** Claimable cards seen (ready with every dependency done; at most the snapshot's top list). */
  readyCards: number;
  /** The card a claim would get next. */
  nextCard: string;
}

/**
 * NS-3: agents that are `available`, hold no claim and take cards (every class but the lead,
 * which dispatches), while claimable cards exist (`ready`: the backlog's claimable cards, best
 * first). Null when there is no such agent or card, when the fleet is paused (idle is then what
 * the operator asked for), or when the backlog was not read. Pure.
 */
export function idleWithWork(
  agents: readonly { name: string; class: string | null; readiness: Readiness; claim: unknown }[],
  ready: readonly { id: string }[] | null,
  opts: { lead: string | null; paused: boolean },
): IdleWithWork | null {
  const next = ready?.[0];
  if (opts.paused || !next) return null;
  const idle = agents.filter((a) => a.readiness === 'available' && !a.claim && (opts.lead === null || a.class !== opts.lead)).map((a) => a.name);
  if (!idle.length) return null;
  return { agents: idle, readyCards: ready.length, nextCard: next.id };
}
