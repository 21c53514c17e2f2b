/**
 * `mosaic-top pause|resume|watch|send|answer|dispatch` (docs/actions.md). Owner: actions.
 * Exit codes: 0 done; 1 unexpected error; 2 usage; 3 refused (nothing sent or claimed);
 * 4 not confirmed (send: typed_not_submitted / no_evidence; answer: no_evidence; dispatch: claimed, not delivered);
 * (pause: 3 when the fleet is already paused — the existing flag is kept unless --force);
 * 5 dispatch: nothing ready to claim; 128+n: watch ended by signal n.
 */
import fs from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { GlobalOptions } from '../options.js';
import { resolvePaths } from '../../lib/paths.js';
import { messageOf } from '../../lib/errors.js';
import { sanitizeLine } from '../../lib/sanitize.js';
import type { PausedFlag } from '../../fleet/types.js';

/** Exit codes of the action commands (see docs/actions.md). */
export const ACTION_EXIT = { ok: 0, error: 1, usage: 2, refused: 3, notConfirmed: 4, nothingReady: 5 } as const;

/** Parses a positive number of seconds (`--timeout`); usage error otherwise. */
function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number of seconds, got "${value}"`);
  return n;
}

/** Parses a positive whole number of seconds (`--ttl`); usage error otherwise. */
function wholeSeconds(value: string): number {
  const n = seconds(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`expected a whole number of seconds, got "${value}"`);
  return n;
}

/** The command's options with the root's (`--json`, `--mosaic-home`, …). */
function globals(cmd: Command): GlobalOptions & Record<string, unknown> {
  return cmd.optsWithGlobals() as GlobalOptions & Record<string, unknown>;
}

/** `--json`: a root option (read through optsWithGlobals), declared here so each command's help lists it. */
function jsonOption(what: string): Option {
  return new Option('--json', `print ${what} as JSON`);
}

/** One line on stdout. */
function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** One line on stderr, `mosaic-top: ` first. */
function err(line: string): void {
  process.stderr.write(`mosaic-top: ${line}\n`);
}

/** The number of a signal that ended `watch` (exit 128 + it). */
function signalNumber(signal: NodeJS.Signals): number {
  return { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }[signal as 'SIGHUP' | 'SIGINT' | 'SIGTERM'] ?? 1;
}

/** `pause`: writes <run>/PAUSED (refused when already paused, unless --force) and records it in the shared store. */
async function runPause(o: GlobalOptions & Record<string, unknown>): Promise<void> {
  const paths = resolvePaths(o);
  const { pauseFleet, FleetAlreadyPausedError } = await import('../actions/pause.js');
  let flag;
  try {
    flag = pauseFleet(paths.runDir, { reason: o.reason as string | undefined, by: o.by as string | undefined, force: !!o.force });
  } catch (error) {
    if (!(error instanceof FleetAlreadyPausedError)) throw error;
    if (o.json) out(JSON.stringify({ paused: true, refused: 'already paused', ...error.flag }));
    err(`${sanitizeLine(error.message)} (left as it is; --force replaces it)`);
    process.exitCode = ACTION_EXIT.refused;
    return;
  }
  // Server tier: the pause also goes into the shared store, so every host's claims stop.
  let store: { recorded: boolean; existing: PausedFlag | null } = { recorded: false, existing: null };
  let storeError: string | null = null;
  try {
    const { recordFleetPause } = await import('../actions/pause.js');
    store = await recordFleetPause(paths, flag, { force: !!o.force });
  } catch (error) {
    storeError = messageOf(error);
  }
  const fleetWide = store.recorded || store.existing !== null;
  if (o.json) out(JSON.stringify({ paused: true, ...flag, fleetWide, ...(storeError ? { storeError } : {}) }));
  else
    out(
      `fleet PAUSED at ${flag.at} by ${sanitizeLine(flag.by ?? '')}${flag.reason ? `: ${sanitizeLine(flag.reason)}` : ''}${fleetWide ? ' (fleet-wide: recorded in the shared backlog store)' : ''}`,
    );
  if (store.existing)
    err(
      `the shared store was already paused since ${sanitizeLine(store.existing.at ?? '?')} by ${sanitizeLine(store.existing.by ?? '?')} (kept; --force replaces it)`,
    );
  if (storeError) {
    err(`paused on this host only: the shared backlog store could not record the pause: ${sanitizeLine(storeError)}`);
    process.exitCode = 1;
  }
}

/** `resume`: removes <run>/PAUSED and the shared store's pause; says what it was. */
async function runResume(o: GlobalOptions & Record<string, unknown>): Promise<void> {
  const paths = resolvePaths(o);
  const { resumeFleet, clearFleetPause } = await import('../actions/pause.js');
  const fromRunDir = resumeFleet(paths.runDir);
  let fromStore: PausedFlag | null = null;
  try {
    fromStore = await clearFleetPause(paths);
  } catch (error) {
    err(`the shared backlog store's pause could not be cleared: ${sanitizeLine(messageOf(error))}`);
    process.exitCode = 1;
  }
  const was = fromRunDir ?? fromStore;
  if (o.json) out(JSON.stringify({ paused: false, was }));
  else if (was) out(`fleet resumed (was paused since ${sanitizeLine(was.at ?? '?')}${was.by ? ` by ${sanitizeLine(was.by)}` : ''})`);
  else out('fleet was not paused');
}

/** `watch <agent>`: a read-only attach to the agent's pane; the exit code says how it ended. */
async function runWatch(agent: string, o: GlobalOptions & Record<string, unknown>): Promise<void> {
  const paths = resolvePaths(o);
  const { resolveAgentTarget } = await import('../actions/agent-target.js');
  const target = resolveAgentTarget(paths, agent);
  if ('error' in target) {
    err(sanitizeLine(target.error));
    process.exitCode = ACTION_EXIT.refused;
    return;
  }
  const { watchAgent } = await import('../actions/watch.js');
  const result = await watchAgent({
    agent: target.agent,
    socket: target.server,
    onBeforeAttach: (message) => process.stderr.write(`${sanitizeLine(message)}\n`),
  });
  if (result.signal) {
    err(`watch of ${sanitizeLine(agent)} ended by ${result.signal}; viewer ${result.viewer} removed`);
    process.exitCode = 128 + signalNumber(result.signal);
  } else if (!result.ok) {
    err(sanitizeLine(result.error ?? 'watch failed'));
    process.exitCode = result.viewer ? ACTION_EXIT.error : ACTION_EXIT.refused;
  } else {
    process.stderr.write(`back from watching ${sanitizeLine(agent)} (viewer ${result.viewer} removed)\n`);
  }
}

/** `send <agent> <message>`: the message through a paste buffer, with its receipt (exit 3 refused, 4 not confirmed with --verify). */
async function runSend(agent: string, message: string, o: GlobalOptions & Record<string, unknown>): Promise<void> {
  const paths = resolvePaths(o);
  if (message === '-') message = fs.readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  const { resolveAgentTarget } = await import('../actions/agent-target.js');
  const { sendToAgent } = await import('../actions/send.js');
  const { describeReceipt, isDelivered } = await import('../../fleet/receipt.js');
  const target = resolveAgentTarget(paths, agent);
  const receipt =
    'error' in target
      ? { status: 'refused' as const, agent, evidence: [], elapsedMs: 0, source: String(o.source), reason: target.error }
      : await sendToAgent({
          agent,
          runtime: target.roster.runtime,
          socket: target.server,
          runDir: paths.runDir,
          message,
          verify: !!o.verify,
          timeoutMs: Math.round(Number(o.timeout) * 1000),
          source: String(o.source),
          paths,
        });
  if (o.json) out(JSON.stringify(receipt));
  else {
    out(sanitizeLine(describeReceipt(receipt)));
    for (const line of receipt.evidence) out(`  - ${sanitizeLine(line)}`);
    if (receipt.recorded) out(`  recorded: ${sanitizeLine(receipt.recorded)}`);
  }
  if (receipt.status === 'refused') process.exitCode = ACTION_EXIT.refused;
  else if (o.verify && !isDelivered(receipt.status)) process.exitCode = ACTION_EXIT.notConfirmed;
}

/** `answer <agent> allow|deny`: one key into the agent's permission prompt, with its receipt (exit 0 answered, 3 refused, 4 not confirmed). */
async function runAnswer(agent: string, choice: string, o: GlobalOptions & Record<string, unknown>): Promise<void> {
  if (choice !== 'allow' && choice !== 'deny') {
    err(`answer must be "allow" (once) or "deny", got "${sanitizeLine(choice)}"`);
    process.exitCode = ACTION_EXIT.usage;
    return;
  }
  const paths = resolvePaths(o);
  const { resolveAgentTarget } = await import('../actions/agent-target.js');
  const { answerPrompt, describeAnswerReceipt } = await import('../actions/answer.js');
  type Receipt = Awaited<ReturnType<typeof answerPrompt>>;
  const target = resolveAgentTarget(paths, agent);
  const receipt: Receipt =
    'error' in target
      ? { status: 'refused', agent, answer: choice, key: null, prompt: null, reason: target.error, evidence: [], elapsedMs: 0, by: '' }
      : await answerPrompt({
          agent,
          runtime: target.roster.runtime,
          answer: choice,
          promptId: (o.promptId as string | undefined) ?? null,
          socket: target.server,
          runDir: paths.runDir,
          readonly: !!o.readonly,
          timeoutMs: Math.round(Number(o.timeout) * 1000),
          paths,
        });
  if (o.json) out(JSON.stringify(receipt));
  else {
    out(sanitizeLine(describeAnswerReceipt(receipt)));
    for (const line of receipt.evidence) out(`  - ${sanitizeLine(line)}`);
    if (receipt.recorded) out(`  recorded: ${sanitizeLine(receipt.recorded)}`);
  }
  process.exitCode = receipt.status === 'answered' ? ACTION_EXIT.ok : receipt.status === 'refused' ? ACTION_EXIT.refused : ACTION_EXIT.notConfirmed;
}

/** `dispatch <agent>`: claims a card and hands it over with a verified send; the exit code from the outcome. */
async function runDispatch(agent: string, o: GlobalOptions & Record<string, unknown>): Promise<void> {
  const paths = resolvePaths(o);
  const { resolveAgentTarget } = await import('../actions/agent-target.js');
  const { dispatchCard, DISPATCH_EXIT_CODES } = await import('../actions/dispatch.js');
  const target = resolveAgentTarget(paths, agent);
  const result =
    'error' in target
      ? {
          ok: false,
          outcome: 'refused' as const,
          card: null,
          receipt: null,
          refused: target.error,
          message: `dispatch to ${agent} refused: ${target.error}`,
        }
      : await dispatchCard({
          paths,
          agent,
          runtime: target.roster.runtime,
          socket: target.server,
          cardId: o.card as string | undefined,
          ttlSeconds: o.ttl as number | undefined,
          timeoutMs: Math.round(Number(o.timeout) * 1000),
          reset: !!o.reset,
        });
  if (o.json) out(JSON.stringify(result));
  else {
    if (result.reset) out(sanitizeLine(result.reset.message));
    out(sanitizeLine(result.message));
    for (const line of result.receipt?.evidence ?? []) out(`  - ${sanitizeLine(line)}`);
  }
  process.exitCode = DISPATCH_EXIT_CODES[result.outcome];
}

/** Registers pause, resume, watch, send, answer and dispatch on `program`. */
export function registerActionCommands(program: Command): void {
  program
    .command('pause')
    .description(
      'pause the fleet: write <run>/PAUSED, and with DATABASE_URL record it in the shared store (claims and dispatches on every host are refused until resume)',
    )
    .option('--reason <text>', 'why (shown in the console and in refusals)')
    .option('--by <name>', 'who pauses (default: $USER@host)')
    .option('--force', 'replace an existing pause (default: refuse, exit 3, and keep it)')
    .addOption(jsonOption('{paused, at, by, reason}'))
    .action((_opts, cmd: Command) => runPause(globals(cmd)));
  program
    .command('resume')
    .description("resume the fleet: remove <run>/PAUSED (and the shared store's pause with DATABASE_URL)")
    .addOption(jsonOption('{paused: false, was}'))
    .action((_opts, cmd: Command) => runResume(globals(cmd)));
  program
    .command('watch')
    .description("read-only view of an agent's pane (tmux attach -r on a grouped viewer session); detach to come back")
    .argument('<agent>', 'agent name from the roster')
    .action((agent: string, _opts, cmd: Command) => runWatch(agent, globals(cmd)));
  program
    .command('send')
    .description('send a message to an agent (through a tmux paste buffer, byte for byte; never into a dialog), with a receipt')
    .argument('<agent>', 'agent name from the roster')
    .argument('<message>', 'the message; "-" reads it from stdin')
    .option('--verify', 'watch the pane and heartbeat for a receipt (submitted, queued, typed_not_submitted, no_evidence)')
    .option('--timeout <seconds>', 'how long verification watches after Enter, seconds', seconds, 5)
    .option('--source <label>', 'source label carried by the message', 'operator:mosaic-top')
    .addOption(jsonOption('the receipt'))
    .action((agent: string, message: string, _opts, cmd: Command) => runSend(agent, message, globals(cmd)));
  program
    .command('answer')
    .description("answer an agent's permission prompt: allow it ONCE or deny it (one key from the screen rules; never 'always allow'), with a receipt")
    .argument('<agent>', 'agent name from the roster')
    .argument('<answer>', 'allow (once) or deny')
    .option('--prompt-id <id>', 'answer only this prompt (the id shown by the console / snapshot); another prompt or none on screen is refused, nothing typed')
    .option('--timeout <seconds>', 'how long to watch for the prompt to close after the key, seconds', seconds, 10)
    .addOption(jsonOption('the receipt'))
    .action((agent: string, choice: string, _opts, cmd: Command) => runAnswer(agent, choice, globals(cmd)));
  program
    .command('dispatch')
    .description('claim the next ready card (or --card) for an agent and hand it over with a verified send')
    .argument('<agent>', 'agent name from the roster (the claim owner)')
    .option('--card <id>', 'claim this card instead of the next ready one')
    .option('--ttl <seconds>', 'claim TTL, seconds (backlog default 900)', wholeSeconds)
    .option('--timeout <seconds>', 'how long verification watches after Enter, seconds', seconds, 5)
    .option('--reset', "reset the agent first (its runtime's reset_command from the roster, verified; upstream reset_between_tasks)")
    .addOption(jsonOption('the result (outcome, card, receipt)'))
    .action((agent: string, _opts, cmd: Command) => runDispatch(agent, globals(cmd)));
}
