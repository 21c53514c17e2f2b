import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseSeconds, type GlobalOptions } from '../options.js';
import { HEARTBEAT_WRITE_STATES, HeartbeatInputError, writeHeartbeat, type HeartbeatWriteState } from '../../fleet/heartbeat.js';
import { loadRosterCached } from '../../fleet/roster.js';
import { resolvePaths } from '../../lib/paths.js';
import { sanitizeLine } from '../../lib/sanitize.js';
import { describeCause } from '../../lib/errors.js';

/** Whether `agent` is in the roster at `file`: null when the roster is missing or does not load. */
function agentInRoster(file: string, agent: string): boolean | null {
  const loaded = loadRosterCached(file);
  return loaded.ok ? loaded.roster.agents.some((a) => a.name === agent) : null;
}

/**
 * `mosaic-top heartbeat <agent> --state busy|idle|waiting|stuck [--reason TEXT] [--card ID] [--note TEXT] [--interval S] [--pid N]`
 * (protocol v1, docs/heartbeat.md): writes `<run>/<agent>.hb` atomically, protocol v1. Meant for runtime hooks
 * (Claude Code: UserPromptSubmit ⇒ busy, Stop ⇒ idle; see docs/heartbeat.md). Exit 0 on
 * success, 2 on bad input, 1 on an I/O error.
 */
export function registerHeartbeatCommand(program: Command): void {
  program
    .command('heartbeat')
    .description('write the agent heartbeat <run>/<agent>.hb (protocol v1), atomically')
    .argument('<agent>', 'agent name (as in the roster)')
    .addOption(
      new Option('--state <state>', 'busy, idle, waiting (for a human) or stuck (API error)').choices([...HEARTBEAT_WRITE_STATES]).makeOptionMandatory(),
    )
    .option('--reason <text>', 'why the agent waits or is stuck, e.g. "permission: Bash rm -rf build" (one line)')
    .option('--card <id>', 'backlog card in hand')
    .option('--note <text>', 'short free text (flattened to one line)')
    .addOption(new Option('--interval <seconds>', 'how often this writer promises to beat').argParser(parseSeconds))
    .addOption(
      new Option('--pid <pid>', 'runtime pid (from a hook: --pid "$PPID", the runtime that ran the hook shell)').argParser((v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`--pid must be a positive integer, got "${v}"`);
        return n;
      }),
    )
    .addOption(new Option('--json', 'print {ok, agent, file, state} as JSON'))
    .action((agent: string, _opts: unknown, cmd: Command) => {
      // The command's own --interval shadows the console's global --interval (default 2):
      // read local options from opts(), globals (home, json) from optsWithGlobals().
      const g = cmd.optsWithGlobals() as GlobalOptions;
      const o = cmd.opts() as { state: HeartbeatWriteState; reason?: string; card?: string; note?: string; interval?: number; pid?: number };
      // Root options are recognised anywhere on the line, so `heartbeat a --interval 30` may land
      // on the root --interval: take it only when the user really typed it.
      const interval = o.interval ?? (cmd.getOptionValueSourceWithGlobals('interval') === 'cli' ? g.interval : undefined);
      const paths = resolvePaths({ mosaicHome: g.mosaicHome, roster: g.roster });
      try {
        const file = writeHeartbeat(paths.runDir, agent, {
          state: o.state,
          reason: o.reason ?? null,
          card: o.card ?? null,
          note: o.note ?? null,
          interval: interval ?? null,
          // No default: our parent is usually the hook's short-lived shell, not the runtime.
          pid: o.pid ?? null,
        });
        // A typo in a hook's agent name would leave the real agent `unknown` forever: say so
        // (stderr, exit 0 — the beat is written). No roster (or a broken one): nothing to say.
        const inRoster = agentInRoster(paths.roster, agent);
        if (inRoster === false) {
          process.stderr.write(
            `mosaic-top heartbeat: warning: agent ${JSON.stringify(sanitizeLine(agent))} is not in the roster ${sanitizeLine(paths.roster)}; no console row reads this beat\n`,
          );
        }
        if (g.json) process.stdout.write(`${JSON.stringify({ ok: true, agent, file, state: o.state, inRoster })}\n`);
      } catch (error) {
        // The message may quote the user's words (agent, card): never raw to the terminal.
        const message =
          error instanceof HeartbeatInputError ? error.message : `cannot write the heartbeat of ${agent} in ${paths.runDir}: ${describeCause(error)}`;
        process.stderr.write(`mosaic-top heartbeat: ${sanitizeLine(message)}\n`);
        process.exitCode = error instanceof HeartbeatInputError ? 2 : 1;
      }
    });
}
