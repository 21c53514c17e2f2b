/**
 * Reset an agent: send its runtime's `reset_command` from the roster's `runtimes:`
 * section (e.g. codex `/clear`) through the verified send path, so the next card starts from a
 * fresh context. Upstream NS-6 `reset_between_tasks`. Owner: actions.
 */
import { loadRoster, rosterErrorSummary, type Roster, type RosterAgent } from '../../fleet/roster.js';
import type { BacklogClient } from '../../backlog/verbs.js';
import type { MosaicPaths } from '../../lib/paths.js';
import { sanitizeLine } from '../../lib/sanitize.js';
import { collectSnapshot } from '../snapshot/collect.js';
import { agentTmuxServer } from './agent-target.js';
import { workingInterruption } from './lifecycle.js';
import { describeReceipt, isDelivered, type SendReceipt } from '../../fleet/receipt.js';
import { recordReceiptEvent } from './receipt-event.js';
import { sendToAgent } from './send.js';

/** How a reset ended: the runtime took the command, refused (nothing sent), or sent without confirmation. */
export type ResetOutcome = 'reset' | 'refused' | 'not_confirmed';

/** The result of a reset. */
export interface ResetResult {
  ok: boolean;
  outcome: ResetOutcome;
  agent: string;
  runtime: string | null;
  /** The command sent (the roster's reset_command), null when none. */
  command: string | null;
  /** The verified send's receipt; null when refused before sending. */
  receipt: SendReceipt | null;
  /** Why it was refused; null otherwise. */
  reason: string | null;
  forced: boolean;
  /** One line for the operator (sanitized). */
  message: string;
}

/** The reset command of `agent`'s runtime in `roster` (`runtimes.<runtime>.reset_command`), or null. Pure. */
export function resetCommandFor(roster: Pick<Roster, 'runtimes'>, agent: Pick<RosterAgent, 'runtime'>): string | null {
  return roster.runtimes?.[agent.runtime]?.resetCommand ?? null;
}

/**
 * Sends `agent`'s reset command (the roster's `runtimes.<runtime>.reset_command`) as the whole
 * input line — without the source-label prefix, which would turn `/clear` into plain text —
 * with verification (`timeoutMs` after Enter, default 5000). Refused (nothing sent): the roster
 * does not load, unknown agent, no reset command for its runtime, the agent is `waiting` at a
 * dialog (even with `force`: never type into a dialog), the agent is `working` and not
 * `force` (says the card and heartbeat state it would interrupt), or the send itself refuses
 * (dead/missing pane, copy mode). The receipt is recorded as a `receipt` event when a backlog
 * store exists (`record: false` skips it; `client` is reused). Never throws.
 */
export async function resetAgent(opts: {
  paths: MosaicPaths;
  agent: string;
  force?: boolean;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  client?: BacklogClient;
  record?: boolean;
}): Promise<ResetResult> {
  const { paths, agent } = opts;
  const base = { agent, forced: !!opts.force };
  const refuse = (reason: string, runtime: string | null = null, command: string | null = null, receipt: SendReceipt | null = null): ResetResult => ({
    ...base,
    ok: false,
    outcome: 'refused',
    runtime,
    command,
    receipt,
    reason: sanitizeLine(reason),
    message: sanitizeLine(`reset ${agent} refused: ${reason}`),
  });
  const loaded = loadRoster(paths.roster);
  if (!loaded.ok) return refuse(`roster does not load: ${rosterErrorSummary(loaded.errors, false)}`);
  const found = loaded.roster.agents.find((a) => a.name === agent);
  if (!found) return refuse(`unknown agent "${agent}" in roster ${paths.roster}`);
  const command = resetCommandFor(loaded.roster, found);
  if (!command)
    return refuse(
      `roster ${paths.roster} has no runtimes.${found.runtime || '<runtime>'}.reset_command for runtime "${found.runtime}": nothing to send`,
      found.runtime,
    );

  const snap = await collectSnapshot({ paths, includeBacklog: false, sshEnv: opts.env, signal: opts.signal });
  const row = snap.agents.find((a) => a.name === agent);
  // Never type into a dialog: a runtime waiting for a human is not at its input line, and the
  // reset's Enter would answer its prompt. Not even with --force.
  if (row?.readiness === 'waiting') {
    return refuse(
      `${agent} is waiting (${row.evidence[0] ?? 'for a human'}): the runtime is not at its input line and the reset would answer its dialog; answer it first`,
      found.runtime,
      command,
    );
  }
  const interruption = row ? workingInterruption(row) : null;
  if (interruption && !opts.force) return refuse(`${interruption}: a reset would interrupt it; --force to reset anyway`, found.runtime, command);

  const receipt = await sendToAgent({
    agent,
    runtime: found.runtime,
    socket: agentTmuxServer(found, paths, opts.env),
    runDir: paths.runDir,
    message: command,
    frame: false,
    verify: true,
    timeoutMs: opts.timeoutMs,
    signal: opts.signal,
  });
  if (opts.record !== false) receipt.recorded = await recordReceiptEvent(paths, receipt, { client: opts.client });
  if (receipt.status === 'refused') return refuse(receipt.reason ?? 'send refused', found.runtime, command, receipt);
  const delivered = isDelivered(receipt.status);
  return {
    ...base,
    ok: delivered,
    outcome: delivered ? 'reset' : 'not_confirmed',
    runtime: found.runtime,
    command,
    receipt,
    reason: null,
    message: sanitizeLine(`reset ${agent} (${found.runtime}: ${command}): ${describeReceipt(receipt)}`),
  };
}
