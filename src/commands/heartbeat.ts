import type { Command } from 'commander';

/** `mosaic-top heartbeat <agent> --state busy|idle [--card] [--note]` (spec §4). Owner: fleet. */
export function registerHeartbeatCommand(program: Command): void {
  void program;
}
