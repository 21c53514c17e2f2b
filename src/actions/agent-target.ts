/**
 * Which tmux server an operator action targets: the agent is looked up in the roster,
 * never guessed — its socket here, or its host's tmux over ssh. Owner: actions.
 */
import type { TmuxServer } from '../../fleet/exec.js';
import { isLocalHost, remoteTmux, sshTarget } from '../../fleet/ssh.js';
import { loadRoster, rosterErrorSummary, type RosterAgent } from '../../fleet/roster.js';
import type { MosaicPaths } from '../../lib/paths.js';

/** An agent an action may target. */
export interface AgentTarget {
  agent: string;
  /** tmux socket (per-agent override, else the roster's socket_name); null = default socket (no -L). */
  socket: string | null;
  /** Where its tmux commands go: the local socket, or its host's tmux over ssh (see {@link agentTmuxServer}). */
  server: TmuxServer;
  roster: RosterAgent;
}

/**
 * The tmux server of an agent (a roster entry or a snapshot row): its socket here, or — with a
 * `host:` that is not this host — that host's tmux over ssh (`ssh:` else `host:` as the
 * target, the ControlMaster in the local run dir shared with the snapshot probes, `MOSAIC_SSH*`
 * from `env`). Pure.
 */
export function agentTmuxServer(
  agent: { socket: string | null; host: string | null; ssh?: string | null },
  paths: MosaicPaths,
  env: NodeJS.ProcessEnv = process.env,
): TmuxServer {
  if (!agent.host || isLocalHost(agent.host)) return agent.socket;
  return remoteTmux({ target: sshTarget(agent), host: agent.host, socket: agent.socket, controlDir: paths.runDir, env });
}

/**
 * Finds `agent` in the roster at `paths.roster`. Returns the target (for an agent of another
 * host, its tmux over ssh: {@link agentTmuxServer}), or `{ error }` with a clear reason: the
 * roster does not load (its file:line:column errors) or the agent is unknown (the known names
 * are listed). Never throws.
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
  return { agent, socket: found.socket, server: agentTmuxServer(found, paths), roster: found };
}
