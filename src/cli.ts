import { Command, Option } from 'commander';
import { packageVersion } from '../lib/version.js';
import { sanitizeLines } from '../lib/sanitize.js';
import { debugWanted, fatalExitCode, formatFatal } from '../lib/errors.js';

import { USAGE_EXIT, parseSeconds, type GlobalOptions } from './options.js';

type Register = (program: Command) => void;

/** Ends the run with an exit code: process.exit for the executable, a throw for {@link runCli}. */
type Exit = (code: number) => never;

/** Thrown by {@link runCli}'s exit: carries the code commander wanted to exit with. */
class CliExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/**
 * The subcommands' modules, in help order, each with the top-level command words it registers.
 * Only the module of the word being run is imported (a verb loads what it uses, `--version`
 * and the console none); help and an unknown word import them all.
 */
const COMMAND_MODULES: { words: readonly string[]; load: () => Promise<Register> }[] = [
  { words: ['heartbeat'], load: async () => (await import('./commands/heartbeat.js')).registerHeartbeatCommand },
  { words: ['hooks'], load: async () => (await import('./commands/hooks.js')).registerHooksCommands },
  { words: ['demo'], load: async () => (await import('./commands/demo.js')).registerDemoCommand },
  { words: ['backlog'], load: async () => (await import('./commands/backlog.js')).registerBacklogCommand },
  { words: ['pause', 'resume', 'watch', 'send', 'answer', 'dispatch'], load: async () => (await import('./commands/actions.js')).registerActionCommands },
  { words: ['start', 'stop', 'restart', 'reset'], load: async () => (await import('./commands/lifecycle.js')).registerLifecycleCommands },
  { words: ['events'], load: async () => (await import('./commands/events.js')).registerEventsCommand },
  { words: ['serve'], load: async () => (await import('./commands/serve.js')).registerServeCommand },
  { words: ['doctor'], load: async () => (await import('./commands/doctor.js')).registerDoctorCommand },
  { words: ['spend'], load: async () => (await import('./commands/spend.js')).registerSpendCommand },
];

/** Root options that take a value (their value is not a command word). */
const VALUE_OPTIONS = new Set(['--mosaic-home', '--roster', '--interval']);

/**
 * The command word of `args` (argv without node and the script): the first word that is not an
 * option or a root option's value; null for the root (console, `--once`, `--version`).
 */
export function commandWord(args: readonly string[]): string | null {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === undefined) continue;
    if (a === '--') return args[i + 1] ?? null;
    if (a.startsWith('-')) {
      if (VALUE_OPTIONS.has(a)) i++;
      continue;
    }
    return a;
  }
  return null;
}

/**
 * Builds the command tree for `args` (argv without node and the script; default: every
 * subcommand). Only the modules the command word needs are imported (see COMMAND_MODULES);
 * heavy modules (ink, react, PGlite) are imported lazily per mode. `exit` ends a usage error,
 * `--help` or `--version` (default: process.exit).
 */
export async function buildProgram(args?: readonly string[], exit: Exit = (code) => process.exit(code)): Promise<Command> {
  const word = args ? commandWord(args) : 'help';
  const help = args?.some((a) => a === '--help' || a === '-h') ?? false;
  const own = word === null ? null : COMMAND_MODULES.find((m) => m.words.includes(word));
  // The root alone (console, --once, --version) registers none; its help and unknown words all.
  const modules = word === null ? (help ? COMMAND_MODULES : []) : own ? [own] : COMMAND_MODULES;
  const registers = await Promise.all(modules.map((m) => m.load()));
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
    .exitOverride((error) => exit(error.exitCode === 0 ? 0 : USAGE_EXIT))
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
        // The console has restored the terminal and closed what it opened. Whatever still holds
        // the event loop (a subprocess of a stopped tmux server that ignores its pipes) must not
        // keep a quit console alive: the process ends within a bounded grace. Unref'd, so a
        // clean exit is not delayed; it fires only while something else keeps node running.
        setTimeout(() => process.exit(), CONSOLE_EXIT_GRACE_MS).unref();
      }
    });
  for (const register of registers) register(program);
  // Only the root: its action reports excess words as an unknown command (above) instead of
  // commander's "too many arguments". Set after registering so subcommands keep the check.
  program.allowExcessArguments(true);
  return program;
}

/** How long a quit console may take to drain before the process exits anyway (ms). */
const CONSOLE_EXIT_GRACE_MS = 1_000;

/**
 * Parses and runs `argv` (node, the script, then the words), leaving the exit code in
 * process.exitCode. An error that reaches here is printed as ONE line (`mosaic-top: <what
 * failed>: <cause>`, lib/errors.ts) with its documented exit code (an {@link OperatorError}'s
 * own, else 70); the stack trace only with `MOSAIC_DEBUG=1`.
 */
async function runProgram(argv: readonly string[], exit: Exit): Promise<void> {
  try {
    await (await buildProgram(argv.slice(2), exit)).parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CliExit) {
      process.exitCode = error.code;
      return;
    }
    process.stderr.write(`mosaic-top: ${formatFatal(error, debugWanted())}\n`);
    process.exitCode = fatalExitCode(error);
  }
}

/** Entry point used by bin/mosaic-top: usage errors, `--help` and `--version` end the process at once. */
export async function main(argv: string[]): Promise<void> {
  endOnClosedOutput(process.stdout);
  await runProgram(argv, (code) => process.exit(code));
}

/**
 * A reader that closed the program's stdout early (`mosaic-top --once --json | head`, an
 * `events --follow` piped into a reader that quit) ends the program at its next write, exit code 141
 * (128 + SIGPIPE), as a program killed by SIGPIPE reports in a shell: node ignores SIGPIPE and
 * would otherwise throw the write's EPIPE as an unhandled 'error' event with a stack, or keep a
 * stream running into nothing. Any other write error on stdout is one line on stderr, exit 74
 * (EX_IOERR, sysexits.h).
 */
function endOnClosedOutput(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(141);
    process.stderr.write(`mosaic-top: cannot write the output: ${formatFatal(error, false)}\n`);
    process.exit(74);
  });
}

/**
 * Runs the program in this process for `args` (argv without node and the script) and resolves
 * with its exit code instead of ending the process: usage errors, `--help` and `--version` give
 * their code (2, 0) as the executable would. Output goes to process.stdout / process.stderr and
 * the environment read is process.env, as for the executable; process.exitCode is left as it
 * was. For the console and servers (signals, terminal) run the executable.
 */
export async function runCli(args: readonly string[]): Promise<number> {
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    await runProgram(['node', 'mosaic-top', ...args], (code) => {
      throw new CliExit(code);
    });
    return Number(process.exitCode ?? 0);
  } finally {
    process.exitCode = before;
  }
}
