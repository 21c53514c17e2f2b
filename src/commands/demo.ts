/**
 * `mosaic-top demo [up|down]`. Bare `demo`: up, open the console on it, down on
 * exit (also on SIGTERM/SIGHUP). `demo up [--socket NAME] [--json]` prints the home and socket;
 * `demo down --mosaic-home DIR` tears that demo down. The demo module is imported lazily.
 */
import { Option, type Command } from 'commander';
import { messageOf } from '../../lib/errors.js';
import type { GlobalOptions } from '../options.js';

/** Options of `demo` and `demo up`. */
interface DemoUpOptions {
  socket?: string;
  json?: boolean;
}

/** Bare `demo`: builds the demo fleet, runs the console on it, tears it down on exit or SIGTERM/SIGHUP. */
async function runDemo(g: GlobalOptions & DemoUpOptions): Promise<void> {
  const { demoUp, demoDown } = await import('../demo/fleet.js');
  let fleet;
  try {
    fleet = await demoUp({ mosaicHome: g.mosaicHome, socket: g.socket });
  } catch (error) {
    process.stderr.write(`mosaic-top demo: ${messageOf(error)}\n`);
    process.exitCode = 1;
    return;
  }
  let downed = false;
  const down = async () => {
    if (downed) return;
    downed = true;
    await demoDown(fleet);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    void down().finally(() => process.kill(process.pid, signal));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGHUP', onSignal);
  try {
    process.stderr.write(`demo fleet: home ${fleet.mosaicHome}, tmux socket ${fleet.socket}\n`);
    const { runConsole } = await import('../modes/console.js');
    process.exitCode = await runConsole({ ...g, mosaicHome: fleet.mosaicHome, roster: undefined });
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    await down();
  }
}

/** `demo up`: builds the demo fleet and prints its home and socket (text or JSON). */
async function runDemoUp(g: GlobalOptions & DemoUpOptions): Promise<void> {
  const { demoUp } = await import('../demo/fleet.js');
  try {
    const fleet = await demoUp({ mosaicHome: g.mosaicHome, socket: g.socket });
    if (g.json) process.stdout.write(`${JSON.stringify({ mosaicHome: fleet.mosaicHome, socket: fleet.socket, agents: fleet.agents })}\n`);
    else {
      process.stdout.write(
        `demo fleet up\n  home:   ${fleet.mosaicHome}\n  socket: ${fleet.socket}\n` +
          `  look:   mosaic-top --mosaic-home ${fleet.mosaicHome}\n` +
          `  attach: tmux -L ${fleet.socket} attach -r -t orchestrator\n` +
          `  down:   mosaic-top demo down --mosaic-home ${fleet.mosaicHome}\n`,
      );
    }
  } catch (error) {
    process.stderr.write(`mosaic-top demo up: ${messageOf(error)}\n`);
    process.exitCode = 1;
  }
}

/** `demo down`: tears down the demo at `--mosaic-home` (exit 2 without it). */
async function runDemoDown(g: GlobalOptions): Promise<void> {
  const home = g.mosaicHome ?? process.env.MOSAIC_HOME;
  if (!home) {
    process.stderr.write('mosaic-top demo down: give --mosaic-home DIR (the home `demo up` printed)\n');
    process.exitCode = 2;
    return;
  }
  const { demoDown } = await import('../demo/fleet.js');
  try {
    await demoDown(home);
    if (!g.json) process.stdout.write(`demo fleet down (${home} removed)\n`);
    else process.stdout.write(`${JSON.stringify({ ok: true, mosaicHome: home })}\n`);
  } catch (error) {
    process.stderr.write(`mosaic-top demo down: ${messageOf(error)}\n`);
    process.exitCode = 1;
  }
}

/** Registers `demo`, `demo up` and `demo down`. */
export function registerDemoCommand(program: Command): void {
  const demo = program
    .command('demo')
    .description('a throwaway simulated fleet on an isolated tmux socket (needs tmux, not systemd)')
    .option('--socket <name>', 'tmux socket of the demo (default mosaic-demo-<pid>)')
    .action((_opts: unknown, cmd: Command) => runDemo(cmd.optsWithGlobals() as GlobalOptions & DemoUpOptions));

  demo
    .command('up')
    .description('build the demo fleet and print its home and socket (tear down with `demo down --mosaic-home DIR`)')
    .option('--socket <name>', 'tmux socket of the demo (default mosaic-demo-<pid>)')
    .addOption(new Option('--json', 'print {mosaicHome, socket, agents} as JSON'))
    .action((_opts: unknown, cmd: Command) => runDemoUp(cmd.optsWithGlobals() as GlobalOptions & DemoUpOptions));

  demo
    .command('down')
    .description('tear down a demo: kill only its tmux socket server, remove its home (needs --mosaic-home)')
    // Root options, declared here so `demo down --help` shows them (the root parses them).
    .addOption(new Option('--mosaic-home <dir>', 'the demo home `demo up` printed (required; default $MOSAIC_HOME)'))
    .addOption(new Option('--json', 'print {ok, mosaicHome} as JSON'))
    .action((_opts: unknown, cmd: Command) => runDemoDown(cmd.optsWithGlobals() as GlobalOptions));
}
