/**
 * The work of the hidden `mosaic-top statusline-hook` that `hooks install` wires as Claude
 * Code's `statusLine` command: the statusline JSON (stdin) ⇒ the agent's subscription windows
 * (fleet/spend/statusline.ts) in `<run>/spend/<agent>.quota.json`, and the short line Claude
 * shows. The agent is named like the heartbeat hook's: `--agent`, `$MOSAIC_AGENT_NAME`, else
 * the tmux session the command runs in; without one, only the line is printed.
 */
import { isValidAgentName } from '../roster.js';
import { recordQuota, statuslineRates, statuslineText } from '../spend/statusline.js';
import { messageOf } from '../../lib/errors.js';
import { resolvePaths } from '../../lib/paths.js';
import { tmuxSessionName, type HookInput } from './heartbeat-hook.js';

/** Where the line went: the text to print, and the problem (one line) when the windows were not recorded. */
export interface StatuslineHookResult {
  line: string;
  problem: string | null;
}

/**
 * Runs the statusline hook over `input` (the statusline JSON, bounded by the caller) at `now`
 * (unix ms). Records the windows when the document has any and the agent is known; never
 * throws: a bad document, an unknown agent or a write failure is the result's `problem`.
 */
export async function runStatuslineHook(
  agentOpt: string | undefined,
  input: HookInput,
  mosaicHome: string | undefined,
  now = Date.now(),
): Promise<StatuslineHookResult> {
  let value: unknown;
  try {
    value = JSON.parse(input.text) as unknown;
  } catch {
    return { line: 'Claude', problem: `statusline input is not JSON (${input.size} bytes)` };
  }
  const report = statuslineRates(value, now);
  const line = statuslineText(value, report);
  if (!report) return { line, problem: null };
  try {
    const agent = agentOpt ?? (process.env.MOSAIC_AGENT_NAME || null) ?? (await tmuxSessionName());
    if (!agent) return { line, problem: "no agent name: set MOSAIC_AGENT_NAME in the agent's environment, or run the agent in a tmux session named after it" };
    if (!isValidAgentName(agent)) return { line, problem: `agent name "${agent}" is not valid` };
    recordQuota(resolvePaths({ mosaicHome }).runDir, agent, report);
    return { line, problem: null };
  } catch (error) {
    return { line, problem: messageOf(error) };
  }
}
