import type { Command } from 'commander';

/** `mosaic-top pause|resume|watch|send|dispatch` (spec §9). Owner: actions. */
export function registerActionCommands(program: Command): void {
  void program;
}
