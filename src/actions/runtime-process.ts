/**
 * Is the program in an agent's pane its runtime? The same process evidence that raises `DRIFT`
 * in the snapshot (src/snapshot/join.ts): the pane's current command and the program names of
 * the pane's process and its descendants (`/proc` here, `ps` on the agent's host over ssh),
 * against the program the agent is expected to run (`MOSAIC_AGENT_COMMAND`'s program in its
 * `.env`, else the runtime: fleet/agent-env.ts `expectedProgram`). Keys are typed only into a
 * pane that passes. Owner: actions.
 */
import { expectedProgram, readAgentEnv } from '../../fleet/agent-env.js';
import { isRemoteTmux, runTmux, type TmuxServer } from '../../fleet/exec.js';
import { programsUnder, readProcessSubtree, readProcessTree } from '../../fleet/proc.js';
import { matchProcess } from '../../fleet/readiness.js';
import { probeRemoteHost } from '../../fleet/remote-probe.js';
import { sshTimeoutMs } from '../../fleet/ssh.js';
import { sanitizeLine } from '../../lib/sanitize.js';
import { findAgentPane } from '../snapshot/join.js';
import { messageOf } from '../../lib/errors.js';

/** The verdict on one pane's process. */
export interface RuntimeProcessCheck {
  /** True when the pane runs the expected program (no DRIFT). */
  ok: boolean;
  /** The program expected (`claude`, or MOSAIC_AGENT_COMMAND's program). */
  expected: string;
  /** Program names seen in the pane (its current command first); empty when not read. */
  seen: string[];
  /** The pane's id and pid as checked (`%12`), null when the pane was not found. */
  paneId: string | null;
  panePid: number | null;
  /** Why not ok, one line ending in what was (not) seen; null when ok. */
  reason: string | null;
}

/** Options of {@link checkRuntimeProcess}. */
export interface RuntimeProcessOptions {
  agent: string;
  /** The agent's runtime (roster, else `.env`). */
  runtime: string;
  /** Its tmux server: a local socket, or its host's tmux over ssh. */
  server: TmuxServer;
  /** Local `<home>/fleet/agents` (the `.env` files); null: no env file is read here (expected = runtime). */
  agentsDir?: string | null;
  /** `/proc` root (tests). */
  procRoot?: string;
  timeoutMs?: number;
  /** The local pane as just read (id, pid, current command): saves asking tmux again. */
  pane?: { paneId: string; pid: number | null; currentCommand: string };
}

/**
 * Checks that agent `agent`'s pane (`=<agent>:0.0`, else its session's first pane) runs its
 * runtime, with the evidence of DRIFT: here from `tmux display-message` (pane pid and current
 * command) and `/proc`; on another host from ONE run of the snapshot's remote probe (its
 * `list-panes`, `ps` and the agent's remote `.env`). Never throws: a pane that cannot be found,
 * a process table that cannot be read, or an unreachable host is `ok: false` with the reason
 * (the runtime cannot be verified, so nothing may be typed).
 */
export async function checkRuntimeProcess(opts: RuntimeProcessOptions): Promise<RuntimeProcessCheck> {
  const { server } = opts;
  const fail = (reason: string, expected: string, seen: string[] = [], paneId: string | null = null, panePid: number | null = null): RuntimeProcessCheck => ({
    ok: false,
    expected,
    seen,
    paneId,
    panePid,
    reason: sanitizeLine(reason),
  });
  if (isRemoteTmux(server)) {
    if (!server.probe) return fail(`the process of ${opts.agent}'s pane at host ${server.host} cannot be verified (no ssh target known)`, opts.runtime);
    const answer = await probeRemoteHost(server.probe.target, {
      sockets: [server.socket],
      agents: [opts.agent],
      processes: true,
      systemd: false,
      hostLabel: server.host,
      controlDir: server.probe.controlDir,
      env: server.probe.env,
      timeoutMs: opts.timeoutMs ?? sshTimeoutMs(server.probe.env),
    });
    const expected = expectedProgram(answer.agentEnvs.get(opts.agent) ?? {}, opts.runtime);
    if (!answer.ok) return fail(`the process of ${opts.agent}'s pane cannot be verified: ssh ${server.probe.target}: ${answer.error}`, expected);
    const socket = answer.tmux.get(server.socket ?? '');
    if (!socket?.ok)
      return fail(`the process of ${opts.agent}'s pane cannot be verified: ${socket?.error ?? 'tmux not probed'} at host ${server.host}`, expected);
    const pane = findAgentPane(socket.panes, opts.agent);
    if (!pane || pane.pid === null) return fail(`no pane for ${opts.agent} at host ${server.host}`, expected);
    if (!answer.processes)
      return fail(
        `the process table of host ${server.host} could not be read (ps gave nothing): the runtime cannot be verified`,
        expected,
        [],
        pane.paneId,
        pane.pid,
      );
    return verdict(opts.agent, expected, pane.currentCommand, programsUnder(answer.processes, pane.pid), pane.paneId, pane.pid);
  }
  const env = opts.agentsDir ? readAgentEnv(opts.agentsDir, opts.agent) : {};
  const expected = expectedProgram(env, opts.runtime);
  let pane = opts.pane;
  if (!pane) {
    const shown = await runTmux(server, ['display-message', '-p', '-t', `=${opts.agent}:0.0`, '#{pane_id}\t#{pane_pid}\t#{pane_current_command}'], {
      timeoutMs: opts.timeoutMs ?? 2000,
    });
    const [paneId, pid, command] = shown.stdout.replace(/\n$/, '').split('\t');
    if (!shown.ok || !paneId) return fail(`no pane for ${opts.agent} (${shown.error ?? 'no such pane'})`, expected);
    pane = { paneId, pid: /^\d+$/.test(pid ?? '') ? Number(pid) : null, currentCommand: command ?? '' };
  }
  const { paneId, pid, currentCommand } = pane;
  if (pid === null) return fail(`tmux reports no process for ${opts.agent}'s pane ${paneId}`, expected, [], paneId, null);
  let names: string[];
  try {
    names = programsUnder(readProcessSubtree(pid, opts.procRoot) ?? readProcessTree(opts.procRoot), pid);
  } catch (error) {
    return fail(`the process table could not be read (${messageOf(error)}): the runtime cannot be verified`, expected, [], paneId, pid);
  }
  return verdict(opts.agent, expected, currentCommand, names, paneId, pid);
}

function verdict(agent: string, expected: string, command: string, names: string[], paneId: string, panePid: number): RuntimeProcessCheck {
  const m = matchProcess(expected, command || null, names);
  if (m.matches) return { ok: true, expected: m.expected, seen: m.seen, paneId, panePid, reason: null };
  return {
    ok: false,
    expected: m.expected,
    seen: m.seen,
    paneId,
    panePid,
    reason: sanitizeLine(`${agent}'s pane does not run its runtime (DRIFT: expected ${m.expected}, pane runs ${m.seen.join(', ') || 'nothing visible'})`),
  };
}
