/**
 * Which runtime configuration file wires each agent to the heartbeat protocol (`hooks install`
 * and `hooks status` plan the same way), and the agents those verbs act on. Reads the roster and
 * the agents' env files; writes nothing. docs/heartbeat.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readAgentEnv } from '../agent-env.js';
import type { HookCommandTarget } from '../hook-config.js';
import type { HookRuntime } from '../hook-events.js';
import { loadRoster, type RosterAgent } from '../roster.js';
import { messageOf } from '../../lib/errors.js';
import { expandHome } from '../../lib/paths.js';
import { sanitizeLine } from '../../lib/sanitize.js';
import { packageRoot } from '../../lib/version.js';

/** Roster runtime names ⇒ the runtime whose hooks we wire (null: none we know). */
export function hookRuntimeOf(runtime: string): HookRuntime | null {
  const r = runtime.trim().toLowerCase();
  if (r === 'claude' || r === 'claude-code' || r === 'claudecode') return 'claude';
  if (r === 'codex' || r === 'codex-cli') return 'codex';
  if (r === 'opencode' || r === 'opencode-ai') return 'opencode';
  if (r === 'pi' || r === 'pi-coding-agent') return 'pi';
  return null;
}

/**
 * Absolute paths the hooks call: node (process.execPath) and this package's `bin/mosaic-top`
 * (from the package root). Throws when the bin is not found.
 */
export function hookTarget(mosaicHome: string): HookCommandTarget {
  const bin = path.join(packageRoot(), 'bin', 'mosaic-top');
  if (!fs.existsSync(bin)) throw new Error(`${bin} not found: reinstall mosaic-top`);
  return { node: process.execPath, bin: fs.realpathSync(bin), mosaicHome };
}

/** One configuration file to write for one or more agents. */
export interface HookPlanItem {
  runtime: HookRuntime;
  agents: string[];
  file: string;
  /** Why this file (e.g. `working_directory`, `$HOME`, `CODEX_HOME`). */
  source: string;
}

/** An agent that gets no file, and why. */
export interface HookSkip {
  agent: string;
  why: string;
  /** True when the agent's configuration is wrong (a working directory that does not exist): `hooks install` exits 1. */
  refused?: boolean;
}

/** Where one agent's file is: the file and why, or the skip that says why there is none. */
type AgentFile = { file: string; source: string } | { skip: HookSkip };

/**
 * Claude's file for `agent`: `<workdir>/.claude/settings.json` (roster `working_directory`, else
 * `MOSAIC_AGENT_WORKDIR`), resolved against `mosaicHome`; a missing directory is refused; else
 * `$HOME/.claude/settings.json`.
 */
function claudeFile(agent: RosterAgent, agentEnv: Record<string, string>, home: string, mosaicHome: string): AgentFile {
  const wd = agent.workingDirectory ?? agentEnv.MOSAIC_AGENT_WORKDIR ?? null;
  if (!wd) return { file: path.join(home, '.claude', 'settings.json'), source: '$HOME (no working directory known)' };
  const source = agent.workingDirectory ? 'working_directory' : 'MOSAIC_AGENT_WORKDIR';
  const dir = path.resolve(mosaicHome, expandHome(wd, home));
  const problem = directoryProblem(dir);
  if (problem) return { skip: { agent: agent.name, why: `${source} ${dir} ${problem}: create it or fix the roster; nothing written`, refused: true } };
  return { file: path.join(dir, '.claude', 'settings.json'), source };
}

/** The file of a non-Claude runtime (Codex, opencode, pi), from the agent's env file or `$HOME`. */
function otherRuntimeFile(runtime: Exclude<HookRuntime, 'claude'>, agentEnv: Record<string, string>, home: string): { file: string; source: string } {
  if (runtime === 'codex') {
    const codexHome = agentEnv.CODEX_HOME ? path.resolve(expandHome(agentEnv.CODEX_HOME, home)) : path.join(home, '.codex');
    return { file: path.join(codexHome, 'hooks.json'), source: agentEnv.CODEX_HOME ? 'CODEX_HOME' : '$HOME/.codex' };
  }
  if (runtime === 'opencode') {
    const config = agentEnv.XDG_CONFIG_HOME ? path.resolve(expandHome(agentEnv.XDG_CONFIG_HOME, home)) : path.join(home, '.config');
    return { file: path.join(config, 'opencode', 'plugin', 'mosaic-top-heartbeat.js'), source: agentEnv.XDG_CONFIG_HOME ? 'XDG_CONFIG_HOME' : '$HOME/.config' };
  }
  return { file: path.join(home, '.pi', 'agent', 'extensions', 'mosaic-top-heartbeat.ts'), source: '$HOME/.pi' };
}

/**
 * Where each agent's runtime configuration lives. Claude: `<workdir>/.claude/settings.json`
 * (roster `working_directory`, else `MOSAIC_AGENT_WORKDIR` of the agent's env file), else
 * `$HOME/.claude/settings.json`. Codex: `$CODEX_HOME/hooks.json` (agent env), else
 * `$HOME/.codex/hooks.json`. opencode: `<XDG_CONFIG_HOME or $HOME/.config>/opencode/plugin/
 * mosaic-top-heartbeat.js`. pi: `$HOME/.pi/agent/extensions/mosaic-top-heartbeat.ts`. Remote
 * agents and unknown runtimes are skipped with the reason. A relative working directory is
 * resolved against the Mosaic home `mosaicHome` (where the roster lives), never the caller's
 * cwd; one that does not exist (or is not a directory) is refused (`refused: true`, the
 * reason): the hooks would configure a directory the agent never runs in, so nothing is made.
 */
export function planHookFiles(
  agents: RosterAgent[],
  agentsDir: string,
  env: NodeJS.ProcessEnv = process.env,
  mosaicHome: string = path.resolve(agentsDir, '..', '..'),
): { items: HookPlanItem[]; skipped: HookSkip[] } {
  const home = env.HOME || os.homedir();
  const byFile = new Map<string, HookPlanItem>();
  const skipped: HookSkip[] = [];
  for (const agent of agents) {
    if (agent.host) {
      skipped.push({ agent: agent.name, why: `remote (host ${agent.host}): run \`mosaic-top hooks install ${agent.name}\` on that host` });
      continue;
    }
    const runtime = hookRuntimeOf(agent.runtime);
    if (!runtime) {
      skipped.push({ agent: agent.name, why: `runtime "${agent.runtime}" has no hooks mosaic-top knows (claude, codex, opencode, pi)` });
      continue;
    }
    const agentEnv = readAgentEnv(agentsDir, agent.name);
    const where = runtime === 'claude' ? claudeFile(agent, agentEnv, home, mosaicHome) : otherRuntimeFile(runtime, agentEnv, home);
    if ('skip' in where) {
      skipped.push(where.skip);
      continue;
    }
    const existing = byFile.get(where.file);
    if (existing) existing.agents.push(agent.name);
    else byFile.set(where.file, { runtime, agents: [agent.name], file: where.file, source: where.source });
  }
  return { items: [...byFile.values()], skipped };
}

/** Why `dir` cannot hold an agent's configuration (`does not exist`, `is not a directory`, the errno), or null when it is a directory. */
function directoryProblem(dir: string): string | null {
  try {
    return fs.statSync(dir).isDirectory() ? null : 'is not a directory';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? messageOf(error)})`;
  }
}

/** A roster-less agent of the given runtime (`--runtime` names it): local, no socket or working directory. */
function namedAgent(name: string, runtime: string): RosterAgent {
  return { name, runtime, class: null, modelHint: null, host: null, ssh: null, socket: null, workingDirectory: null };
}

/**
 * The agents `hooks install`/`hooks status` act on: every agent of the roster at `rosterFile`, or
 * the ones in `names`; `runtimeOverride` (`--runtime`) sets their runtime and lets names outside
 * the roster (or a missing roster) through. Throws with the roster's first error, or for a name
 * not in the roster without `runtimeOverride`.
 */
export function selectAgents(rosterFile: string, names: string[], runtimeOverride: string | undefined): RosterAgent[] {
  const loaded = loadRoster(rosterFile);
  if (!loaded.ok) {
    if (names.length && runtimeOverride) return names.map((name) => namedAgent(name, runtimeOverride));
    throw new Error(`${loaded.errors[0]}${names.length ? " (or pass --runtime to name the agents' runtime)" : ''}`);
  }
  if (!names.length) return loaded.roster.agents;
  return names.map((name) => {
    const found = loaded.roster.agents.find((a) => a.name === name);
    if (found) return runtimeOverride ? { ...found, runtime: runtimeOverride } : found;
    if (runtimeOverride) return namedAgent(name, runtimeOverride);
    throw new Error(`agent "${sanitizeLine(name)}" is not in the roster ${rosterFile}: add it, or pass --runtime`);
  });
}
