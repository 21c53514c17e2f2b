/**
 * `mosaic-top start|stop|restart <agent>`, `restart --all` and `reset <agent>`.
 * Owner: actions. Exit codes (see docs/actions.md): 0 done; 1 unexpected error; 2 usage;
 * 3 refused (nothing changed: unknown agent, systemd unavailable, working agent without --force,
 * no reset_command; restart --all: some agents skipped); 4 not confirmed (the unit failed, the
 * pane did not come back within the bound, restart --all halted, reset receipt not delivered).
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { GlobalOptions } from '../options.js';
import { resolvePaths } from '../../lib/paths.js';
import { sanitizeLine } from '../../lib/sanitize.js';
import type { LifecycleOutcome, LifecycleResult, RestartAllOutcome, UnitVerb } from '../actions/lifecycle.js';
import type { ResetOutcome } from '../actions/reset.js';

/** Exit code per outcome of a unit action. */
export const LIFECYCLE_EXIT: Record<LifecycleOutcome, number> = { done: 0, refused: 3, failed: 4, timed_out: 4 };
/** Exit code per outcome of `restart --all`. */
export const RESTART_ALL_EXIT: Record<RestartAllOutcome, number> = { done: 0, incomplete: 3, halted: 4, refused: 3 };
/** Exit code per outcome of `reset`. */
export const RESET_EXIT: Record<ResetOutcome, number> = { reset: 0, refused: 3, not_confirmed: 4 };

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number of seconds, got "${value}"`);
  return n;
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function err(line: string): void {
  process.stderr.write(`mosaic-top: ${line}\n`);
}

function printResult(r: LifecycleResult, attempt?: number): void {
  const line = `${attempt && attempt > 1 ? `(attempt ${attempt}) ` : ''}${r.message}`;
  if (r.ok) out(line);
  else err(line);
  for (const e of r.evidence) out(`  - ${e}`);
  if (r.recorded) out(`  recorded: ${sanitizeLine(r.recorded)}`);
}

/** Registers start, stop, restart and reset on `program`. */
export function registerLifecycleCommands(program: Command): void {
  for (const verb of ['start', 'stop', 'restart'] as const satisfies readonly UnitVerb[]) {
    const cmd = program
      .command(verb)
      .description(
        verb === 'restart'
          ? "restart an agent's unit (systemctl --user restart mosaic-agent@<agent>.service) and wait for its pane to come back with a new pid; --all: the whole fleet, one at a time, orchestrator last"
          : `${verb} an agent's unit (systemctl --user ${verb} mosaic-agent@<agent>.service) and wait for the outcome`,
      )
      .argument(verb === 'restart' ? '[agent]' : '<agent>', 'agent name from the roster')
      .option('--force', `${verb} even while the agent is working (default: refuse and say what it would interrupt)`)
      .option('--timeout <seconds>', 'how long to wait for the outcome, seconds (per agent)', seconds, 60)
      .addOption(new Option('--json', 'print the result as JSON'));
    if (verb === 'restart') cmd.option('--all', 'restart every agent of the roster, one at a time, orchestrator last; halts when a unit fails twice');
    cmd.action(async (agent: string | undefined, _opts, c: Command) => {
      const o = c.optsWithGlobals() as GlobalOptions & { force?: boolean; timeout: number; all?: boolean };
      const paths = resolvePaths(o);
      const timeoutMs = Math.round(o.timeout * 1000);
      if (verb === 'restart' && o.all) {
        if (agent) c.error('error: restart takes an agent or --all, not both', { exitCode: 2 });
        const { restartAll } = await import('../actions/lifecycle.js');
        const result = await restartAll({ paths, force: !!o.force, timeoutMs, onResult: o.json ? undefined : (r, attempt) => printResult(r, attempt) });
        if (o.json) out(JSON.stringify(result));
        else {
          if (result.ok) out(result.message);
          else err(result.message);
          if (result.recorded) out(`  recorded: ${sanitizeLine(result.recorded)}`);
        }
        process.exitCode = RESTART_ALL_EXIT[result.outcome];
        return;
      }
      if (!agent) c.error('error: missing agent name (or --all)', { exitCode: 2 });
      const { unitAction } = await import('../actions/lifecycle.js');
      const result = await unitAction({ paths, agent: agent!, verb, force: !!o.force, timeoutMs });
      if (o.json) out(JSON.stringify(result));
      else printResult(result);
      process.exitCode = LIFECYCLE_EXIT[result.outcome];
    });
  }

  program
    .command('reset')
    .description("give an agent a fresh context: send its runtime's reset_command (roster runtimes:) with a verified receipt")
    .argument('<agent>', 'agent name from the roster')
    .option('--force', 'reset even while the agent is working (default: refuse and say what it would interrupt)')
    .option('--timeout <seconds>', 'how long verification watches after Enter, seconds', seconds, 5)
    .addOption(new Option('--json', 'print the result (outcome, command, receipt) as JSON'))
    .action(async (agent: string, _opts, c: Command) => {
      const o = c.optsWithGlobals() as GlobalOptions & { force?: boolean; timeout: number };
      const paths = resolvePaths(o);
      const { resetAgent } = await import('../actions/reset.js');
      const result = await resetAgent({ paths, agent, force: !!o.force, timeoutMs: Math.round(o.timeout * 1000) });
      if (o.json) out(JSON.stringify(result));
      else {
        if (result.outcome === 'refused') err(result.message);
        else out(result.message);
        for (const line of result.receipt?.evidence ?? []) out(`  - ${sanitizeLine(line)}`);
        if (result.receipt?.recorded) out(`  recorded: ${sanitizeLine(result.receipt.recorded)}`);
      }
      process.exitCode = RESET_EXIT[result.outcome];
    });
}
