import { Command, Option } from 'commander';
import { packageVersion } from '../lib/version.js';
import { registerHeartbeatCommand } from './commands/heartbeat.js';
import { registerHooksCommands } from './commands/hooks.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerBacklogCommand } from './commands/backlog.js';
import { registerActionCommands } from './commands/actions.js';
import { registerLifecycleCommands } from './commands/lifecycle.js';
import { registerEventsCommand } from './commands/events.js';
import { registerSpendCommand } from './commands/spend.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { sanitizeLines } from '../lib/sanitize.js';
import { debugWanted, fatalExitCode, formatFatal } from '../lib/errors.js';

import { USAGE_EXIT, parseSeconds, type GlobalOptions } from './options.js';

/** Builds the command tree. Heavy modules (ink, react, PGlite) are imported lazily per mode. */
export function buildProgram(): Command {
  const program = new Command('mosaic-top')
    .description('Live console for a Mosaic agent fleet: readiness, backlog and operator actions.')
    .version(packageVersion(), '-V, --version')
    .option('--mosaic-home <dir>', 'Mosaic home (default: $MOSAIC_HOME, else ~/.config/mosaic)')
    .option('--roster <file>', 'roster file (default: <home>/fleet/roster.yaml)')
    .addOption(new Option('--interval <seconds>', 'console poll interval in seconds').default(2).argParser(parseSeconds))
    .option('--once', 'print one snapshot and exit (no console)')
    .option('--json', 'with --once: print the snapshot as JSON (schema mosaic-top/snapshot@1)')
    .option('--readonly', 'console: disable every key that changes anything')
    .option('--notify-bell', 'console: bell + desktop notification (OSC 777/9, notify-send) on attention transitions (also MOSAIC_TOP_NOTIFY_BELL=1)')
    .showHelpAfterError()
    // Usage errors exit 2 (commander's default is 1); --help and --version still exit 0.
    // Set before the subcommands are registered: `.command()` copies it to each of them.
    .exitOverride((error) => {
      process.exit(error.exitCode === 0 ? 0 : USAGE_EXIT);
    })
    // Commander echoes the user's words (an unknown option, a bad value): never raw to the tty.
    .configureOutput({
      outputError: (text, write) =>
        write(
          sanitizeLines(text.replace(/\n$/, ''))
            .map((l) => `${l}\n`)
            .join(''),
        ),
    })
    .action(async (opts: GlobalOptions, cmd: Command) => {
      // The root takes no arguments: a word that is not a subcommand is an unknown command.
      if (cmd.args.length)
        cmd.error(`error: unknown command '${cmd.args[0]}' (see mosaic-top --help)`, { code: 'commander.unknownCommand', exitCode: USAGE_EXIT });
      if (opts.once) {
        const { runOnce } = await import('./modes/once.js');
        process.exitCode = await runOnce(opts);
      } else {
        const { runConsole } = await import('./modes/console.js');
        process.exitCode = await runConsole(opts);
      }
    });
  registerHeartbeatCommand(program);
  registerHooksCommands(program);
  registerDemoCommand(program);
  registerBacklogCommand(program);
  registerActionCommands(program);
  registerLifecycleCommands(program);
  registerEventsCommand(program);
  registerSpendCommand(program);
  registerDoctorCommand(program);
  // Only the root: its action reports excess words as an unknown command (above) instead of
  // commander's "too many arguments". Set after registering so subcommands keep the check.
  program.allowExcessArguments(true);
  return program;
}

/**
 * Entry point used by bin/mosaic-top. An error that reaches here is printed as ONE line
 * (`mosaic-top: <what failed>: <cause>`, lib/errors.ts) with its documented exit code (an
 * {@link OperatorError}'s own, else 70); the stack trace only with `MOSAIC_DEBUG=1`.
 */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    process.stderr.write(`mosaic-top: ${formatFatal(error, debugWanted())}\n`);
    process.exitCode = fatalExitCode(error);
  }
}
