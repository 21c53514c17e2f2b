/**
 * Which tmux socket an operator action targets: the agent is looked up in the roster (spec §2),
 * never guessed. Owner: actions.
 */
import { loadRoster, rosterErrorSummary, type RosterAgent } from '../../fleet/roster.js';
import type { MosaicPaths } from '../paths.js';

/** An agent an action may target. */
export interface AgentTarget {
  agent: string;
  /** tmux socket (per-agent override, else the roster's socket_name); null = default socket (no -L). */
  socket: string | null;
  roster: RosterAgent;
}

/**
 * Finds `agent` in the roster at `paths.roster`. Returns the target, or `{ error }` with a
 * clear reason: the roster does not load (its file:line:column errors), the agent is unknown
 * (the known names are listed), or the agent lives on another host (remote actions over ssh are
 * not supported here). Never throws.
 */
export function resolveAgentTarget(paths: MosaicPaths, agent: string): AgentTarget | { error: string } {
  const loaded = loadRoster(paths.roster);
  if (!loaded.ok) return { error: `roster does not load: ${rosterErrorSummary(loaded.errors, false)}` };
  const found = loaded.roster.agents.find((a) => a.name === agent);
  if (!found) {
    const names = loaded.roster.agents.map((a) => a.name);
    const known = names.length ? `known agents: ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', …' : ''}` : 'the roster has no agents';
    return { error: `unknown agent "${agent}" in roster ${paths.roster} (${known})` };
  }
  if (found.host) {
    return { error: `agent "${agent}" lives on host ${found.host}; actions on remote agents are not supported by mosaic-top (use ssh ${found.ssh ?? found.host})` };
  }
  return { agent, socket: found.socket, roster: found };
}
