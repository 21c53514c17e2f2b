/**
 * The work of the hidden `mosaic-top heartbeat-hook --runtime R` the installed hooks run: the
 * runtime's event JSON ⇒ a beat (fleet/hook-events.ts) ⇒ `<run>/<agent>.hb`
 * (fleet/heartbeat.ts), and the spend meter's evidence of the agent's record file. The agent is
 * named by `--agent`, `$MOSAIC_AGENT_NAME`, else the tmux session the hook runs in.
 */
import fs from 'node:fs';
import { runCommand } from '../exec.js';
import { readHeartbeat, writeHeartbeat } from '../heartbeat.js';
import { beatFromHookEvent, beatFromHookEventPrefix, type HookBeat, type HookRuntime } from '../hook-events.js';
import { parseProcStat } from '../proc.js';
import { isValidAgentName } from '../roster.js';
import { recordSource, transcriptFromHookEvent } from '../spend/sources.js';
import { resolvePaths } from '../../lib/paths.js';

/** Most bytes of hook input read (Claude payloads are a few KB); a larger event is read from this prefix. */
export const HOOK_INPUT_LIMIT = 1024 * 1024;

/** Hook input: its first {@link HOOK_INPUT_LIMIT} bytes and its whole size in bytes. */
export interface HookInput {
  text: string;
  size: number;
}

/** The event a hook was given ⇒ its beat (null: none) and payload; a prefix when it was over the limit. Throws when a whole input is not JSON. */
function hookEventOf(runtime: HookRuntime, input: HookInput): { beat: HookBeat | null; payload: unknown } {
  if (input.size > HOOK_INPUT_LIMIT) return beatFromHookEventPrefix(runtime, input.text, input.size);
  let payload: unknown = {};
  if (input.text.trim()) {
    try {
      payload = JSON.parse(input.text);
    } catch {
      throw new Error(`${runtime} hook input is not JSON (${input.text.length} bytes)`);
    }
  }
  return { beat: beatFromHookEvent(runtime, payload), payload };
}

/**
 * The tmux session this process runs in, or null: `tmux display-message -p [-t $TMUX_PANE]
 * '#{session_name}'` through the bounded runner (fleet/exec.ts, 2 s). Unlike every other tmux
 * call of ours, this one keeps `$TMUX`: the server it names is the one the hook runs in.
 */
export async function tmuxSessionName(env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  if (!env.TMUX) return null;
  const args = ['display-message', '-p'];
  if (env.TMUX_PANE) args.push('-t', env.TMUX_PANE);
  args.push('#{session_name}');
  const result = await runCommand('tmux', args, { timeoutMs: 2000, env });
  return result.ok ? result.stdout.trim() || null : null;
}

/** Shells a hook runs through (`sh -c`): never the runtime itself. */
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ash', 'busybox']);

/** The runtime's pid: our parent, or the first non-shell ancestor (hooks run through `sh -c`), from `/proc/<pid>/stat`. */
function runtimePid(): number | null {
  let pid = process.ppid;
  for (let i = 0; i < 4 && pid > 1; i++) {
    let entry;
    try {
      entry = parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return pid;
    }
    if (!entry) return pid;
    if (!SHELLS.has(entry.comm)) return pid;
    pid = entry.ppid;
  }
  return pid > 1 ? pid : null;
}

/** The reason already in an agent's beat when it is `state=waiting` (read by fleet/heartbeat.ts's parser), else null. */
function currentWaitingReason(runDir: string, agent: string): string | null {
  const { heartbeat } = readHeartbeat(runDir, agent, Date.now() / 1000);
  return heartbeat?.state === 'waiting' ? (heartbeat.reason ?? null) : null;
}

/**
 * The hook's work: `input` (the event JSON) ⇒ beat ⇒ `<run>/<agent>.hb` under `mosaicHome`
 * (default: the environment's), and the transcript path as spend evidence. Agent: `agentOpt`,
 * else `$MOSAIC_AGENT_NAME`, else the tmux session. Throws on a problem (no agent name, an
 * invalid one, input that is not JSON, I/O); the caller reports it and still exits 0.
 */
export async function runHeartbeatHook(runtime: HookRuntime, agentOpt: string | undefined, input: HookInput, mosaicHome: string | undefined): Promise<void> {
  const { beat, payload } = hookEventOf(runtime, input);
  const transcript = transcriptFromHookEvent(runtime, payload, Date.now());
  if (!beat && !transcript) return;
  const agent = agentOpt ?? (process.env.MOSAIC_AGENT_NAME || null) ?? (await tmuxSessionName());
  if (!agent) throw new Error("no agent name: set MOSAIC_AGENT_NAME in the agent's environment, or run the agent in a tmux session named after it");
  if (!isValidAgentName(agent)) throw new Error(`agent name "${agent}" is not valid`);
  const paths = resolvePaths({ mosaicHome });
  // The spend meter's exact evidence of which record file is this agent's.
  if (transcript) recordSource(paths.runDir, agent, transcript);
  if (!beat) return;
  let reason = beat.reason;
  if (beat.keepWaitingReason) reason = currentWaitingReason(paths.runDir, agent) ?? reason;
  writeHeartbeat(paths.runDir, agent, { state: beat.state, reason, note: beat.note, interval: 600, pid: runtimePid() });
}
